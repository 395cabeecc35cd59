/**
 * Scenario 2: crash repair. SIGKILL the service process (the pid its
 * supervisor reports, checked against the pid the service itself answers
 * with), then time until GET / succeeds again from a new process. Kills are
 * spaced past every peer's "started stably" threshold (PM2 min_uptime,
 * supervisord startsecs, runsv's 1 s, outlast's default stableAfterMs of
 * 1 s): the service has answered for `spacingMs` (≥ 1 s) before each kill,
 * so each is the crash of a stable service, not a crash loop.
 */
import { rmSync } from 'node:fs';
import { newService } from '../app.ts';
import type { Peer } from '../peers/peer.ts';
import { answer, waitAnswer } from '../support/http.ts';
import type { Scope } from '../support/scope.ts';
import { median, round } from '../support/stats.ts';
import { attempt, failureNotes, peerRow, withRatios, type Metric, type Row, type ScenarioResult } from './result.ts';

/** How the scenario runs. */
export interface CrashOptions {
  runs: number;
  /** Kills per run and peer; a run's sample is their median. */
  kills: number;
  /** Pause after each repair (and after start) before the next kill. */
  spacingMs: number;
  work: string;
  feed: string;
}

/** One run of one peer. */
export interface CrashSample {
  /** Median over the run's kills. */
  repairMs: number;
  kills: number[];
}

const METRICS: Metric[] = [{ key: 'repairMs', label: 'SIGKILL → answering again', unit: 'ms' }];

async function sample(peer: Peer, options: CrashOptions, scope: Scope): Promise<CrashSample> {
  const service = await newService(options.work, options.feed);
  try {
    const running = await peer.setup(service, scope);
    try {
      const kills: number[] = [];
      for (let k = 0; k < options.kills; k++) {
        // Spacing, not a wait for a condition: the service must have run
        // for longer than each tool's crash-loop threshold (1 s each).
        await new Promise((r) => setTimeout(r, options.spacingMs));
        const pid = await running.servicePid();
        const serving = await answer(service.port);
        if (serving?.pid !== pid) throw new Error(`${peer.name}: the tool reports service pid ${pid}, the service answers as ${serving?.pid ?? 'nothing'}`);
        const t0 = performance.now();
        process.kill(pid, 'SIGKILL');
        await waitAnswer(service.port, (a) => a.pid !== pid, `${peer.name} to repair the service`, 30_000, 2);
        kills.push(round(performance.now() - t0, 1));
      }
      return { repairMs: round(median(kills), 1), kills };
    } finally {
      await running.teardown();
    }
  } finally {
    rmSync(service.appDir, { recursive: true, force: true });
  }
}

/** Runs the scenario for `peers` (the first is outlast, the base of the ratios). */
export async function crashRepair(peers: readonly Peer[], options: CrashOptions, scope: Scope): Promise<ScenarioResult> {
  // Under that, outlast's default (stableAfterMs 1000) counts the kills as a crash loop.
  if (options.spacingMs < 1000) throw new Error(`crash repair: kills must be at least 1000 ms apart, not ${options.spacingMs}`);
  const samples = new Map<Peer, CrashSample[]>(peers.map((p) => [p, []]));
  const failures = new Map<Peer, string[]>(peers.map((p) => [p, []]));
  for (let i = 0; i < options.runs; i++) {
    for (const peer of peers) {
      if (peer.unavailable() !== undefined) continue;
      const what = `crash repair, run ${i + 1}: ${peer.name}`;
      const got = await attempt(what, failures.get(peer)!, () => sample(peer, options, scope));
      if (got === undefined) continue;
      samples.get(peer)!.push(got);
      console.error(`${what}: median ${got.repairMs} ms (${got.kills.join(', ')})`);
    }
  }
  const rows: Row[] = peers.map((peer) => peerRow(peer.name, peer.unavailable(), samples.get(peer)!, failures.get(peer)!, METRICS));
  return {
    id: 'crash-repair',
    title: 'Crash repair',
    method: `SIGKILL of the service process, then GET / polled every 2 ms on fresh connections until a new process answers; ${options.kills} kills per run spaced ${options.spacingMs} ms apart, median per run, median of ${options.runs} runs.`,
    metrics: METRICS,
    rows: withRatios(rows, rows[0]!, METRICS),
    notes: failureNotes(rows),
  };
}
