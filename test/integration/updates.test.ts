/**
 * Updates end to end: a real supervisor, real tarballs in a real dir feed,
 * real HTTP. Bad inputs must leave the release store untouched; failed
 * versions must roll back on their own.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFeed, type Behaviour } from '../support/feed.ts';
import { finalState, serviceVersion, store } from '../support/update-supervisor.ts';
import { freePort } from '../support/net.ts';
import { api, cleanup, startCli, tempDir, type RunningCli } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

afterEach(cleanup);

const json = { 'content-type': 'application/json' };

interface Setup {
  cli: RunningCli;
  port: number;
  feed: string;
}

/** Starts a supervisor whose service comes from a dir feed, installed at `initial`. */
export async function startWithFeed(
  releases: Array<{ version: string; behaviour?: Behaviour }>,
  options: { initial?: string; updates?: Record<string, unknown>; service?: Record<string, unknown>; env?: Record<string, string> } = {},
): Promise<Setup> {
  const feed = await makeFeed(releases);
  const port = await freePort();
  const dir = tempDir('outlast-upd-');
  const config = join(dir, 'outlast.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'app',
      service: {
        command: [process.execPath, 'server.js'],
        env: { PORT: String(port) },
        health: { url: `http://127.0.0.1:${port}/health`, intervalMs: 200, timeoutMs: 300, failureThreshold: 2, readyTimeoutMs: 3000 },
        stopTimeoutMs: 2000,
        ...options.service,
      },
      api: { port: 0 },
      updates: {
        source: { type: 'dir', path: feed },
        initialVersion: options.initial ?? '1.0.0',
        preflight: [process.execPath, 'server.js', '--version'],
        healthGate: { timeoutMs: 3000, stableForMs: 600 },
        ...options.updates,
      },
    }),
  );
  const cli = startCli(['run', '--config', config], options.env === undefined ? {} : { env: options.env });
  await waitFor(async () => (await serviceVersion(port)) !== undefined, 'first version serving', 20_000);
  return { cli, port, feed };
}




describe('apply', () => {
  it('updates 1.0.0 -> 1.1.0 behind a health gate and commits', async () => {
    const { cli, port } = await startWithFeed([{ version: '1.0.0' }, { version: '1.1.0' }]);
    const check = await api(cli, 'GET', '/updates/check');
    expect(check.json).toMatchObject({ current: '1.0.0', latest: '1.1.0', available: true });
    const res = await api(cli, 'POST', '/updates/apply', { body: '{}', headers: json });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ from: '1.0.0', to: '1.1.0' });
    const op = await finalState(cli, res.json.id as string);
    expect(op.state).toBe('committed');
    expect((op.phases as Array<{ name: string }>).map((p) => p.name)).toEqual(['lock', 'fetch', 'preflight', 'stage', 'switch', 'restart', 'health-gate', 'commit']);
    expect(await serviceVersion(port)).toBe('1.1.0');
    expect(store(cli.stateDir)).toMatchObject({ current: 'releases/1.1.0', previous: 'releases/1.0.0' });
    const status = await api(cli, 'GET', '/status');
    expect(status.json).toMatchObject({ service: { version: '1.1.0' }, lastUpdate: { state: 'committed', to: '1.1.0' } });
    // The child sees its version in the environment too.
    const body = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { env: string };
    expect(body.env).toBe('1.1.0');
    const again = await api(cli, 'POST', '/updates/apply', { body: '{}', headers: json });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ upToDate: true });
  });

  it('rolls back by request to the previous version', async () => {
    const { cli, port } = await startWithFeed([{ version: '1.0.0' }, { version: '1.1.0' }]);
    const res = await api(cli, 'POST', '/updates/apply', { body: '{"version":"1.1.0"}', headers: json });
    await finalState(cli, res.json.id as string);
    const back = await api(cli, 'POST', '/updates/rollback');
    expect(back.status).toBe(202);
    expect(back.json).toMatchObject({ from: '1.1.0', to: '1.0.0' });
    await finalState(cli, back.json.id as string);
    expect(await serviceVersion(port)).toBe('1.0.0');
  });
});

describe('automatic rollback', () => {
  const failures: Array<[string, Behaviour]> = [
    ['crashes on start', { mode: 'crash' }],
    ['fails its health check', { mode: 'unhealthy' }],
    ['hangs', { mode: 'hang' }],
    ['exits after 2 s inside stableForMs', { mode: 'exit-after', ms: 2000 }],
  ];
  for (const [what, behaviour] of failures) {
    it(`rolls back a version that ${what}, and marks it bad`, async () => {
      const { cli, port } = await startWithFeed([{ version: '1.0.0' }, { version: '2.0.0', behaviour }], {
        updates: { range: '*', healthGate: { timeoutMs: 3000, stableForMs: 3000 } },
      });
      const res = await api(cli, 'POST', '/updates/apply', { body: '{"version":"2.0.0"}', headers: json });
      expect(res.status).toBe(202);
      const op = await finalState(cli, res.json.id as string);
      expect(op.state).toBe('rolled-back');
      expect((op.error as { message: string }).message).toMatch(/new version/);
      await waitFor(async () => (await serviceVersion(port)) === '1.0.0', 'old version serving again');
      // Both links as before the update: a later rollback must not return to the bad version.
      expect(store(cli.stateDir)).toMatchObject({ current: 'releases/1.0.0', previous: null });
      const bad = JSON.parse(readFileSync(join(cli.stateDir, 'bad-versions.json'), 'utf8')) as Record<string, string>;
      expect(Object.keys(bad)).toEqual(['2.0.0']);
      // Automatic selection now skips it; naming it needs force.
      const check = await api(cli, 'GET', '/updates/check?force=1');
      expect(check.json).toMatchObject({ latest: '1.0.0', available: false });
      const retry = await api(cli, 'POST', '/updates/apply', { body: '{"version":"2.0.0"}', headers: json });
      expect(retry.status).toBe(409);
      expect(retry.json).toMatchObject({ error: { code: 'VERSION_MARKED_BAD' } });
    });
  }
});

