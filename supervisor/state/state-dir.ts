/**
 * The state dir and the files in it that clients rely on: the API token and
 * supervisor.json, through which `outlast status` finds a running supervisor.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import type { Host, HostFs } from '../host/host.ts';

/** Enough of the Host to read state files (the client side reads, never writes). */
type Reader = { readonly fs: Pick<HostFs, 'readFile'> };
/** A reader that can also probe a pid. */
type Prober = Reader & { readonly pid: number; kill(pid: number, signal: 0): boolean };

/** What a running supervisor publishes about itself. */
export interface SupervisorInfo {
  pid: number;
  apiUrl: string;
  startedAt: string;
  version: string;
  name: string;
}

/** Paths of the well-known files in a state dir. */
export function statePaths(stateDir: string): { token: string; supervisor: string } {
  return { token: join(stateDir, 'token'), supervisor: join(stateDir, 'supervisor.json') };
}

/** Creates the state dir (owner-only: it holds the token). */
export async function ensureStateDir(host: Host, stateDir: string): Promise<void> {
  try {
    await host.fs.mkdir(stateDir, 0o700);
  } catch (err) {
    throw new OutlastError('STATE_DIR_UNUSABLE', `cannot create state dir ${stateDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Returns the API token, generating it on first start. A token file that
 * others can read, or a symlink, is refused rather than silently trusted.
 */
export async function ensureToken(host: Host, stateDir: string): Promise<string> {
  const path = statePaths(stateDir).token;
  // The mode check below follows links: a symlink to an owner-only file of
  // someone else's choosing would pass it, and its content become our token.
  const target = await host.fs.readlink(path);
  if (target !== undefined) {
    throw new OutlastError('STATE_DIR_UNUSABLE', `token file ${path} is a symlink (to ${target}), not a file of its own; remove it to generate a new token: rm ${path}`);
  }
  const mode = await host.fs.mode(path);
  if (mode === undefined) {
    const token = host.randomToken(32);
    await host.fs.writeFileAtomic(path, `${token}\n`, 0o600);
    return token;
  }
  if ((mode & 0o077) !== 0) {
    throw new OutlastError('STATE_DIR_UNUSABLE', `token file ${path} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
  }
  const token = (await host.fs.readFile(path)).trim();
  if (token.length < 16) throw new OutlastError('STATE_DIR_UNUSABLE', `token file ${path} is empty or too short; delete it to generate a new one`);
  return token;
}

/** Reads the token for a client command. */
export async function readToken(host: Reader, stateDir: string): Promise<string> {
  const path = statePaths(stateDir).token;
  try {
    return (await host.fs.readFile(path)).trim();
  } catch (err) {
    throw new OutlastError('NOT_RUNNING', `no API token at ${path}: has outlast run ever started with this state dir?`, { cause: err });
  }
}

/** Reads supervisor.json, or undefined when it is missing or unreadable. */
export async function readSupervisorInfo(host: Reader, stateDir: string): Promise<SupervisorInfo | undefined> {
  try {
    const parsed = JSON.parse(await host.fs.readFile(statePaths(stateDir).supervisor)) as SupervisorInfo;
    return typeof parsed.pid === 'number' && typeof parsed.apiUrl === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The running supervisor of this state dir, if its process is alive. */
export async function findRunningSupervisor(host: Prober, stateDir: string): Promise<SupervisorInfo | undefined> {
  const info = await readSupervisorInfo(host, stateDir);
  return info !== undefined && info.pid !== host.pid && host.kill(info.pid, 0) ? info : undefined;
}

/** Publishes supervisor.json atomically. */
export async function writeSupervisorInfo(host: Host, stateDir: string, info: SupervisorInfo): Promise<void> {
  await host.fs.writeFileAtomic(statePaths(stateDir).supervisor, `${JSON.stringify(info, null, 2)}\n`, 0o644);
}

/** Removes supervisor.json if it still names this process. */
export async function clearSupervisorInfo(host: Host, stateDir: string): Promise<void> {
  const info = await readSupervisorInfo(host, stateDir);
  if (info?.pid === host.pid) await host.fs.rm(statePaths(stateDir).supervisor);
}
