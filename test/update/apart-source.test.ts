/**
 * The update source in a child process (supervisor/update/sources/apart.ts),
 * with real child processes: the same entries, files, errors, warnings and
 * progress as the source in this process; an abort that kills the child;
 * a child that dies mid-fetch; and the fallback when no child can start.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Host } from '../../supervisor/host/host.ts';
import { residentReport } from '../../supervisor/resident.ts';
import { generateKeyPair } from '../../supervisor/update/signing.ts';
import { createApartSource, raised, readLine, type ApartHost } from '../../supervisor/update/sources/apart.ts';
import { createSource } from '../../supervisor/update/sources/create.ts';
import { toOutlastError } from '../../supervisor/errors.ts';
import { makeFeed } from '../support/feed.ts';
import { nodeHost } from '../support/node-host.ts';
import { waitFor } from '../support/wait.ts';
import { cleanup, context, listTree, rejection, serve, stagingDir, tempDir, type TestServer } from './helpers.ts';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await cleanup();
});

/** An http feed whose one tarball never finishes: headers, a few bytes, then nothing. */
async function stallingFeed(): Promise<TestServer> {
  const server = await serve((req, res) => {
    if (req.url === '/manifest.json') {
      res.end(JSON.stringify({ versions: [{ version: '1.0.0', url: 'app.tgz', sha256: '0'.repeat(64), size: 1_000_000 }] }));
      return;
    }
    res.writeHead(200, { 'content-length': '1000000' });
    res.write(Buffer.alloc(10));
  });
  servers.push(server);
  return server;
}

