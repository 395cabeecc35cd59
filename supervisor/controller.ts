/**
 * The supervisor's own rules for restart and stop requests: who may restart
 * what, when a stop is refused, and the `restarting` state of a self-restart
 * under way. It owns that state and nothing else: the child's state belongs
 * to the Service, a signal-started stop to the SignalRouter, and how the
 * supervisor restarts itself to the SelfRestarter.
 */
import { OutlastError } from './errors.ts';
import { writePlannedStop } from './forensics/planned-stop.ts';
import type { Host } from './host/host.ts';
import type { Logger } from './log/logger.ts';
import type { SelfRestarter } from './restart/self-restart.ts';
import type { HeldLock } from './update/lock.ts';
import type { Service } from './service/service.ts';
import type { StopAnswer } from './api/stop-route.ts';

/** What the controller needs. */
export interface ControllerDeps {
  host: Host;
  logger: Logger;
  stateDir: string;
  /** The service's drain budget (service.stopTimeoutMs), for the stop answer. */
  drainMs: number;
  service: Pick<Service, 'assertRestartable' | 'restart'>;
  /** Whether a stop signal has started the stop. */
  isStopping: () => boolean;
  selfRestarter: Pick<SelfRestarter, 'choice' | 'restart'>;
}

/** The answer to a restart request; `after` runs once the 202 is out. */
export interface RestartAnswer {
  strategy?: string;
  after?: () => void;
}

/** Decides restart and stop requests, and owns the self-restart under way. */
export class Controller {
  readonly #deps: ControllerDeps;
  #selfRestarting: Promise<number> | undefined;
  #exitRequested!: (code: number) => void;

  /** Settles with the exit code once a self-restart needs this process to end (detached, manager). */
  readonly selfRestarted: Promise<number>;

  constructor(deps: ControllerDeps) {
    this.#deps = deps;
    this.selfRestarted = new Promise((resolve) => (this.#exitRequested = resolve));
  }

  /** Whether a self-restart asked through the API is under way. */
  isSelfRestarting(): boolean {
    return this.#selfRestarting !== undefined;
  }

  /** `POST /restart`: refused while stopping or self-restarting, and when the service refuses (its own rule). */
  async restart(target: 'service' | 'supervisor'): Promise<RestartAnswer> {
    const { service, selfRestarter, logger, isStopping } = this.#deps;
    if (isStopping() || this.isSelfRestarting()) throw new OutlastError('CONFLICT', 'the supervisor is stopping or restarting');
    if (target === 'supervisor') {
      const { name } = await selfRestarter.choice();
      return { strategy: name, after: () => this.#selfRestart('requested through the API') };
    }
    // Refused while an update judges the child: the restart would be judged in its place.
    service.assertRestartable();
    service.restart('api').then(
      (result) => {
        if (!result.ok) logger.error({ reason: result.reason }, 'restart failed');
      },
      (err: unknown) => logger.error({ err }, 'restart failed'),
    );
    return {};
  }

  /** `POST /stop`: a planned stop, refused during a self-restart; a second one while stopping is a no-op. */
  async stop(reason: string): Promise<StopAnswer & { after?: () => void }> {
    const { host, stateDir, drainMs, isStopping } = this.#deps;
    const answer = { pid: host.pid, drainMs };
    if (this.isSelfRestarting()) throw new OutlastError('CONFLICT', 'the supervisor is restarting');
    if (isStopping()) return { ...answer, alreadyStopping: true };
    // The marker first, then SIGTERM to ourselves once the 202 is out: the
    // one stop path tells planned from unplanned by the marker alone.
    await writePlannedStop(host, stateDir, reason);
    return { ...answer, after: () => void host.kill(host.pid, 'SIGTERM') };
  }

  /**
   * For a self-update: restarts the supervisor into the release `current`
   * points at, the update lock staying held for the new image. Settles only
   * when this process is about to end (never, for an in-place re-exec).
   */
  async selfUpdate(reason: string, lock: HeldLock): Promise<void> {
    const outcome = await this.#deps.selfRestarter.restart(reason, { lock });
    if (outcome.exitCode >= 0) this.#exitRequested(outcome.exitCode);
  }

  /** A failed self-restart leaves the supervisor up and restartable again. */
  #selfRestart(reason: string): void {
    this.#selfRestarting = this.#deps.selfRestarter.restart(reason).then(
      (outcome) => {
        if (outcome.exitCode >= 0) this.#exitRequested(outcome.exitCode);
        else this.#selfRestarting = undefined;
        return outcome.exitCode;
      },
      (err: unknown) => {
        this.#deps.logger.error({ err }, 'supervisor restart failed; staying up');
        this.#selfRestarting = undefined;
        return -1;
      },
    );
  }
}
