/**
 * Every source and every refusal through a real supervisor: a feed served by
 * a loopback HTTP server, a git repository made in the test, hand-crafted
 * malicious tarballs in a dir feed, the busy gate, and the CLI that drives
 * it all. A refusal must change nothing on disk.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packRelease } from '../../supervisor/update/pack.ts';
import { makeFeed, writeRelease } from '../support/feed.ts';
import { api, cleanup, tempDir } from '../support/supervisor.ts';
import { apply, finalState, lockReleased, runOutlast, serviceVersion, startUpdating, store } from '../support/update-supervisor.ts';
import { waitFor } from '../support/wait.ts';
import { rawTar, serve, type RawEntry, type TestServer } from '../update/helpers.ts';
import { nodeHost } from '../support/node-host.ts';

afterEach(cleanup);

/** Loopback servers to close after each test. */
const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

type Manifest = { versions: Array<{ version: string; url: string; sha256: string; size: number }> };

function editManifest(feed: string, edit: (manifest: Manifest) => void): void {
  const path = join(feed, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  edit(manifest);
  writeFileSync(path, JSON.stringify(manifest));
}

/** Serves `feed` over loopback HTTP; files of `chunked` go without content-length. */
async function serveFeed(feed: string, chunked = new Set<string>()): Promise<TestServer> {
  const server = await serve((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
    const path = join(feed, name);
    if (name.includes('/') || !existsSync(path)) return void res.writeHead(404).end();
    res.writeHead(200, chunked.has(name) ? {} : { 'content-length': String(statSync(path).size) });
    createReadStream(path).pipe(res);
  });
  servers.push(server);
  return server;
}

/** Adds a release with extra incompressible bytes, so its tarball is larger than `bytes`. */
async function addLargeRelease(feed: string, version: string, bytes: number): Promise<void> {
  const dir = tempDir('outlast-release-');
  writeRelease(dir, version, { mode: 'ok' }, { 'blob.txt': randomBytes(bytes).toString('base64') });
  await packRelease(nodeHost.fs, { dir, version, feed, name: 'release-app' });
}

describe('http source', () => {
  it('applies a version served over loopback HTTP', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0' }]);
    const server = await serveFeed(feed);
    const { cli, port } = await startUpdating({ type: 'http', manifest: `${server.url}/manifest.json`, retries: 0 });
    const res = await apply(cli, { version: '1.1.0' });
    expect(res.status).toBe(202);
    expect((await finalState(cli, res.json.id as string)).state).toBe('committed');
    expect(await serviceVersion(port)).toBe('1.1.0');
    expect(server.requests).toContain('GET /release-app-1.1.0.tgz');
  });

  it('refuses a sha256 mismatch and oversize downloads with 422, changing nothing', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0' }]);
    await addLargeRelease(feed, '1.2.0', 200_000);
    await addLargeRelease(feed, '1.3.0', 200_000);
    const maxBytes = 64 * 1024;
    editManifest(feed, (m) => {
      m.versions.find((v) => v.version === '1.1.0')!.sha256 = 'f'.repeat(64);
      // 1.3.0 understates its size: only the metered download can catch it.
      m.versions.find((v) => v.version === '1.3.0')!.size = 2000;
    });
    const server = await serveFeed(feed, new Set(['release-app-1.3.0.tgz']));
    const { cli, port } = await startUpdating({ type: 'http', manifest: `${server.url}/manifest.json`, retries: 0 }, { updates: { maxBytes } });
    const before = store(cli.stateDir);
    const refusals: Array<[string, string]> = [
      ['1.1.0', 'sha256-mismatch'],
      ['1.2.0', 'oversize'],
      ['1.3.0', 'oversize'],
    ];
    for (const [version, reason] of refusals) {
      const res = await apply(cli, { version });
      expect(res.status, version).toBe(422);
      expect(res.json).toMatchObject({ error: { code: reason === 'oversize' ? 'TOO_LARGE' : 'DIGEST_MISMATCH', details: { version, reason } } });
      expect(store(cli.stateDir)).toEqual(before);
    }
    // The honest oversize entry is refused before a byte of it is downloaded.
    expect(server.requests).not.toContain('GET /release-app-1.2.0.tgz');
    expect(server.requests).toContain('GET /release-app-1.3.0.tgz');
    expect(await serviceVersion(port)).toBe('1.0.0');
  });

  it('ends a download that drips past updates.fetchTimeoutMs with 504 TIMEOUT, freeing the lock and changing nothing', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0' }]);
    // The manifest and 1.0.0 at full speed; 1.1.0 a byte every 100 ms.
    const server = await serve((req, res) => {
      const path = join(feed, (req.url ?? '/').slice(1));
      if (!existsSync(path)) return void res.writeHead(404).end();
      const body = readFileSync(path);
      if (req.url !== '/release-app-1.1.0.tgz') return void res.writeHead(200).end(body);
      res.writeHead(200, { 'content-length': String(body.length) });
      let sent = 0;
      const timer = setInterval(() => (sent < body.length ? res.write(body.subarray(sent, ++sent)) : res.end()), 100);
      res.on('close', () => clearInterval(timer));
    });
    servers.push(server);
    const { cli, port } = await startUpdating({ type: 'http', manifest: `${server.url}/manifest.json`, retries: 0 }, { updates: { fetchTimeoutMs: 1500 } });
    const before = store(cli.stateDir);
    const res = await apply(cli, { version: '1.1.0' });
    expect(res.status).toBe(504);
    expect(res.json).toMatchObject({ error: { code: 'TIMEOUT', details: { rule: 'fetchTimeoutMs', fetchTimeoutMs: 1500 } } });
    expect((res.json.error as { message: string }).message).toMatch(/did not finish within updates\.fetchTimeoutMs \(1500 ms\); \d+ bytes received$/);
    await lockReleased(cli.stateDir);
    expect(store(cli.stateDir)).toEqual(before);
    expect(await serviceVersion(port)).toBe('1.0.0');
  });
});