describe('bad input changes nothing', () => {
  async function expectUntouched(setup: Setup, body: string | undefined, status: number, code: string, headers: Record<string, string> = json): Promise<void> {
    const before = store(setup.cli.stateDir);
    const res = await api(setup.cli, 'POST', '/updates/apply', body === undefined ? { headers } : { body, headers });
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ error: { code } });
    expect(store(setup.cli.stateDir)).toEqual(before);
    expect(await serviceVersion(setup.port)).toBe('1.0.0');
  }

  it('answers each bad request with its status and code', async () => {
    const setup = await startWithFeed([{ version: '0.9.0' }, { version: '1.0.0' }, { version: '1.1.0' }]);
    await expectUntouched(setup, '{"version":', 400, 'BAD_REQUEST');
    await expectUntouched(setup, '{"version": 110}', 400, 'BAD_REQUEST');
    await expectUntouched(setup, '{"force": "yes"}', 400, 'BAD_REQUEST');
    await expectUntouched(setup, '{"version": "1.1.0", "now": true}', 400, 'BAD_REQUEST');
    await expectUntouched(setup, '{"version": "one.two"}', 400, 'BAD_REQUEST');
    await expectUntouched(setup, '{"version": "7.7.7"}', 404, 'VERSION_NOT_FOUND');
    await expectUntouched(setup, '{"version": "0.9.0"}', 409, 'DOWNGRADE_REFUSED');
    const anonymous = await api(setup.cli, 'POST', '/updates/apply', { body: '{}', headers: json, auth: false });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    const unknown = await api(setup.cli, 'GET', '/updates/nope');
    expect(unknown.status).toBe(404);
  });

  it('refuses a named version outside updates.range unless forced; an initialVersion outside it is the user\'s choice', async () => {
    // Installed at 2.0.0 although the range says ^1: initialVersion is taken as written.
    const setup = await startWithFeed([{ version: '1.0.0' }, { version: '2.0.0' }, { version: '3.0.0' }], {
      initial: '2.0.0',
      updates: { range: '^1' },
    });
    expect(await serviceVersion(setup.port)).toBe('2.0.0');
    const before = store(setup.cli.stateDir);
    const res = await api(setup.cli, 'POST', '/updates/apply', { body: '{"version": "3.0.0"}', headers: json });
    expect(res.status).toBe(409);
    expect(res.json).toMatchObject({
      error: { code: 'VERSION_OUT_OF_RANGE', message: 'version 3.0.0 is outside updates.range "^1"; to install it anyway, apply it with --force (API: "force": true)', details: { version: '3.0.0', range: '^1' } },
    });
    expect(store(setup.cli.stateDir)).toEqual(before);
    const check = await api(setup.cli, 'GET', '/updates/check?force=1');
    expect(check.json).toMatchObject({ current: '2.0.0', latest: '1.0.0', available: false });
    const forced = await api(setup.cli, 'POST', '/updates/apply', { body: '{"version": "3.0.0", "force": true}', headers: json });
    expect(forced.status).toBe(202);
    expect((await finalState(setup.cli, forced.json.id as string)).state).toBe('committed');
    expect(await serviceVersion(setup.port)).toBe('3.0.0');
  });

  it('refuses a tampered tarball with 422 and leaves no staging behind', async () => {
    const setup = await startWithFeed([{ version: '1.0.0' }, { version: '1.1.0' }]);
    const manifestPath = join(setup.feed, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { versions: Array<{ version: string; sha256: string }> };
    manifest.versions.find((v) => v.version === '1.1.0')!.sha256 = '0'.repeat(64);
    writeFileSync(manifestPath, JSON.stringify(manifest));
    await expectUntouched(setup, '{"version": "1.1.0"}', 422, 'DIGEST_MISMATCH');
    expect(readdirSync(join(setup.cli.stateDir, 'releases')).filter((n) => n.startsWith('.staging'))).toEqual([]);
  });

  it('refuses a release whose preflight prints another version', async () => {
    const setup = await startWithFeed([{ version: '1.0.0' }, { version: '1.1.0' }], {
      // 1.0.0 passes its preflight; 1.1.0 claims to be 9.9.9.
      updates: { preflight: ['sh', '-c', 'if [ "$OUTLAST_VERSION" = 1.0.0 ]; then echo 1.0.0; else echo 9.9.9; fi'] },
    });
    await expectUntouched(setup, '{"version": "1.1.0"}', 422, 'PREFLIGHT_FAILED');
  });
});

describe('concurrency', () => {
  it('accepts exactly one of 20 parallel applies; the others get 409 with the holder', async () => {
    const { cli } = await startWithFeed([{ version: '1.0.0' }, { version: '1.1.0' }]);
    const answers = await Promise.all(Array.from({ length: 20 }, () => api(cli, 'POST', '/updates/apply', { body: '{"version":"1.1.0"}', headers: json })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const refused = answers.find((a) => a.status === 409)!;
    expect(refused.json).toMatchObject({ error: { code: 'UPDATE_IN_PROGRESS', details: { holder: { to: '1.1.0', pid: cli.proc.pid } } } });
    const accepted = answers.find((a) => a.status === 202)!;
    expect((await finalState(cli, accepted.json.id as string)).state).toBe('committed');
  });
});