/** The real Host, its spawns recorded (the children's pids). */
function recordingHost(overrides: Partial<Host> = {}): { host: ApartHost; pids: number[] } {
  const pids: number[] = [];
  const host: Host = {
    ...nodeHost,
    ...overrides,
    spawn(file, args, options) {
      const child = nodeHost.spawn(file, args, options);
      if (child.pid !== undefined) pids.push(child.pid);
      return child;
    },
  };
  return { host, pids };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the source in a child process', () => {
  it('lists and fetches what the source in this process does, with its log and progress', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0', files: { 'extra.txt': 'x'.repeat(300_000) } }]);
    const { host, pids } = recordingHost();
    const apart = createApartSource({ type: 'dir', path: feed }, host, { stateDir: tempDir('outlast-state-') });
    const here = createSource({ type: 'dir', path: feed }, nodeHost);
    const entries = await apart.list(AbortSignal.timeout(20_000));
    expect(entries).toEqual(await here.list(AbortSignal.timeout(20_000)));
    expect(entries.map((e) => e.version)).toEqual(['1.0.0', '1.1.0']);
    expect(pids).toHaveLength(1);

    const dest = stagingDir();
    const logs: string[] = [];
    const progress: Array<[number, number | undefined]> = [];
    await apart.fetch(entries[1]!, dest, context({ log: (line) => logs.push(line), onProgress: (done, total) => progress.push([done, total]) }));
    const control = stagingDir();
    await here.fetch(entries[1]!, control, context());
    expect(listTree(dest)).toEqual(listTree(control));
    expect(readFileSync(join(dest, 'extra.txt'), 'utf8')).toBe('x'.repeat(300_000));
    expect(logs.join('\n')).toMatch(/release 1\.1\.0: \d+ bytes, .*sha256 ok/);
    expect(progress.at(-1)).toEqual([entries[1]!.size, entries[1]!.size]);
    expect(pids).toHaveLength(2);
    expect(pids.filter(alive)).toEqual([]);
    // Nothing of the sources was loaded here for it.
    expect(residentReport(0).loaded).not.toContain('update sources');
  });

  it('refuses with the code, message and details of the refusal, and leaves no download behind', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }]);
    const { host } = recordingHost();
    const apart = createApartSource({ type: 'dir', path: feed }, host);
    const [entry] = await apart.list(AbortSignal.timeout(20_000));
    const tarball = join(feed, entry!.url!);
    const bytes = readFileSync(tarball);
    bytes[bytes.length - 1] = bytes.at(-1)! ^ 0xff;
    writeFileSync(tarball, bytes);
    const dest = stagingDir();
    const err = await rejection(apart.fetch(entry!, dest, context()), 'DIGEST_MISMATCH');
    expect(err.message).toMatch(/^release 1\.0\.0 has sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}$/);
    expect(err.details).toMatchObject({ version: '1.0.0', reason: 'sha256-mismatch', expected: entry!.sha256 });
    expect(readdirSync(dirname(dest))).toEqual(['.staging-test']);
    expect(listTree(dest)).toEqual([]);

    const missing = await rejection(apart.fetch({ version: '9.9.9' }, stagingDir(), context()), 'VERSION_NOT_FOUND');
    expect(missing.message).toBe('version 9.9.9 is not offered by the update source');
  });

  it('shares one child among the lists asked while it runs', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }]);
    const { host, pids } = recordingHost();
    const apart = createApartSource({ type: 'dir', path: feed }, host);
    const lists = await Promise.all(Array.from({ length: 5 }, () => apart.list(AbortSignal.timeout(20_000))));
    expect(pids).toHaveLength(1);
    for (const entries of lists) expect(entries.map((e) => e.version)).toEqual(['1.0.0']);
    // One asked after that one ended runs a child of its own: the manifest is read afresh.
    await apart.list(AbortSignal.timeout(20_000));
    expect(pids).toHaveLength(2);
  });

  it("passes the source's warnings on", async () => {
    const feed = await makeFeed([{ version: '1.0.0' }]);
    const warnings: string[] = [];
    const apart = createApartSource({ type: 'dir', path: feed, publicKey: generateKeyPair().publicKeyBase64 }, recordingHost().host, { warn: (line) => warnings.push(line) });
    await apart.list(AbortSignal.timeout(20_000));
    // Each list is a fresh child with a fresh source: the warning is still said once, as the source in this process says it.
    await apart.list(AbortSignal.timeout(20_000));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^manifest at .*manifest\.json is not signed \(no .*\): .*requireSignedManifest$/);
  });

  it("kills the child's group when the caller aborts, and rejects with the abort's reason", async () => {
    const server = await stallingFeed();
    const { host, pids } = recordingHost();
    const apart = createApartSource({ type: 'http', manifest: `${server.url}/manifest.json`, retries: 0, timeoutMs: 20_000 }, host);
    const [entry] = await apart.list(AbortSignal.timeout(20_000));
    const abort = new AbortController();
    const dest = stagingDir();
    const fetching = apart.fetch(entry!, dest, context({ signal: abort.signal }));
    // Aborted once the child is downloading.
    for (let i = 0; i < 400 && !server.requests.includes('GET /app.tgz'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(server.requests).toContain('GET /app.tgz');
    // The request came on stdin: a feed's URL (and any credentials in it) is not on the child's command line for `ps` to show.
    expect(readFileSync(`/proc/${pids.at(-1)!}/cmdline`, 'utf8')).not.toContain(server.url);
    const reason = new Error('stop now');
    abort.abort(reason);
    await expect(fetching).rejects.toBe(reason);
    expect(pids.filter(alive)).toEqual([]);
    expect(readdirSync(dirname(dest))).toEqual(['.staging-test']);
  });

  it('names a child that died before it answered', async () => {
    const server = await stallingFeed();
    const { host, pids } = recordingHost();
    const apart = createApartSource({ type: 'http', manifest: `${server.url}/manifest.json`, retries: 0, timeoutMs: 20_000 }, host);
    const [entry] = await apart.list(AbortSignal.timeout(20_000));
    const dest = stagingDir();
    const fetching = apart.fetch(entry!, dest, context());
    // Killed once the download it writes beside the staging dir is there.
    const downloading = (): boolean => readdirSync(dirname(dest)).some((name) => name.startsWith('.staging-test.download-'));
    for (let i = 0; i < 400 && !downloading(); i++) await new Promise((r) => setTimeout(r, 25));
    expect(downloading()).toBe(true);
    // The low-memory killer's way: SIGKILL, no warning.
    process.kill(pids.at(-1)!, 'SIGKILL');
    await expect(fetching).rejects.toThrow(/^the update source's child process ended before it answered \(killed by SIGKILL\)$/);
    expect(readdirSync(dirname(dest))).toEqual(['.staging-test']);
  });

  it('stops a child whose supervisor was killed mid-fetch', async () => {
    const server = await stallingFeed();
    // A stand-in supervisor: fetches through the apart source and says the child's pid.
    const module = (path: string): string => JSON.stringify(new URL(path, import.meta.url).href);
    const script = `const { createApartSource } = await import(${module('../../supervisor/update/sources/apart.ts')});
const { createNodeHost } = await import(${module('../../supervisor/host/node-host.ts')});
const real = createNodeHost((code) => process.exit(code));
const host = { ...real, spawn: (file, args, options) => { const child = real.spawn(file, args, options); process.stdout.write(child.pid + '\\n'); return child; } };
const source = createApartSource({ type: 'http', manifest: ${JSON.stringify(`${server.url}/manifest.json`)}, retries: 0, timeoutMs: 60000 }, host);
const [entry] = await source.list(AbortSignal.timeout(20000));
await source.fetch(entry, ${JSON.stringify(stagingDir())}, { signal: AbortSignal.timeout(60000), maxBytes: 10000000 });`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let child: number | undefined;
    try {
      // The second pid is the fetch's child, once it is downloading.
      await waitFor(() => out.trim().split('\n').length >= 2 && server.requests.includes('GET /app.tgz'), 'the fetch child downloading', 20_000);
      child = Number(out.trim().split('\n')[1]);
      expect(alive(child)).toBe(true);
      parent.kill('SIGKILL');
      await waitFor(() => !alive(child!), 'the orphaned child to stop', 10_000);
    } finally {
      parent.kill('SIGKILL');
      // Should it still run, it is ours to end.
      if (child !== undefined && alive(child)) process.kill(child, 'SIGKILL');
    }
  });

  it('falls back to the source in this process when no child can start, and says so in the resident report', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }]);
    const missing = join(tempDir(), 'no-such-node');
    const { host } = recordingHost({ invocation: { ...nodeHost.invocation, execPath: missing } });
    const apart = createApartSource({ type: 'dir', path: feed }, host);
    const entries = await apart.list(AbortSignal.timeout(20_000));
    expect(entries.map((e) => e.version)).toEqual(['1.0.0']);
    const dest = stagingDir();
    await apart.fetch(entries[0]!, dest, context());
    expect(existsSync(join(dest, 'server.js'))).toBe(true);
    expect(residentReport(0).loaded).toContain('update sources');
  });
});

describe('the lines between the two', () => {
  it('reads each kind of line, and nothing else', () => {
    expect(readLine('{"ready":true}')).toEqual({ ready: true });
    expect(readLine('{"progress":[5,null]}')).toEqual({ progress: [5, null] });
    expect(readLine('{"progress":[5,"x"]}')).toBeUndefined();
    expect(readLine('{"error":{"code":"TOO_LARGE","message":"m","details":{"limit":1}}}')).toEqual({ error: { code: 'TOO_LARGE', message: 'm', details: { limit: 1 } } });
    expect(readLine('{"error":{"code":"TOO_LARGE"}}')).toBeUndefined();
    expect(readLine('not json')).toBeUndefined();
    expect(readLine('null')).toBeUndefined();
  });

  it('raises a system error with its errno, so a full disk stays NO_SPACE', () => {
    const err = raised({ failure: 'ENOSPC: no space left on device, write', errno: 'ENOSPC', syscall: 'write' });
    expect(toOutlastError(err).code).toBe('NO_SPACE');
    expect(raised({ error: { code: 'NOT_A_CODE', message: 'm' } })).toMatchObject({ code: 'INTERNAL', message: 'm' });
  });
});
