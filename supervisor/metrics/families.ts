/**
 * What `GET /metrics` says: the recorder's counts and the state at the
 * moment of the scrape, as metric families (docs/api.md lists each one).
 * Loaded by the route at the first scrape, with the writer it uses.
 */
import { signalNumber } from '../service/exit-code.ts';
import { CONTENT_TYPE, writeExposition, type MetricFamily, type Sample } from './exposition.ts';
import type { MetricsSnapshot } from './recorder.ts';

export { CONTENT_TYPE };

const gauge = (name: string, help: string, samples: readonly Sample[]): MetricFamily => ({ name, help, type: 'gauge', samples });
const counter = (name: string, help: string, samples: readonly Sample[]): MetricFamily => ({ name, help, type: 'counter', samples });
const byLabel = (label: string, counts: Readonly<Record<string, number>>): Sample[] => Object.entries(counts).map(([value, count]) => ({ labels: { [label]: value }, value: count }));

function serviceFamilies(snapshot: MetricsSnapshot): MetricFamily[] {
  const { service, recorded } = snapshot;
  const exit = service.lastExit;
  return [
    gauge('outlast_service_up', 'Whether the service is ready (1) or not (0).', [{ value: service.state === 'ready' ? 1 : 0 }]),
    counter('outlast_service_restarts_total', 'Children started after the first, by cause: crash (respawned after it exited), health (respawned after failing readiness or health checks), update (an update or rollback), manual (POST /restart, outlast restart).', byLabel('reason', recorded.restarts)),
    gauge('outlast_service_uptime_seconds', 'How long the current child has run; 0 when none runs.', [{ value: (service.uptimeMs ?? 0) / 1000 }]),
    // No sample before the first child ended: there is no exit to report yet.
    gauge('outlast_service_last_exit_code', 'Exit code of the last child that ended, by the shell convention (128+N when signal N killed it).', exit === null ? [] : [{ value: exit.code }]),
    gauge('outlast_service_last_exit_signal', 'Number of the signal that killed the last child that ended (9 for SIGKILL); 0 when it exited by itself.', exit === null ? [] : [{ value: exit.signal === null ? 0 : signalNumber(exit.signal) }]),
    { name: 'outlast_stop_duration_seconds', help: 'Stops of a child by the supervisor (restart, update, health failure, handoff drain, shutdown), from the stop signal to the child being gone.', type: 'histogram', samples: [recorded.stops] },
    counter('outlast_stop_forced_total', 'Stops that ran out of the drain budget (service.stopTimeoutMs) and ended in SIGKILL.', [{ value: recorded.stopsForced }]),
  ];
}

function updateFamilies(snapshot: MetricsSnapshot): MetricFamily[] {
  if (snapshot.updates === undefined) return [];
  const { recorded } = snapshot;
  const { check } = snapshot.updates;
  return [
    counter('outlast_updates_total', 'Update and rollback operations that ended, by result (a first install counts as an update).', byLabel('result', recorded.updates)),
    {
      name: 'outlast_update_duration_seconds',
      help: 'Time spent in each phase of the operations that ended, by phase.',
      type: 'histogram',
      samples: [...recorded.phases].map(([phase, histogram]) => ({ labels: { phase }, bounds: histogram.bounds, counts: histogram.counts, sum: histogram.sum, count: histogram.count })),
    },
    // From the last check's answer, never a new check: a scrape must not reach the update source.
    gauge('outlast_update_available', 'Whether the last update check found a newer version than the one running (no sample before the first check).', check === undefined ? [] : [{ value: check.available ? 1 : 0 }]),
  ];
}

/** The metric families of one scrape. */
export function metricFamilies(snapshot: MetricsSnapshot): MetricFamily[] {
  return [
    ...serviceFamilies(snapshot),
    ...updateFamilies(snapshot),
    gauge('outlast_supervisor_resident_memory_bytes', 'Resident set size of the supervisor process.', [{ value: snapshot.rssBytes }]),
    gauge('outlast_build_info', 'Always 1; the version label is the running outlast.', [{ labels: { version: snapshot.version }, value: 1 }]),
  ];
}

/** The exposition text of one scrape. */
export function renderMetrics(snapshot: MetricsSnapshot): string {
  return writeExposition(metricFamilies(snapshot));
}
