/**
 * The supervised service: one child at a time, its readiness, its health, its
 * crash restarts and its graceful stop.
 *
 * Ownership: every transition of `state` happens in this class, and only
 * this class signals the child. Operations that stop a child (restart,
 * health restart, stop) are serialised through one queue, so a restart from
 * the API can never interleave with a SIGTERM stop. Each spawned child is an
 * `Attempt` (attempt.ts) with its own AbortController: whatever was watching
 * an old attempt sees it is stale and stands down.
 */
import { OutlastError } from '../errors.ts';
import type { ChildExit } from '../host/host.ts';
import { discardAttempt, drainAttempt, launchAttempt, reportCrash, stopAttempt, type Attempt } from './attempt.ts';
import { NO_CRASHES, onCrash, type CrashHistory } from './backoff.ts';
import { describeExit, exitCodeFor } from './exit-code.ts';
import { HealthWatch } from './health-watch.ts';
import { BackoffTimer, endsSupervision } from './respawn.ts';
import { ServiceEventFanout, SerialQueue } from './event-fanout.ts';
import type { StopOutcome } from './stop.ts';
import type { ServiceDeps, ServiceEvent, ServiceEventFields, ServiceState, ServiceStatus } from './types.ts';

export type { ServiceDeps, ServiceEvent, ServiceEventFields, ServiceEventType, ServiceState, ServiceStatus } from './types.ts';

/**
 * How a restart went: `ok` once the new child is ready (with owned sockets,
 * `handoff` says the old one served until then); otherwise why not, and with
 * a failed handoff the old child is still serving.
 */
export type RestartResult = { ok: true; handoff: boolean } | { ok: false; handoff: boolean; reason: string };

/** States in which restart() refuses: the service is being, or has been, let go of. */
const NOT_RESTARTABLE: ReadonlySet<ServiceState> = new Set(['stopping', 'stopped', 'finished']);

/** Supervises one service command. */
export class Service {
  readonly #deps: ServiceDeps;
  readonly #health: HealthWatch;
  readonly #backoff: BackoffTimer;
  #state: ServiceState = 'stopped';
  #attempt: Attempt | undefined;
  #history: CrashHistory = NO_CRASHES;
  #restarts = 0;
  #spawns = 0;
  #lastExit: ServiceStatus['lastExit'] = null;
  #reason: string | null = null;
  /** Holds on the crash policy (see hold()); an exit under a hold waits here for the holder's verdict. */
  #holds = 0;
  #heldExit: { exit: ChildExit; uptimeMs: number } | undefined;
  readonly #queue = new SerialQueue();
  readonly #events: ServiceEventFanout;
  #resolveDone!: (exit: ChildExit) => void;

  /** Settles when supervision ends by itself (restart policy), with the last exit. */
  readonly done: Promise<ChildExit>;

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
    this.#health = new HealthWatch(deps);
    this.#backoff = new BackoffTimer(deps.host.clock);
    this.#events = new ServiceEventFanout(() => deps.host.clock.now());
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Subscribes to lifecycle events; returns the unsubscribe. */
  onEvent(listener: (event: ServiceEvent) => void): () => void {
    return this.#events.on(listener);
  }

  /** The current status snapshot. */
  status(): ServiceStatus {
    const attempt = this.#attempt;
    const now = this.#deps.host.clock.monotonic();
    return {
      state: this.#state,
      pid: attempt?.pid ?? null,
      restarts: this.#restarts,
      uptimeMs: attempt === undefined ? null : Math.round(now - attempt.spawnedAt),
      healthFailures: this.#health.failures,
      lastExit: this.#lastExit,
      reason: this.#reason,
    };
  }

