/**
 * The supervisor's own restart: choose the strategy for this platform, take
 * the update lock (no update may interleave), write the pre-restart marker,
 * and hand over to the strategy.
 */
import type { Platform } from '../../platform/platform.ts';
import type { SystemdUnitProperties } from '../../platform/systemd-properties.ts';
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import { writeMarker } from '../forensics/markers.ts';
import type { HeldLock, UpdateLock } from '../update/lock.ts';
import { scriptsDir } from '../version.ts';
import { chooseStrategy, type StrategyChoice } from './choose.ts';
import type { RequestedStrategy, StrategyName } from './config.ts';
import { detached } from './detached.ts';
import { manager, RESTART_EXIT_CODE } from './manager.ts';
import { reexec } from './reexec.ts';
import type { RestartStrategy, StrategyOutcome } from './strategy.ts';
import { watchdog } from './watchdog.ts';

const STRATEGIES: Record<StrategyName, RestartStrategy> = { reexec, detached, watchdog, manager };

/** What the restarter needs. */
export interface SelfRestartDeps {
  host: Host;
  logger: Logger;
  stateDir: string;
  /** The update lock this process shares with its updates: no update may interleave with a restart. */
  lock: UpdateLock;
  platform: Platform;
  /** Reads the unit's properties (KillMode…) when under systemd; bounded by its own timeout. */
  unitProperties: () => Promise<SystemdUnitProperties | undefined>;
  requested: RequestedStrategy;
  force: boolean;
  delayMs: number | undefined;
  retries: number;
  quiesce: (options?: { keepChild?: boolean }) => Promise<void>;
  /** Writes out queued log-file lines; called by a strategy that replaces the process. */
  flushLogs?: () => Promise<void>;
}

/** The default kill-window delay: what survived Android in the field, or a short pause elsewhere. */
export function defaultDelayMs(platform: Platform): number {
  return platform.kind === 'termux' ? 15_000 : 1000;
}

/** Restarts the supervisor itself. */
export class SelfRestarter {
  readonly #deps: SelfRestartDeps;
  #running = false;

  constructor(deps: SelfRestartDeps) {
    this.#deps = deps;
  }

  /** The strategy this platform and config call for, and why. */
  async choice(): Promise<StrategyChoice> {
    const { platform, requested, force } = this.#deps;
    return chooseStrategy(platform, await this.#deps.unitProperties(), requested, force);
  }

  /**
   * Restarts. Resolves with how this process should end; for reexec it never
   * resolves on success (the process image is replaced). `options.lock` is a
   * self-update's lock: it stays held across the restart, for the next image
   * to take over with the journal, and stays the caller's to release if the
   * restart fails. Without it, the restart takes the lock for itself.
   */
  async restart(reason: string, options: { lock?: HeldLock } = {}): Promise<StrategyOutcome & { strategy: StrategyName }> {
    const { host, logger, stateDir, platform } = this.#deps;
    if (this.#running) throw new OutlastError('CONFLICT', 'a supervisor restart is already in progress');
    this.#running = true;
    try {
      const choice = await this.choice();
      if (choice.refused !== undefined) logger.warn({ refused: choice.refused }, 'configured restart strategy refused');
      const id = `s${host.clock.now().toString(36)}${host.randomToken(3)}`;
      const own = options.lock === undefined ? await this.#deps.lock.acquire(id, 'supervisor') : undefined;
      const release = async (): Promise<void> => {
        await own?.release();
      };
      logger.info({ strategy: choice.name, reason, why: choice.reason, restartId: id }, 'restarting the supervisor');
      let quiesced = false;
      try {
        const { invocation } = host;
        const outcome = await STRATEGIES[choice.name].restart(
          {
            host,
            logger,
            stateDir,
            relaunch: {
              execPath: invocation.execPath,
              args: [...invocation.execArgv, ...invocation.argv],
              env: Object.fromEntries(Object.entries(host.env).filter((e): e is [string, string] => e[1] !== undefined)),
              cwd: host.cwd,
            },
            quiesce: async (quiesceOptions) => {
              quiesced = true;
              await this.#deps.quiesce(quiesceOptions);
            },
            flushLogs: this.#deps.flushLogs ?? (() => Promise.resolve()),
            markPreRestart: async (fields) => {
              await writeMarker(host, stateDir, 'pre-restart', { ...fields, platform: platform.kind });
              // Written inside the lock; released before exec or exit, so the
              // successor starts with a free lock whatever pid it has.
              await release();
            },
            settings: {
              delayMs: this.#deps.delayMs ?? defaultDelayMs(platform),
              retries: this.#deps.retries,
              scriptsDir: scriptsDir(),
              unit: platform.systemd?.unit === undefined || platform.systemd.unit === null ? undefined : { name: platform.systemd.unit, scope: platform.systemd.scope },
            },
          },
          { id, reason },
        );
        return { ...outcome, strategy: choice.name };
      } catch (err) {
        // Once quiesced (service stopped, API closed) this process cannot go on
        // serving: it ends with 75, and its manager or the watchdog starts it again.
        if (!quiesced) throw err;
        logger.error({ err, strategy: choice.name }, `the restart failed after the supervisor let go of everything: exiting ${RESTART_EXIT_CODE} to be started again`);
        return { exitCode: RESTART_EXIT_CODE, strategy: choice.name };
      } finally {
        await release();
      }
    } finally {
      this.#running = false;
    }
  }
}
