/**
 * The one small interface every supervisor under test sits behind, so each
 * scenario is written once. One file per peer: outlast.ts, pm2.ts,
 * supervisord.ts, runit.ts.
 */
import type { ServiceSpec } from '../app.ts';
import type { Command } from '../support/proc.ts';
import type { Scope } from '../support/scope.ts';

/** A supervisor under test, not started yet. */
export interface Peer {
  /** Row label in the results, e.g. "pm2 (cluster ×2)". */
  readonly name: string;
  /** How `update` triggers the new version, e.g. "pm2 reload". */
  readonly updateVia: string;
  /** Why this peer cannot run on this machine (a missing tool), or undefined when it can. */
  unavailable(): string | undefined;
  /**
   * Starts the supervisor with `service` as its one service and resolves once
   * the service answers. Its teardown is registered with `scope` before
   * anything starts, so an interrupted run still cleans up.
   */
  setup(service: ServiceSpec, scope: Scope): Promise<RunningPeer>;
}

/** A supervisor running one service. */
export interface RunningPeer {
  /** The supervisor's own pid: outlast's supervisor, PM2's God daemon, supervisord, runsv. */
  readonly daemonPid: number;
  /**
   * Moves the service to `version` the tool's way: outlast applies it from
   * the feed; the others get it written into the app dir, then their reload
   * or restart command. Resolves when the trigger (API call or CLI) returns.
   */
  update(version: string): Promise<void>;
  /** The pid of the service process, as the tool reports it. */
  servicePid(): Promise<number>;
  /** The CLI calls a person types: the tool's version (when it has one) and the service's status. */
  commands(): { version?: Command; status: Command };
  /** Stops the supervisor and its service and removes everything it wrote. */
  teardown(): Promise<void>;
}
