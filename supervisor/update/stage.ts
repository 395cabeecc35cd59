/**
 * Steps 3–6 of an update: fetch into a fresh staging dir, run the install
 * hook, run the preflight, and promote the staging dir to releases/<version>.
 * Nothing here touches `current`, so any failure leaves the service as it was;
 * the staging dir is removed on every failure path.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import type { UpdatesConfig } from './config.ts';
import { findGnuTar } from './gnu-tar.ts';
import type { OperationPhase } from './journal.ts';
import { createStaging, promoteStaging, type ReleasePaths } from './releases.ts';
import { runHook } from './run-hook.ts';
import { cleanVersion } from './selection.ts';
import type { ReleaseEntry, UpdateSource } from './sources/source.ts';

/** The default updates.maxUnpackedBytes, as a multiple of maxBytes. */
export const UNPACKED_RATIO = 8;

/** The unpacked-size limit in force: updates.maxUnpackedBytes, or UNPACKED_RATIO × maxBytes. */
export function maxUnpackedBytes(config: Pick<UpdatesConfig, 'maxBytes' | 'maxUnpackedBytes'>): number {
  return config.maxUnpackedBytes ?? UNPACKED_RATIO * config.maxBytes;
}

/** What staging needs. */
export interface StageDeps {
  host: Host;
  paths: ReleasePaths;
  config: UpdatesConfig;
  source: UpdateSource;
  /** Environment for hooks (the service's env plus OUTLAST_VERSION). */
  env: Record<string, string>;
  /** Called as each phase starts; may journal it (and fire a failpoint). */
  enter: (phase: OperationPhase) => Promise<void>;
  log: (line: string) => void;
  onProgress?: (done: number, total: number | undefined) => void;
  signal: AbortSignal;
}

/** Checks that a preflight's first printed line, if it is a version, is the one expected. */
export function checkPreflightVersion(stdout: string, version: string): void {
  const first = stdout.trim().split('\n')[0]?.trim() ?? '';
  const printed = first === '' ? undefined : cleanVersion(first);
  if (printed !== undefined && printed !== version) {
    throw new OutlastError('PREFLIGHT_FAILED', `preflight printed version ${printed}, expected ${version}`, { details: { printed, expected: version } });
  }
}

/** Fetches, installs, preflights and promotes `entry`. */
export async function stageRelease(deps: StageDeps, entry: ReleaseEntry): Promise<void> {
  const { host, paths, config, source } = deps;
  await host.fs.mkdir(paths.releases, 0o755);
  const staging = await createStaging(host, paths, entry.version);
  try {
    await deps.enter('fetch');
    await source.fetch(entry, staging, {
      signal: deps.signal,
      maxBytes: config.maxBytes,
      maxUnpackedBytes: maxUnpackedBytes(config),
      fetchTimeoutMs: config.fetchTimeoutMs,
      minBytesPerSecond: config.minBytesPerSecond,
      log: deps.log,
      untar: await findGnuTar(host),
      ...(deps.onProgress === undefined ? {} : { onProgress: deps.onProgress }),
    });
    const env = { ...deps.env, OUTLAST_VERSION: entry.version };
    if (config.install !== undefined) {
      await deps.enter('install');
      const result = await runHook(host, 'install', config.install, { cwd: staging, env, timeoutMs: config.installTimeoutMs, signal: deps.signal });
      deps.log(result.output);
    }
    if (config.preflight !== undefined) {
      await deps.enter('preflight');
      const result = await runHook(host, 'preflight', config.preflight, { cwd: staging, env, timeoutMs: config.preflightTimeoutMs, signal: deps.signal });
      deps.log(result.output);
      checkPreflightVersion(result.stdout, entry.version);
    }
    await deps.enter('stage');
    await promoteStaging(host, paths, staging, entry.version);
  } catch (err) {
    await host.fs.rm(staging);
    throw err;
  }
}

/** Where an operation's hook output is kept. */
export function operationLogPath(stateDir: string, id: string): string {
  return join(stateDir, 'logs', `update-${id}.log`);
}

/** How many operations' hook logs are kept. */
export const OPERATION_LOGS_KEPT = 20;

/**
 * Removes all but the newest `keep` operation logs. An operation id is a
 * kind letter, then the start time in base 36, then a random tail, so the
 * part after the letter sorts by time.
 */
export async function pruneOperationLogs(fs: Pick<Host['fs'], 'readdir' | 'rm'>, stateDir: string, keep = OPERATION_LOGS_KEPT): Promise<number> {
  const logs = (await fs.readdir(join(stateDir, 'logs')))
    .filter((name) => /^update-[a-z][0-9a-z]+\.log$/.test(name))
    // By code unit, as base 36 sorts; localeCompare would load ICU's collator into the supervisor.
    .sort((a, b) => {
      const [x, y] = [a.slice('update-'.length + 1), b.slice('update-'.length + 1)];
      return x < y ? -1 : x > y ? 1 : 0;
    });
  const old = logs.slice(0, Math.max(0, logs.length - keep));
  for (const name of old) await fs.rm(join(stateDir, 'logs', name));
  return old.length;
}
