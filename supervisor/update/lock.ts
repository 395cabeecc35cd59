/**
 * The update lock: one update or rollback at a time, across processes. It is
 * proper-lockfile's lock dir on `<stateDir>/update` plus a holder file that
 * says who holds it ({pid, id, since, to}), so a refused caller learns who
 * is in the way, and recovery can tell a dead holder from a live one.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';

/** Who holds the lock. */
export interface LockHolder {
  pid: number;
  id: string;
  since: string;
  to: string;
}

/** A held lock. */
export interface HeldLock {
  holder: LockHolder;
  release(): Promise<void>;
}

const STALE_MS = 15_000;

function paths(stateDir: string): { target: string; holder: string } {
  return { target: join(stateDir, 'update'), holder: join(stateDir, 'update-holder.json') };
}

/** The recorded holder, if any. */
export async function readHolder(host: Host, stateDir: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await host.fs.readFile(paths(stateDir).holder)) as LockHolder;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock without waiting, or throws UPDATE_IN_PROGRESS naming the
 * holder. `onLost` runs if the lock is compromised while held (its dir was
 * removed or went stale under a stalled event loop).
 */
export async function acquireUpdateLock(host: Host, stateDir: string, holder: LockHolder, onLost: (err: Error) => void): Promise<HeldLock> {
  const { target, holder: holderPath } = paths(stateDir);
  // proper-lockfile locks an existing file; the target is an empty marker.
  if (!(await host.fs.exists(target))) await host.fs.writeFileAtomic(target, '');
  let release: () => Promise<void>;
  try {
    release = await host.locks.acquire(target, { staleMs: STALE_MS, onCompromised: onLost });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    const current = await readHolder(host, stateDir);
    throw new OutlastError('UPDATE_IN_PROGRESS', `an update is already in progress${current === undefined ? '' : ` (${current.id} to ${current.to}, pid ${current.pid}, since ${current.since})`}`, {
      details: { holder: current ?? null },
    });
  }
  await host.fs.writeFileAtomic(holderPath, `${JSON.stringify(holder)}\n`);
  return {
    holder,
    async release() {
      await host.fs.rm(holderPath);
      await release();
    },
  };
}

/**
 * At start-up: a lock whose holder process is gone (SIGKILL, power loss) is
 * broken at once instead of waiting out the stale window. Returns the holder
 * that was cleared.
 */
export async function recoverLock(host: Host, stateDir: string): Promise<LockHolder | undefined> {
  const holder = await readHolder(host, stateDir);
  const lockDir = `${paths(stateDir).target}.lock`;
  const locked = await host.fs.exists(lockDir);
  if (!locked && holder === undefined) return undefined;
  // Our own pid can be the holder after an in-place re-exec; that lock is ours to resume.
  if (holder !== undefined && holder.pid !== host.pid && host.kill(holder.pid, 0)) return undefined;
  await host.locks.breakLock(paths(stateDir).target);
  await host.fs.rm(paths(stateDir).holder);
  return holder;
}

/** Removes the lock and its holder file outright (a handed-over lock, about to be re-taken). */
export async function breakLockOf(host: Host, stateDir: string): Promise<void> {
  await host.locks.breakLock(paths(stateDir).target);
  await host.fs.rm(paths(stateDir).holder);
}
