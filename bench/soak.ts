/**
 * Memory over a crash loop: the installed outlast (the compiled package,
 * bench/compiled.ts) supervises `sh -c 'exit 1'` with a policy that
 * respawns it at once, every time, for N restarts. Sampled every `--every`
 * restarts: the supervisor's RSS (VmRSS), its heap after a full GC (through
 * bench/support/soak-probe.mjs, loaded with --import), and the RSS of an
 * idle bare `node` started in the same run, as the floor.
 * Reported: RSS and heap after the warm-up and after N restarts, and the
 * growth per 1,000 restarts after the warm-up (end points and a least-squares fit).
 *
 * Run: npm run bench:soak [-- --restarts N] [--warmup N] [--every N] [--snapshots DIR] [--node-flags '...'] [--bin PATH] [--out FILE]
 * (defaults 10000, 1000, N/40; --snapshots writes heap snapshots at the
 * warm-up and at the end into DIR; --node-flags are Node flags for the
 * supervisor, e.g. '--semi-space-growth-factor=2' for V8's own young
 * generation sizing; --bin an installed bin/outlast.js to run instead of
 * building one). Writes bench/results/soak-<date>.json, or --out FILE.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/net.ts';
import { waitFor } from '../test/support/wait.ts';
import { ROOT } from './app.ts';
import { buildCompiled } from './compiled.ts';
import { killLeftover, rssKb, runsUnder, stopChild, whileRunning } from './support/proc.ts';
import { Scope } from './support/scope.ts';
import { round } from './support/stats.ts';

/** The growth the supervisor may show over 10,000 restarts after the warm-up. */
const TARGET_MB_PER_10K = 5;
const PROBE = join(ROOT, 'bench/support/soak-probe.mjs');

/** One sample, taken when the restart count crossed a checkpoint. */
interface Sample {
  restarts: number;
  elapsedS: number;
  rssKb: number;
  /** After a full GC in the supervisor; null when the probe did not answer. */
  heapUsedKb: number | null;
  heapTotalKb: number | null;
  externalKb: number | null;
  /** RSS again, right after that GC. */
  rssAfterGcKb: number | null;
  /** The committed size of each V8 heap space, after that GC. */
  spacesKb: Record<string, number> | null;
  floorRssKb: number;
}

/** The run's settings, from the command line. */
interface Settings {
  restarts: number;
  warmup: number;
  every: number;
  snapshots: string | undefined;
  nodeFlags: string[];
  /** A health URL (a closed loopback port): each child is probed while it lives. */
  health: boolean;
  /** One `/events` client reading the whole run. */
  events: boolean;
  /** An installed bin/outlast.js; undefined to build one. */
  bin: string | undefined;
  /** Where the results go; undefined for bench/results/soak-<date>.json. */
  out: string | undefined;
}

function settings(): Settings {
  const { values } = parseArgs({
    options: {
      restarts: { type: 'string' },
      warmup: { type: 'string' },
      every: { type: 'string' },
      snapshots: { type: 'string' },
      'node-flags': { type: 'string' },
      health: { type: 'boolean', default: false },
      events: { type: 'boolean', default: false },
      bin: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const count = (name: string, raw: string | undefined, fallback: number): number => {
    const value = Number(raw ?? fallback);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer, not ${raw}`);
    return value;
  };
  const restarts = count('restarts', values.restarts, 10_000);
  const warmup = count('warmup', values.warmup, Math.min(1000, Math.floor(restarts / 2)));
  if (warmup >= restarts) throw new Error(`--warmup (${warmup}) must be below --restarts (${restarts})`);
  const every = count('every', values.every, Math.max(50, Math.floor(restarts / 40)));
  const nodeFlags = (values['node-flags'] ?? '').split(/\s+/).filter((flag) => flag !== '');
  return { restarts, warmup, every, snapshots: values.snapshots === undefined ? undefined : resolve(values.snapshots), nodeFlags, health: values.health, events: values.events, bin: values.bin, out: values.out };
}

/** The supervisor's config: the crash loop with no delay, and nothing that ends it. */
function soakConfig(stateDir: string, healthPort: number | undefined): Record<string, unknown> {
  return {
    name: 'soak',
    stateDir,
    // The default level: a crash loop in the field logs every spawn and exit.
    log: { level: 'info' },
    service: {
      command: ['sh', '-c', 'exit 1'],
      ...(healthPort === undefined ? {} : { health: { url: `http://127.0.0.1:${healthPort}/health` } }),
      restart: {
        policy: 'always',
        // Every exit is a fast crash that restarts at once: no backoff, no
        // jitter, a short window for the crash count, and no limit that
        // would put the service in `errored`.
        backoff: { initialMs: 0, maxMs: 0, factor: 1, jitter: 0 },
        maxCrashes: 1_000_000_000,
        windowMs: 1000,
      },
    },
    api: { port: 0 },
  };
}

/** The commit the measured package was built from, `+dirty` with uncommitted changes under supervisor/. */
function sourcesCommit(): string | null {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'supervisor', 'platform'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return `${commit}${dirty ? '+dirty' : ''}`;
  } catch {
    return null;
  }
}

/** How this run was started, for the results. */
function commandLine(options: Settings): string {
  const parts = ['npm run bench:soak --', `--restarts ${options.restarts}`];
  if (options.warmup !== 1000) parts.push(`--warmup ${options.warmup}`);
  if (options.nodeFlags.length > 0) parts.push(`--node-flags '${options.nodeFlags.join(' ')}'`);
  if (options.health) parts.push('--health');
  if (options.events) parts.push('--events');
  return parts.join(' ');
}

/** Reads `/events` until stopped; counts the events it got. */
function followEvents(url: string, token: string): { seen: () => number; stop: () => void } {
  let seen = 0;
  let partial = '';
  const req = request(`${url}/events`, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      seen += lines.filter((line) => line.startsWith('event: ')).length;
    });
    res.on('error', () => undefined);
  });
  req.on('error', () => undefined);
  req.end();
  return { seen: () => seen, stop: () => req.destroy() };
}

