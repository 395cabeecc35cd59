/**
 * `npm run bench`: outlast against PM2, supervisord and runit, in the same
 * run on the same machine, each behind bench/peers/peer.ts:
 *  1. update-under-load  an update (or the peer's reload/restart) during load
 *  2. crash-repair       SIGKILL of the service → answering again
 *  3. idle-cost          supervisor RSS and CPU with one idle service
 *  4. stop               SIGTERM → exit under 200 idle keep-alive connections
 *  5. start-up           cold start of `outlast --version` and `outlast status`
 *  6. apply              a 50 MB / 5,000-file release vs sha256sum + tar xzf (bench/apply.ts)
 *  7. soak               RSS over a crash loop of N restarts (bench/soak.ts)
 * outlast runs as installed: `npm pack`, then the tarball installed into a
 * temp prefix (bench/compiled.ts). The bench installs its peers (PM2 and
 * autocannon from npm into bench/.peers; supervisor, runit and hyperfine
 * from Debian), then writes bench/results/<date>.json, .md and .svg, the
 * .md opening with the table of targets (bench/report/targets.ts).
 *
 * Env: BENCH_RUNS (3), BENCH_ONLY (comma list of the ids above),
 * BENCH_LOAD_S (8), BENCH_TRIGGER_S (2), BENCH_LOAD_CONNECTIONS (10),
 * BENCH_KILLS (9), BENCH_KILL_SPACING_MS (1500, at least 1000: outlast's
 * default stableAfterMs), BENCH_IDLE_S (60), BENCH_IDLE_RUNS (1: the idle
 * window is long already), BENCH_SPAWNS (30), BENCH_SOAK_RESTARTS (10000),
 * BENCH_NO_INSTALL (1: use only what is installed).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFeed, ROOT } from './app.ts';
import { buildCompiled } from './compiled.ts';
import { floorPeer } from './peers/floor.ts';
import { outlastPeer } from './peers/outlast.ts';
import type { Peer } from './peers/peer.ts';
import { pm2Peer } from './peers/pm2.ts';
import { runitPeer } from './peers/runit.ts';
import { supervisordPeer } from './peers/supervisord.ts';
import { chart } from './report/svg.ts';
import { markdown } from './report/markdown.ts';
import { targets } from './report/targets.ts';
import { crashRepair } from './scenarios/crash-repair.ts';
import { idleCost } from './scenarios/idle-cost.ts';
import { skippedRow, type ScenarioResult } from './scenarios/result.ts';
import { applyScenario, soakScenario } from './scenarios/scripts.ts';
import { startUp } from './scenarios/start-up.ts';
import { stopIdleConnections } from './scenarios/stop-idle-connections.ts';
import { updateUnderLoad } from './scenarios/update-under-load.ts';
import { setupTools, type Tools } from './setup.ts';
import { Scope } from './support/scope.ts';

const SCENARIOS = ['update-under-load', 'crash-repair', 'idle-cost', 'stop', 'start-up', 'apply', 'soak'] as const;
type ScenarioId = (typeof SCENARIOS)[number];

/** The run's settings, from the environment. */
interface Settings {
  runs: number;
  only: readonly ScenarioId[];
  loadS: number;
  triggerAtS: number;
  loadConnections: number;
  kills: number;
  killSpacingMs: number;
  idleS: number;
  idleRuns: number;
  spawns: number;
  soakRestarts: number;
  install: boolean;
}

