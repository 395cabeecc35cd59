/**
 * The always-on half of `/metrics`: the counters and histograms that only
 * events can feed (a restart between two scrapes must still be counted),
 * kept as a few plain numbers from the start; at run time it imports only
 * histogram.ts. The other half, which turns them and the live state into the
 * exposition text, is loaded by the route at the first scrape
 * (api/metrics-route.ts), so a supervisor that is never scraped never holds it.
 */
import type { BusEvent, EventBus } from '../events.ts';
import type { ServiceEvent, ServiceStatus, SpawnCause } from '../service/service.ts';
import type { Operation } from '../update/journal.ts';
import type { CheckResult } from '../update/updater.ts';
import { Histogram } from './histogram.ts';

/** Why a child was restarted, as `outlast_service_restarts_total` labels it. */
export type RestartReason = 'crash' | 'health' | 'update' | 'manual';
/** How an update or rollback ended, as `outlast_updates_total` labels it. */
export type UpdateResult = 'committed' | 'rolled_back' | 'failed';

/** Stop durations, in seconds: from a quick exit to a drain budget of minutes. */
export const STOP_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Update phase durations, in seconds: from taking a lock to a long download or install hook. */
export const PHASE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * The reasons the update jobs give Service.restart: `update to X` (apply.ts),
 * `rollback to X` (rollback.ts) and `rollback from X` (transition.ts, after
 * a failed gate). Every other restart is one somebody asked for (`api`:
 * POST /restart, which `outlast restart` calls).
 */
const UPDATE_RESTART = /^(update to|rollback to|rollback from) /;

/** The restart reason of a spawn, or undefined for the first start (not a restart). */
export function restartReason(why: SpawnCause): RestartReason | undefined {
  if (why.cause === 'start' || why.cause === 'adopt') return undefined;
  if (why.cause === 'restart') return UPDATE_RESTART.test(why.reason) ? 'update' : 'manual';
  return why.cause;
}

/** What the recorder has counted since this supervisor process started. */
export class MetricsRecorder {
  readonly restarts: Record<RestartReason, number> = { crash: 0, health: 0, update: 0, manual: 0 };
  readonly updates: Record<UpdateResult, number> = { committed: 0, rolled_back: 0, failed: 0 };
  /** Each stop of a child we stopped on purpose, in seconds from the stop signal. */
  readonly stops = new Histogram(STOP_BUCKETS);
  /** Of those, the ones that ran out of budget and were SIGKILLed. */
  stopsForced = 0;
  /** Each ended operation's phases, in seconds, by phase name. */
  readonly phases = new Map<string, Histogram>();

  /** Counts a Service lifecycle event. */
  onServiceEvent(event: ServiceEvent): void {
    if (event.type === 'spawned') {
      const reason = restartReason(event);
      if (reason !== undefined) this.restarts[reason] += 1;
    } else if (event.type === 'child_stopped') {
      this.stops.observe(event.ms / 1000);
      if (event.forced) this.stopsForced += 1;
    }
  }

  /** Counts an operation that just ended, by its final state. */
  onOperationEnded(state: Operation['state']): void {
    if (state === 'committed') this.updates.committed += 1;
    else if (state === 'rolled-back') this.updates.rolled_back += 1;
    else if (state === 'failed') this.updates.failed += 1;
  }

  /** Adds an ended operation's phase timings. */
  onOperationPhases(phases: Operation['phases']): void {
    for (const { name, ms } of phases) {
      let histogram = this.phases.get(name);
      if (histogram === undefined) this.phases.set(name, (histogram = new Histogram(PHASE_BUCKETS)));
      histogram.observe(ms / 1000);
    }
  }
}

/** Where the recorder's events come from. */
export interface RecorderSources {
  service: { onEvent(listener: (event: ServiceEvent) => void): () => void };
  bus: Pick<EventBus, 'subscribe'>;
  /** Reads an operation from the journal (Updater.operation); undefined without updates. */
  operation?: ((id: string) => Promise<Operation>) | undefined;
}

/**
 * Starts counting: subscribe before anything can restart the child or end
 * an operation (before recovery and the first start), so nothing is missed.
 */
export function recordMetrics(sources: RecorderSources): MetricsRecorder {
  const recorder = new MetricsRecorder();
  sources.service.onEvent((event) => recorder.onServiceEvent(event));
  const { operation } = sources;
  sources.bus.subscribe((event: BusEvent) => {
    if (event.type !== 'update' || event.data.phase !== 'done') return;
    recorder.onOperationEnded(event.data.state);
    // The event has no timings; the journal, written just before it, has them.
    // A journal that cannot be read costs only this operation's timings.
    void operation?.(event.data.id).then((op) => recorder.onOperationPhases(op.phases), () => undefined);
  });
  return recorder;
}

/** Everything a scrape turns into text: the counts, and the state at the moment of the scrape. */
export interface MetricsSnapshot {
  version: string;
  /** The supervisor's resident set size, in bytes. */
  rssBytes: number;
  service: ServiceStatus;
  recorded: MetricsRecorder;
  /** Undefined without updates configured; `check` is the last check's answer, undefined before the first. */
  updates: { check: CheckResult | undefined } | undefined;
}
