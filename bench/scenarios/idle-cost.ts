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
import { attempt, failureNotes, peerRow, withRatios, type Metric, type Row, type ScenarioResult } from './result.ts';

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
  /** CPU while settling: the tail of the start-up, outside the window. */
  settleCpuMs: number;
}

const METRICS: Metric[] = [
  { key: 'rssMB', label: 'supervisor RSS', unit: 'MB' },
  { key: 'cpuMs', label: 'supervisor CPU over the window', unit: 'ms' },
  { key: 'cpuPct', label: 'of one core', unit: '%' },
  { key: 'settleCpuMs', label: 'supervisor CPU while settling (not idle; no target)', unit: 'ms' },
];

/** `read(pid)`, or NaN when the pid is gone (a supervisor that died during the window). */
function reading(read: (pid: number) => number, pid: number): number {
  try {
    return read(pid);
  } catch {
    return Number.NaN;
  }
}

async function oneRun(peers: readonly Peer[], options: IdleOptions, scope: Scope, failures: Map<Peer, string[]>, run: number): Promise<Map<Peer, IdleSample>> {
  const started: Array<{ peer: Peer; running: RunningPeer; service: ServiceSpec }> = [];
  try {
    for (const peer of peers) {
      const service = await newService(options.work, options.feed);
      const running = await attempt(`idle cost, run ${run}: ${peer.name}`, failures.get(peer)!, () => peer.setup(service, scope));
      if (running === undefined) rmSync(service.appDir, { recursive: true, force: true });
      else started.push({ peer, running, service });
    }
    // Settling, not a wait for a condition: start-up work is not idle cost.
    // That includes V8's collection of the start-up garbage, which comes
    // once, about 8 s after a start (its memory reducer). Its CPU is
    // reported beside the window, not hidden.
    const settle0 = started.map((s) => reading(cpuMs, s.running.daemonPid));
    await new Promise((r) => setTimeout(r, options.settleMs));
    const t0 = performance.now();
    const cpu0 = started.map((s) => reading(cpuMs, s.running.daemonPid));
    const rss = started.map(() => [] as number[]);
    const end = t0 + options.idleS * 1000;
    while (performance.now() < end) {
      started.forEach((s, i) => rss[i]!.push(reading(rssKb, s.running.daemonPid)));
      await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, end - performance.now()))));
    }
    const windowMs = performance.now() - t0;
    const got = new Map<Peer, IdleSample>();
    started.forEach((s, i) => {
      const used = reading(cpuMs, s.running.daemonPid) - cpu0[i]!;
      if (Number.isNaN(used) || rss[i]!.some(Number.isNaN)) {
        failures.get(s.peer)!.push(`the supervisor (pid ${s.running.daemonPid}) exited during the idle window`);
        return;
      }
      got.set(s.peer, { rssMB: round(median(rss[i]!) / 1024, 1), cpuMs: round(used, 0), cpuPct: round((used / windowMs) * 100, 3), settleCpuMs: round(cpu0[i]! - settle0[i]!, 0) });
    });
    return got;
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
  const failures = new Map<Peer, string[]>(peers.map((p) => [p, []]));
  for (let i = 0; i < options.runs; i++) {
    const got = await oneRun(available, options, scope, failures, i + 1);
    for (const [peer, s] of got) {
      samples.get(peer)!.push(s);
      console.error(`idle cost, run ${i + 1}: ${peer.name}: RSS ${s.rssMB} MB, CPU ${s.cpuMs} ms in ${options.idleS} s (${s.settleCpuMs} ms while settling)`);
    }
  }
  const rows: Row[] = peers.map((peer) => peerRow(peer.name, peer.unavailable(), samples.get(peer)!, failures.get(peer)!, METRICS));
  return {
    id: 'idle-cost',
    title: 'Idle cost',
    method: `All supervisors at once, each with one idle service, ${options.idleS} s window after ${options.settleMs / 1000} s of settling (the CPU used while settling is reported beside it): RSS sampled every second (median), CPU = utime + stime delta of the supervisor process. Median of ${options.runs} runs.`,
    metrics: METRICS,
    rows: withRatios(rows, rows[0]!, METRICS),
    notes: failureNotes(rows),
  };
}
