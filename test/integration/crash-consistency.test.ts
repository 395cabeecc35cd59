/**
 * SIGKILL of the supervisor at every phase of an update, then a fresh start
 * on the same state dir: either the old or the new version serves, `current`
 * never dangles, no staging is left, the lock is free, and the journal tells
 * what happened. Then the same at 50 random instants.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFeed } from '../support/feed.ts';
import { freePort } from '../support/net.ts';
import { api, cleanup, startCli, supervisorInfo, tempDir, type RunningCli } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

afterEach(cleanup);

const json = { 'content-type': 'application/json' };

interface Rig {
  config: string;
  stateDir: string;
  port: number;
  start(env?: Record<string, string>): Promise<RunningCli>;
}

async function rig(): Promise<Rig> {
  const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0' }]);
  const port = await freePort();
  const dir = tempDir('outlast-crash-');
  const stateDir = join(dir, 'state');
  const config = join(dir, 'outlast.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'app',
      stateDir,
      service: {
        command: [process.execPath, 'server.js'],
        env: { PORT: String(port) },
        health: { url: `http://127.0.0.1:${port}/health`, intervalMs: 500, readyTimeoutMs: 3000 },
        stopTimeoutMs: 2000,
      },
      api: { port: 0 },
      updates: { source: { type: 'dir', path: feed }, initialVersion: '1.0.0', healthGate: { timeoutMs: 3000, stableForMs: 300 } },
    }),
  );
  return {
    config,
    stateDir,
    port,
    async start(env = {}) {
      const cli = startCli(['run', '--config', config], { stateDir, env });
      await supervisorInfo(cli);
      return cli;
    },
  };
}

async function servedVersion(port: number): Promise<string | undefined> {
  try {
    return ((await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) })).json()) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** Asserts the invariants on a freshly started supervisor; returns the version serving. */
async function assertConsistent(r: Rig, cli: RunningCli): Promise<string> {
  // Recovery runs before the API opens; the first install may still be going on.
  await waitFor(async () => ((await api(cli, 'GET', '/status')).json.service as { state: string }).state === 'ready', 'service ready', 15_000);
  const current = readlinkSync(join(r.stateDir, 'current'));
  expect(['releases/1.0.0', 'releases/1.1.0']).toContain(current);
  expect(existsSync(join(r.stateDir, current, 'server.js'))).toBe(true);
  const names = readdirSync(join(r.stateDir, 'releases'));
  expect(names.filter((n) => n.startsWith('.staging'))).toEqual([]);
  expect(readdirSync(r.stateDir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  const version = current.split('/')[1]!;
  await waitFor(async () => (await servedVersion(r.port)) === version, `version ${version} serving`, 15_000);
  const { json: status } = await api(cli, 'GET', '/status');
  expect(status).toMatchObject({ service: { version } });
  const journal = JSON.parse(readFileSync(join(r.stateDir, 'journal.json'), 'utf8')) as { operations: Array<{ state: string }> };
  expect(['committed', 'rolled-back', 'failed']).toContain(journal.operations.at(-1)!.state);
  expect(existsSync(join(r.stateDir, 'update.lock'))).toBe(false);
  return version;
}

async function applyAndDie(cli: RunningCli, version: string, killAfterMs?: number): Promise<void> {
  const request = api(cli, 'POST', '/updates/apply', { body: JSON.stringify({ version, force: true }), headers: json }).catch(() => undefined);
  if (killAfterMs !== undefined) {
    await new Promise((r) => setTimeout(r, killAfterMs));
    cli.proc.kill('SIGKILL');
  }
  await request;
  await cli.exited;
}

describe('SIGKILL at each phase', () => {
  const expected: Array<[string, string]> = [
    ['lock', '1.0.0'],
    ['fetch', '1.0.0'],
    ['stage', '1.0.0'],
    ['switch', '1.0.0'],
    ['restart', '1.0.0'],
    ['health-gate', '1.0.0'],
    ['commit', '1.1.0'],
  ];
  for (const [phase, survivor] of expected) {
    it(`after "${phase}" is journaled, the next start serves ${survivor}`, async () => {
      const r = await rig();
      const doomed = await r.start({ OUTLAST_FAILPOINT: phase });
      await waitFor(async () => (await servedVersion(r.port)) === '1.0.0', '1.0.0 serving');
      await applyAndDie(doomed, '1.1.0');
      expect((await doomed.exited).signal).toBe('SIGKILL');
      const next = await r.start();
      expect(await assertConsistent(r, next)).toBe(survivor);
      // The lock is free: a new update goes through.
      const res = await api(next, 'POST', '/updates/apply', { body: JSON.stringify({ version: survivor === '1.0.0' ? '1.1.0' : '1.0.0', force: true }), headers: json });
      expect(res.status).toBe(202);
    });
  }
});

describe('SIGKILL at random instants', () => {
  it('stays consistent over 50 kills', async () => {
    const seed = Number(process.env.OUTLAST_CRASH_SEED ?? Date.now() % 100_000);
    let state = seed;
    const random = (): number => ((state = (state * 48271) % 2147483647) / 2147483647);
    const r = await rig();
    let cli = await r.start();
    let version = await assertConsistent(r, cli);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 50; i++) {
      const target = version === '1.0.0' ? '1.1.0' : '1.0.0';
      // The whole update takes about a second here; spread the kills across it.
      await applyAndDie(cli, target, Math.floor(random() * 1200));
      cli = await r.start();
      try {
        version = await assertConsistent(r, cli);
      } catch (err) {
        throw new Error(`iteration ${i} (seed ${seed}): ${(err as Error).message}`, { cause: err });
      }
      const key = version === target ? 'new' : 'old';
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    console.log(`crash loop seed ${seed}: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  }, 300_000);
});
