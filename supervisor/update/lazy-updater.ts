/**
 * The resident face of the Updater. A supervisor spends nearly all its life
 * idle, and keeps every module it ever loads: so the update pipeline
 * (sources, tar, semver, signing, staging, the health gate) is loaded on the
 * first request that needs it — a check, an apply, a rollback, a first
 * install, a bundled release to adopt, or a start-up recovery with
 * something to settle or resume. Until then this object answers from the
 * journal and the `current` link alone; from then on it hands every call to
 * the one real Updater, which owns both.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import { noteLoaded } from '../resident.ts';
import { isFinal, Journal, type Operation } from './journal.ts';
import type { UpdateLock } from './lock.ts';
import type { CheckResult, Updater } from './updater.ts';
import type { SelectionRequest } from './selection.ts';

/** What the supervisor asks of its updates: the Updater's surface, which LazyUpdater offers too. */
export type Updates = Pick<Updater, 'currentVersion' | 'spawnContext' | 'recover' | 'prepareRelease' | 'deviceId' | 'operation' | 'lastOperation' | 'operations' | 'check' | 'cachedCheck' | 'apply' | 'rollback'>;

/** What LazyUpdater needs before the pipeline exists. */
export interface LazyUpdaterDeps {
  host: Host;
  stateDir: string;
  lock: UpdateLock;
  logger: Logger;
  /** Whether `updates.bundled` is set: a bundled release is compared at every start. */
  bundled: boolean;
  /** Loads the pipeline and builds the real Updater (called once). */
  load: () => Promise<Updater>;
}

// The release names outlast writes: a plain semver (the full pipeline, with
// semver itself, judges anything else).
const PLAIN_SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** The Updater, loaded on first need. */
export class LazyUpdater implements Updates {
  readonly #deps: LazyUpdaterDeps;
  readonly #journal: Journal;
  #full: Promise<Updater> | undefined;
  #loaded: Updater | undefined;
  #current: string | undefined;

  constructor(deps: LazyUpdaterDeps) {
    this.#deps = deps;
    this.#journal = new Journal(deps.host, deps.stateDir);
  }

  /** The real Updater, loading the pipeline the first time. */
  #updater(): Promise<Updater> {
    this.#full ??= this.#deps.load().then(async (updater) => {
      // Recovery may have run without it: it reads `current` itself from now on.
      await updater.readCurrent();
      noteLoaded('update pipeline');
      this.#loaded = updater;
      return updater;
    });
    return this.#full;
  }

  get currentVersion(): string | undefined {
    return this.#loaded === undefined ? this.#current : this.#loaded.currentVersion;
  }

  spawnContext(): { cwd: string; env: Record<string, string> } {
    if (this.#loaded !== undefined) return this.#loaded.spawnContext();
    const version = this.#current;
    return { cwd: join(this.#deps.stateDir, 'current'), env: version === undefined ? {} : { OUTLAST_VERSION: version } };
  }

  /**
   * Start-up recovery (Updater.recover). With nothing to settle or resume —
   * the last operation ended, no staging dir or temp link, `current` names
   * a release that is there — it is only the store's dir and a dead
   * holder's lock, done here; anything else is the real recovery's.
   */
  async recover(): Promise<void> {
    const { host, stateDir, lock, logger } = this.#deps;
    const releases = join(stateDir, 'releases');
    await host.fs.mkdir(releases, 0o755);
    const last = await this.#journal.last();
    const leftovers = (await host.fs.readdir(releases)).some((name) => name.startsWith('.staging-')) || (await host.fs.readdir(stateDir)).some((name) => /^(current|previous)\.tmp-/.test(name));
    const target = await host.fs.readlink(join(stateDir, 'current'));
    const current = target?.split('/').pop();
    const settled = target === undefined || (current !== undefined && PLAIN_SEMVER.test(current) && (await host.fs.exists(join(releases, current))));
    if ((last !== undefined && !isFinal(last)) || leftovers || !settled) return (await this.#updater()).recover();
    this.#current = target === undefined ? undefined : current;
    const holder = await lock.recover();
    if (holder !== undefined) logger.warn({ holder }, 'released the update lock of a dead process');
  }

  async prepareRelease(): Promise<void> {
    if (this.#deps.lock.holder !== undefined) return;
    if (this.#loaded !== undefined || this.#deps.bundled || this.#current === undefined) await (await this.#updater()).prepareRelease();
  }

  /** Asked only when a report is built for an ended operation, so the pipeline is loaded by then anyway. */
  async deviceId(): Promise<string> {
    return (await this.#updater()).deviceId();
  }

  async operation(id: string): Promise<Operation> {
    if (this.#loaded !== undefined) return this.#loaded.operation(id);
    const op = await this.#journal.get(id);
    if (op === undefined) throw new OutlastError('NOT_FOUND', `no update operation ${id}`);
    return op;
  }

  lastOperation(): Promise<Operation | undefined> {
    return this.#loaded === undefined ? this.#journal.last() : this.#loaded.lastOperation();
  }

  async operations(limit: number): Promise<Operation[]> {
    if (this.#loaded !== undefined) return this.#loaded.operations(limit);
    return (await this.#journal.all()).slice(-limit).reverse();
  }

  async check(force: boolean): Promise<CheckResult> {
    return (await this.#updater()).check(force);
  }

  /** Undefined before the first check, as the Updater's: no check has run before it is loaded. */
  cachedCheck(): CheckResult | undefined {
    return this.#loaded?.cachedCheck();
  }

  async apply(request: SelectionRequest): Promise<{ upToDate: true; version: string } | { id: string; from: string | null; to: string }> {
    return (await this.#updater()).apply(request);
  }

  async rollback(): Promise<{ id: string; from: string | null; to: string }> {
    return (await this.#updater()).rollback();
  }
}
