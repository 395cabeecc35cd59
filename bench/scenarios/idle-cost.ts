/**
 * Scenario 3: what the supervisor itself costs while nothing happens. Every
 * peer runs one idle service at the same time (same window, same machine
 * state); over `idleS` seconds the scenario reads each supervisor's CPU time
 * (utime + stime from /proc/<pid>/stat, start and end) and samples its RSS
 * every second. The supervisor is outlast's `run` process, PM2's God daemon,
 * supervisord, and runsv — not the services, not the CLIs.
 */
import { rmSync } from 'node:fs';
import { newService, type ServiceSpec } from '../app.ts';
import type { Peer, RunningPeer } from '../peers/peer.ts';
import { cpuMs, rssKb } from '../support/proc.ts';
import type { Scope } from '../support/scope.ts';
import { median, round } from '../support/stats.ts';
import { rowOf, skippedRow, withRatios, type Metric, type Row, type ScenarioResult } from './result.ts';

/** How the scenario runs. */
export interface IdleOptions {
  runs: number;
  idleS: number;
  /** Time between the last start and the first reading. */
  settleMs: number;
  work: string;
  feed: string;
}

/** One run of one peer. */
export interface IdleSample {
  rssMB: number;
  cpuMs: number;
  cpuPct: number;
}

const METRICS: Metric[] = [
  { key: 'rssMB', label: 'supervisor RSS', unit: 'MB' },
  { key: 'cpuMs', label: 'supervisor CPU over the window', unit: 'ms' },
  { key: 'cpuPct', label: 'of one core', unit: '%' },
];

async function oneRun(peers: readonly Peer[], options: IdleOptions, scope: Scope): Promise<Map<Peer, IdleSample>> {
  const started: Array<{ peer: Peer; running: RunningPeer; service: ServiceSpec }> = [];
  try {
    for (const peer of peers) {
      const service = await newService(options.work, options.feed);
      started.push({ peer, running: await peer.setup(service, scope), service });
    }
    await new Promise((r) => setTimeout(r, options.settleMs));
    const t0 = performance.now();
    const cpu0 = started.map((s) => cpuMs(s.running.daemonPid));
    const rss = started.map(() => [] as number[]);
    const end = t0 + options.idleS * 1000;
    while (performance.now() < end) {
      started.forEach((s, i) => rss[i]!.push(rssKb(s.running.daemonPid)));
      await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, end - performance.now()))));
    }
    const windowMs = performance.now() - t0;
    return new Map(
      started.map((s, i) => {
        const used = cpuMs(s.running.daemonPid) - cpu0[i]!;
        return [s.peer, { rssMB: round(median(rss[i]!) / 1024, 1), cpuMs: round(used, 0), cpuPct: round((used / windowMs) * 100, 3) }];
      }),
    );
  } finally {
    for (const s of started.reverse()) {
      await s.running.teardown();
      rmSync(s.service.appDir, { recursive: true, force: true });
    }
  }
}

/** Runs the scenario for `peers` (the first is outlast, the base of the ratios). */
export async function idleCost(peers: readonly Peer[], options: IdleOptions, scope: Scope): Promise<ScenarioResult> {
  const available = peers.filter((p) => p.unavailable() === undefined);
  const samples = new Map<Peer, IdleSample[]>(peers.map((p) => [p, []]));
  for (let i = 0; i < options.runs; i++) {
    const got = await oneRun(available, options, scope);
    for (const [peer, s] of got) {
      samples.get(peer)!.push(s);
      console.error(`idle cost, run ${i + 1}: ${peer.name}: RSS ${s.rssMB} MB, CPU ${s.cpuMs} ms in ${options.idleS} s`);
    }
  }
  const rows: Row[] = peers.map((peer) => {
    const reason = peer.unavailable();
    return reason === undefined ? rowOf(peer.name, samples.get(peer)!, METRICS) : skippedRow(peer.name, reason);
  });
  return {
    id: 'idle-cost',
    title: 'Idle cost',
    method: `All supervisors at once, each with one idle service, ${options.idleS} s window after ${options.settleMs / 1000} s of settling: RSS sampled every second (median), CPU = utime + stime delta of the supervisor process. Median of ${options.runs} runs.`,
    metrics: METRICS,
    rows: withRatios(rows, rows[0]!, METRICS),
    notes: [],
  };
}
