/**
 * The Updater: the one owner of a state dir's updates. It builds the shared
 * context once (the release store, the operations and their lock, the
 * self-update path) and hands each request to its job: check.ts, apply.ts,
 * rollback.ts, self-update.ts. The state lives in its owners: `current` in
 * the ReleaseStore, the lock in UpdateLock, each operation in its
 * RunningOperation.
 */
import { semver } from './semver.ts';
import { OutlastError } from '../errors.ts';
import { adoptBundled, applyUpdate, installFirst, type UpToDate } from './apply.ts';
import { ReleaseCheck, type CheckResult } from './check.ts';
import type { UpdateContext } from './context.ts';
import type { Operation } from './journal.ts';
import type { UpdateLock } from './lock.ts';
import { Operations } from './operation.ts';
import { recoverUpdates } from './recover.ts';
import { rollBack } from './rollback.ts';
import { DeviceIdentity } from './rollout.ts';
import { resumeHandover, SelfUpdate, type RestartSelf, type SelfUpdateOptions } from './self-update.ts';
import type { SelectionRequest } from './selection.ts';
import type { UpdateSource } from './sources/source.ts';
import { ReleaseStore } from './store.ts';

export type { CheckResult } from './check.ts';

/** What the Updater needs: the jobs' shared parts it does not build itself, and how to restart. */
export interface UpdaterDeps extends Omit<UpdateContext, 'store' | 'ops' | 'self' | 'device'> {
  /** The update lock of the state dir, shared with the supervisor's own restarts. */
  lock: UpdateLock;
  /** Set when the releases hold the supervisor itself: moving between them restarts it. */
  selfRestart: RestartSelf | undefined;
  /** The start probe, the adopted child and the API check of a self-update. */
  selfOptions?: SelfUpdateOptions;
  /** The release this install ships with (`updates.bundled`), if any. */
  bundled?: UpdateSource | undefined;
}

/** Owns the release store, the journal and the update lock of one state dir. */
export class Updater {
  readonly #ctx: UpdateContext;
  readonly #check: ReleaseCheck;
  readonly #lock: UpdateLock;
  readonly #bundled: UpdateSource | undefined;

  constructor(deps: UpdaterDeps) {
    const { lock, selfRestart, selfOptions, bundled, ...rest } = deps;
    this.#lock = lock;
    this.#bundled = bundled;
    this.#ctx = {
      ...rest,
      store: new ReleaseStore(deps.host, deps.stateDir),
      ops: new Operations({ host: deps.host, stateDir: deps.stateDir, lock, events: deps.events, logger: deps.logger }),
      self: selfRestart === undefined ? undefined : new SelfUpdate(selfRestart, selfOptions),
      device: new DeviceIdentity(deps.host.fs, deps.stateDir, deps.config.deviceId, () => deps.host.randomToken(12)),
    };
    this.#check = new ReleaseCheck(this.#ctx);
  }

  /** The version `current` points at. */
  get currentVersion(): string | undefined {
    return this.#ctx.store.current;
  }

  /**
   * Where and with what version the next child starts: the `current` link,
   * which the kernel resolves at spawn, so a later switch never moves a
   * running child's cwd.
   */
  spawnContext(): { cwd: string; env: Record<string, string> } {
    const version = this.#ctx.store.current;
    return { cwd: this.#ctx.store.paths.current, env: version === undefined ? {} : { OUTLAST_VERSION: version } };
  }

  /** Reads `current` from disk: for an Updater built after start-up recovery ran without it (lazy-updater.ts). */
  async readCurrent(): Promise<void> {
    await this.#ctx.store.refresh();
  }

  /**
   * Crash recovery, before anything else looks at the release store and
   * before the service starts. A self-update handed over to this process is
   * resumed here: its lock is taken over, and its gate watches the first
   * child from now on.
   */
  async recover(): Promise<void> {
    const ctx = this.#ctx;
    const found = await recoverUpdates(ctx.host, ctx.store.paths, ctx.ops.journal, this.#lock, ctx.logger);
    await ctx.store.refresh();
    // An operation a killed supervisor left has ended now, settled: said on
    // the bus like any end, so it is counted and reported (updates.report).
    const { settled } = found;
    if (settled !== undefined) ctx.events.emit('update', { id: settled.id, state: settled.state, phase: 'done', from: settled.from, to: settled.to, error: settled.error ?? null });
    if (found.resume !== undefined) await resumeHandover(ctx, found.resume.op, found.resume.pending);
  }

  /**
   * Before the service starts: the first install when nothing is installed
   * (may download: the API is already up), or, with a bundled release, its
   * adoption when it is newer (apply.ts). Not while a resumed self-update
   * holds the lock: that operation decides what runs.
   */
  async prepareRelease(): Promise<void> {
    if (this.#lock.holder !== undefined) return;
    if (this.#bundled !== undefined) return adoptBundled(this.#ctx, this.#bundled);
    if (this.#ctx.store.current === undefined) await installFirst(this.#ctx);
  }

  /** This device's id (`updates.deviceId`, else generated once into the state dir). */
  deviceId(): Promise<string> {
    return this.#ctx.device.id();
  }

  /** One operation, by id. */
  async operation(id: string): Promise<Operation> {
    const op = await this.#ctx.ops.journal.get(id);
    if (op === undefined) throw new OutlastError('NOT_FOUND', `no update operation ${id}`);
    return op;
  }

  /** The newest operation, for `/status`. */
  lastOperation(): Promise<Operation | undefined> {
    return this.#ctx.ops.journal.last();
  }

  /** The newest `limit` operations, newest first, for the status page. */
  async operations(limit: number): Promise<Operation[]> {
    return (await this.#ctx.ops.journal.all()).slice(-limit).reverse();
  }

  /** Compares the running version with the best one the source offers; cached and single-flight. */
  check(force: boolean): Promise<CheckResult> {
    return this.#check.check(force);
  }

  /**
   * The last check's answer, never asking the source (for `/metrics`);
   * undefined before the first check. `available` is judged again against
   * the version running now: an update since the check may have installed
   * `latest` already.
   */
  cachedCheck(): CheckResult | undefined {
    const last = this.#check.last;
    if (last === undefined) return undefined;
    const current = this.#ctx.store.current ?? null;
    const available = last.latest !== null && (current === null || semver.gt(last.latest, current));
    return { ...last, current, available };
  }

  /** Applies an update; see apply.ts for what happens before and after the answer. */
  async apply(request: SelectionRequest): Promise<UpToDate | { id: string; from: string | null; to: string }> {
    const started = await applyUpdate(this.#ctx, request);
    if ('upToDate' in started) return started;
    // The rest never rejects: every failure ends the operation, in the journal.
    return { id: started.id, from: started.from, to: started.to };
  }

  /** Returns to `previous`, under the lock; answers once the lock is held. */
  async rollback(): Promise<{ id: string; from: string | null; to: string }> {
    const started = await rollBack(this.#ctx);
    return { id: started.id, from: started.from, to: started.to };
  }
}