describe('malicious tarballs', () => {
  const marker = `outlast-escape-${randomBytes(4).toString('hex')}`;
  const app = (version: string): RawEntry[] => [
    { path: 'package/', type: '5' },
    { path: 'package/package.json', body: JSON.stringify({ name: 'release-app', version, type: 'module' }) },
    { path: 'package/server.js', body: readFileSync(join(import.meta.dirname, '../fixtures/release-app/server.js'), 'utf8') },
  ];

  it('refuses ../, absolute, symlink and hardlink escapes with 422 naming the entry; nothing changes on disk', async () => {
    const outside = tempDir('outlast-outside-');
    // [what, version, the evil entries after a valid app, the entry named in the refusal]
    const cases: Array<[string, string, RawEntry[], string]> = [
      ['a ../ entry', '1.1.0', [{ path: `package/../../../${marker}`, body: 'x' }], `package/../../../${marker}`],
      ['an absolute path', '1.2.0', [{ path: join(outside, marker), body: 'x' }], join(outside, marker)],
      ['a symlink escape', '1.3.0', [{ path: 'package/data', type: '2', linkpath: '../../..' }, { path: `package/data/${marker}`, body: 'x' }], 'package/data'],
      ['a hardlink escape', '1.4.0', [{ path: 'package/hard', type: '1', linkpath: `../../${marker}` }], 'package/hard'],
    ];
    const feed = await makeFeed([{ version: '1.0.0' }]);
    editManifest(feed, (m) => {
      for (const [, version, evil] of cases) {
        const tarball = rawTar([...app(version), ...evil]);
        writeFileSync(join(feed, `evil-${version}.tgz`), tarball);
        m.versions.push({ version, url: `evil-${version}.tgz`, sha256: createHash('sha256').update(tarball).digest('hex'), size: tarball.length });
      }
    });
    const { cli, port } = await startUpdating({ type: 'dir', path: feed });
    const before = store(cli.stateDir);
    for (const [what, version, , culprit] of cases) {
      const res = await apply(cli, { version });
      expect(res.status, what).toBe(422);
      expect(res.json, what).toMatchObject({ error: { code: 'ARCHIVE_INVALID', details: { entry: culprit } } });
      expect(store(cli.stateDir), what).toEqual(before);
    }
    for (const dir of [cli.stateDir, join(cli.stateDir, '..'), join(cli.stateDir, 'releases'), outside]) {
      expect(readdirSync(dir).filter((name) => name.includes(marker)), dir).toEqual([]);
    }
    expect(await serviceVersion(port)).toBe('1.0.0');
  });
});

