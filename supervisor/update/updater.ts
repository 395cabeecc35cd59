/**
 * The update pipeline, A/B style: nothing is switched until it is verified,
 * nothing is committed until the new version proves healthy.
 *
 * One Updater owns all update state. `apply` runs the steps that can refuse
 * (lock, busy gate, fetch, verify, install, preflight) before answering, so
 * a bad release is a 4xx with nothing changed; it then answers 202 and
 * switches, restarts, gates and commits or rolls back in the background,
 * still under the lock. Every phase is journaled first, so recovery knows
 * how far a killed process got.
 */
import { dirname } from 'node:path';
import semver from 'semver';
import { OutlastError, toOutlastError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import type { Service } from '../service/service.ts';
import { clearBad, markBad, readBadVersions } from './bad-versions.ts';
import { waitNotBusy, type BusyConfig } from './busy.ts';
import type { UpdatesConfig } from './config.ts';
import { watchGate, type GateResult } from './health-gate.ts';
import { isFinal, Journal, type Operation, type OperationPhase } from './journal.ts';
import { acquireUpdateLock, type HeldLock, type LockHolder } from './lock.ts';
import { recoverUpdates } from './recover.ts';
import { linkedVersion, pruneReleases, releasePaths, restoreLinks, switchCurrent, type ReleasePaths } from './releases.ts';
import { latestAllowed, selectVersion, type SelectionRequest } from './selection.ts';
import { operationLogPath, pruneOperationLogs, stageRelease } from './stage.ts';
import { findRelease, type ReleaseEntry, type UpdateSource } from './sources/source.ts';

/** What `GET /updates/check` answers. */
export interface CheckResult {
  current: string | null;
  latest: string | null;
  available: boolean;
  checkedAt: string;
}

/** What the Updater needs. */
export interface UpdaterDeps {
  host: Host;
  stateDir: string;
  config: UpdatesConfig;
  busy: BusyConfig | undefined;
  source: UpdateSource;
  service: Service;
  logger: Logger;
  events: EventBus;
  /** The service's environment, for hooks. */
  env: Record<string, string>;
  /** The releases hold the supervisor itself: updates restart it through `selfRestart`. */
  selfUpdate: boolean;
  /**
   * Restarts the supervisor into the release `current` now points at,
   * keeping the update lock held for the new image; settles only when this
   * process is about to end (never, for an in-place re-exec).
   */
  selfRestart: (reason: string) => Promise<void>;
}

const LIST_TIMEOUT_MS = 60_000;

/** Owns the release store, the journal and the update lock of one state dir. */
export class Updater {
  readonly #deps: UpdaterDeps;
  readonly #paths: ReleasePaths;
  readonly #journal: Journal;
  #current: string | undefined;
  #check: { at: number; result: CheckResult } | undefined;
  #checking: Promise<CheckResult> | undefined;
  #background: Promise<void> = Promise.resolve();
  readonly #phaseStarted = new Map<string, number>();
  #holder: LockHolder | undefined;
  /** A self-update this process must finish (see resume). */
  #resume: Operation | undefined;
  #resumeGate: { lock: HeldLock; gate: ReturnType<typeof watchGate> } | undefined;

  constructor(deps: UpdaterDeps) {
    this.#deps = deps;
    this.#paths = releasePaths(deps.stateDir);
    this.#journal = new Journal(deps.host, deps.stateDir);
  }

  /** The version `current` points at. */
  get currentVersion(): string | undefined {
    return this.#current;
  }

  /**
   * Where and with what version the next child starts: the `current` link,
   * which the kernel resolves at spawn, so a later switch never moves a
   * running child's cwd.
   */
  spawnContext(): { cwd: string; env: Record<string, string> } {
    return { cwd: this.#paths.current, env: this.#current === undefined ? {} : { OUTLAST_VERSION: this.#current } };
  }

  /** Settles once background work (switch, gate, commit) is done; for shutdown and tests. */
  idle(): Promise<void> {
    return this.#background;
  }

  /** Crash recovery: run before anything else looks at the release store. */
  async recover(): Promise<void> {
    const op = await recoverUpdates(this.#deps.host, this.#paths, this.#journal, this.#deps.logger);
    if (op !== undefined && !isFinal(op)) this.#resume = op;
    this.#current = await linkedVersion(this.#deps.host, this.#paths.current);
  }

  /**
   * Before the service starts: when a self-update handed over to this
   * process, re-take its lock and start watching the health gate (the first
   * child is the one being judged).
   */
  async beginResume(): Promise<void> {
    const op = this.#resume;
    if (op === undefined) return;
    const lock = await this.#lock({ pid: this.#deps.host.pid, id: op.id, since: new Date(this.#deps.host.clock.now()).toISOString(), to: op.to });
    this.#resumeGate = { lock, gate: watchGate(this.#deps.service, this.#deps.host.clock, this.#deps.config.healthGate) };
  }

  /** After the service started: gate, then commit or roll back the resumed self-update. */
  continueResume(): void {
    const op = this.#resume;
    const resumed = this.#resumeGate;
    if (op === undefined || resumed === undefined) return;
    this.#resume = undefined;
    this.#resumeGate = undefined;
    this.#background = this.#verify(op, resumed.lock, resumed.gate.result);
  }

  /** The first install, when nothing is installed yet (may download: the API is already up). */
  async installIfMissing(): Promise<void> {
    if (this.#current === undefined) await this.#firstInstall();
  }

  /** One operation, by id. */
  async operation(id: string): Promise<Operation> {
    const op = await this.#journal.get(id);
    if (op === undefined) throw new OutlastError('NOT_FOUND', `no update operation ${id}`);
    return op;
  }

  /** The newest operation, for `/status`. */
  lastOperation(): Promise<Operation | undefined> {
    return this.#journal.last();
  }

  /** Compares the running version with the best one the source offers; cached and single-flight. */
  async check(force: boolean): Promise<CheckResult> {
    const { host, config } = this.#deps;
    if (!force && this.#check !== undefined && host.clock.monotonic() - this.#check.at < config.checkTtlMs) return this.#check.result;
    this.#checking ??= (async () => {
      try {
        const offered = (await this.#list()).map((e) => e.version);
        const bad = await readBadVersions(host, this.#deps.stateDir);
        const latest = latestAllowed(offered, config, new Set(bad.keys())) ?? null;
        const current = this.#current ?? null;
        const available = latest !== null && (current === null || semver.gt(latest, current));
        const result = { current, latest, available, checkedAt: new Date(host.clock.now()).toISOString() };
        this.#check = { at: host.clock.monotonic(), result };
        return result;
      } finally {
        this.#checking = undefined;
      }
    })();
    return this.#checking;
  }

  /** Applies an update; see the module comment for what happens before and after the answer. */
  async apply(request: SelectionRequest): Promise<{ upToDate: true; version: string } | { id: string; from: string | null; to: string }> {
    const { host, stateDir, config } = this.#deps;
    const entries = await this.#list();
    const bad = await readBadVersions(host, stateDir);
    const selection = selectVersion(entries.map((e) => e.version), this.#current, request, config, bad);
    if (selection.kind === 'up-to-date') return { upToDate: true, version: selection.version };
    const entry = findRelease(entries, selection.version);
    const id = `u${host.clock.now().toString(36)}${host.randomToken(3)}`;
    const from = this.#current ?? null;
    const lock = await this.#lock({ pid: host.pid, id, since: new Date(host.clock.now()).toISOString(), to: entry.version });
    const op = this.#newOperation(id, 'apply', from, entry.version);
    try {
      await this.#enter(op, 'lock');
      if (this.#deps.busy !== undefined && request.force !== true) {
        await this.#enter(op, 'busy-wait');
        await waitNotBusy(host, this.#deps.busy);
      }
      await this.#stage(op, entry);
    } catch (err) {
      await this.#end(op, 'failed', toOutlastError(err));
      await this.#close(op, lock);
      throw err;
    }
    this.#background = this.#switchAndVerify(op, lock);
    return { id, from, to: entry.version };
  }

  /** Returns to `previous`, under the lock; answers once the switch is started. */
  async rollback(): Promise<{ id: string; from: string | null; to: string }> {
    const { host, stateDir } = this.#deps;
    const target = await linkedVersion(host, this.#paths.previous);
    if (target === undefined || target === this.#current) throw new OutlastError('NOTHING_TO_ROLL_BACK', 'there is no previous version to roll back to');
    const id = `r${host.clock.now().toString(36)}${host.randomToken(3)}`;
    const lock = await this.#lock({ pid: host.pid, id, since: new Date(host.clock.now()).toISOString(), to: target });
    const op = this.#newOperation(id, 'rollback', this.#current ?? null, target);
    this.#background = (async () => {
      try {
        await this.#enter(op, 'switch');
        await switchCurrent(host, this.#paths, target);
        this.#current = target;
        await this.#enter(op, 'restart');
        const gate = watchGate(this.#deps.service, host.clock, this.#deps.config.healthGate);
        await this.#deps.service.restart(`rollback to ${target}`);
        await this.#enter(op, 'health-gate');
        const result = await gate.result;
        if (op.from !== null) await markBad(host, stateDir, op.from, 'rolled back by request');
        await this.#end(op, 'rolled-back', result.ok ? undefined : new OutlastError('INTERNAL', `rolled back, but ${result.reason}`));
      } catch (err) {
        await this.#end(op, 'failed', toOutlastError(err));
      } finally {
        await this.#close(op, lock);
      }
    })();
    return { id, from: op.from, to: target };
  }

  /**
   * Takes the update lock. Within this process the holder is checked and set
   * with no await in between, so of two concurrent requests exactly one
   * proceeds and the other learns who holds it; across processes the lock
   * file decides.
   */
  async #lock(holder: LockHolder): Promise<HeldLock> {
    if (this.#holder !== undefined) {
      const h = this.#holder;
      throw new OutlastError('UPDATE_IN_PROGRESS', `an update is already in progress (${h.id} to ${h.to}, pid ${h.pid}, since ${h.since})`, { details: { holder: h } });
    }
    this.#holder = holder;
    try {
      const lock = await acquireUpdateLock(this.#deps.host, this.#deps.stateDir, holder, (err) => this.#deps.logger.error({ err, id: holder.id }, 'the update lock was compromised'));
      return {
        holder,
        release: async () => {
          this.#holder = undefined;
          await lock.release();
        },
      };
    } catch (err) {
      this.#holder = undefined;
      throw err;
    }
  }

  async #switchAndVerify(op: Operation, lock: HeldLock): Promise<void> {
    const { host, service, config, logger, selfUpdate } = this.#deps;
    try {
      op.previousBefore = (await linkedVersion(host, this.#paths.previous)) ?? null;
      await this.#enter(op, 'switch');
      await switchCurrent(host, this.#paths, op.to);
      this.#current = op.to;
      if (selfUpdate) {
        // The release holds the supervisor itself: restart into it. The lock
        // and the journal go with the handover; the new image resumes at the gate.
        op.selfRestart = true;
        await this.#enter(op, 'restart', 'restarting');
        await this.#deps.selfRestart(`update to ${op.to}`);
        return;
      }
      await this.#enter(op, 'restart', 'restarting');
      // Watch before restarting: a probe-less service turns ready inside restart().
      const gate = watchGate(service, host.clock, config.healthGate);
      // With owned sockets, restart() hands over and fails if the new child is never ready:
      // that is the gate failing, and the old version is still serving.
      let restarted: string | undefined;
      try {
        await service.restart(`update to ${op.to}`);
      } catch (err) {
        if (!(err instanceof OutlastError && err.code === 'VERIFY_FAILED')) throw err;
        restarted = err.message;
      }
      if (restarted !== undefined) gate.cancel();
      await this.#verify(op, lock, restarted === undefined ? gate.result : Promise.resolve({ ok: false, reason: restarted }));
    } catch (err) {
      logger.error({ err, id: op.id }, 'update failed after the switch');
      await this.#end(op, 'failed', toOutlastError(err));
      await this.#close(op, lock).catch((e: unknown) => logger.error({ err: e }, 'cannot journal the end of the update'));
    }
  }

  /** The health gate's verdict: commit, or roll back (for a self-update, by restarting into the old version). */
  async #verify(op: Operation, lock: HeldLock, gate: Promise<GateResult>): Promise<void> {
    const { host, stateDir, service, config, logger } = this.#deps;
    let handedOver = false;
    try {
      await this.#enter(op, 'health-gate', 'verifying');
      const result = await gate;
      if (result.ok) {
        await this.#enter(op, 'commit');
        await clearBad(host, stateDir, op.to);
        // Pruning happens under the lock, before the commit is announced, so a
        // client that sees "committed" can start the next operation at once.
        const pruned = await pruneReleases(host, this.#paths, config.keep);
        if (pruned.length > 0) logger.info({ pruned }, 'pruned old releases');
        await this.#end(op, 'committed');
        return;
      }
      logger.error({ id: op.id, to: op.to, reason: result.reason }, 'the new version failed its health gate: rolling back');
      await this.#enter(op, 'rollback', 'rolling-back');
      await markBad(host, stateDir, op.to, result.reason);
      op.error = { code: 'VERIFY_FAILED', message: result.reason };
      if (op.from !== null) {
        // Both links go back to where they were: `previous` must not point at
        // the version just marked bad, or a later rollback would return to it.
        await restoreLinks(host, this.#paths, op.from, op.previousBefore ?? null);
        this.#current = op.from;
        if (op.selfRestart === true) {
          await this.#journal.write(op);
          handedOver = true;
          await this.#deps.selfRestart(`rollback from ${op.to}`);
          return;
        }
        await service.restart(`rollback from ${op.to}`);
      }
      await this.#end(op, 'rolled-back', new OutlastError('VERIFY_FAILED', result.reason));
    } catch (err) {
      logger.error({ err, id: op.id }, 'update failed after the switch');
      await this.#end(op, 'failed', toOutlastError(err));
    } finally {
      if (!handedOver) await this.#close(op, lock).catch((err: unknown) => logger.error({ err }, 'cannot journal the end of the update'));
    }
  }

  async #firstInstall(): Promise<void> {
    const { host, config, logger } = this.#deps;
    const entries = await this.#list();
    const bad = await readBadVersions(host, this.#deps.stateDir);
    const wanted = config.initialVersion ?? latestAllowed(entries.map((e) => e.version), config, new Set(bad.keys()));
    if (wanted === undefined) throw new OutlastError('VERSION_NOT_FOUND', `the update source offers no release in range "${config.range}" to install`);
    const entry = findRelease(entries, selectVersion([wanted], undefined, { version: wanted, force: true }, config, bad).version);
    logger.info({ version: entry.version }, 'nothing installed yet: installing');
    const id = `i${host.clock.now().toString(36)}${host.randomToken(3)}`;
    const lock = await this.#lock({ pid: host.pid, id, since: new Date(host.clock.now()).toISOString(), to: entry.version });
    const op = this.#newOperation(id, 'apply', null, entry.version);
    try {
      await this.#stage(op, entry);
      await this.#enter(op, 'switch');
      await switchCurrent(host, this.#paths, entry.version);
      this.#current = entry.version;
      await this.#end(op, 'committed');
    } catch (err) {
      await this.#end(op, 'failed', toOutlastError(err));
      throw err;
    } finally {
      await this.#close(op, lock);
    }
  }

  async #stage(op: Operation, entry: ReleaseEntry): Promise<void> {
    const { host, stateDir, config, source, env } = this.#deps;
    const logPath = operationLogPath(stateDir, op.id);
    await host.fs.mkdir(dirname(logPath), 0o755);
    let lastProgress = 0;
    await stageRelease(
      {
        host,
        paths: this.#paths,
        config,
        source,
        env,
        enter: (phase) => this.#enter(op, phase),
        log: (line) => void host.fs.append(logPath, line.endsWith('\n') ? line : `${line}\n`).catch(() => undefined),
        onProgress: (done, total) => {
          // At most one progress event per 5 % (or per MiB when the size is unknown).
          const step = total === undefined ? 1 << 20 : Math.max(1, total / 20);
          if (done - lastProgress < step && done !== total) return;
          lastProgress = done;
          this.#deps.events.emit('update_progress', { id: op.id, phase: 'fetch', done, total: total ?? null });
        },
        signal: AbortSignal.timeout(config.installTimeoutMs + LIST_TIMEOUT_MS * 10),
      },
      entry,
    );
  }

  async #list(): Promise<ReleaseEntry[]> {
    try {
      return await this.#deps.source.list(AbortSignal.timeout(LIST_TIMEOUT_MS));
    } catch (err) {
      if (err instanceof OutlastError) throw err;
      throw new OutlastError('SOURCE_UNAVAILABLE', `cannot list releases: ${(err as Error).message}`, { cause: err });
    }
  }

  #newOperation(id: string, kind: Operation['kind'], from: string | null, to: string): Operation {
    return { id, kind, from, to, state: 'applying', phase: 'lock', phases: [], startedAt: new Date(this.#deps.host.clock.now()).toISOString(), switched: false };
  }

  /** Journals that `op` enters `phase` (closing the timing of the previous one), then fires a failpoint if one is set. */
  async #enter(op: Operation, phase: OperationPhase, state?: Operation['state']): Promise<void> {
    const now = this.#deps.host.clock.monotonic();
    const started = this.#phaseStarted.get(op.id);
    if (started !== undefined && op.phases.length > 0) op.phases.at(-1)!.ms = Math.round(now - started);
    op.phases.push({ name: phase, ms: 0 });
    this.#phaseStarted.set(op.id, now);
    op.phase = phase;
    if (phase === 'switch') op.switched = true;
    if (state !== undefined) op.state = state;
    await this.#journal.write(op);
    await pruneOperationLogs(this.#deps.host.fs, this.#deps.stateDir).catch((err: unknown) => this.#deps.logger.warn({ err }, 'cannot prune old update logs'));
    this.#deps.events.emit('update', { id: op.id, state: op.state, phase, from: op.from, to: op.to });
    this.#failpoint(op, phase);
  }

  async #end(op: Operation, state: Operation['state'], error?: OutlastError): Promise<void> {
    const started = this.#phaseStarted.get(op.id);
    if (started !== undefined && op.phases.length > 0) op.phases.at(-1)!.ms = Math.round(this.#deps.host.clock.monotonic() - started);
    this.#phaseStarted.delete(op.id);
    op.state = state;
    op.phase = 'done';
    op.endedAt = new Date(this.#deps.host.clock.now()).toISOString();
    if (error !== undefined) op.error = { code: error.code, message: error.message };
    this.#deps.logger.info({ id: op.id, state, from: op.from, to: op.to, error: op.error }, `update ${op.id} ${state}`);
  }

  /**
   * Ends an operation for the outside world: the lock is released first, then
   * the final state is journaled and announced, so whoever sees "committed"
   * can start the next operation at once. A crash between the two leaves a
   * non-final entry, which recovery settles the same way.
   */
  async #close(op: Operation, lock: HeldLock): Promise<void> {
    await lock.release().catch((err: unknown) => this.#deps.logger.error({ err }, 'cannot release the update lock'));
    await this.#journal.write(op);
    this.#deps.events.emit('update', { id: op.id, state: op.state, phase: 'done', from: op.from, to: op.to, error: op.error ?? null });
  }

  /**
   * Test hook: OUTLAST_FAILPOINT=<phase> SIGKILLs this process right after
   * that phase of a requested update or rollback is journaled, to prove
   * recovery from a kill at that instant. The first install is exempt, so a
   * test can get a service running before it pulls the trigger.
   */
  #failpoint(op: Operation, phase: OperationPhase): void {
    const { host } = this.#deps;
    if (host.env.OUTLAST_FAILPOINT === phase && !op.id.startsWith('i')) host.kill(host.pid, 'SIGKILL');
  }
}
