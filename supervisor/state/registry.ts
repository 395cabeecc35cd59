/**
 * The per-user registry of running supervisors, through which `outlast ls`
 * and `outlast status NAME` find a service from any directory. One file per
 * supervisor, `<pid>-<start time>.json`, written atomically at start and
 * removed at a clean exit; an entry whose process is gone, or whose pid now
 * belongs to another process (a different start time), is stale and pruned
 * on read.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import type { Platform } from '../../platform/platform.ts';
import type { Logger } from '../log/logger.ts';
import { processStartTime } from './child-record.ts';

/** Overrides where the registry lives (tests use a temp dir). */
export const REGISTRY_DIR_ENV = 'OUTLAST_REGISTRY_DIR';

/** Where a supervisor runs, as far as `outlast logs` cares. */
export interface RegisteredPlatform {
  kind: string;
  /** The systemd unit we run in, when there is one. */
  unit?: { name: string; scope: 'system' | 'user' } | undefined;
  /** The log file this supervisor writes (a bare run: no journald, no svlogd keeps its output). */
  logFile?: string | undefined;
}

/** One running supervisor. */
export interface RegistryEntry {
  name: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat; null where there is no /proc. */
  startTime: string | null;
  stateDir: string;
  apiUrl: string;
  version: string;
  startedAt: string;
  platform: RegisteredPlatform;
}

/** The part of a detected platform that the registry records, and the log file when there is one. */
export function registeredPlatform(platform: Platform, logFile?: string): RegisteredPlatform {
  const unit = platform.systemd?.unit;
  return {
    kind: platform.kind,
    ...(unit === undefined || unit === null ? {} : { unit: { name: unit, scope: platform.systemd?.scope ?? 'system' } }),
    ...(logFile === undefined ? {} : { logFile }),
  };
}

/** `<stateDir>/logs/source.json`: the last registration, so `outlast logs` finds the logs of a stopped supervisor too. */
export function lastRegistrationPath(stateDir: string): string {
  return join(stateDir, 'logs', 'source.json');
}

/** The registry dir: $OUTLAST_REGISTRY_DIR, else $XDG_RUNTIME_DIR/outlast, else ~/.local/state/outlast/registry. */
export function registryDir(host: Host): string {
  const { env } = host;
  if (env[REGISTRY_DIR_ENV] !== undefined && env[REGISTRY_DIR_ENV] !== '') return env[REGISTRY_DIR_ENV];
  if (env.XDG_RUNTIME_DIR !== undefined && env.XDG_RUNTIME_DIR.startsWith('/')) return join(env.XDG_RUNTIME_DIR, 'outlast');
  return join(env.HOME ?? '/tmp', '.local', 'state', 'outlast', 'registry');
}

/**
 * Creates the registry dir if needed and checks it is safe to trust: a real
 * dir (not a symlink someone planted), owned by us. Group/other permission
 * bits are repaired to 0700, since only its owner may read or add entries.
 */
export async function openRegistryDir(host: Host, dir: string = registryDir(host)): Promise<string> {
  await host.fs.mkdir(dir, 0o700);
  const facts = await host.fs.lstat(dir);
  if (facts === undefined || facts.kind !== 'directory') {
    throw new OutlastError('STATE_DIR_UNUSABLE', `registry dir ${dir} is ${facts === undefined ? 'missing' : `a ${facts.kind}`}, not a directory; remove it, or set ${REGISTRY_DIR_ENV}`);
  }
  if (host.uid !== undefined && facts.uid !== host.uid) {
    throw new OutlastError('STATE_DIR_UNUSABLE', `registry dir ${dir} belongs to uid ${facts.uid}, not to us (uid ${host.uid}); remove it, or set ${REGISTRY_DIR_ENV}`);
  }
  if ((facts.mode & 0o077) !== 0) await host.fs.chmod(dir, 0o700);
  return dir;
}

function entryFile(pid: number, startTime: string | null): string {
  // The start time in the name: a later process that reuses the pid writes a
  // different file, so pruning a stale entry can never remove a live one.
  return `${pid}-${startTime ?? 'x'}.json`;
}

/**
 * Registers this supervisor. A registry that cannot be written costs only
 * addressing by name, never the service: the failure is logged.
 */
export async function registerSupervisor(host: Host, entry: Omit<RegistryEntry, 'pid' | 'startTime'>, logger: Logger): Promise<void> {
  try {
    const dir = await openRegistryDir(host);
    const startTime = await processStartTime(host, host.pid);
    const full: RegistryEntry = { ...entry, pid: host.pid, startTime };
    const text = `${JSON.stringify(full, null, 2)}\n`;
    await host.fs.writeFileAtomic(join(dir, entryFile(host.pid, startTime)), text, 0o600);
    await host.fs.mkdir(join(entry.stateDir, 'logs'), 0o700);
    await host.fs.writeFileAtomic(lastRegistrationPath(entry.stateDir), text, 0o600);
  } catch (err) {
    logger.warn({ err }, 'cannot register in the supervisor registry: `outlast ls` and NAME addressing will not see this supervisor');
  }
}

/** Removes this supervisor's entry (at a clean exit, and before a restart hands over). */
export async function unregisterSupervisor(host: Host): Promise<void> {
  try {
    const dir = registryDir(host);
    await host.fs.rm(join(dir, entryFile(host.pid, await processStartTime(host, host.pid))));
  } catch {
    // Nothing registered, or the dir is gone: the entry would be pruned as stale anyway.
  }
}

/** Parses an entry file; undefined when it is not one. */
export function parseEntry(text: string): RegistryEntry | undefined {
  try {
    const e = JSON.parse(text) as Partial<RegistryEntry>;
    if (typeof e.pid !== 'number' || typeof e.name !== 'string' || typeof e.stateDir !== 'string' || typeof e.apiUrl !== 'string') return undefined;
    return { version: '', startedAt: '', platform: { kind: 'bare' }, startTime: null, ...e } as RegistryEntry;
  } catch {
    return undefined;
  }
}

/** Whether the entry's process is alive and is the same process (same start time). */
async function isLive(host: Host, entry: RegistryEntry): Promise<boolean> {
  if (!host.kill(entry.pid, 0)) return false;
  if (entry.startTime === null) return true;
  return (await processStartTime(host, entry.pid)) === entry.startTime;
}

/** The running supervisors, sorted by name; stale entries are removed on the way. */
export async function readRegistry(host: Host): Promise<RegistryEntry[]> {
  const dir = registryDir(host);
  const facts = await host.fs.lstat(dir);
  if (facts === undefined) return [];
  await openRegistryDir(host, dir);
  const live: RegistryEntry[] = [];
  for (const name of await host.fs.readdir(dir)) {
    // Temp files of an atomic write in progress start with a dot.
    if (name.startsWith('.') || !name.endsWith('.json')) continue;
    const path = join(dir, name);
    let text: string;
    try {
      text = await host.fs.readFile(path);
    } catch {
      continue;
    }
    const entry = parseEntry(text);
    if (entry !== undefined && (await isLive(host, entry))) live.push(entry);
    else await host.fs.rm(path);
  }
  return live.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.pid - b.pid));
}
