/**
 * Idle cost and crash repair of the demo, measured with a peer in the same run:
 * - RSS of the idle outlast supervisor vs. an idle bare Node process (the floor
 *   any Node supervisor pays);
 * - time from SIGKILL of the hello service to it answering /health again.
 * Run: npm run bench:idle  (writes bench/results/idle-repair-<date>.json)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../test/support/net.ts';
import { waitFor } from '../test/support/wait.ts';

const ROOT = resolve(import.meta.dirname, '..');
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);
const KILLS = Number(process.env.BENCH_KILLS ?? 10);

function rssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function sampleRss(pid: number, ms: number): Promise<number> {
  const samples: number[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    samples.push(rssKb(pid));
    await new Promise((r) => setTimeout(r, 250));
  }
  return median(samples);
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(500) })).ok;
  } catch {
    return false;
  }
}

/** A second supervisor of a sleeping service, run from dist/ when it has been built (npm run build). */
async function idleFromDist(dir: string): Promise<ChildProcess | undefined> {
  const entry = join(ROOT, 'dist/supervisor/cli/main.js');
  try {
    readFileSync(entry);
  } catch {
    console.error('dist/ not built: skipping the installed-package measurement (run npm run build)');
    return undefined;
  }
  const proc = spawn(
    process.execPath,
    ['--input-type=module', '-e', `const m = await import(${JSON.stringify(entry)}); await m.cli();`, 'argv1-placeholder', 'run', '--state-dir', join(dir, 'dist-state'), '--api-port', '0', '--log-level', 'warn', '--', 'sleep', '600'],
    { stdio: 'ignore' },
  );
  await waitFor(() => readFileSync(join(dir, 'dist-state/child.json'), 'utf8'), 'dist supervisor up', 30_000);
  return proc;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'outlast-bench-'));
  const children: ChildProcess[] = [];
  try {
    const port = await freePort();
    const health = `http://127.0.0.1:${port}/health`;
    const config = join(dir, 'outlast.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'hello',
        stateDir: join(dir, 'state'),
        service: {
          command: [process.execPath, join(ROOT, 'examples/hello/server.js')],
          env: { PORT: String(port) },
          health: { url: health, intervalMs: 5000 },
          // The default restart config: each kill comes after the service has
          // run for over stableAfterMs (1 s), so it is restarted at once.
        },
        api: { port: 0 },
        log: { level: 'warn' },
      }),
    );
    // The same config twice: from the TypeScript sources (a checkout) and from
    // the compiled dist/ (an installed package), to show what type stripping costs.
    const outlast = spawn(process.execPath, [join(ROOT, 'bin/outlast.js'), 'run', '--config', config], { stdio: 'ignore' });
    const floor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
    children.push(outlast, floor);
    await waitFor(() => healthy(health), 'demo healthy', 30_000);
    const built = await idleFromDist(dir);
    if (built !== undefined) children.push(built);
    const [outlastRss, floorRss, distRss] = await Promise.all([
      sampleRss(outlast.pid!, IDLE_MS),
      sampleRss(floor.pid!, IDLE_MS),
      built === undefined ? Promise.resolve(null) : sampleRss(built.pid!, IDLE_MS),
    ]);

    const repairs: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const info = JSON.parse(readFileSync(join(dir, 'state/child.json'), 'utf8')) as { pid: number };
      const t0 = performance.now();
      process.kill(info.pid, 'SIGKILL');
      await waitFor(async () => {
        const now = JSON.parse(readFileSync(join(dir, 'state/child.json'), 'utf8')) as { pid: number };
        return now.pid !== info.pid && (await healthy(health));
      }, 'service back', 30_000, 5);
      repairs.push(performance.now() - t0);
      // Spread the kills like separate incidents: the service runs for over
      // stableAfterMs (1 s) before the next kill.
      await new Promise((r) => setTimeout(r, 1100));
    }
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      idleMs: IDLE_MS,
      rssKb: {
        outlastFromSource: outlastRss,
        outlastFromDist: distRss,
        bareNode: floorRss,
        ratioSource: Number((outlastRss / floorRss).toFixed(2)),
        ratioDist: distRss === null ? null : Number((distRss / floorRss).toFixed(2)),
      },
      repairMs: { median: Math.round(median(repairs)), min: Math.round(Math.min(...repairs)), max: Math.round(Math.max(...repairs)), runs: repairs.map(Math.round) },
    };
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const out = join(ROOT, `bench/results/idle-repair-${result.date.slice(0, 10)}.json`);
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    console.log(`written to ${out}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
