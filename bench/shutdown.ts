/**
 * Time from SIGTERM to exit under idle keep-alive connections, for a naive
 * `server.close()` service and for one using outlast/shutdown, in the same
 * run, interleaved, through the same measuring code as `outlast audit --live`
 * (the stop signal to the process group, timed to the leader's exit, SIGKILL
 * at the budget). Both services are test/fixtures/shutdown/server.ts in its
 * two modes, so the only difference is the drain.
 *
 * Scenarios: 200 idle keep-alive connections; the same plus one
 * WebSocket-style upgraded connection (the field failure).
 * Run: npm run bench:shutdown  (writes bench/results/shutdown-<date>.json)
 * Env: BENCH_RUNS (5), BENCH_CONNECTIONS (200), BENCH_BUDGET_MS (5000).
 * `npm run bench` imports `measure` for its stop scenario.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { nodeLiveNet, planLive, runLive } from '../supervisor/audit/live/index.ts';
import { createNodeHost } from '../supervisor/host/node-host.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SERVICE = join(ROOT, 'test/fixtures/shutdown/server.ts');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Idle keep-alive connections held at SIGTERM. */
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 200);
/** The stop budget: SIGKILL after this long. */
export const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 5000);

/** naive: `server.close()` on SIGTERM; helper: outlast/shutdown. */
export type Mode = 'naive' | 'helper';

/** One stop. */
export interface Sample {
  /** ms from SIGTERM to exit; the budget when the service had to be SIGKILLed. */
  ms: number;
  killed: boolean;
  held: number;
}

const host = createNodeHost((code) => process.exit(code));

/** One stop of the service in `mode` with CONNECTIONS idle connections (and, with `stream`, one upgraded one) held. */
export async function measure(mode: Mode, stream: boolean): Promise<Sample> {
  const plan = await planLive({ ...host, env: { ...host.env, MODE: mode, DRAIN_MS: String(BUDGET_MS - 1000) } }, nodeLiveNet, {
    command: [process.execPath, SERVICE],
    budget: String(BUDGET_MS),
    connections: String(CONNECTIONS),
  });
  const report = await runLive(host, nodeLiveNet, { ...plan, stream });
  if (report.verdict !== 'clean' && report.verdict !== 'would-be-killed') throw new Error(`${mode}: unexpected ${report.verdict}: ${report.message}\n${report.output.join('\n')}`);
  if (stream && report.held.stream !== 'upgraded') throw new Error(`${mode}: the upgraded connection was not held (${report.held.stream})`);
  return { ms: report.exitedAfterMs ?? BUDGET_MS, killed: report.verdict === 'would-be-killed', held: report.held.idle };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function cell(samples: readonly Sample[]): string {
  const killed = samples.filter((s) => s.killed).length;
  if (killed === samples.length) return `never exited: SIGKILLed at the ${BUDGET_MS} ms budget (${killed}/${samples.length})`;
  const ms = samples.map((s) => s.ms);
  return `median ${median(ms)} ms (${Math.min(...ms)}–${Math.max(...ms)})${killed > 0 ? `, ${killed}/${samples.length} SIGKILLed` : ''}`;
}

async function main(): Promise<void> {
  const scenarios = [
    { name: `${CONNECTIONS} idle keep-alive connections`, stream: false },
    { name: `${CONNECTIONS} idle keep-alive + 1 upgraded (WebSocket-style) connection`, stream: true },
  ];
  const results = [];
  for (const scenario of scenarios) {
    const samples: Record<Mode, Sample[]> = { naive: [], helper: [] };
    // Interleaved, so drift in the machine's load hits both alike.
    for (let run = 0; run < RUNS; run++) {
      for (const mode of ['naive', 'helper'] as const) {
        const sample = await measure(mode, scenario.stream);
        samples[mode].push(sample);
        console.error(`${scenario.name}: ${mode} run ${run + 1}: ${sample.killed ? 'SIGKILLed at budget' : `${sample.ms} ms`} (${sample.held} idle held)`);
      }
    }
    results.push({
      scenario: scenario.name,
      naive: { samples: samples.naive, medianMs: median(samples.naive.map((s) => s.ms)), killed: samples.naive.filter((s) => s.killed).length },
      helper: { samples: samples.helper, medianMs: median(samples.helper.map((s) => s.ms)), killed: samples.helper.filter((s) => s.killed).length },
      table: { naive: cell(samples.naive), helper: cell(samples.helper) },
    });
  }
  const date = new Date().toISOString().slice(0, 10);
  const out = join(ROOT, 'bench/results', `shutdown-${date}.json`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date, node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, runs: RUNS, connections: CONNECTIONS, budgetMs: BUDGET_MS, results }, null, 2)}\n`);
  console.log(`\nSIGTERM -> exit, ${RUNS} runs each, interleaved, same run (Node ${process.version}, ${cpus().length} CPUs); results in ${out}\n`);
  console.log('| held at SIGTERM | naive `server.close()` | `outlast/shutdown` |');
  console.log('|---|---|---|');
  for (const result of results) console.log(`| ${result.scenario} | ${result.table.naive} | ${result.table.helper} |`);
}

if (import.meta.main) await main();
