/**
 * The supervised service: one child at a time, its readiness, its health, its
 * crash restarts and its graceful stop.
 *
 * Ownership: every transition of `state` happens in this class, and only
 * this class signals the child. Operations that stop a child (restart,
 * health restart, stop) are serialised through one queue, so a restart from
 * the API can never interleave with a SIGTERM stop. Each child is an `Attempt`
 * (attempt.ts) with its own AbortController: a watcher of an old one stands down.
 */
import { OutlastError } from '../errors.ts';
import type { ChildExit } from '../host/host.ts';
import { letGo, takeOver } from './adopted.ts';
import { launchAttempt, reportCrash, stopAttempt, type Attempt } from './attempt.ts';
import { handOff } from './handoff.ts';
import { NO_CRASHES, type CrashHistory } from './backoff.ts';
import { describeExit, exitCodeFor, lastExitOf } from './exit-code.ts';
import { HealthWatch } from './health-watch.ts';
import { BackoffTimer, nextStep, PolicyHold, type KeptExit } from './respawn.ts';
import { ServiceEventFanout, SerialQueue } from './event-fanout.ts';
import type { StopOutcome } from './stop.ts';
import type { RestartResult, ServiceDeps, ServiceEvent, ServiceEventFields, ServiceState, ServiceStatus, SpawnCause } from './types.ts';
export type { RestartResult, ServiceDeps, ServiceEvent, ServiceEventFields, ServiceEventType, ServiceState, ServiceStatus, SpawnCause } from './types.ts';

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
  readonly #policyHold = new PolicyHold();
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
    return { state: this.#state, pid: attempt?.pid ?? null, restarts: this.#restarts, uptimeMs: attempt === undefined ? null : Math.round(this.#deps.host.clock.monotonic() - attempt.spawnedAt), healthFailures: this.#health.failures, lastExit: this.#lastExit, reason: this.#reason };
  }

  /** Starts the first child, or takes over `adopted`: the child a previous image of this process left running (adopted.ts). */
  start(adopted?: Attempt): void {
    if (this.#state !== 'stopped' || this.#spawns > 0) throw new OutlastError('CONFLICT', `service already started (state ${this.#state})`);
    if (adopted === undefined) return void this.#spawn({ cause: 'start' });
    this.#spawns += 1;
    takeOver(this.#deps, adopted, (exit) => this.#onExit(adopted, exit));
    this.#begin(adopted, { cause: 'adopt' });
  }

  /** Lets go of the ready child WITHOUT stopping it, for the next image of this process to adopt (letGo); its pid, or undefined when it cannot. No event. */
  release(): Promise<number | undefined> {
    return this.#queue.run(async () => {
      if (this.#state !== 'ready' || this.#attempt === undefined || !(await letGo(this.#attempt))) return undefined;
      this.#backoff.cancel();
      this.#state = 'stopping';
      return this.#attempt.pid;
    });
  }

  /**
   * Throws CONFLICT when restart() would refuse now (stopping, stopped or finished), and for anyone but
   * the update while an update holds the child (hold()). The API asks before it answers 202; restart()
   * asks again, for the update, when its turn in the queue comes.
   */
  assertRestartable(asker: 'update' | 'other' = 'other'): void {
    if (NOT_RESTARTABLE.has(this.#state)) throw new OutlastError('CONFLICT', `cannot restart: the service is ${this.#state}`, { details: { state: this.#state } });
    if (asker === 'other' && this.#policyHold.held) throw new OutlastError('CONFLICT', 'an update owns the service until its health gate has ruled; restart it after that');
  }

  /**
   * Gracefully restarts the child (also revives an errored service); resolves once the new child is
   * ready or failed to get there. Throws only when the service refuses (CONFLICT, see assertRestartable).
   */
  async restart(reason: string): Promise<RestartResult> {
    const started = await this.#queue.run(async (): Promise<Attempt | RestartResult | undefined> => {
      this.assertRestartable('update');
      this.#deps.logger.info({ reason }, 'restart requested');
      this.#backoff.cancel();
      this.#policyHold.forget();
      this.#history = NO_CRASHES;
      this.#reason = null;
      if (this.#deps.listeners !== undefined && this.#attempt !== undefined && this.#state === 'ready') return this.#handoff(this.#attempt, reason);
      await this.#stopCurrent(reason);
      return this.#spawn({ cause: 'restart', reason });
    });
    if (started === undefined) return { ok: false, handoff: false, reason: this.#lastExit?.description ?? 'the new child could not be started' };
    if ('ok' in started) return started;
    if (this.#attempt === started && this.#state === 'ready') return { ok: true, handoff: false };
    return this.#events.untilReady(started.pid, () => this.#attempt === started);
  }

  /**
   * Suspends the crash policy while an update owns the child (switch to verdict): an exit is not
   * respawned, so the version being judged never runs twice. The returned function ends the hold;
   * a kept exit then goes to the policy, unless a stop, a restart or a handoff answered it meanwhile.
   */
  hold(): () => void {
    return this.#policyHold.take((kept) => this.#attempt === undefined && this.#state === 'errored' && this.#applyPolicy(kept));
  }

  /**
   * Stops the child for good; resolves with how the stop went (undefined if no child ran). `startedAt`
   * (monotonic) is when it was asked for: each phase logs `sinceStopMs` from it, queueing included.
   */
  stop(reason: string, startedAt?: number): Promise<StopOutcome | undefined> {
    return this.#queue.run(async () => {
      if (this.#state === 'stopped' || this.#state === 'stopping') return undefined;
      this.#backoff.cancel();
      this.#policyHold.forget();
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

  /** SIGKILLs the current child's group now, cutting a drain short (the watcher under way sees it gone); returns its pid, or null. */
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

  #spawn(why: SpawnCause): Attempt | undefined {
    const attempt = this.#launch();
    if (attempt !== undefined) this.#begin(attempt, why);
    return attempt;
  }

  #begin(attempt: Attempt, why: SpawnCause): void {
    this.#health.reset();
    this.#attempt = attempt;
    this.#state = 'starting';
    this.#events.emit('spawned', { pid: attempt.pid, ...why });
    void this.#watchReadiness(attempt);
  }

  /** Starts a child and watches its exit (a handoff's, with its reason, is announced here); undefined when it could not start. */
  #launch(handoff?: string): Attempt | undefined {
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
    if (handoff !== undefined) this.#events.emit('spawned', { pid: attempt.pid, handoff: true, cause: 'restart', reason: handoff });
    return attempt;
  }

  /** With owned sockets: the new child starts beside the old one (handoff.ts). */
  #handoff(old: Attempt, reason: string): Promise<RestartResult> {
    const adopt = (next: Attempt): void => {
      this.#policyHold.forget();
      this.#attempt = next;
      this.#health.reset();
      this.#serve(next);
    };
    const drained = (outcome: StopOutcome): void => this.#events.emit('child_stopped', { pid: old.pid, reason, ms: outcome.elapsedMs, forced: outcome.forced });
    return handOff(this.#deps, { launch: () => this.#launch(reason), ready: (next) => this.#health.ready(next), adopt, drained, share: () => this.#health.share() }, old, reason);
  }

  #onSpawnFailed(exit: ChildExit): void {
    const description = describeExit(exit);
    this.#lastExit = lastExitOf(exit, this.#deps.host.clock.now());
    this.#deps.logger.error({ exitCode: exitCodeFor(exit) }, `service ${description}`);
    // A command that never ran once will not run on retry: end with 126/127 as a shell would.
    if (this.#spawns === 1 && !this.#policyHold.held) return this.#finish(exit, description);
    this.#applyPolicy({ exit, uptimeMs: 0, cause: 'crash' });
  }

  #onExit(attempt: Attempt, exit: ChildExit): void {
    attempt.abort.abort();
    if (attempt.stopping || this.#attempt !== attempt) return;
    const uptimeMs = this.#deps.host.clock.monotonic() - attempt.spawnedAt;
    this.#attempt = undefined;
    this.#lastExit = lastExitOf(exit, this.#deps.host.clock.now());
    reportCrash(this.#deps, attempt, exit, uptimeMs);
    this.#events.emit('exited', { pid: attempt.pid, description: describeExit(exit), code: exitCodeFor(exit) });
    this.#applyPolicy({ exit, uptimeMs, cause: 'crash' });
  }

  /** Decides what follows an unplanned end of the child (respawn.ts); a respawn carries the kept exit's cause. */
  #applyPolicy(kept: KeptExit): void {
    const { config, host, logger } = this.#deps;
    const { exit, cause } = kept;
    const step = nextStep(this.#policyHold, kept, this.#history, config.restart, host.clock.monotonic(), host.random());
    if (step.kind === 'finish') return this.#finish(exit, step.reason);
    if (step.kind === 'respawn') {
      this.#history = step.history;
      this.#setState('backoff', { delayMs: step.delayMs, attempt: step.history.consecutive });
      logger.info({ delayMs: step.delayMs, attempt: step.history.consecutive }, 'restarting after backoff');
      return this.#backoff.schedule(step.delayMs, () => this.#spawn({ cause }));
    }
    if (step.kind === 'errored') this.#history = step.history;
    this.#reason = step.reason;
    this.#setState('errored', { reason: step.reason });
    logger[step.kind === 'held' ? 'warn' : 'error']({ reason: step.reason, exit: describeExit(exit) }, step.kind === 'held' ? 'service exited during an update: not respawned until it decides' : 'service errored: not restarting until asked');
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
    this.#lastExit = lastExitOf(outcome.exit, this.#deps.host.clock.now());
    this.#events.emit('child_stopped', { pid: attempt.pid, reason, ms: outcome.elapsedMs, forced: outcome.forced });
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
    if (result.ok) return this.#serve(attempt);
    this.#deps.logger.error({ childPid: attempt.pid, reason: result.reason }, 'service never became ready');
    await this.#failAttempt(attempt, result.reason);
  }

  #serve(attempt: Attempt): void {
    this.#markReady(attempt);
    if (this.#health.probes) void this.#watchHealth(attempt);
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
      if (outcome !== undefined) this.#applyPolicy({ exit: outcome.exit, uptimeMs, cause: 'health' });
    });
  }
}
