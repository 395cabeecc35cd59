/**
 * The update lock: one update, rollback or supervisor restart at a time,
 * across processes. It is the Host's lock dir on `<stateDir>/update` (proper-lockfile's format)
 * plus a holder file that says who holds it ({pid, id, since, to}), so a
 * refused caller learns who is in the way, and recovery can tell a dead
 * holder from a live one.
 *
 * UpdateLock is its one owner in a process: the in-process holder (checked
 * and set with no await in between, so of two concurrent requests exactly
 * one proceeds), the file lock, and the take-over after a self-restart. A
 * self-update never releases its lock: an exec keeps the lock file as it is,
 * an exit lets the Host remove it, and either way the next image
 * takes it over during recovery, before its API opens, with the journal
 * saying which operation it belongs to. No other operation can start in
 * between: without a running supervisor there is nobody to ask.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import { isoTime } from '../iso-time.ts';

/** Who holds the lock. */
export interface LockHolder {
  pid: number;
  id: string;
  since: string;
  to: string;
}

/** A held lock. */
export interface HeldLock {
  readonly holder: LockHolder;
  /** Lets go of the lock; a no-op once released. */
  release(): Promise<void>;
}

const STALE_MS = 15_000;

function lockPaths(stateDir: string): { target: string; holder: string; dir: string } {
  const target = join(stateDir, 'update');
  return { target, holder: join(stateDir, 'update-holder.json'), dir: `${target}.lock` };
}

function busy(holder: LockHolder | undefined): OutlastError {
  const who = holder === undefined ? '' : ` (${holder.id} to ${holder.to}, pid ${holder.pid}, since ${holder.since})`;
  return new OutlastError('UPDATE_IN_PROGRESS', `an update is already in progress${who}`, { details: { holder: holder ?? null } });
}

/** The recorded holder, if any (for a client that found the lock taken). */
export async function readHolder(host: Host, stateDir: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await host.fs.readFile(lockPaths(stateDir).holder)) as LockHolder;
  } catch {
    return undefined;
  }
}

/** The update lock of one state dir, as this process sees it. */
export class UpdateLock {
  readonly #host: Host;
  readonly #stateDir: string;
  readonly #onLost: (err: Error, holder: LockHolder) => void;
  #held: LockHolder | undefined;

  /** `onLost` runs if the lock is compromised while held (its dir removed, or stale under a stalled event loop). */
  constructor(host: Host, stateDir: string, onLost: (err: Error, holder: LockHolder) => void) {
    this.#host = host;
    this.#stateDir = stateDir;
    this.#onLost = onLost;
  }

  /** Who holds the lock in this process, if anyone. */
  get holder(): LockHolder | undefined {
    return this.#held;
  }

  /**
   * Takes the lock for operation `id` without waiting, or throws
   * UPDATE_IN_PROGRESS naming the holder. A failure after the file lock is
   * taken (a full disk refusing the holder file) lets go of it again:
   * nothing is left held by nobody.
   */
  async acquire(id: string, to: string): Promise<HeldLock> {
    if (this.#held !== undefined) throw busy(this.#held);
    const holder: LockHolder = { pid: this.#host.pid, id, since: isoTime(this.#host.clock.now()), to };
    this.#held = holder;
    try {
      return await this.#take(holder);
    } catch (err) {
      this.#held = undefined;
      throw err;
    }
  }

  /**
   * After a self-restart: the lock the previous image handed over (recorded
   * for operation `id`) becomes this process's. It is broken and taken again
   * at once, so the file lock's own bookkeeping (mtime refresh, compromise
   * watch) is this process's from here on.
   */
  async takeOver(id: string, to: string): Promise<HeldLock> {
    if (this.#held !== undefined) throw busy(this.#held);
    await this.clear();
    return this.acquire(id, to);
  }

  /**
   * At start-up: a lock whose holder process is gone (SIGKILL, power loss)
   * is broken at once instead of waiting out the stale window. Returns the
   * holder that was cleared. Our own pid can be the recorded holder after
   * an in-place re-exec; that lock is cleared too (nothing of this image holds it).
   */
  async recover(): Promise<LockHolder | undefined> {
    const holder = await readHolder(this.#host, this.#stateDir);
    const locked = await this.#host.fs.exists(lockPaths(this.#stateDir).dir);
    if (!locked && holder === undefined) return undefined;
    if (holder !== undefined && holder.pid !== this.#host.pid && this.#host.kill(holder.pid, 0)) return undefined;
    await this.clear();
    return holder;
  }

  /** Removes the lock and its holder file outright: its operation is settled, whoever held it. */
  async clear(): Promise<void> {
    await this.#host.locks.breakLock(lockPaths(this.#stateDir).target);
    await this.#host.fs.rm(lockPaths(this.#stateDir).holder);
  }

  async #take(holder: LockHolder): Promise<HeldLock> {
    const host = this.#host;
    const paths = lockPaths(this.#stateDir);
    // The lock is on a file that exists (proper-lockfile's rule, kept); the target is an empty marker.
    if (!(await host.fs.exists(paths.target))) await host.fs.writeFileAtomic(paths.target, '');
    let unlock: () => Promise<void>;
    try {
      unlock = await host.locks.acquire(paths.target, { staleMs: STALE_MS, onCompromised: (err) => this.#onLost(err, holder) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      throw busy(await readHolder(host, this.#stateDir));
    }
    try {
      await host.fs.writeFileAtomic(paths.holder, `${JSON.stringify(holder)}\n`);
    } catch (err) {
      await unlock().catch(() => host.locks.breakLock(paths.target));
      throw err;
    }
    let done = false;
    return {
      holder,
      release: async () => {
        if (done) return;
        done = true;
        try {
          await host.fs.rm(paths.holder);
        } finally {
          try {
            await unlock();
          } finally {
            // Only now: an acquire in between would find the file lock still taken, and no holder to name.
            this.#held = undefined;
          }
        }
      },
    };
  }
}