describe('git source', () => {
  function git(repo: string, ...args: string[]): void {
    execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'init.defaultBranch=main', '-c', 'commit.gpgSign=false', '-c', 'tag.gpgSign=false', ...args], { cwd: repo, stdio: 'pipe' });
  }

  it('installs 1.0.0 from tag v1.0.0, then applies v1.1.0', async () => {
    const repo = tempDir('outlast-repo-');
    git(repo, 'init', '-q');
    for (const version of ['1.0.0', '1.1.0']) {
      writeRelease(repo, version);
      git(repo, 'add', '-A');
      git(repo, 'commit', '-q', '-m', `release ${version}`);
      git(repo, 'tag', `v${version}`);
    }
    const { cli, port } = await startUpdating({ type: 'git', url: repo });
    expect(await serviceVersion(port)).toBe('1.0.0');
    const res = await apply(cli);
    expect(res.json).toMatchObject({ from: '1.0.0', to: '1.1.0' });
    expect((await finalState(cli, res.json.id as string)).state).toBe('committed');
    expect(await serviceVersion(port)).toBe('1.1.0');
    expect(store(cli.stateDir)).toMatchObject({ current: 'releases/1.1.0', previous: 'releases/1.0.0' });

    // 1.2.0 tagged twice, on two commits: refused before the lock, so no
    // operation is journaled and nothing is staged.
    for (const tag of ['v1.2.0', '1.2.0']) {
      writeRelease(repo, '1.2.0', { mode: 'ok' }, { 'tag.txt': tag });
      git(repo, 'add', '-A');
      git(repo, 'commit', '-q', '-m', `release ${tag}`);
      git(repo, 'tag', tag);
    }
    const before = store(cli.stateDir);
    const ambiguous = await apply(cli, { version: '1.2.0', force: true });
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.json).toMatchObject({ error: { code: 'VERSION_AMBIGUOUS', details: { version: '1.2.0', tags: [{ tag: '1.2.0' }, { tag: 'v1.2.0' }] } } });
    expect((ambiguous.json.error as { message: string }).message).toMatch(/"1\.2\.0".*"v1\.2\.0"/);
    expect(store(cli.stateDir)).toEqual(before);
    expect((await api(cli, 'GET', '/status')).json).toMatchObject({ lastUpdate: { id: res.json.id, state: 'committed' } });
  });
});

