/**
 * Keeps the supervisor's JavaScript in V8's interpreter (Ignition). A
 * supervisor is idle almost all the time and its hot paths are system calls
 * (spawn, wait, sockets, sha256 and tar in native code), so the compiler
 * tiers buy it little speed, but each one that runs maps its part of the
 * node binary and keeps code and feedback in memory. Measured on the
 * installed package, one service, 20 s idle, linux-x64: 74 MB → 60 MB
 * resident (bench/README.md has the figures with the peers).
 *
 * Not `--jitless`: that also turns WebAssembly off, and fetch (undici's
 * HTTP parser is WebAssembly) with it. `--optimize-for-size` makes V8
 * prefer the smaller of its choices elsewhere (the heap's growth, ICs).
 */
import { setFlagsFromString } from 'node:v8';

/** The flags set, in order. */
export const INTERPRETER_ONLY = ['--optimize-for-size', '--no-sparkplug', '--no-maglev', '--no-turbofan'] as const;

/** V8 flags by which a user chooses the tiers: theirs win. */
const USER_TIERS = /--(?:no[-_])?(?:optimize[-_]for[-_]size|sparkplug|maglev|turbofan|opt|jitless|lite[-_]mode|always[-_]sparkplug)\b/;

/**
 * Sets {@link INTERPRETER_ONLY}, unless the user chose the tiers
 * (`node --maglev …`, or the same in NODE_OPTIONS). Returns whether it did.
 * V8 reads these flags when it decides to compile a function, so setting
 * them at start, before anything runs hot, takes effect.
 */
export function keepToInterpreter(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  if ([...execArgv, nodeOptions ?? ''].some((arg) => USER_TIERS.test(arg))) return false;
  for (const flag of INTERPRETER_ONLY) setFlagsFromString(flag);
  return true;
}
