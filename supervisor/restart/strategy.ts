/**
 * The one small interface every restart strategy implements, one file each.
 * A strategy restarts the *supervisor itself*; the service child is stopped
 * first (by `quiesce`) and started again by the new supervisor, except
 * under reexec, whose new image (same pid) adopts a child it can keep.
 */
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import type { StrategyName } from './config.ts';

/** How to start this supervisor again, exactly as it was started. */
export interface Relaunch {
  execPath: string;
  /** Everything after the executable: Node flags, the entry script, its arguments. */
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/** Why and from what a restart happens. */
export interface RestartRequest {
  id: string;
  reason: string;
}

/** What a strategy may use. */
export interface RestartDeps {
  host: Host;
  logger: Logger;
  stateDir: string;
  relaunch: Relaunch;
  /**
   * Stops the service and closes the API: after it this process holds
   * nothing a successor needs. With `keepChild` (reexec: the pid stays) a
   * ready child whose output survives the execve is left running instead,
   * for the next image to adopt.
   */
  quiesce(options?: { keepChild?: boolean }): Promise<void>;
  /** Writes out what the log file holds queued: before execve, which would drop it. */
  flushLogs(): Promise<void>;
  /** Writes the pre-restart marker (inside the lock, before exec or exit). */
  markPreRestart(fields: Record<string, unknown>): Promise<void>;
  settings: {
    /** How long the detached helper waits after the old process is gone. */
    delayMs: number;
    /** How often the detached helper retries a start that dies. */
    retries: number;
    /** scripts/ shipped with outlast. */
    scriptsDir: string;
    /** The systemd unit and scope we run in, when there is one. */
    unit: { name: string; scope: 'system' | 'user' } | undefined;
  };
}

/** What the supervisor does after a strategy that does not replace the process. */
export interface StrategyOutcome {
  /** The supervisor exits with this code. */
  exitCode: number;
}

/** A way for the supervisor to restart itself. */
export interface RestartStrategy {
  readonly name: StrategyName;
  /** Restarts; resolves only for strategies that end this process by exiting. */
  restart(deps: RestartDeps, request: RestartRequest): Promise<StrategyOutcome>;
}
