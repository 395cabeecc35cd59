/**
 * Apply time of a 50 MB release of 5,000 files, against the floor measured
 * in the same run on the same tarball: `sha256sum` + `tar xzf` into a temp
 * dir on the same file system.
 *
 * The release is generated deterministically from a seed (AES-CTR keystream,
 * so the content is incompressible and the tarball is ~50 MB), packed with
 * packRelease into a dir feed next to a tiny 1.0.0. Each outlast run starts a
 * fresh supervisor on a fresh state dir serving 1.0.0 (release-app, with a
 * health URL), applies 2.0.0 and measures from POST /updates/apply to:
 * - the 202, which the API sends once the stage phase is done (fetch, sha256
 *   and size check, safe extraction, promote to releases/2.0.0);
 * - the operation's `committed` (switch, restart, health gate with
 *   stableForMs 0), taken from the journal's endedAt.
 * Runs are interleaved (floor, outlast, floor, …) so drift hits both alike.
 *
 * Run: npm run bench:apply  (writes bench/results/apply-<date>.json)
 * Env: BENCH_RUNS (3), BENCH_FILES (5000), BENCH_MB (50), BENCH_SEED ("outlast"),
 * BENCH_OUTLAST_BIN (the bin/outlast.js to run; this checkout's by default;
 * `npm run bench` passes the installed package's), BENCH_OUT (the results file).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { nodeFs } from '../supervisor/host/node-fs.ts';
import { packRelease } from '../supervisor/update/pack.ts';
import { freePort } from '../test/support/net.ts';
import { waitFor } from '../test/support/wait.ts';

const ROOT = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FILES = Number(process.env.BENCH_FILES ?? 5000);
const MB = Number(process.env.BENCH_MB ?? 50);
const SEED = process.env.BENCH_SEED ?? 'outlast';
const BIN = process.env.BENCH_OUTLAST_BIN ?? join(ROOT, 'bin/outlast.js');
const run = promisify(execFile);

/** mulberry32: a tiny seeded PRNG for the file sizes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lays out release-app at `version` plus, when `files` > 0, `files` random files averaging to `bytes` in total. */
function writeApp(dir: string, version: string, files: number, bytes: number): number {
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, 'test/fixtures/release-app/server.js'), join(dir, 'server.js'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench-app', version, type: 'module', private: true }));
  const key = createHash('sha256').update(SEED).digest();
  const stream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const random = prng(key.readUInt32LE(0));
  const mean = bytes / Math.max(1, files);
  let total = 0;
  for (let i = 0; i < files; i++) {
    // 100 folders of 50 files; sizes uniform in [0.25, 1.75) × the mean.
    const folder = join(dir, 'data', `d${String(i % 100).padStart(2, '0')}`);
    if (i < 100) mkdirSync(folder, { recursive: true });
    const size = Math.round(mean * (0.25 + 1.5 * random()));
    writeFileSync(join(folder, `f${String(i).padStart(4, '0')}.bin`), stream.update(Buffer.alloc(size)));
    total += size;
  }
  return total;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Writes back what earlier runs left dirty (their 50 MB of files, and the
 * removal of them) before a timed run starts: otherwise the kernel's
 * writeback lands inside whichever run comes next, and one run of the floor
 * measured 0.5 s and the next 5 s.
 */
async function settleDisk(): Promise<void> {
  await run('sync', []);
}

/** The floor: sha256sum, then tar xzf into a fresh dir; ms of each and of both. */
async function floor(tarball: string, work: string): Promise<{ sha256Ms: number; tarMs: number; totalMs: number }> {
  const dest = mkdtempSync(join(work, 'floor-'));
  try {
    await settleDisk();
    const t0 = performance.now();
    await run('sha256sum', [tarball]);
    const t1 = performance.now();
    await run('tar', ['xzf', tarball, '-C', dest]);
    const t2 = performance.now();
    return { sha256Ms: Math.round(t1 - t0), tarMs: Math.round(t2 - t1), totalMs: Math.round(t2 - t0) };
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
}

async function answers(port: number, version: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return ((await res.json()) as { version: string }).version === version;
  } catch {
    return false;
  }
}

interface ApplySample {
  stageMs: number;
  committedMs: number;
  phases: Array<{ name: string; ms: number }>;
}

/** One outlast run: a fresh supervisor on 1.0.0, then apply 2.0.0. */
async function outlast(feed: string, work: string): Promise<ApplySample> {
  const dir = mkdtempSync(join(work, 'outlast-'));
  const port = await freePort();
  const config = join(dir, 'outlast.json');
  writeFileSync(config, JSON.stringify({
    name: 'bench',
    stateDir: join(dir, 'state'),
    log: { level: 'warn' },
    service: {
      command: [process.execPath, 'server.js'],
      env: { PORT: String(port) },
      health: { url: `http://127.0.0.1:${port}/health`, intervalMs: 5000 },
      stopTimeoutMs: 5000,
    },
    api: { port: 0 },
    updates: { source: { type: 'dir', path: feed }, initialVersion: '1.0.0', healthGate: { timeoutMs: 30_000, stableForMs: 0 } },
  }));
  const proc: ChildProcess = spawn(process.execPath, [BIN, 'run', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitFor(() => answers(port, '1.0.0'), '1.0.0 serving', 30_000);
    const { apiUrl } = JSON.parse(readFileSync(join(dir, 'state/supervisor.json'), 'utf8')) as { apiUrl: string };
    const headers = { authorization: `Bearer ${readFileSync(join(dir, 'state/token'), 'utf8').trim()}`, 'content-type': 'application/json' };
    await settleDisk();
    const wall0 = Date.now();
    const t0 = performance.now();
    const res = await fetch(`${apiUrl}/updates/apply`, { method: 'POST', headers, body: JSON.stringify({ version: '2.0.0' }) });
    const stageMs = performance.now() - t0;
    const accepted = (await res.json()) as { id?: string };
    if (res.status !== 202 || accepted.id === undefined) throw new Error(`apply answered ${res.status}: ${JSON.stringify(accepted)}`);
    const op = await waitFor(async () => {
      const got = (await (await fetch(`${apiUrl}/updates/${accepted.id}`, { headers })).json()) as { state: string; endedAt?: string; phases: ApplySample['phases'] };
      if (got.state === 'rolled-back' || got.state === 'failed') throw new Error(`apply ${got.state}: ${JSON.stringify(got)}`);
      return got.state === 'committed' ? got : undefined;
    }, 'committed', 120_000, 10);
    return { stageMs: Math.round(stageMs), committedMs: Date.parse(op.endedAt!) - wall0, phases: op.phases };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'outlast-bench-apply-'));
  try {
    const feed = join(work, 'feed');
    writeApp(join(work, 'small'), '1.0.0', 0, 0);
    await packRelease(nodeFs, { dir: join(work, 'small'), version: '1.0.0', feed, name: 'bench-app' });
    const genStart = performance.now();
    const contentBytes = writeApp(join(work, 'big'), '2.0.0', FILES, MB * 1024 * 1024);
    const genMs = performance.now() - genStart;
    const packStart = performance.now();
    const packed = await packRelease(nodeFs, { dir: join(work, 'big'), version: '2.0.0', feed, name: 'bench-app' });
    const packMs = performance.now() - packStart;
    rmSync(join(work, 'big'), { recursive: true, force: true });
    console.error(`release: ${FILES} files, ${(contentBytes / 1e6).toFixed(1)} MB of content (generated in ${Math.round(genMs)} ms); tarball ${(packed.entry.size / 1e6).toFixed(1)} MB (packed in ${Math.round(packMs)} ms)`);

    const floors: Awaited<ReturnType<typeof floor>>[] = [];
    const applies: ApplySample[] = [];
    for (let i = 0; i < RUNS; i++) {
      floors.push(await floor(packed.tarball, work));
      applies.push(await outlast(feed, work));
      console.error(`run ${i + 1}: floor ${floors.at(-1)!.totalMs} ms; outlast stage done ${applies.at(-1)!.stageMs} ms, committed ${applies.at(-1)!.committedMs} ms`);
    }
    const floorMs = median(floors.map((f) => f.totalMs));
    const stageMs = median(applies.map((a) => a.stageMs));
    const committedMs = median(applies.map((a) => a.committedMs));
    const phaseNames = applies[0]!.phases.map((p) => p.name);
    const phases = Object.fromEntries(phaseNames.map((name) => [name, median(applies.map((a) => a.phases.find((p) => p.name === name)?.ms ?? 0))]));
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      runs: RUNS,
      bin: BIN,
      release: { files: FILES, contentBytes, tarballBytes: packed.entry.size, seed: SEED, packMs: Math.round(packMs) },
      floor: { medianMs: floorMs, sha256MedianMs: median(floors.map((f) => f.sha256Ms)), tarMedianMs: median(floors.map((f) => f.tarMs)), samples: floors },
      outlast: { stageMedianMs: stageMs, committedMedianMs: committedMs, phaseMedianMs: phases, samples: applies },
      ratio: { stage: Number((stageMs / floorMs).toFixed(2)), committed: Number((committedMs / floorMs).toFixed(2)) },
    };
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const out = process.env.BENCH_OUT ?? join(ROOT, `bench/results/apply-${result.date.slice(0, 10)}.json`);
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);

    const spread = (values: number[]): string => `${Math.min(...values)}–${Math.max(...values)}`;
    console.log(`\nApply of a ${(packed.entry.size / 1e6).toFixed(1)} MB release of ${FILES} files, median of ${RUNS}, same run (Node ${process.version}, ${cpus().length} CPUs); results in ${out}\n`);
    console.log('| what | median | range | vs floor |');
    console.log('|---|---|---|---|');
    console.log(`| floor: \`sha256sum\` + \`tar xzf\` | ${floorMs} ms | ${spread(floors.map((f) => f.totalMs))} ms | 1.00× |`);
    console.log(`| outlast: POST → stage done (fetch, verify, extract, promote) | ${stageMs} ms | ${spread(applies.map((a) => a.stageMs))} ms | ${result.ratio.stage.toFixed(2)}× |`);
    console.log(`| outlast: POST → committed (+ switch, restart, health gate) | ${committedMs} ms | ${spread(applies.map((a) => a.committedMs))} ms | ${result.ratio.committed.toFixed(2)}× |`);
    console.log(`\nphase medians (ms): ${Object.entries(phases).map(([name, ms]) => `${name} ${ms}`).join(', ')}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