describe('the busy gate', () => {
  it('blocks while the service is busy, proceeds with force, and proceeds once it turns idle', async () => {
    const gate = { busy: 2, idleAfter: Number.POSITIVE_INFINITY };
    const busy = await serve((_req, res) => {
      if (busy.requests.length > gate.idleAfter) gate.busy = 0;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ busy: gate.busy }));
    });
    servers.push(busy);
    const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0' }, { version: '1.2.0' }]);
    const { cli, port } = await startUpdating({ type: 'dir', path: feed }, { service: { busy: { url: `${busy.url}/busy`, maxWaitMs: 800, pollMs: 100 } } });

    const before = store(cli.stateDir);
    const blocked = await apply(cli, { version: '1.1.0' });
    expect(blocked.status).toBe(409);
    expect(blocked.json).toMatchObject({ error: { code: 'RESTART_BLOCKED', details: { reason: '2 operation(s) in progress' } } });
    expect((blocked.json.error as { details: { waitedMs: number } }).details.waitedMs).toBeGreaterThanOrEqual(800);
    expect(busy.requests.length).toBeGreaterThanOrEqual(5);
    expect(store(cli.stateDir)).toEqual(before);
    expect(await serviceVersion(port)).toBe('1.0.0');

    const asked = busy.requests.length;
    const forced = await apply(cli, { version: '1.1.0', force: true });
    expect(forced.status).toBe(202);
    const op = await finalState(cli, forced.json.id as string);
    expect(op.state).toBe('committed');
    expect(busy.requests.length).toBe(asked);
    expect(await serviceVersion(port)).toBe('1.1.0');

    // Busy for the next three polls, then idle: the apply waits, then goes on.
    gate.idleAfter = busy.requests.length + 3;
    const waited = await apply(cli, { version: '1.2.0' });
    expect(waited.status).toBe(202);
    const done = await finalState(cli, waited.json.id as string);
    expect(done.state).toBe('committed');
    expect((done.phases as Array<{ name: string }>).map((p) => p.name)).toContain('busy-wait');
    expect(busy.requests.length).toBe(gate.idleAfter + 1);
    expect(await serviceVersion(port)).toBe('1.2.0');
  });
});

describe('the update CLI', () => {
  it('check --json, apply --wait to commit, rollback, and apply --wait of a broken version exiting non-zero', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0' }, { version: '2.0.0', behaviour: { mode: 'crash' } }]);
    const { cli, port } = await startUpdating({ type: 'dir', path: feed });
    const stateDir = ['--state-dir', cli.stateDir];

    const check = await runOutlast(['check', '--json', ...stateDir]);
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ current: '1.0.0', latest: '2.0.0', available: true });

    const good = await runOutlast(['apply', '1.1.0', '--wait', ...stateDir]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toBe('committed: 1.0.0 -> 1.1.0\n');
    const phases = good.stderr.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());
    expect(phases).toEqual(['lock', 'fetch', 'preflight', 'stage', 'switch', 'restart', 'health-gate', 'commit', 'done: committed']);
    expect(await serviceVersion(port)).toBe('1.1.0');
    await lockReleased(cli.stateDir);

    const back = await runOutlast(['rollback', ...stateDir]);
    expect(back.code, back.stderr).toBe(0);
    const id = /^rollback (\S+) started: 1\.1\.0 -> 1\.0\.0$/m.exec(back.stdout)?.[1];
    expect(id, back.stdout).toBeDefined();
    expect((await finalState(cli, id!)).state).toBe('rolled-back');
    await waitFor(async () => (await serviceVersion(port)) === '1.0.0', '1.0.0 serving after the rollback');

    const broken = await runOutlast(['apply', '2.0.0', '--wait', ...stateDir]);
    expect(broken.code).toBe(65);
    expect(broken.stdout).toMatch(/^rolled back to 1\.0\.0 \(2\.0\.0 failed: .+\)\n$/);
    expect(broken.stderr).toContain('rollback');
    // rolled-back is only said once 1.0.0 is ready again: it answers at once.
    expect(await serviceVersion(port)).toBe('1.0.0');
    expect(store(cli.stateDir).current).toBe('releases/1.0.0');
    const status = await api(cli, 'GET', '/status');
    expect(status.json).toMatchObject({ lastUpdate: { state: 'rolled-back', to: '2.0.0', error: { code: 'HEALTH_GATE_FAILED' } } });
    // One restart per child replaced: 1.1.0, back to 1.0.0, 2.0.0 (never respawned while judged), back to 1.0.0.
    expect((status.json.service as { restarts: number }).restarts).toBe(4);

    // Both versions left are marked bad; check says how to have them anyway.
    const after = await runOutlast(['check', ...stateDir]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/^up to date \(1\.0\.0\)\n2\.0\.0 available, marked bad \(the new version .+\): outlast apply 2\.0\.0 --force\n$/);
  });
});
