/**
 * The supervised service: one child at a time, its readiness, its health, its
 * crash restarts and its graceful stop.
 *
 * Ownership: every transition of `state` happens in this class. Operations
 * that stop a child (restart, health restart, stop) are serialised through one
 * queue, so a restart from the API can never interleave with a SIGTERM stop.
 * Each spawned child is an `Attempt` with its own AbortController: whatever
 * was watching an old attempt (readiness, health loop, exit watcher) sees it
 * is stale and stands down.
 */
import { OutlastError } from '../errors.ts';
import type { ServiceConfig } from '../config/schema.ts';
import type { ChildExit, Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import type { Sink } from '../log/safe-sink.ts';
import { NO_CRASHES, onCrash, type CrashHistory } from './backoff.ts';
import { describeExit, exitCodeFor } from './exit-code.ts';
import { forwardLines } from './output.ts';
import { hasProbe, probeOnce, waitReady, type ProbeResult } from './readiness.ts';
import { reapGroup, stopGroup, type StopOutcome } from './stop.ts';
import { withListeners, type Listeners } from './listeners.ts';

/**
 * Variables addressed to the supervisor, not to its child: systemd's notify
 * and socket handshakes (a child that answered NOTIFY_SOCKET itself could
 * report READY=1 before we do), and outlast's own restart bookkeeping.
 */
const SUPERVISOR_ONLY_ENV = new Set(['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'OUTLAST_RESTART_ID', 'OUTLAST_MARKER_DIR']);

/** Where the service is in its life. */
export type ServiceState = 'starting' | 'ready' | 'backoff' | 'stopping' | 'stopped' | 'errored' | 'exited';

/** A lifecycle event, for logs, the API and `/events`. */
export interface ServiceEvent {
  type: 'spawned' | 'ready' | 'exited' | 'unhealthy' | 'backoff' | 'errored' | 'stopping' | 'stopped' | 'finished';
  at: number;
  [key: string]: unknown;
}

/** The service as `/status` reports it. */
export interface ServiceStatus {
  state: ServiceState;
  pid: number | null;
  restarts: number;
  uptimeMs: number | null;
  healthFailures: number;
  lastExit: { description: string; code: number; at: string } | null;
  /** Why the service is errored or exited, when it is. */
  reason: string | null;
}

/** What a Service needs from its surroundings. */
export interface ServiceDeps {
  host: Host;
  config: ServiceConfig;
  logger: Logger;
  stdout: Sink;
  stderr: Sink;
  /** Extra variables for the child, on top of the configured env. */
  extraEnv?: Record<string, string>;
  /**
   * Asked at every spawn: where the child runs and what else its env holds.
   * Updates use it so each child starts in the release `current` points at.
   */
  spawnContext?: () => { cwd?: string; env?: Record<string, string> };
  /** With `health.notify`: resolves when the child sends READY=1 (or fails at the timeout or abort). */
  readyMessage?: (signal: AbortSignal, timeoutMs: number) => Promise<ProbeResult>;
  /** Sockets owned by the supervisor and handed to every child (`service.listen`). */
  listeners?: Listeners;
}

interface Attempt {
  pid: number;
  exited: Promise<ChildExit>;
  spawnedAt: number;
  abort: AbortController;
  /** Set when we stop this child on purpose, so its exit is not a crash. */
  stopping: boolean;
  output: Promise<void>;
}

/** Supervises one service command. */
export class Service {
  readonly #deps: ServiceDeps;
  #state: ServiceState = 'stopped';
  #attempt: Attempt | undefined;
  #history: CrashHistory = NO_CRASHES;
  #restarts = 0;
  #spawns = 0;
  #healthFailures = 0;
  #lastExit: ServiceStatus['lastExit'] = null;
  #reason: string | null = null;
  #backoffTimer: AbortController | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #listeners = new Set<(event: ServiceEvent) => void>();
  #resolveDone!: (exit: ChildExit) => void;

  /** Settles when supervision ends by itself (restart policy), with the last exit. */
  readonly done: Promise<ChildExit>;

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Subscribes to lifecycle events; returns the unsubscribe. */
  onEvent(listener: (event: ServiceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
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
      healthFailures: this.#healthFailures,
      lastExit: this.#lastExit,
      reason: this.#reason,
    };
  }

  /** Starts the first child. */
  start(): void {
    if (this.#state !== 'stopped' || this.#spawns > 0) {
      throw new OutlastError('CONFLICT', `service already started (state ${this.#state})`);
    }
    this.#spawn();
  }

  /** Gracefully restarts the child (also revives an errored service). */
  restart(reason: string): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#state === 'stopping' || this.#state === 'stopped' || this.#state === 'exited') {
        throw new OutlastError('CONFLICT', `cannot restart: the service is ${this.#state}`, {
          details: { state: this.#state },
        });
      }
      this.#deps.logger.info({ reason }, 'restart requested');
      this.#cancelBackoff();
      if (this.#deps.listeners !== undefined && this.#attempt !== undefined && this.#state === 'ready') {
        await this.#handoff(this.#attempt, reason);
        this.#history = NO_CRASHES;
        this.#reason = null;
        return;
      }
      await this.#stopCurrent(reason);
      this.#history = NO_CRASHES;
      this.#reason = null;
      this.#spawn();
    });
  }

  /**
   * Stops the child for good; resolves with how the stop went (undefined if
   * no child ran). `startedAt` (monotonic) is when the stop was asked for:
   * every phase is logged with `sinceStopMs` from it, waiting in the queue included.
   */
  stop(reason: string, startedAt?: number): Promise<StopOutcome | undefined> {
    return this.#enqueue(async () => {
      if (this.#state === 'stopped' || this.#state === 'stopping') return undefined;
      this.#cancelBackoff();
      this.#setState('stopping', { reason });
      const outcome = await this.#stopCurrent(reason, startedAt);
      this.#setState('stopped', { reason });
      return outcome;
    });
  }

  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(op, op);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #emit(type: ServiceEvent['type'], fields: Record<string, unknown> = {}): void {
    const event: ServiceEvent = { type, at: this.#deps.host.clock.now(), ...fields };
    for (const listener of this.#listeners) listener(event);
  }

  #setState(state: ServiceState, fields: Record<string, unknown> = {}): void {
    this.#state = state;
    const type = state === 'starting' ? 'spawned' : state === 'exited' ? 'finished' : state;
    this.#emit(type, fields);
  }

  #childEnv(contextEnv: Record<string, string> | undefined): Record<string, string> {
    const { host, config, extraEnv } = this.#deps;
    const env: Record<string, string> = {};
    if (config.inheritEnv) {
      for (const [key, value] of Object.entries(host.env)) if (value !== undefined && !SUPERVISOR_ONLY_ENV.has(key)) env[key] = value;
    }
    return { ...env, ...config.env, ...extraEnv, ...contextEnv };
  }

  #spawn(): void {
    const attempt = this.#launch();
    if (attempt === undefined) return;
    this.#healthFailures = 0;
    this.#attempt = attempt;
    this.#setState('starting', { pid: attempt.pid });
    void this.#watchReadiness(attempt);
  }

  /** Starts a child (with the sockets, when the supervisor owns any); undefined when it could not start. */
  #launch(): Attempt | undefined {
    const { host, config, logger, listeners } = this.#deps;
    const [command, ...commandArgs] = config.command as [string, ...string[]];
    if (this.#spawns > 0) this.#restarts += 1;
    this.#spawns += 1;
    const context = this.#deps.spawnContext?.() ?? {};
    const cwd = context.cwd ?? config.cwd ?? host.cwd;
    const shimmed = listeners === undefined ? undefined : withListeners(listeners, command, commandArgs);
    const file = shimmed?.file ?? command;
    const args = shimmed?.args ?? commandArgs;
    const env = { ...this.#childEnv(context.env), ...shimmed?.env };
    const child = host.spawn(file, args, { cwd, env, detached: true, ...(shimmed === undefined ? {} : { passFds: shimmed.passFds }) });
    if (child.pid === undefined) {
      void child.exited.then((exit) => this.#onSpawnFailed(exit));
      return undefined;
    }
    const output = Promise.all([
      child.stdout === null ? undefined : forwardLines(child.stdout, this.#deps.stdout),
      child.stderr === null ? undefined : forwardLines(child.stderr, this.#deps.stderr),
    ]).then(() => undefined);
    const attempt: Attempt = {
      pid: child.pid,
      exited: child.exited,
      spawnedAt: host.clock.monotonic(),
      abort: new AbortController(),
      stopping: false,
      output,
    };
    logger.info({ childPid: child.pid, command: config.command, restarts: this.#restarts }, 'service spawned');
    void child.exited.then((exit) => this.#onExit(attempt, exit));
    return attempt;
  }

  /**
   * Zero-downtime restart: the new child starts on the same sockets while the
   * old one keeps serving; only once the new one is ready does the old one get
   * its stop signal and drain. If the new child never becomes ready within
   * readyTimeoutMs it is killed and the old one serves on.
   */
  async #handoff(old: Attempt, reason: string): Promise<void> {
    const { host, config, logger } = this.#deps;
    const next = this.#launch();
    if (next === undefined) throw new OutlastError('INTERNAL', 'the new child could not be started; the old one keeps serving');
    this.#emit('spawned', { pid: next.pid, handoff: true });
    logger.info({ childPid: next.pid, oldPid: old.pid, reason }, 'handoff: new child started on the same sockets; the old one serves until it is ready');
    const ready = await this.#readiness(next);
    if (!ready.ok) {
      next.stopping = true;
      next.abort.abort();
      await stopGroup(host, next, 'SIGKILL', 0, () => undefined);
      logger.error({ childPid: next.pid, reason: ready.reason }, 'handoff: the new child never became ready; the old one keeps serving');
      throw new OutlastError('VERIFY_FAILED', `the new child never became ready (${ready.reason}); the old one keeps serving`);
    }
    this.#attempt = next;
    this.#healthFailures = 0;
    this.#markReady(next);
    if (hasProbe(config.health)) void this.#watchHealth(next);
    old.stopping = true;
    old.abort.abort();
    const outcome = await stopGroup(host, old, config.stopSignal, config.stopTimeoutMs, () => undefined);
    await old.output;
    logger.info({ oldPid: old.pid, ms: outcome.elapsedMs, forced: outcome.forced }, `handoff: the old child drained in ${outcome.elapsedMs} ms`);
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
    this.#lastExit = {
      description: describeExit(exit),
      code: exitCodeFor(exit),
      at: new Date(this.#deps.host.clock.now()).toISOString(),
    };
  }

  #onExit(attempt: Attempt, exit: ChildExit): void {
    attempt.abort.abort();
    if (attempt.stopping || this.#attempt !== attempt) return;
    const uptimeMs = this.#deps.host.clock.monotonic() - attempt.spawnedAt;
    this.#attempt = undefined;
    this.#recordExit(exit);
    if (reapGroup(this.#deps.host, attempt.pid)) {
      this.#deps.logger.warn({ pgid: attempt.pid }, 'killed processes the child left behind in its group');
    }
    this.#deps.logger.warn({ childPid: attempt.pid, uptimeMs: Math.round(uptimeMs), exitCode: exitCodeFor(exit) }, `service ${describeExit(exit)}`);
    this.#emit('exited', { pid: attempt.pid, description: describeExit(exit), code: exitCodeFor(exit) });
    this.#applyPolicy(exit, uptimeMs);
  }

  /** Decides what follows an unplanned end of the child. */
  #applyPolicy(exit: ChildExit, uptimeMs: number): void {
    const { config, host, logger } = this.#deps;
    const policy = config.restart.policy;
    const clean = exit.kind === 'exited' && exit.code === 0;
    if (policy === 'never' || (policy === 'on-failure' && clean)) {
      return this.#finish(exit, `${describeExit(exit)} (restart policy ${policy})`);
    }
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
    const timer = new AbortController();
    this.#backoffTimer = timer;
    host.clock.sleep(decision.delayMs, timer.signal).then(
      () => {
        if (this.#backoffTimer !== timer) return;
        this.#backoffTimer = undefined;
        this.#spawn();
      },
      () => undefined,
    );
  }

  #finish(exit: ChildExit, reason: string): void {
    this.#reason = reason;
    this.#attempt = undefined;
    this.#setState('exited', { reason });
    this.#resolveDone(exit);
  }

  #cancelBackoff(): void {
    this.#backoffTimer?.abort();
    this.#backoffTimer = undefined;
  }

  /** Stops the current child, if any, and waits for its output to drain. */
  async #stopCurrent(reason: string, startedAt = this.#deps.host.clock.monotonic()): Promise<StopOutcome | undefined> {
    const attempt = this.#attempt;
    if (attempt === undefined) return undefined;
    const { host, config, logger } = this.#deps;
    attempt.stopping = true;
    attempt.abort.abort();
    // `ms` counts from the stop signal (the drain); `sinceStopMs` from the request.
    const since = (): number => Math.round(host.clock.monotonic() - startedAt);
    logger.info({ childPid: attempt.pid, reason, signal: config.stopSignal, budgetMs: config.stopTimeoutMs, sinceStopMs: since() }, 'stop requested');
    const outcome = await stopGroup(host, attempt, config.stopSignal, config.stopTimeoutMs, (phase, ms) => {
      const fields = { childPid: attempt.pid, ms, sinceStopMs: since() };
      if (phase === 'signal-sent') logger.info(fields, `stop: ${config.stopSignal} sent to the process group`);
      if (phase === 'child-exited') logger.info(fields, `stop: child exited after ${ms} ms`);
      if (phase === 'group-leftovers') logger.warn(fields, `stop: leftovers in the group SIGKILLed after ${ms} ms`);
      if (phase === 'force-killed') logger.warn(fields, `stop: child force-killed after ${ms} ms (budget ${config.stopTimeoutMs} ms)`);
    });
    await attempt.output;
    this.#recordExit(outcome.exit);
    if (this.#attempt === attempt) this.#attempt = undefined;
    return outcome;
  }

  /** Waits until `attempt` is ready: READY=1 with health.notify, else the probe, else at once. */
  #readiness(attempt: Attempt): Promise<ProbeResult> {
    const { host, config, readyMessage } = this.#deps;
    if (config.health.notify && readyMessage !== undefined) return readyMessage(attempt.abort.signal, config.health.readyTimeoutMs);
    if (hasProbe(config.health)) return waitReady(host, config.health, attempt.abort.signal);
    return Promise.resolve({ ok: true });
  }

  async #watchReadiness(attempt: Attempt): Promise<void> {
    const { config, logger, readyMessage } = this.#deps;
    if (!(config.health.notify && readyMessage !== undefined) && !hasProbe(config.health)) {
      // Nothing to wait for: ready now, synchronously, so no caller sees a gap.
      this.#markReady(attempt);
      return;
    }
    const result = await this.#readiness(attempt);
    if (attempt.abort.signal.aborted || this.#attempt !== attempt) return;
    if (result.ok) {
      this.#markReady(attempt);
      if (hasProbe(config.health)) void this.#watchHealth(attempt);
      return;
    }
    logger.error({ childPid: attempt.pid, reason: result.reason }, 'service never became ready');
    await this.#failAttempt(attempt, result.reason);
  }

  #markReady(attempt: Attempt): void {
    const ms = Math.round(this.#deps.host.clock.monotonic() - attempt.spawnedAt);
    this.#setState('ready', { pid: attempt.pid, ms });
    this.#deps.logger.info({ childPid: attempt.pid, ms }, `service ready after ${ms} ms`);
  }

  async #watchHealth(attempt: Attempt): Promise<void> {
    const { host, config, logger } = this.#deps;
    const { signal } = attempt.abort;
    while (!signal.aborted) {
      try {
        await host.clock.sleep(config.health.intervalMs, signal);
      } catch {
        return;
      }
      const result = await probeOnce(host, config.health);
      if (signal.aborted || this.#attempt !== attempt) return;
      if (result.ok) {
        if (this.#healthFailures > 0) logger.info({ childPid: attempt.pid }, 'health recovered');
        this.#healthFailures = 0;
        continue;
      }
      this.#healthFailures += 1;
      logger.warn({ childPid: attempt.pid, failures: this.#healthFailures, reason: result.reason }, 'health check failed');
      if (this.#healthFailures >= config.health.failureThreshold) {
        const reason = `unhealthy: ${this.#healthFailures} failed checks in a row (${result.reason})`;
        this.#emit('unhealthy', { pid: attempt.pid, reason });
        await this.#failAttempt(attempt, reason);
        return;
      }
    }
  }

  /** A child that is alive but not serving: stop it and treat it as a crash. */
  #failAttempt(attempt: Attempt, reason: string): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#attempt !== attempt) return;
      const uptimeMs = this.#deps.host.clock.monotonic() - attempt.spawnedAt;
      const outcome = await this.#stopCurrent(reason);
      if (outcome !== undefined) this.#applyPolicy(outcome.exit, uptimeMs);
    });
  }
}
