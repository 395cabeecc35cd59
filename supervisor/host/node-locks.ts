/**
 * The Host's cross-process locks ({@link HostLocks}), in the format
 * proper-lockfile writes, so a supervisor of an earlier version (before or
 * after a self-update) and this one see each other's locks: the lock on
 * `<path>` is the directory `<path>.lock`, made with one mkdir (atomic on
 * every local file system), and kept fresh by moving its mtime forward
 * every third of the stale window. A lock whose mtime is older than the
 * window is a dead holder's and is taken over. The holder watches its own
 * lock at each refresh: gone, or with an mtime it did not set, it is
 * compromised, and `onCompromised` is told once. A refresh that comes late
 * with the mtime still its own (a phone that slept, a stalled event loop)
 * keeps the lock, as proper-lockfile does; a refresh that fails is retried
 * every second until the lock would look stale to others. When the process
 * exits (not when a fatal signal kills it) the held locks are removed; an
 * exec keeps them, for the next image to take over.
 *
 * Its own code rather than proper-lockfile's: that package brings
 * graceful-fs (which patches node:fs), signal-exit and node:assert, about
 * 1 MB resident in a supervisor that keeps what it loads.
 */
import { rmSync, type Stats } from 'node:fs';
import { mkdir, rm, stat, utimes } from 'node:fs/promises';
import type { HostLocks } from './host.ts';

/** The lock dirs this process holds, removed on exit. */
const held = new Set<string>();
let exitHook = false;

function removeHeldOnExit(): void {
  for (const dir of held) rmSync(dir, { recursive: true, force: true });
}

function locked(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`the lock on ${path} is held by another process`), { code: 'ELOCKED', file: path });
}

function compromise(dir: string, why: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`the lock ${dir} was compromised: ${why}`), { code: 'ECOMPROMISED', file: dir });
}

async function statOrNone(dir: string): Promise<Stats | undefined> {
  try {
    return await stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Makes `dir`; false when it exists already. */
async function made(dir: string): Promise<boolean> {
  try {
    await mkdir(dir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Moves the mtime of `dir` to now; the mtime as the file system kept it (its own precision). */
async function touch(dir: string): Promise<number> {
  const now = new Date();
  await utimes(dir, now, now);
  return (await stat(dir)).mtimeMs;
}

async function acquire(path: string, options: { staleMs: number; onCompromised: (err: Error) => void }): Promise<() => Promise<void>> {
  const { staleMs } = options;
  const dir = `${path}.lock`;
  if (!(await made(dir))) {
    const found = await statOrNone(dir);
    // Gone in between: someone released it; fresh: someone holds it.
    if (found !== undefined && Date.now() - found.mtimeMs <= staleMs) throw locked(path);
    await rm(dir, { recursive: true, force: true });
    // Two takers of one stale lock can both get here, the later rm removing
    // the dir the first made: then both hold it until the first refresh,
    // where the one whose mtime was overwritten is told it is compromised
    // (proper-lockfile has the same window).
    if (!(await made(dir))) throw locked(path);
  }
  held.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', removeHeldOnExit);
  }
  let mtime: number;
  try {
    mtime = await touch(dir);
  } catch (err) {
    held.delete(dir);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let refreshedAt = Date.now();
  let state: 'held' | 'compromised' | 'released' = 'held';
  let timer: NodeJS.Timeout | undefined;
  const lost = (why: string): void => {
    if (state !== 'held') return;
    state = 'compromised';
    held.delete(dir);
    options.onCompromised(compromise(dir, why));
  };
  const every = Math.max(1000, Math.floor(staleMs / 3));
  const schedule = (ms: number): void => {
    timer = setTimeout(() => void refresh(), ms);
    // A held lock keeps nobody alive: the supervisor's own work does.
    timer.unref();
  };
  const refresh = async (): Promise<void> => {
    try {
      const found = await statOrNone(dir);
      if (state !== 'held') return;
      if (found === undefined) return lost('its directory was removed');
      if (found.mtimeMs !== mtime) return lost('another process took it over');
      mtime = await touch(dir);
      refreshedAt = Date.now();
      if (state === 'held') schedule(every);
    } catch (err) {
      if (state !== 'held') return;
      // An I/O error may pass: retried every second, until others would see the lock as stale.
      if (Date.now() - refreshedAt > staleMs) return lost(`it could not be refreshed for ${staleMs} ms: ${(err as Error).message}`);
      schedule(1000);
    }
  };
  schedule(every);
  return async () => {
    if (state === 'released') return;
    const wasHeld = state === 'held';
    state = 'released';
    clearTimeout(timer);
    held.delete(dir);
    // A compromised lock may be someone else's by now: it is left to them.
    if (wasHeld) await rm(dir, { recursive: true, force: true });
  };
}

/** {@link HostLocks} over node:fs. */
export const nodeLocks: HostLocks = {
  acquire,
  breakLock: (path) => rm(`${path}.lock`, { recursive: true, force: true }),
};