  /** Starts the first child. */
  start(): void {
    if (this.#state !== 'stopped' || this.#spawns > 0) throw new OutlastError('CONFLICT', `service already started (state ${this.#state})`);
    this.#spawn();
  }

  /**
   * Throws CONFLICT when restart() would refuse now (the service is stopping,
   * stopped or finished). The API asks before it answers 202; restart()
   * asks again when its turn in the queue comes.
   */
  assertRestartable(): void {
    if (NOT_RESTARTABLE.has(this.#state)) {
      throw new OutlastError('CONFLICT', `cannot restart: the service is ${this.#state}`, { details: { state: this.#state } });
    }
  }

  /**
   * Gracefully restarts the child (also revives an errored service), and
   * resolves once the new child is ready or has failed to get there. Throws
   * only when the service refuses to restart (CONFLICT, see assertRestartable).
   */
  async restart(reason: string): Promise<RestartResult> {
    const started = await this.#queue.run(async (): Promise<Attempt | RestartResult | undefined> => {
      this.assertRestartable();
      this.#deps.logger.info({ reason }, 'restart requested');
      this.#backoff.cancel();
      this.#heldExit = undefined;
      this.#history = NO_CRASHES;
      this.#reason = null;
      if (this.#deps.listeners !== undefined && this.#attempt !== undefined && this.#state === 'ready') return this.#handoff(this.#attempt, reason);
      await this.#stopCurrent(reason);
      return this.#spawn();
    });
    if (started === undefined) return { ok: false, handoff: false, reason: this.#lastExit?.description ?? 'the new child could not be started' };
    if ('ok' in started) return started;
    return this.#readiness(started);
  }

  /**
   * Suspends the crash policy while an update owns the child (from its switch
   * to the health gate's verdict): a child that exits is not respawned, so
   * the version being judged never runs twice. The returned function ends
   * the hold; an exit it kept waiting is then handled by the policy, unless
   * a restart has replaced the child meanwhile.
   */
  hold(): () => void {
    this.#holds += 1;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#holds -= 1;
      const waiting = this.#heldExit;
      if (this.#holds > 0 || waiting === undefined) return;
      this.#heldExit = undefined;
      this.#applyPolicy(waiting.exit, waiting.uptimeMs);
    };
  }

  /**
   * Stops the child for good; resolves with how the stop went (undefined if
   * no child ran). `startedAt` (monotonic) is when the stop was asked for:
   * every phase is logged with `sinceStopMs` from it, waiting in the queue included.
   */
  stop(reason: string, startedAt?: number): Promise<StopOutcome | undefined> {
    return this.#queue.run(async () => {
      if (this.#state === 'stopped' || this.#state === 'stopping') return undefined;
      this.#backoff.cancel();
      this.#setState('stopping', { reason });
      const outcome = await this.#stopCurrent(reason, startedAt);
      this.#setState('stopped', { reason });
      return outcome;
    });
  }

  /** Sends `signal` to the current child (not its group); returns its pid, or null when none runs. */
  signal(signal: NodeJS.Signals): number | null {
    const pid = this.#attempt?.pid ?? null;
    if (pid !== null) this.#deps.host.kill(pid, signal);
    return pid;
  }

  /**
   * SIGKILLs the current child's whole group now, cutting a drain short; the
   * stop or exit watcher under way then sees it gone. Returns its pid, or null.
   */
  kill(): number | null {
    const pid = this.#attempt?.pid ?? null;
    if (pid !== null) this.#deps.host.killGroup(pid, 'SIGKILL');
    return pid;
  }

  /** Every state but `starting` is announced by the event of the same name (`starting` by `spawned`). */
  #setState<S extends Exclude<ServiceState, 'starting'>>(state: S, fields: ServiceEventFields[S]): void {
    this.#state = state;
    this.#events.emit(state, fields);
  }

  #spawn(): Attempt | undefined {
    const attempt = this.#launch();
    if (attempt === undefined) return undefined;
    this.#health.reset();
    this.#attempt = attempt;
    this.#state = 'starting';
    this.#events.emit('spawned', { pid: attempt.pid });
    void this.#watchReadiness(attempt);
    return attempt;
  }

  /** Settles once `attempt` is ready, or is gone or replaced before it got there. */
  #readiness(attempt: Attempt): Promise<RestartResult> {
    if (this.#attempt === attempt && this.#state === 'ready') return Promise.resolve({ ok: true, handoff: false });
    return new Promise((resolve) => {
      const off = this.#events.on((event) => {
        if (event.type === 'ready' && event.pid === attempt.pid) {
          off();
          resolve({ ok: true, handoff: false });
        } else if (event.type !== 'ready' && this.#attempt !== attempt) {
          off();
          resolve({ ok: false, handoff: false, reason: typeof event.description === 'string' ? event.description : typeof event.reason === 'string' ? event.reason : event.type });
        }
      });
    });
  }

