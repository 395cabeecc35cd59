/**
 * What the first stop signal sets off besides the stop itself: the snapshot
 * line that says planned or unplanned, the planned-stop marker consumed, the
 * `planned-stop` restart-window marker, the `service_shutdown` event, and the
 * detached diagnostic. Everything here is synchronous or fire-and-forget: the
 * caller starts the stop right after, and nothing here may delay it.
 */
import type { EventBus } from '../events.ts';
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import { diagLogPath, startShutdownDiag } from './diag.ts';
import { writeMarker } from './markers.ts';
import { consumePlannedStop, isPlanned } from './planned-stop.ts';
import { shutdownSnapshot } from './snapshot.ts';

/** What {@link recordStopSignal} needs. */
export interface StopSignalDeps {
  host: Host;
  stateDir: string;
  logger: Logger;
  events: EventBus;
  /** The service's drain budget (service.stopTimeoutMs). */
  drainMs: number;
  scriptsDir: string;
}

/** How the stop came about. */
export interface StopKind {
  planned: boolean;
  /** For the logs, the event and the service's stop: "planned stop (…)" or "received SIGTERM". */
  reason: string;
}

/** Records the first stop signal; returns whether the stop was planned. Never throws. */
export function recordStopSignal(deps: StopSignalDeps, signal: NodeJS.Signals): StopKind {
  const { host, stateDir, logger } = deps;
  const snapshot = shutdownSnapshot(host, signal, stateDir);
  const marker = snapshot.plannedStop;
  const planned = isPlanned(marker);
  const reason = planned ? `planned stop (${marker.reason ?? 'no reason given'})` : `received ${signal}`;
  logger.info({ snapshot, stop: planned ? 'planned' : 'unplanned', reason, sinceStopMs: 0 }, planned ? reason : `unplanned stop (received ${signal})`);
  // Consumed by this stop whether or not it names us: a stale or foreign
  // marker must not make a later signal look planned.
  if (marker.present) void consumePlannedStop(host, stateDir);
  if (planned) void writeMarker(host, stateDir, 'planned-stop', { reason: marker.reason, signal });
  deps.events.emit('service_shutdown', { drainMs: deps.drainMs, reason, planned, signal });
  // A timer, not now: the stop signal to the service goes out in the
  // microtasks the caller queues, and forking the diagnostic must not come
  // before it.
  void host.clock.sleep(0).then(() => {
    const diagPid = startShutdownDiag(host, { stateDir, signal, scriptsDir: deps.scriptsDir });
    if (diagPid === undefined) logger.warn({ log: diagLogPath(stateDir) }, 'shutdown diagnostic could not start');
    else logger.info({ diagPid, log: diagLogPath(stateDir) }, 'shutdown diagnostic started');
  });
  return { planned, reason };
}
