/**
 * GET /metrics end to end: a real supervisor running release-app from a real
 * dir feed, scraped after a crash (the child SIGKILLed), a manual restart,
 * an update that commits, a broken release rolled back by its gate, and a
 * rollback by request. Every counter must move by exactly what happened.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTENT_TYPE } from '../../supervisor/metrics/exposition.ts';
import { makeFeed } from '../support/feed.ts';
import { api, cleanup, ROOT, serviceStatus, supervisorInfo, token, type RunningCli } from '../support/supervisor.ts';
import { apply, finalState, serviceVersion, startUpdating } from '../support/update-supervisor.ts';
import { waitFor } from '../support/wait.ts';

afterEach(cleanup);

type Scrape = Map<string, number>;

/** GET /metrics with the token, parsed into series → value. */
async function scrape(cli: RunningCli): Promise<Scrape> {
  const { apiUrl } = await supervisorInfo(cli);
  const res = await fetch(`${apiUrl}/metrics`, { headers: { authorization: `Bearer ${token(cli.stateDir)}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(CONTENT_TYPE);
  const series = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

/** The series that only ever grow: every counter, and the count of every histogram series. */
const COUNTED = /^(outlast_service_restarts_total|outlast_updates_total|outlast_stop_forced_total|outlast_stop_duration_seconds_count|outlast_update_duration_seconds_count)\b/;

/** How much each counted series moved from `before` to `after`; series that did not move are left out. */
function moved(before: Scrape, after: Scrape): Record<string, number> {
  const deltas: Record<string, number> = {};
  for (const [name, value] of after) {
    if (!COUNTED.test(name)) continue;
    const delta = value - (before.get(name) ?? 0);
    if (delta !== 0) deltas[name] = delta;
  }
  return deltas;
}

/** The phase counts one ended operation adds to outlast_update_duration_seconds. */
function phaseCounts(op: Record<string, unknown>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { name } of op.phases as Array<{ name: string }>) {
    const key = `outlast_update_duration_seconds_count{phase="${name}"}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * Scrapes until every series in `expected` has moved at least that much from
 * `before` (an operation's timings are read from the journal just after it
 * ends), and returns that scrape; the caller then checks the exact moves.
 */
function scrapeOnceMoved(cli: RunningCli, before: Scrape, expected: Record<string, number>): Promise<Scrape> {
  return waitFor(async () => {
    const s = await scrape(cli);
    const deltas = moved(before, s);
    return Object.entries(expected).every(([name, delta]) => (deltas[name] ?? 0) >= delta) ? s : undefined;
  }, `the scrape to show ${JSON.stringify(expected)}`);
}

/** Resolves once a new child (not `oldPid`) is ready; returns its pid. */
async function nextChild(cli: RunningCli, oldPid: number): Promise<number> {
  const status = await waitFor(async () => {
    const s = await serviceStatus(cli);
    return s.state === 'ready' && s.pid !== null && s.pid !== oldPid ? s : undefined;
  }, `a new child after ${oldPid}`);
  return status.pid!;
}

describe('GET /metrics', () => {
  it('leaves the exposition code out of what `outlast run` loads: only the recorder is there before a scrape', () => {
    // A load hook records every module the CLI and `outlast run` pull in statically.
    const href = (path: string): string => JSON.stringify(pathToFileURL(join(ROOT, path)).href);
    const script = `import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
await import(${href('supervisor/cli/main.ts')});
await import(${href('supervisor/cli/run.ts')});
process.stdout.write(JSON.stringify(loaded));`;
    const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' })) as string[];
    expect(loaded.some((url) => url.endsWith('/supervisor/supervisor.ts'))).toBe(true);
    const metrics = loaded.filter((url) => url.includes('/supervisor/metrics/')).map((url) => url.slice(url.lastIndexOf('/') + 1));
    expect(metrics.sort()).toEqual(['histogram.ts', 'recorder.ts']);
  });

  it('needs the bearer token', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }]);
    const { cli } = await startUpdating({ type: 'dir', path: feed });
    const { apiUrl } = await supervisorInfo(cli);
    expect((await fetch(`${apiUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${apiUrl}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const res = await fetch(`${apiUrl}/metrics`, { headers: { authorization: `Bearer ${token(cli.stateDir)}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^# HELP outlast_/);
  });

  it('counts a crash, a manual restart, a committed update, a gate rollback and a rollback by request, each exactly once', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0' }, { version: '2.0.0', behaviour: { mode: 'crash' } }]);
    const { cli, port } = await startUpdating({ type: 'dir', path: feed }, { updates: { range: '*' } });
    // Answering is not yet ready: the health probe says so a moment later.
    await waitFor(async () => (await serviceStatus(cli)).state === 'ready', 'the service ready');
    const start = await scrape(cli);
    expect(start.get('outlast_service_up')).toBe(1);
    expect(start.get('outlast_build_info{version="0.1.0"}')).toBe(1);
    expect(start.get('outlast_supervisor_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    // The first install is the one operation so far; nothing restarted, nothing checked.
    expect(start.get('outlast_updates_total{result="committed"}')).toBe(1);
    expect(['crash', 'health', 'update', 'manual'].map((r) => start.get(`outlast_service_restarts_total{reason="${r}"}`))).toEqual([0, 0, 0, 0]);
    expect(start.has('outlast_update_available')).toBe(false);
    expect(start.has('outlast_service_last_exit_code')).toBe(false);

    // A crash: the test's own grandchild, SIGKILLed; the crash policy respawns it.
    const first = (await serviceStatus(cli)).pid!;
    process.kill(first, 'SIGKILL');
    const second = await nextChild(cli, first);
    const crashed = await scrape(cli);
    expect(moved(start, crashed)).toEqual({ 'outlast_service_restarts_total{reason="crash"}': 1 });
    expect(crashed.get('outlast_service_last_exit_code')).toBe(137);
    expect(crashed.get('outlast_service_last_exit_signal')).toBe(9);

    // A manual restart (what `outlast restart` sends): one restart, one graceful stop.
    expect((await api(cli, 'POST', '/restart')).status).toBe(202);
    await nextChild(cli, second);
    const restarted = { 'outlast_service_restarts_total{reason="manual"}': 1, outlast_stop_duration_seconds_count: 1 };
    const manual = await scrapeOnceMoved(cli, crashed, restarted);
    expect(moved(crashed, manual)).toEqual(restarted);
    expect(manual.get('outlast_service_last_exit_signal')).toBe(0);

    // A check: the scrape reports its answer, and never asks the source itself.
    expect((await api(cli, 'GET', '/updates/check')).json).toMatchObject({ latest: '2.0.0', available: true });
    expect((await scrape(cli)).get('outlast_update_available')).toBe(1);

    // An update that commits: one update restart, the old child's stop, and each phase timed once.
    const update = await apply(cli, { version: '1.1.0' });
    const committed = await finalState(cli, update.json.id as string);
    expect(committed.state).toBe('committed');
    const updated = {
      'outlast_service_restarts_total{reason="update"}': 1,
      'outlast_updates_total{result="committed"}': 1,
      outlast_stop_duration_seconds_count: 1,
      ...phaseCounts(committed),
    };
    const afterUpdate = await scrapeOnceMoved(cli, manual, updated);
    expect(moved(manual, afterUpdate)).toEqual(updated);

    // A broken release, rolled back by its gate: two update restarts (into it, and back), one stop
    // (the child it replaced; it crashes on its own), and its crash is not respawned behind the gate.
    const broken = await apply(cli, { version: '2.0.0' });
    const rolledBack = await finalState(cli, broken.json.id as string);
    expect(rolledBack.state).toBe('rolled-back');
    await waitFor(async () => (await serviceVersion(port)) === '1.1.0', '1.1.0 serving again');
    const gated = {
      'outlast_service_restarts_total{reason="update"}': 2,
      'outlast_updates_total{result="rolled_back"}': 1,
      outlast_stop_duration_seconds_count: 1,
      ...phaseCounts(rolledBack),
    };
    const afterGate = await scrapeOnceMoved(cli, afterUpdate, gated);
    expect(moved(afterUpdate, afterGate)).toEqual(gated);
    // The last child to end was the broken one, by itself.
    expect(afterGate.get('outlast_service_last_exit_code')).toBe(1);

    // A rollback by request, to 1.0.0.
    const back = await api(cli, 'POST', '/updates/rollback');
    expect(back.status).toBe(202);
    const byRequest = await finalState(cli, back.json.id as string);
    expect(byRequest).toMatchObject({ state: 'rolled-back', to: '1.0.0' });
    const requested = {
      'outlast_service_restarts_total{reason="update"}': 1,
      'outlast_updates_total{result="rolled_back"}': 1,
      outlast_stop_duration_seconds_count: 1,
      ...phaseCounts(byRequest),
    };
    const afterRollback = await scrapeOnceMoved(cli, afterGate, requested);
    expect(moved(afterGate, afterRollback)).toEqual(requested);

    // Nothing was ever forced, failed, or restarted for health.
    expect(afterRollback.get('outlast_stop_forced_total')).toBe(0);
    expect(afterRollback.get('outlast_updates_total{result="failed"}')).toBe(0);
    expect(afterRollback.get('outlast_service_restarts_total{reason="health"}')).toBe(0);
    // A new check (forced): both versions above 1.0.0 are marked bad now, so nothing is available, and the scrape says so.
    expect((await api(cli, 'GET', '/updates/check?force=1')).json).toMatchObject({ current: '1.0.0', latest: '1.0.0', available: false });
    expect((await scrape(cli)).get('outlast_update_available')).toBe(0);
  });
});
