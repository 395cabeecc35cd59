/**
 * What `/metrics` costs in resident memory: the RSS of a fresh Node process
 * (after two forced GCs) that loads only the piece being measured, against
 * the same process without it, in the same run, interleaved.
 *
 * - prom-client (installed for this bench into bench/.peers/metrics, never
 *   the project's dependencies): imported alone, and with a registry holding
 *   a counter and a labelled histogram rendered once; against bare node.
 * - outlast's always-on recorder (supervisor/metrics/recorder.ts), and the
 *   exposition code a first scrape loads (families.ts + exposition.ts),
 *   rendered once: on top of errors.ts and events.ts alone, and on top of
 *   the whole supervisor (supervisor.ts and the CLI, what `outlast run` loads).
 *   From the compiled build (tsc into a temp dir, as bench/compiled.ts
 *   builds it): from source, Node's type stripping grows its own memory with
 *   each new file it strips, which would be counted against the module.
 *
 * Run: node bench/metrics-cost.ts   (writes bench/results/metrics-cost-<date>.json)
 * Env: BENCH_RUNS (7), BENCH_NO_INSTALL=1 (prom-client's rows are skipped when it is missing).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCompiled } from './compiled.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PREFIX = join(ROOT, 'bench/.peers/metrics');
const PROM_CLIENT = '15.1.3';
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

/** One load to measure: the body of an ES module, and the row it is compared with. */
interface Load {
  name: string;
  code: string;
  against?: string;
}

/** Installs prom-client into the bench-local prefix; returns its entry, or undefined with the reason printed. */
function promClient(): string | undefined {
  const entry = join(PREFIX, 'node_modules/prom-client/index.js');
  if (!existsSync(entry) && process.env.BENCH_NO_INSTALL !== '1') {
    console.error(`bench: npm install --prefix bench/.peers/metrics prom-client@${PROM_CLIENT}`);
    try {
      execFileSync('npm', ['install', '--prefix', PREFIX, '--no-audit', '--no-fund', '--save-exact', `prom-client@${PROM_CLIENT}`], { stdio: ['ignore', 'ignore', 'inherit'] });
    } catch (err) {
      console.error(`bench: cannot install prom-client: ${(err as Error).message}`);
    }
  }
  if (existsSync(entry)) return entry;
  console.error('bench: prom-client is not installed: its rows are skipped');
  return undefined;
}

const BASE_ROW = 'outlast: errors.js + events.js';
const SUPERVISOR_ROW = 'outlast: the whole supervisor (the recorder included)';

/** Every load, with the compiled package at `pkg`. */
function loads(pkg: string, prom: string | undefined): Load[] {
  const url = (path: string): string => JSON.stringify(pathToFileURL(join(pkg, 'dist', path)).href);
  const promUrl = prom === undefined ? '' : JSON.stringify(pathToFileURL(prom).href);
  const base = `await import(${url('supervisor/errors.js')}); const { EventBus } = await import(${url('supervisor/events.js')});`;
  const supervisor = `await import(${url('supervisor/supervisor.js')}); await import(${url('supervisor/cli/main.js')}); ${base}`;
  const recorder = `const { recordMetrics } = await import(${url('supervisor/metrics/recorder.js')});
const recorder = recordMetrics({ service: { onEvent: () => () => undefined }, bus: new EventBus(Date.now) });`;
  const snapshot = `{ version: '0.0.0', rssBytes: 1, recorded: recorder, updates: { check: undefined },
  service: { state: 'ready', pid: 1, restarts: 0, uptimeMs: 1, healthFailures: 0, lastExit: null, reason: null } }`;
  const render = `const { renderMetrics } = await import(${url('supervisor/metrics/families.js')}); renderMetrics(${snapshot});`;
  const promRender = `const p = (await import(${promUrl})).default; const r = new p.Registry();
new p.Counter({ name: 'a_total', help: 'a', labelNames: ['reason'], registers: [r] }).inc({ reason: 'crash' });
new p.Histogram({ name: 'b_seconds', help: 'b', labelNames: ['phase'], registers: [r] }).observe({ phase: 'fetch' }, 0.2);
await r.metrics();`;
  return [
    { name: 'bare node', code: '' },
    ...(prom === undefined
      ? []
      : [
          { name: `prom-client ${PROM_CLIENT}, imported`, code: `await import(${promUrl});`, against: 'bare node' },
          { name: `prom-client ${PROM_CLIENT}, a counter and a labelled histogram rendered once`, code: promRender, against: 'bare node' },
        ]),
    { name: BASE_ROW, code: base },
    { name: 'outlast: + the always-on recorder', code: `${base} ${recorder}`, against: BASE_ROW },
    { name: 'outlast: + the recorder and the exposition code, rendered once (a first scrape)', code: `${base} ${recorder} ${render}`, against: BASE_ROW },
    { name: SUPERVISOR_ROW, code: `${supervisor} ${recorder}` },
    { name: 'outlast: the whole supervisor, + the exposition code rendered once', code: `${supervisor} ${recorder} ${render}`, against: SUPERVISOR_ROW },
  ];
}

/** The RSS of a fresh process once `code` has run and two GCs settled. */
function rss(code: string): number {
  const script = `${code}\nglobalThis.gc(); await new Promise((r) => setImmediate(r)); globalThis.gc(); process.stdout.write(String(process.memoryUsage.rss()));`;
  return Number(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function measure(measured: readonly Load[]): void {
  const samples = new Map<string, number[]>(measured.map((m) => [m.name, []]));
  // Interleaved, so a machine that gets busier affects every row alike.
  for (let run = 0; run < RUNS; run++) {
    for (const { name, code } of measured) samples.get(name)!.push(rss(code));
  }
  const rows = measured.map(({ name, against }) => {
    const values = samples.get(name)!;
    const deltaBytes = against === undefined ? undefined : median(values) - median(samples.get(against)!);
    return { name, medianBytes: median(values), minBytes: Math.min(...values), maxBytes: Math.max(...values), against, deltaBytes };
  });
  console.log(`| load (${RUNS} runs, Node ${process.version}, compiled) | RSS median (min–max) | added |\n|---|---|---|`);
  for (const row of rows) {
    const added = row.deltaBytes === undefined ? '(base)' : `${row.deltaBytes >= 0 ? '+' : '−'}${mb(Math.abs(row.deltaBytes))} over "${row.against}"`;
    console.log(`| ${row.name} | ${mb(row.medianBytes)} (${mb(row.minBytes)}–${mb(row.maxBytes)}) | ${added} |`);
  }
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `metrics-cost-${new Date().toISOString().slice(0, 10)}.json`);
  writeFileSync(file, `${JSON.stringify({ node: process.version, runs: RUNS, rows, samples: Object.fromEntries(samples) }, null, 2)}\n`);
  console.error(`bench: wrote ${file}`);
}

const work = mkdtempSync(join(tmpdir(), 'outlast-metrics-cost-'));
try {
  const built = await buildCompiled(work);
  if ('problem' in built) throw new Error(built.problem);
  // The installed package's dir: its bin/outlast.js sits in <pkg>/bin.
  measure(loads(dirname(dirname(built.bin)), promClient()));
} finally {
  rmSync(work, { recursive: true, force: true });
}