function readSettings(env: NodeJS.ProcessEnv): Settings {
  const num = (name: string, fallback: number): number => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not ${env[name]}`);
    return value;
  };
  const only = (env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = only.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  if (num('BENCH_KILL_SPACING_MS', 1500) < 1000) throw new Error('BENCH_KILL_SPACING_MS must be at least 1000: each kill must come after a stable run of the service');
  return {
    runs: num('BENCH_RUNS', 3),
    only: only.length === 0 ? SCENARIOS : (only as ScenarioId[]),
    loadS: num('BENCH_LOAD_S', 8),
    triggerAtS: num('BENCH_TRIGGER_S', 2),
    loadConnections: num('BENCH_LOAD_CONNECTIONS', 10),
    kills: num('BENCH_KILLS', 9),
    killSpacingMs: num('BENCH_KILL_SPACING_MS', 1500),
    idleS: num('BENCH_IDLE_S', 60),
    idleRuns: num('BENCH_IDLE_RUNS', 1),
    spawns: num('BENCH_SPAWNS', 30),
    soakRestarts: num('BENCH_SOAK_RESTARTS', 10_000),
    install: env.BENCH_NO_INSTALL !== '1',
  };
}

/**
 * The peers, outlast first (the base of the ratios): the installed package
 * at `bin`, or, when it could not be installed, this checkout (its rows are
 * then named "(checkout)" and the targets say "not measured").
 */
function peersOf(tools: Tools, bin: string | undefined): { update: Peer[]; others: Peer[]; idle: Peer[] } {
  const outlast = outlastPeer(bin === undefined ? {} : { bin });
  const pm2Fork = pm2Peer(tools.pm2, 'fork');
  const supervisord = supervisordPeer(tools.supervisor);
  const runit = runitPeer(tools.runit);
  return {
    update: [outlast, outlastPeer({ handoff: true, ...(bin === undefined ? {} : { bin }) }), pm2Fork, pm2Peer(tools.pm2, 'cluster'), supervisord, runit],
    others: [outlast, pm2Fork, supervisord, runit],
    idle: [outlast, floorPeer(), pm2Fork, supervisord, runit],
  };
}

/** A scenario run as a script (apply, soak): a failure is its row's reason, not the end of the bench. */
async function scripted(id: string, title: string, body: () => Promise<ScenarioResult>): Promise<ScenarioResult> {
  try {
    return await body();
  } catch (err) {
    const reason = (err as Error).message.split('\n').slice(0, 3).join(' ');
    console.error(`bench: ${id} failed: ${reason}`);
    return { id, title, method: '', metrics: [], rows: [skippedRow('outlast', `failed: ${reason}`)], notes: [] };
  }
}

async function runScenarios(settings: Settings, tools: Tools, work: string, feed: string, scope: Scope): Promise<ScenarioResult[]> {
  let bin: string | undefined;
  if (settings.only.some((id) => id !== 'stop')) {
    console.error('bench: npm pack + npm install -g --prefix <tmp> (outlast as installed)');
    const built = await buildCompiled(work);
    if ('problem' in built) {
      console.error(`bench: ${built.problem}; outlast runs from the checkout instead`);
      tools.problems.push(built.problem);
    } else bin = built.bin;
  }
  const peers = peersOf(tools, bin);
  const results: ScenarioResult[] = [];
  const base = { runs: settings.runs, work, feed };
  for (const id of settings.only) {
    const started = performance.now();
    console.error(`bench: ${id}`);
    switch (id) {
      case 'update-under-load':
        if (tools.autocannon === undefined) {
          results.push({ id, title: 'Update under load', method: '', metrics: [], rows: [skippedRow('all', 'autocannon: not installed')], notes: [] });
          break;
        }
        results.push(await updateUnderLoad(peers.update, { ...base, loadS: settings.loadS, triggerAtS: settings.triggerAtS, connections: settings.loadConnections, autocannon: tools.autocannon }, scope));
        break;
      case 'crash-repair':
        results.push(await crashRepair(peers.others, { ...base, kills: settings.kills, spacingMs: settings.killSpacingMs }, scope));
        break;
      case 'idle-cost':
        results.push(await idleCost(peers.idle, { ...base, runs: settings.idleRuns, idleS: settings.idleS, settleMs: 15_000 }, scope));
        break;
      case 'stop':
        results.push(await stopIdleConnections({ runs: settings.runs }));
        break;
      case 'start-up':
        results.push(await startUp(peers.others, { work, feed, spawns: settings.spawns, hyperfine: tools.hyperfine }, scope));
        break;
      case 'apply':
        if (bin === undefined) results.push({ id, title: 'Apply of a large release', method: '', metrics: [], rows: [skippedRow('outlast', 'the package could not be installed')], notes: [] });
        else results.push(await scripted(id, 'Apply of a large release', () => applyScenario({ bin, work, runs: settings.runs })));
        break;
      case 'soak':
        if (bin === undefined) results.push({ id, title: 'Memory over a crash loop', method: '', metrics: [], rows: [skippedRow('outlast', 'the package could not be installed')], notes: [] });
        else results.push(await scripted(id, 'Memory over a crash loop', () => soakScenario({ bin, work, restarts: settings.soakRestarts })));
        break;
    }
    console.error(`bench: ${id} done in ${Math.round((performance.now() - started) / 1000)} s`);
  }
  return results;
}

function writeResults(settings: Settings, tools: Tools, results: ScenarioResult[], load: { start: number[]; end: number[] }): string[] {
  const date = new Date().toISOString().slice(0, 10);
  const name = settings.only.length === SCENARIOS.length ? date : `${date}-${settings.only.join('+')}`;
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, load average ${load.start.map((l) => l.toFixed(1)).join(' ')} at the start and ${load.end.map((l) => l.toFixed(1)).join(' ')} at the end`;
  const settingsText = `BENCH_RUNS=${settings.runs}, load ${settings.loadS} s × ${settings.loadConnections} connections, ${settings.kills} kills per run ${settings.killSpacingMs} ms apart, ${settings.idleS} s idle × ${settings.idleRuns}, ${settings.spawns} spawns, ${settings.soakRestarts} soak restarts.`;
  const json = { date: new Date().toISOString(), machine, versions: tools.versions, settings, problems: tools.problems, targets: targets(results), results };
  const files = [join(dir, `${name}.json`), join(dir, `${name}.md`), join(dir, `${name}.svg`)];
  writeFileSync(files[0]!, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(files[1]!, markdown({ date, machine, versions: tools.versions, settings: settingsText, problems: tools.problems }, results));
  writeFileSync(files[2]!, chart(results, `outlast vs PM2, supervisord, runit — ${date}, ${cpus().length} CPUs, Node ${process.version}; lower is better`));
  return files;
}

async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const tools = await setupTools({ install: settings.install });
  for (const problem of tools.problems) console.error(`bench: set-up problem: ${problem}`);
  const scope = new Scope();
  const work = mkdtempSync(join(tmpdir(), 'outlast-bench-'));
  scope.defer(() => rmSync(work, { recursive: true, force: true }));
  // Ctrl-C or a kill of the bench must not leave peer daemons behind: PM2's
  // God daemon in particular has left our process group.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}: stopping every peer and removing temp dirs`);
      void scope.closeAll().finally(() => process.exit(130));
    });
  }
  try {
    const load = { start: loadavg(), end: [] as number[] };
    const feed = await buildFeed(join(work, 'feed'), ['1.0.0', '2.0.0']);
    const results = await runScenarios(settings, tools, work, feed, scope);
    load.end = loadavg();
    const files = writeResults(settings, tools, results, load);
    console.log(markdown({ date: '', machine: '', versions: {}, settings: '', problems: [] }, results).split('\n').slice(5).join('\n'));
    console.log(`written: ${files.join(', ')}`);
  } finally {
    await scope.closeAll();
  }
}

await main();
