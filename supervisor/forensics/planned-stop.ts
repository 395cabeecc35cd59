/**
 * The planned-stop marker, `<stateDir>/planned-stop.json`: written when a
 * stop is asked for through `outlast stop` or `POST /stop`, just before the
 * supervisor sends itself SIGTERM. The signal handler reads it (and deletes
 * it) to tell a stop someone asked for from one nobody announced.
 *
 * It names the supervisor by pid and /proc start time, so a marker left by a
 * previous run whose pid was recycled never turns a foreign SIGTERM into a
 * "planned" one; and it expires after a short TTL, so a marker whose stop
 * never happened cannot excuse a kill that comes much later.
 */
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import { parseProcStat } from '../state/child-record.ts';

/** How long a planned-stop marker is honoured. */
export const PLANNED_STOP_TTL_MS = 60_000;

/** What the marker file holds. */
export interface PlannedStopMarker {
  pid: number;
  /** Field 22 of /proc/self/stat of the supervisor, null where there is no /proc. */
  startTime: string | null;
  reason: string;
  atMs: number;
  expiresAtMs: number;
}

/** What the signal handler learns from the marker. */
export type PlannedStopState =
  | { present: false }
  | {
      present: true;
      /** Pid and start time are ours. */
      forUs: boolean;
      expired: boolean;
      reason: string | null;
      pid: number | null;
    };

/** The marker's path. */
export function plannedStopPath(stateDir: string): string {
  return join(stateDir, 'planned-stop.json');
}

/** This process's start time, from /proc/self (right even in a PID namespace that shows the host's /proc). */
export function selfStartTime(host: Host): string | null {
  const stat = host.fs.readSync('/proc/self/stat');
  return stat === undefined ? null : parseProcStat(stat).startTime;
}

/** Writes the marker naming this process, durably, before the stop is set off. */
export async function writePlannedStop(host: Host, stateDir: string, reason: string, ttlMs = PLANNED_STOP_TTL_MS): Promise<PlannedStopMarker> {
  const atMs = host.clock.now();
  const marker: PlannedStopMarker = { pid: host.pid, startTime: selfStartTime(host), reason, atMs, expiresAtMs: atMs + ttlMs };
  await host.fs.writeFileAtomic(plannedStopPath(stateDir), `${JSON.stringify(marker)}\n`);
  return marker;
}

/** Reads the marker synchronously (signal-handler safe); never throws. A torn or foreign file counts as present but not ours. */
export function readPlannedStop(host: Host, stateDir: string): PlannedStopState {
  const text = host.fs.readSync(plannedStopPath(stateDir));
  if (text === undefined) return { present: false };
  let marker: Partial<PlannedStopMarker>;
  try {
    marker = JSON.parse(text) as Partial<PlannedStopMarker>;
  } catch {
    return { present: true, forUs: false, expired: true, reason: null, pid: null };
  }
  const pid = typeof marker.pid === 'number' ? marker.pid : null;
  const startTime = typeof marker.startTime === 'string' ? marker.startTime : null;
  // Without /proc both start times are null and the pid alone has to do.
  const forUs = pid === host.pid && startTime === selfStartTime(host);
  const expired = typeof marker.expiresAtMs !== 'number' || host.clock.now() > marker.expiresAtMs;
  return { present: true, forUs, expired, reason: typeof marker.reason === 'string' ? marker.reason : null, pid };
}

/** Whether the marker makes this stop a planned one. */
export function isPlanned(state: PlannedStopState): state is Extract<PlannedStopState, { present: true }> {
  return state.present && state.forUs && !state.expired;
}

/** Deletes the marker: it is consumed by the one stop that read it. */
export async function consumePlannedStop(host: Host, stateDir: string): Promise<void> {
  try {
    await host.fs.rm(plannedStopPath(stateDir));
  } catch {
    // Left behind, it expires by its TTL; a stop must not fail over it.
  }
}