  /** Starts a child and watches its exit; undefined when it could not start. */
  #launch(): Attempt | undefined {
    if (this.#spawns > 0) this.#restarts += 1;
    this.#spawns += 1;
    const launch = launchAttempt(this.#deps);
    if (!launch.ok) {
      void launch.exited.then((exit) => this.#onSpawnFailed(exit));
      return undefined;
    }
    const { attempt } = launch;
    this.#deps.logger.info({ childPid: attempt.pid, command: this.#deps.config.command, restarts: this.#restarts }, 'service spawned');
    void attempt.exited.then((exit) => this.#onExit(attempt, exit));
    return attempt;
  }

  /**
   * Zero-downtime restart: the new child starts on the same sockets while the
   * old one keeps serving; only once the new one is ready does the old one get
   * its stop signal and drain. If the new child never becomes ready within
   * readyTimeoutMs it is killed and the old one serves on.
   */
  async #handoff(old: Attempt, reason: string): Promise<RestartResult> {
    const { logger } = this.#deps;
    const next = this.#launch();
    if (next === undefined) return { ok: false, handoff: true, reason: 'the new child could not be started; the old one keeps serving' };
    this.#events.emit('spawned', { pid: next.pid, handoff: true });
    logger.info({ childPid: next.pid, oldPid: old.pid, reason }, 'handoff: new child started on the same sockets; the old one serves until it is ready');
    const ready = await this.#health.ready(next);
    if (!ready.ok) {
      await discardAttempt(this.#deps.host, next);
      logger.error({ childPid: next.pid, reason: ready.reason }, 'handoff: the new child never became ready; the old one keeps serving');
      return { ok: false, handoff: true, reason: `the new child never became ready (${ready.reason}); the old one keeps serving` };
    }
    this.#attempt = next;
    this.#health.reset();
    this.#markReady(next);
    if (this.#health.probes) void this.#watchHealth(next);
    await drainAttempt(this.#deps, old);
    return { ok: true, handoff: true };
  }

  #onSpawnFailed(exit: ChildExit): void {
    const description = describeExit(exit);
    this.#recordExit(exit);
    this.#deps.logger.error({ exitCode: exitCodeFor(exit) }, `service ${description}`);
    // A command that never ran once will not run on retry: end supervision
    // with 126/127 as a shell would, instead of looping into `errored`.
    if (this.#spawns === 1) return this.#finish(exit, description);
    this.#applyPolicy(exit, 0);
  }

  #recordExit(exit: ChildExit): void {
    this.#lastExit = { description: describeExit(exit), code: exitCodeFor(exit), at: new Date(this.#deps.host.clock.now()).toISOString() };
  }

  #onExit(attempt: Attempt, exit: ChildExit): void {
    attempt.abort.abort();
    if (attempt.stopping || this.#attempt !== attempt) return;
    const uptimeMs = this.#deps.host.clock.monotonic() - attempt.spawnedAt;
    this.#attempt = undefined;
    this.#recordExit(exit);
    reportCrash(this.#deps, attempt, exit, uptimeMs);
    this.#events.emit('exited', { pid: attempt.pid, description: describeExit(exit), code: exitCodeFor(exit) });
    this.#applyPolicy(exit, uptimeMs);
  }

  /** Decides what follows an unplanned end of the child. */
  #applyPolicy(exit: ChildExit, uptimeMs: number): void {
    const { config, host, logger } = this.#deps;
    if (this.#holds > 0) {
      // An update owns the child: its verdict decides what runs next.
      this.#heldExit = { exit, uptimeMs };
      this.#reason = 'the child exited during an update; the update decides what runs next';
      this.#setState('errored', { reason: this.#reason });
      logger.warn({ exit: describeExit(exit) }, 'service exited during an update: not respawned until the update decides');
      return;
    }
    const { policy } = config.restart;
    if (endsSupervision(policy, exit)) return this.#finish(exit, `${describeExit(exit)} (restart policy ${policy})`);
    const decision = onCrash(this.#history, host.clock.monotonic(), uptimeMs, config.restart, host.random());
    this.#history = decision.history;
    if (decision.action === 'give-up') {
      this.#reason = decision.reason;
      this.#setState('errored', { reason: decision.reason });
      logger.error({ reason: decision.reason }, 'service errored: not restarting until asked');
      return;
    }
    this.#setState('backoff', { delayMs: decision.delayMs, attempt: decision.history.consecutive });
    logger.info({ delayMs: decision.delayMs, attempt: decision.history.consecutive }, 'restarting after backoff');
    this.#backoff.schedule(decision.delayMs, () => this.#spawn());
  }

  #finish(exit: ChildExit, reason: string): void {
    this.#reason = reason;
    this.#attempt = undefined;
    this.#setState('finished', { reason });
    this.#resolveDone(exit);
  }

  /** Stops the current child, if any, and waits for its output to drain. */
  async #stopCurrent(reason: string, startedAt = this.#deps.host.clock.monotonic()): Promise<StopOutcome | undefined> {
    const attempt = this.#attempt;
    if (attempt === undefined) return undefined;
    const outcome = await stopAttempt(this.#deps, attempt, reason, startedAt);
    this.#recordExit(outcome.exit);
    if (this.#attempt === attempt) this.#attempt = undefined;
    return outcome;
  }

  async #watchReadiness(attempt: Attempt): Promise<void> {
    if (!this.#health.waits) {
      // Nothing to wait for: ready now, synchronously, so no caller sees a gap.
      this.#markReady(attempt);
      return;
    }
    const result = await this.#health.ready(attempt);
    if (attempt.abort.signal.aborted || this.#attempt !== attempt) return;
    if (result.ok) {
      this.#markReady(attempt);
      if (this.#health.probes) void this.#watchHealth(attempt);
      return;
    }
    this.#deps.logger.error({ childPid: attempt.pid, reason: result.reason }, 'service never became ready');
    await this.#failAttempt(attempt, result.reason);
  }

  #markReady(attempt: Attempt): void {
    const ms = Math.round(this.#deps.host.clock.monotonic() - attempt.spawnedAt);
    this.#setState('ready', { pid: attempt.pid, ms });
    this.#deps.logger.info({ childPid: attempt.pid, ms }, `service ready after ${ms} ms`);
  }

  async #watchHealth(attempt: Attempt): Promise<void> {
    const reason = await this.#health.watch(attempt, () => this.#attempt === attempt);
    if (reason === undefined) return;
    this.#events.emit('unhealthy', { pid: attempt.pid, reason });
    await this.#failAttempt(attempt, reason);
  }

  /** A child that is alive but not serving: stop it and treat it as a crash. */
  #failAttempt(attempt: Attempt, reason: string): Promise<void> {
    return this.#queue.run(async () => {
      if (this.#attempt !== attempt) return;
      const uptimeMs = this.#deps.host.clock.monotonic() - attempt.spawnedAt;
      const outcome = await this.#stopCurrent(reason);
      if (outcome !== undefined) this.#applyPolicy(outcome.exit, uptimeMs);
    });
  }
}
