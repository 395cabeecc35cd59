/**
 * Signal routing for `outlast run`: SIGTERM and SIGINT stop the supervisor
 * (the first drains, a second kills the service group now), SIGHUP, SIGUSR1
 * and SIGUSR2 go to the service. Every caught signal leaves a forensics
 * marker and a /proc snapshot in the log; neither changes how it is handled.
 */
import type { Config } from './config/schema.ts';
import type { EventBus } from './events.ts';
import { writeMarker } from './forensics/markers.ts';
import { shutdownSnapshot } from './forensics/snapshot.ts';
import { recordStopSignal } from './forensics/stop-signal.ts';
import type { ChildExit, Host } from './host/host.ts';
import type { Logger } from './log/logger.ts';
import { exitCodeFor } from './service/exit-code.ts';
import type { Service } from './service/service.ts';
import { scriptsDir } from './version.ts';

/** Signals passed on to the child untouched. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGHUP', 'SIGUSR1', 'SIGUSR2'];
/** Signals that stop the supervisor gracefully (not to be confused with `service.stopSignal`, what the service gets). */
export const SUPERVISOR_STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * The exit code after a stop we asked for: 0 when the child stopped within
 * its budget (by exiting, or by dying of the stop signal itself), otherwise
 * the child's own code, so a forced SIGKILL shows up as 137.
 */
export function stopExitCode(exit: ChildExit | undefined, stopSignal: NodeJS.Signals, forced: boolean): number {
  if (exit === undefined) return 0;
  if (!forced && exit.kind === 'signaled' && exit.signal === stopSignal) return 0;
  return exitCodeFor(exit);
}

/** What the router needs. */
export interface SignalRouterDeps {
  host: Host;
  config: Config;
  service: Service;
  logger: Logger;
  events: EventBus;
}

/** Owns the stop that signals start, and the signal handlers. */
export class SignalRouter {
  readonly #deps: SignalRouterDeps;
  readonly #handlers: Array<() => void> = [];
  #stopping: Promise<number> | undefined;
  #stopStartedAt: number | undefined;
  #stopRequested!: (code: number) => void;

  /** Settles with the exit code once a stop started by a signal is complete. */
  readonly stopped: Promise<number>;

  constructor(deps: SignalRouterDeps) {
    this.#deps = deps;
    this.stopped = new Promise((resolve) => (this.#stopRequested = resolve));
  }

  /** Installs the handlers. */
  listen(): void {
    const { host } = this.#deps;
    for (const signal of SUPERVISOR_STOP_SIGNALS) this.#handlers.push(host.onSignal(signal, (sig) => this.#onStopSignal(sig)));
    for (const signal of FORWARDED_SIGNALS) this.#handlers.push(host.onSignal(signal, (sig) => this.#forward(sig)));
  }

  /** Removes the handlers. */
  off(): void {
    for (const off of this.#handlers.splice(0)) off();
  }

  /** Whether a stop signal has started the stop. */
  isStopping(): boolean {
    return this.#stopping !== undefined;
  }

  /** `{sinceStopMs}` once a stop began, for the phase logs; `{}` before. */
  sinceStop(): { sinceStopMs?: number } {
    const at = this.#stopStartedAt;
    return at === undefined ? {} : { sinceStopMs: Math.round(this.#deps.host.clock.monotonic() - at) };
  }

  #mark(signal: NodeJS.Signals): void {
    const { host, config } = this.#deps;
    void writeMarker(host, config.stateDir, 'signal', { signal, ppid: host.ppid });
  }

  /** The first stop signal drains, a second one kills. */
  #onStopSignal(signal: NodeJS.Signals): void {
    const { host, config, service, logger, events } = this.#deps;
    this.#mark(signal);
    if (this.#stopping === undefined) {
      const startedAt = host.clock.monotonic();
      this.#stopStartedAt = startedAt;
      // One line with the snapshot, planned or not; then the stop. A planned stop exits 0 even if the drain was cut short.
      const { planned, reason } = recordStopSignal({ host, stateDir: config.stateDir, logger, events, drainMs: config.service.stopTimeoutMs, scriptsDir: scriptsDir() }, signal);
      this.#stopping = service.stop(reason, startedAt).then((outcome) => (planned ? 0 : stopExitCode(outcome?.exit, config.service.stopSignal, outcome?.forced ?? false)));
      void this.#stopping.then(this.#stopRequested);
      return;
    }
    // A second Ctrl-C means "now": skip the rest of the drain budget.
    logger.warn({ signal, childPid: service.status().pid, snapshot: shutdownSnapshot(host, signal, config.stateDir) }, 'second stop signal: killing the service group now');
    service.kill();
  }

  #forward(signal: NodeJS.Signals): void {
    const { host, config, service, logger } = this.#deps;
    this.#mark(signal);
    const pid = service.status().pid;
    logger.info({ signal, childPid: pid, snapshot: shutdownSnapshot(host, signal, config.stateDir) }, pid === null ? 'signal received with no child to forward to' : 'forwarding signal to the service');
    service.signal(signal);
  }
}
