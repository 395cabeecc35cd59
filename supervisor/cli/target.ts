/**
 * Which supervisor a client command talks to. In order of precedence:
 * `--state-dir`, then `--config FILE` (its state dir, resolved as the
 * installed unit resolves it, from the file's folder), then a NAME looked up
 * in the registry of running supervisors, then $OUTLAST_STATE_DIR, then
 * `./.outlast`.
 */
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import { STATE_DIR_ENV } from '../state/orphans.ts';
import { readRegistry, type RegistryEntry } from '../state/registry.ts';

/** The options every addressed command takes. */
export interface TargetFlags {
  stateDir?: string;
  config?: string;
}

/** A resolved target: the state dir, and the registry entry when NAME found one. */
export interface Target {
  stateDir: string;
  entry?: RegistryEntry;
}

/** Adds `--state-dir` and `--config` to `command`. */
export function addTargetOptions(command: Command): Command {
  return command
    .addOption(new Option('--state-dir <dir>', 'state dir of the supervisor (default: NAME, else $OUTLAST_STATE_DIR, else ./.outlast)'))
    .addOption(new Option('-c, --config <file>', "the supervisor's config file: use its state dir"));
}

/** The running supervisor named `name`; NOT_FOUND or BAD_REQUEST (ambiguous) list what is known. */
export async function findByName(host: Host, name: string): Promise<RegistryEntry> {
  const entries = await readRegistry(host);
  const matches = entries.filter((e) => e.name === name);
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    const dirs = matches.map((e) => `${e.stateDir} (pid ${e.pid})`).join(', ');
    throw new OutlastError('BAD_REQUEST', `${matches.length} running supervisors are named "${name}": ${dirs}; pick one with --state-dir`, { details: { name, stateDirs: matches.map((e) => e.stateDir) } });
  }
  const known = [...new Set(entries.map((e) => e.name))];
  const list = known.length === 0 ? 'no supervisor is registered as running' : `running: ${known.join(', ')}`;
  throw new OutlastError('NOT_FOUND', `no running supervisor named "${name}" (${list}); see: outlast ls`, { details: { name, known } });
}

/** Resolves the target of a command from its NAME operand and flags. */
export async function resolveTarget(host: Host, name: string | undefined, flags: TargetFlags): Promise<Target> {
  if (flags.stateDir !== undefined) return { stateDir: resolve(host.cwd, flags.stateDir) };
  if (flags.config !== undefined) {
    const path = resolve(host.cwd, flags.config);
    const config = await loadConfig(host.fs, dirname(path), { config: path });
    return { stateDir: config.stateDir };
  }
  if (name !== undefined) {
    const entry = await findByName(host, name);
    return { stateDir: entry.stateDir, entry };
  }
  const fromEnv = host.env[STATE_DIR_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { stateDir: resolve(host.cwd, fromEnv) };
  return { stateDir: resolve(host.cwd, '.outlast') };
}
