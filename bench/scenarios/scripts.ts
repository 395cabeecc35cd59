/**
 * Scenarios 6 and 7, apply and soak: bench/apply.ts and bench/soak.ts run as
 * their own processes (as `npm run bench:apply` / `bench:soak` would),
 * against the installed package, and their results file is turned into a
 * table here. Each keeps its own detail in the JSON written next to the run's.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../app.ts';
import { run } from '../support/proc.ts';
import { rowOf, skippedRow, withRatios, type Metric, type ScenarioResult } from './result.ts';

/** What both need. */
export interface ScriptOptions {
  /** The installed bin/outlast.js. */
  bin: string;
  work: string;
}

async function runScript(script: string, args: string[], env: NodeJS.ProcessEnv, out: string, timeoutMs: number): Promise<Record<string, unknown>> {
  try {
    const ran = await run({ file: process.execPath, args: [join(ROOT, script), ...args], env: { ...process.env, ...env } }, timeoutMs);
    process.stderr.write(ran.stderr);
    return JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
  } finally {
    rmSync(out, { force: true });
  }
}

interface ApplyJson {
  runs: number;
  release: { files: number; tarballBytes: number };
  floor: { medianMs: number; samples: unknown[] };
  outlast: { stageMedianMs: number; committedMedianMs: number; phaseMedianMs: Record<string, number>; samples: unknown[] };
}

const APPLY_METRICS: Metric[] = [
  { key: 'stageMs', label: 'to the release verified, extracted and promoted', unit: 'ms' },
  { key: 'committedMs', label: 'to committed (switch, restart, health gate)', unit: 'ms' },
];

/** The apply of a 50 MB / 5,000-file release vs sha256sum + tar xzf of the same tarball. */
export async function applyScenario(options: ScriptOptions & { runs: number }): Promise<ScenarioResult> {
  const out = join(options.work, 'apply.json');
  const got = (await runScript('bench/apply.ts', [], { BENCH_RUNS: String(options.runs), BENCH_OUTLAST_BIN: options.bin, BENCH_OUT: out }, out, 900_000)) as unknown as ApplyJson;
  const floor = rowOf('floor: sha256sum + tar xzf', [{ stageMs: got.floor.medianMs, committedMs: null }], APPLY_METRICS);
  floor.samples = got.floor.samples;
  const outlast = rowOf('outlast: POST /updates/apply', [{ stageMs: got.outlast.stageMedianMs, committedMs: got.outlast.committedMedianMs }], APPLY_METRICS);
  outlast.samples = got.outlast.samples;
  return {
    id: 'apply',
    title: 'Apply of a large release',
    method: `bench/apply.ts: a ${(got.release.tarballBytes / 1e6).toFixed(1)} MB release of ${got.release.files} files from a dir feed, POST /updates/apply until the 202 (stage done) and until committed, against sha256sum + tar xzf of the same tarball, interleaved, median of ${got.runs}. Phase medians (ms): ${Object.entries(got.outlast.phaseMedianMs).map(([n, ms]) => `${n} ${ms}`).join(', ')}.`,
    metrics: APPLY_METRICS,
    rows: withRatios([outlast, floor], outlast, APPLY_METRICS),
    notes: [],
  };
}

interface SoakJson {
  restarts: number;
  durationS: number;
  restartsPerS: number;
  rss: { atWarmupMb: number | null; atEndMb: number | null; grewMb: number | null; fitPer1000Mb: number | null };
  heapUsedAfterGc: { grewMb: number | null };
  floorRssMb: number;
}

const SOAK_METRICS: Metric[] = [
  { key: 'growthPer10kMB', label: 'RSS growth per 10,000 restarts (fit)', unit: 'MB' },
  { key: 'grewMB', label: 'RSS growth, warm-up → end', unit: 'MB' },
  { key: 'endMB', label: 'RSS at the end', unit: 'MB' },
  { key: 'restartsPerS', label: 'restarts/s', unit: 'count' },
];

/** RSS of the installed supervisor over `restarts` crash restarts. */
export async function soakScenario(options: ScriptOptions & { restarts: number }): Promise<ScenarioResult> {
  const out = join(options.work, 'soak.json');
  let got: SoakJson;
  try {
    got = (await runScript('bench/soak.ts', ['--restarts', String(options.restarts), '--bin', options.bin, '--out', out], {}, out, 1_800_000)) as unknown as SoakJson;
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0]!;
    return { id: 'soak', title: 'Memory over a crash loop', method: '', metrics: SOAK_METRICS, rows: [skippedRow('outlast', `failed: ${reason}`)], notes: [] };
  }
  const fit = got.rss.fitPer1000Mb;
  const row = rowOf('outlast', [{ growthPer10kMB: fit === null ? null : fit * 10, grewMB: got.rss.grewMb, endMB: got.rss.atEndMb, restartsPerS: got.restartsPerS }], SOAK_METRICS);
  const floor = rowOf('floor: idle bare node', [{ growthPer10kMB: null, grewMB: null, endMB: got.floorRssMb, restartsPerS: null }], SOAK_METRICS);
  return {
    id: 'soak',
    title: 'Memory over a crash loop',
    method: `bench/soak.ts: the installed outlast restarting sh -c 'exit 1' at once, ${got.restarts} restarts in ${got.durationS} s; RSS growth from the warm-up sample to the end, and the least-squares slope scaled to 10,000 restarts. Heap after GC grew ${got.heapUsedAfterGc.grewMb ?? '?'} MB.`,
    metrics: SOAK_METRICS,
    rows: withRatios([row, floor], row, SOAK_METRICS),
    notes: [],
  };
}
