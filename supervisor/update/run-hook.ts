/**
 * Runs an update hook (install, preflight) in a release dir: its own process
 * group, a hard timeout that kills the whole group, and its output captured
 * for the operation's log.
 */
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import { describeExit } from '../service/exit-code.ts';

/** What a hook did. */
export interface HookResult {
  stdout: string;
  output: string;
  ms: number;
}

const MAX_CAPTURE = 256 * 1024;

const HOOK_CODE = { install: 'INSTALL_FAILED', preflight: 'PREFLIGHT_FAILED' } as const;

/**
 * Runs `command` in `cwd`. Throws INSTALL_FAILED or PREFLIGHT_FAILED (the
 * release is not fit to run) when it exits non-zero, cannot start, or
 * overruns `timeoutMs`.
 */
export async function runHook(
  host: Host,
  name: 'install' | 'preflight',
  command: readonly string[],
  options: { cwd: string; env: Record<string, string>; timeoutMs: number; signal?: AbortSignal },
): Promise<HookResult> {
  const [file, ...args] = command as [string, ...string[]];
  const started = host.clock.monotonic();
  const child = host.spawn(file, args, { cwd: options.cwd, env: options.env, detached: true });
  let stdout = '';
  let output = '';
  const capture = (chunk: Buffer, toStdout: boolean): void => {
    const text = chunk.toString('utf8');
    if (output.length < MAX_CAPTURE) output += text;
    if (toStdout && stdout.length < MAX_CAPTURE) stdout += text;
  };
  child.stdout?.on('data', (c: Buffer) => capture(c, true));
  child.stderr?.on('data', (c: Buffer) => capture(c, false));
  const timer = new AbortController();
  const kill = (): void => {
    if (child.pid !== undefined) host.killGroup(child.pid, 'SIGKILL');
  };
  options.signal?.addEventListener('abort', kill);
  const timedOut = host.clock.sleep(options.timeoutMs, timer.signal).then(
    () => {
      kill();
      return true;
    },
    () => false,
  );
  const exit = await child.exited;
  timer.abort();
  options.signal?.removeEventListener('abort', kill);
  const ms = Math.round(host.clock.monotonic() - started);
  if (await Promise.race([timedOut, Promise.resolve(false)])) {
    throw new OutlastError(HOOK_CODE[name], `${name} (${command.join(' ')}) did not finish within ${options.timeoutMs} ms`, { details: { hook: name, output: output.slice(-4000) } });
  }
  if (exit.kind !== 'exited' || exit.code !== 0) {
    throw new OutlastError(HOOK_CODE[name], `${name} (${command.join(' ')}) ${describeExit(exit)}${output === '' ? '' : `: ${output.trim().split('\n').slice(-3).join(' | ')}`}`, {
      details: { hook: name, output: output.slice(-4000) },
    });
  }
  return { stdout, output, ms };
}
