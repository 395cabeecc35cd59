/**
 * Scenario 1: an update (or restart) under load. autocannon holds
 * `connections` keep-alive connections on GET / for `loadS` seconds; at
 * `triggerAtS` the peer moves the service from 1.0.0 to 2.0.0 its way. A
 * probe (one fresh connection at a time, every 10 ms) sees the update as a
 * new client does.
 *
 * Per run and peer: failed requests (autocannon's errors + non-2xx), p99
 * latency, ms from the trigger until 2.0.0 first answers the probe, and the
 * span in which the probe got no answer. Peers are interleaved within each
 * run, so drift in the machine's load hits them alike.
 */
import { rmSync } from 'node:fs';
import { newService } from '../app.ts';
import type { Peer } from '../peers/peer.ts';
import { startProbe, type ProbeSample } from '../support/http.ts';
import { run } from '../support/proc.ts';
import type { Scope } from '../support/scope.ts';
import { round } from '../support/stats.ts';
import { attempt, failureNotes, peerRow, withRatios, type Metric, type Row, type ScenarioResult } from './result.ts';

/** How the scenario runs. */
export interface UpdateOptions {
  runs: number;
  loadS: number;
  triggerAtS: number;
  connections: number;
  /** autocannon's entry script. */
  autocannon: string;
  /** Where app dirs go. */
  work: string;
  /** A dir feed with the app at 1.0.0 and 2.0.0. */
  feed: string;
}

/** One run of one peer. */
export interface UpdateSample {
  failed: number;
  errors: number;
  non2xx: number;
  ok: number;
  p99Ms: number;
  newVersionMs: number | null;
  unavailableMs: number;
  triggerMs: number;
}

const METRICS: Metric[] = [
  { key: 'failed', label: 'failed requests', unit: 'req' },
  { key: 'p99Ms', label: 'p99 latency', unit: 'ms' },
  { key: 'newVersionMs', label: 'new version answers after', unit: 'ms' },
  { key: 'unavailableMs', label: 'probe saw no answer for', unit: 'ms' },
  { key: 'triggerMs', label: 'trigger returned after', unit: 'ms' },
];

const FROM = '1.0.0';
const TO = '2.0.0';

interface Autocannon {
  errors: number;
  non2xx: number;
  '2xx': number;
  latency: { p99: number };
}

/** From the probe's samples after `t0`: when TO first answered, and how long nothing did. */
function fromProbe(samples: readonly ProbeSample[], t0: number): { newVersionMs: number | null; unavailableMs: number } {
  const after = samples.filter((s) => s.sentAt >= t0);
  const first = after.find((s) => s.answer?.version === TO);
  const failed = after.filter((s) => s.answer === undefined);
  const unavailableMs = failed.length === 0 ? 0 : Math.max(...failed.map((s) => s.doneAt)) - Math.min(...failed.map((s) => s.sentAt));
  return { newVersionMs: first === undefined ? null : round(first.doneAt - t0, 1), unavailableMs: round(unavailableMs, 1) };
}

async function sample(peer: Peer, options: UpdateOptions, scope: Scope): Promise<UpdateSample> {
  const service = await newService(options.work, options.feed, FROM);
  try {
    const running = await peer.setup(service, scope);
    try {
      const probe = startProbe(service.port);
      const url = `http://127.0.0.1:${service.port}/`;
      const load = run(
        { file: process.execPath, args: [options.autocannon, '-j', '-n', '-c', String(options.connections), '-d', String(options.loadS), url] },
        (options.loadS + 60) * 1000,
      );
      // Awaited below or in the finally; this keeps a failed trigger from leaving it unhandled.
      load.catch(() => undefined);
      try {
        // The experiment's timeline, not a wait for a condition: the load runs
        // steadily for triggerAtS before the update starts.
        await new Promise((r) => setTimeout(r, options.triggerAtS * 1000));
        const t0 = performance.now();
        await running.update(TO);
        const triggerMs = round(performance.now() - t0, 1);
        const report = JSON.parse((await load).stdout) as Autocannon;
        return {
          failed: report.errors + report.non2xx,
          errors: report.errors,
          non2xx: report.non2xx,
          ok: report['2xx'],
          p99Ms: report.latency.p99,
          ...fromProbe(await probe.stop(), t0),
          triggerMs,
        };
      } finally {
        await load.catch(() => undefined);
        await probe.stop();
      }
    } finally {
      await running.teardown();
    }
  } finally {
    rmSync(service.appDir, { recursive: true, force: true });
  }
}

/**
 * Runs the scenario for `peers`. The base of the ratios is outlast's best
 * answer to an update: the socket handoff row when it ran, else the first.
 */
export async function updateUnderLoad(peers: readonly Peer[], options: UpdateOptions, scope: Scope): Promise<ScenarioResult> {
  const samples = new Map<Peer, UpdateSample[]>(peers.map((p) => [p, []]));
  const failures = new Map<Peer, string[]>(peers.map((p) => [p, []]));
  for (let i = 0; i < options.runs; i++) {
    for (const peer of peers) {
      if (peer.unavailable() !== undefined) continue;
      const what = `update under load, run ${i + 1}: ${peer.name} (${peer.updateVia})`;
      const got = await attempt(what, failures.get(peer)!, () => sample(peer, options, scope));
      if (got === undefined) continue;
      samples.get(peer)!.push(got);
      console.error(`${what}: ${got.failed} failed, p99 ${got.p99Ms} ms, ${TO} after ${got.newVersionMs ?? 'never'} ms, probe unanswered ${got.unavailableMs} ms`);
    }
  }
  const rows: Row[] = peers.map((peer) => ({
    ...peerRow(`${peer.name}: ${peer.updateVia}`, peer.unavailable(), samples.get(peer)!, failures.get(peer)!, METRICS),
    short: peer.name,
  }));
  return {
    id: 'update-under-load',
    title: 'Update under load',
    method:
      `autocannon, ${options.connections} keep-alive connections, GET / for ${options.loadS} s (closed loop, as fast as the service answers); ` +
      `at ${options.triggerAtS} s the peer moves the service from ${FROM} to ${TO}. Peers other than outlast get ${TO} written into their app dir first. ` +
      `Failed = autocannon's errors + non-2xx; autocannon retries a refused connection at once, so this counts attempts and grows with the length of the gap. ` +
      `"New version answers" and "no answer for" come from a separate probe (one fresh connection every 10 ms). Median of ${options.runs} runs.`,
    metrics: METRICS,
    rows: withRatios(rows, rows.find((r) => r.skipped === undefined && /handoff/.test(r.name)) ?? rows[0]!, METRICS),
    notes: failureNotes(rows),
  };
}