/** GET `path` on the supervisor's API; the parsed JSON body. */
function apiGet(url: string, token: string, path: string): Promise<unknown> {
  return new Promise((resolvePromise, reject) => {
    const req = request(`${url}${path}`, { agent: false, timeout: 5000, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          resolvePromise(JSON.parse(body));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** What the probe answers. */
type ProbeAnswer = NodeJS.MemoryUsage & { seq: number; spaces: Record<string, number> };

/** Asks the probe inside the supervisor for its memory, after a full GC; null when it does not answer. */
async function probeHeap(dir: string, seq: number, snapshot?: string): Promise<ProbeAnswer | null> {
  writeFileSync(join(dir, 'request.json.tmp'), JSON.stringify({ seq, gc: true, ...(snapshot === undefined ? {} : { snapshot }) }));
  // rename: the probe never reads a half-written request.
  renameSync(join(dir, 'request.json.tmp'), join(dir, 'request.json'));
  return waitFor(() => {
    const answer = JSON.parse(readFileSync(join(dir, 'answer.json'), 'utf8')) as ProbeAnswer;
    return answer.seq === seq ? answer : undefined;
  }, 'the probe answer', snapshot === undefined ? 10_000 : 120_000, 20).catch(() => null);
}

/** The least-squares slope of y over x (per unit of x); null with fewer than two points. */
function slope(points: ReadonlyArray<{ x: number; y: number }>): number | null {
  if (points.length < 2) return null;
  const mx = points.reduce((s, p) => s + p.x, 0) / points.length;
  const my = points.reduce((s, p) => s + p.y, 0) / points.length;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  return sxx === 0 ? null : sxy / sxx;
}

/** Growth of `field` from the warm-up sample to the last, in MB per 1,000 restarts. */
function growth(samples: readonly Sample[], field: 'rssKb' | 'rssAfterGcKb' | 'heapUsedKb' | 'externalKb'): { atWarmupMb: number | null; atEndMb: number | null; grewMb: number | null; per1000Mb: number | null; fitPer1000Mb: number | null } {
  const points = samples.flatMap((s) => (s[field] === null ? [] : [{ x: s.restarts, y: s[field] / 1024 }]));
  const first = points[0];
  const last = points.at(-1);
  if (first === undefined || last === undefined) return { atWarmupMb: null, atEndMb: null, grewMb: null, per1000Mb: null, fitPer1000Mb: null };
  const span = (last.x - first.x) / 1000;
  const fit = slope(points);
  return {
    atWarmupMb: round(first.y, 1),
    atEndMb: round(last.y, 1),
    grewMb: round(last.y - first.y, 1),
    per1000Mb: span === 0 ? null : round((last.y - first.y) / span, 2),
    fitPer1000Mb: fit === null ? null : round(fit * 1000, 2),
  };
}

async function main(): Promise<void> {
  const options = settings();
  const scope = new Scope();
  const interrupted = (): void => void scope.closeAll().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const work = mkdtempSync(join(tmpdir(), 'outlast-soak-'));
    scope.defer(() => rmSync(work, { recursive: true, force: true }));
    if (options.bin === undefined) console.error('soak: packing and installing the package ...');
    const built = options.bin === undefined ? await buildCompiled(work) : { bin: resolve(options.bin) };
    if ('problem' in built) throw new Error(built.problem);
    const stateDir = join(work, 'state');
    const probeDir = join(work, 'probe');
    mkdirSync(probeDir);
    const configPath = join(work, 'outlast.json');
    // Nothing listens on the health port: readiness is still being probed when each child exits.
    writeFileSync(configPath, JSON.stringify(soakConfig(stateDir, options.health ? await freePort() : undefined)));
    if (options.snapshots !== undefined) mkdirSync(options.snapshots, { recursive: true });

    const floor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
    scope.defer(() => stopChild(floor));
    const logFd = openSync(join(work, 'outlast.log'), 'a');
    // cwd: the work dir, so every child runs under it and a leftover is recognised as ours.
    const supervisor = spawn(process.execPath, [...options.nodeFlags, '--expose-gc', '--import', PROBE, built.bin, 'run', '--config', configPath], {
      cwd: work,
      env: { ...process.env, OUTLAST_SOAK_PROBE_DIR: probeDir },
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    const lastChild = (): number | undefined => {
      try {
        return (JSON.parse(readFileSync(join(stateDir, 'child.json'), 'utf8')) as { pid?: number }).pid;
      } catch {
        return undefined;
      }
    };
    scope.defer(async () => {
      const child = lastChild();
      await stopChild(supervisor, 'SIGTERM', 15_000);
      await killLeftover(child, runsUnder(work));
    });
    const log = (): string => readFileSync(join(work, 'outlast.log'), 'utf8').slice(-4000);
    const { apiUrl } = await whileRunning(
      supervisor,
      'outlast run',
      waitFor(() => JSON.parse(readFileSync(join(stateDir, 'supervisor.json'), 'utf8')) as { apiUrl: string }, 'supervisor.json', 60_000),
      log,
    );
    const token = readFileSync(join(stateDir, 'token'), 'utf8').trim();
    const events = options.events ? followEvents(apiUrl, token) : undefined;
    if (events !== undefined) scope.defer(() => events.stop());
    const eventsSeen = (): number => events?.seen() ?? 0;
    const restartsNow = async (): Promise<number> => ((await apiGet(apiUrl, token, '/status')) as { service: { restarts: number } }).service.restarts;

    const samples: Sample[] = [];
    const started = performance.now();
    let seq = 0;
    let next = options.warmup;
    console.error(`soak: ${options.restarts} restarts, warm-up ${options.warmup}, a sample every ${options.every}`);
    while (next <= options.restarts) {
      const target = next;
      const restarts = await whileRunning(supervisor, 'outlast run', waitFor(async () => {
        const count = await restartsNow();
        return count >= target ? count : undefined;
      }, `${target} restarts`, 600_000, 50), log);
      // RSS first, before the probe's full GC can shrink it.
      const rss = rssKb(supervisor.pid!);
      const snapshot = options.snapshots !== undefined && (next === options.warmup || next + options.every > options.restarts) ? join(options.snapshots, `soak-${restarts}.heapsnapshot`) : undefined;
      const heap = await probeHeap(probeDir, ++seq, snapshot);
      const sample: Sample = {
        restarts,
        elapsedS: round((performance.now() - started) / 1000, 1),
        rssKb: rss,
        heapUsedKb: heap === null ? null : Math.round(heap.heapUsed / 1024),
        heapTotalKb: heap === null ? null : Math.round(heap.heapTotal / 1024),
        externalKb: heap === null ? null : Math.round(heap.external / 1024),
        rssAfterGcKb: heap === null ? null : Math.round(heap.rss / 1024),
        spacesKb: heap === null ? null : Object.fromEntries(Object.entries(heap.spaces).map(([name, bytes]) => [name, Math.round(bytes / 1024)])),
        floorRssKb: rssKb(floor.pid!),
      };
      samples.push(sample);
      console.error(`soak: ${sample.restarts} restarts after ${sample.elapsedS} s: RSS ${round(sample.rssKb / 1024, 1)} MB, heap ${sample.heapUsedKb === null ? '?' : round(sample.heapUsedKb / 1024, 1)} MB (floor RSS ${round(sample.floorRssKb / 1024, 1)} MB)`);
      next = next === options.restarts ? next + 1 : Math.min(options.restarts, next + options.every);
    }
    const durationS = round((performance.now() - started) / 1000, 1);
    const rss = growth(samples, 'rssKb');
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      command: commandLine(options),
      sources: sourcesCommit(),
      supervisorNodeFlags: options.nodeFlags,
      healthProbe: options.health,
      eventsClient: options.events ? { events: eventsSeen() } : null,
      service: "sh -c 'exit 1', restart.policy always, no backoff",
      loadavg: loadavg().map((l) => round(l, 2)),
      restarts: samples.at(-1)?.restarts ?? 0,
      warmupRestarts: options.warmup,
      durationS,
      restartsPerS: round(((samples.at(-1)?.restarts ?? 0) - (samples[0]?.restarts ?? 0)) / Math.max(0.001, samples.at(-1)?.elapsedS ?? 0), 1),
      rss,
      rssAfterGc: growth(samples, 'rssAfterGcKb'),
      heapUsedAfterGc: growth(samples, 'heapUsedKb'),
      external: growth(samples, 'externalKb'),
      floorRssMb: round((samples.reduce((s, x) => s + x.floorRssKb, 0) / Math.max(1, samples.length)) / 1024, 1),
      targetMbPer10k: TARGET_MB_PER_10K,
      withinTarget: rss.fitPer1000Mb === null ? null : rss.fitPer1000Mb * 10 < TARGET_MB_PER_10K,
      samples,
    };
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const out = options.out ?? join(ROOT, `bench/results/soak-${result.date.slice(0, 10)}.json`);
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify({ ...result, samples: `${samples.length} in the file` }, null, 2));
    console.log(`written to ${out}`);
  } finally {
    await scope.closeAll();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

await main();
