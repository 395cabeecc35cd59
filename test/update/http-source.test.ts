/**
 * The http source against a real HTTP server on loopback: manifest, relative
 * and mirrored tarball urls, verification failures, size limits, retries.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packRelease } from '../../supervisor/update/pack.ts';
import { generateKeyPair } from '../../supervisor/update/signing.ts';
import { createSource } from '../../supervisor/update/sources/create.ts';
import { MAX_MANIFEST_BYTES } from '../../supervisor/update/sources/manifest.ts';
import type { UpdateSource } from '../../supervisor/update/sources/source.ts';
import { cleanup, context, listTree, rejection, serve, serveRoutes, stagingDir, tempDir, writeTree, type Route, type TestServer } from './helpers.ts';
import { nodeHost } from '../support/node-host.ts';


let server: TestServer;
let routes: Map<string, Route>;
const hits = new Map<string, number>();
let keys: ReturnType<typeof generateKeyPair>;
let feed: string;

beforeEach(async () => {
  routes = new Map();
  hits.clear();
  server = await serveRoutes(routes, hits);
  keys = generateKeyPair();
  const keyPath = join(tempDir(), 'key.pem');
  writeFileSync(keyPath, keys.privateKeyPem);
  const project = tempDir('outlast-project-');
  feed = tempDir('outlast-feed-');
  for (const version of ['1.0.0', '1.1.0']) {
    writeTree(project, { 'VERSION': version });
    await packRelease(nodeHost.fs, { dir: project, version, feed, keyPath, name: 'app' });
  }
  serveFile('/feed/manifest.json', join(feed, 'manifest.json'));
  serveFile('/feed/app-1.0.0.tgz', join(feed, 'app-1.0.0.tgz'));
  serveFile('/feed/app-1.1.0.tgz', join(feed, 'app-1.1.0.tgz'));
});

afterEach(async () => {
  await server.close();
  await cleanup();
});

function serveFile(path: string, file: string): void {
  routes.set(path, (res) => res.writeHead(200).end(readFileSync(file)));
}

function manifest(): { versions: Record<string, unknown>[] } {
  return JSON.parse(readFileSync(join(feed, 'manifest.json'), 'utf8')) as { versions: Record<string, unknown>[] };
}

function serveManifest(value: unknown): void {
  routes.set('/feed/manifest.json', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value)));
}

function source(overrides: { publicKey?: string; retries?: number; timeoutMs?: number } = {}): UpdateSource {
  return createSource(
    { type: 'http', manifest: `${server.url}/feed/manifest.json`, retries: 2, timeoutMs: 5000, publicKey: keys.publicKeyBase64, ...overrides },
    nodeHost,
    { retryBaseMs: 5 },
  );
}

describe('http source', () => {
  it('lists the manifest and fetches a release by its relative url', async () => {
    const list = await source().list(AbortSignal.timeout(5000));
    expect(list.map((e) => e.version)).toEqual(['1.0.0', '1.1.0']);
    const dest = stagingDir();
    await source().fetch(list[1]!, dest, context());
    expect(listTree(dest)).toEqual(['VERSION']);
    expect(readFileSync(join(dest, 'VERSION'), 'utf8')).toBe('1.1.0');
    expect(listTree(join(dest, '..'))).toEqual(['.staging-test', '.staging-test/VERSION']);
  });

  it('follows an entry to a mirror without re-signing it', async () => {
    const m = manifest();
    m.versions[0]!.url = `${server.url}/mirror/app.tgz`;
    serveManifest(m);
    serveFile('/mirror/app.tgz', join(feed, 'app-1.0.0.tgz'));
    const dest = stagingDir();
    await source().fetch({ version: '1.0.0' }, dest, context());
    expect(hits.get('/mirror/app.tgz')).toBe(1);
    expect(listTree(dest)).toEqual(['VERSION']);
  });

  it('refuses a tarball whose sha256 differs', async () => {
    serveFile('/feed/app-1.0.0.tgz', join(feed, 'app-1.1.0.tgz'));
    const m = manifest();
    m.versions[0]!.size = readFileSync(join(feed, 'app-1.1.0.tgz')).length;
    serveManifest(m);
    const dest = stagingDir();
    // The signature covers the size, so verify the digest with no key configured.
    const err = await rejection(source({ publicKey: undefined }).fetch({ version: '1.0.0' }, dest, context()), 'DIGEST_MISMATCH');
    expect(err.details).toMatchObject({ reason: 'sha256-mismatch' });
    expect(listTree(join(dest, '..'))).toEqual(['.staging-test']);
  });

  it('refuses a bad signature and a missing one before downloading', async () => {
    const m = manifest();
    m.versions[0]!.signature = m.versions[1]!.signature;
    delete m.versions[1]!.signature;
    serveManifest(m);
    const dest = stagingDir();
    const bad = await rejection(source().fetch({ version: '1.0.0' }, dest, context()), 'SIGNATURE_INVALID');
    expect(bad.details).toMatchObject({ reason: 'bad-signature' });
    const missing = await rejection(source().fetch({ version: '1.1.0' }, dest, context()), 'SIGNATURE_INVALID');
    expect(missing.details).toMatchObject({ reason: 'unsigned' });
    expect(hits.get('/feed/app-1.0.0.tgz')).toBeUndefined();
    expect(listTree(dest)).toEqual([]);
  });

  it('aborts a download that runs past the declared size', async () => {
    const tarball = readFileSync(join(feed, 'app-1.0.0.tgz'));
    let sent = 0;
    routes.set('/feed/app-1.0.0.tgz', (res) => {
      // Chunked, no content-length: the limit must bite while streaming.
      res.writeHead(200);
      const pump = (): void => {
        while (sent < 10 * 1024 * 1024 && res.write(tarball)) sent += tarball.length;
        if (!res.destroyed && sent < 10 * 1024 * 1024) res.once('drain', pump);
        else res.end();
      };
      pump();
    });
    const dest = stagingDir();
    const err = await rejection(source().fetch({ version: '1.0.0' }, dest, context()), 'TOO_LARGE');
    expect(err.details).toMatchObject({ reason: 'oversize', limit: tarball.length });
    expect(sent).toBeLessThan(10 * 1024 * 1024);
    expect(listTree(join(dest, '..'))).toEqual(['.staging-test']);
  });

  it('refuses at once a download whose content-length is too big, or an entry above maxBytes', async () => {
    routes.set('/feed/app-1.0.0.tgz', (res) => res.writeHead(200, { 'content-length': 1_000_000 }).end(Buffer.alloc(1_000_000)));
    const dest = stagingDir();
    expect((await rejection(source().fetch({ version: '1.0.0' }, dest, context()), 'TOO_LARGE')).details).toMatchObject({ reason: 'oversize' });
    await rejection(source().fetch({ version: '1.1.0' }, dest, context({ maxBytes: 10 })), 'TOO_LARGE');
    expect(hits.get('/feed/app-1.1.0.tgz')).toBeUndefined();
  });

  it('answers an unknown version with VERSION_NOT_FOUND', async () => {
    await rejection(source().fetch({ version: '3.0.0' }, stagingDir(), context()), 'VERSION_NOT_FOUND');
  });

  it('names the problems of an invalid manifest', async () => {
    serveManifest({ versions: [{ version: '1.0.0', url: 'a.tgz', sha256: 'abc' }] });
    const err = await rejection(source().list(AbortSignal.timeout(5000)), 'SOURCE_UNAVAILABLE');
    expect(err.message).toContain('"versions[0].sha256" must be 64 hex digits');
    expect(err.message).toContain('"versions[0].size"');
    serveManifest({ releases: [] });
    await rejection(source().list(AbortSignal.timeout(5000)), 'SOURCE_UNAVAILABLE');
  });

  it('refuses a manifest above the cap the dir source shares, and does not retry it', async () => {
    routes.set('/feed/manifest.json', (res) => res.writeHead(200).end(`{"versions": []}${' '.repeat(MAX_MANIFEST_BYTES)}`));
    const err = await rejection(source().list(AbortSignal.timeout(5000)), 'SOURCE_UNAVAILABLE');
    expect(err.message).toBe(`manifest at ${server.url}/feed/manifest.json is larger than ${MAX_MANIFEST_BYTES} bytes`);
    expect(hits.get('/feed/manifest.json')).toBe(1);
  });

  it('refuses a remote manifest that points at a local file', async () => {
    const m = manifest();
    m.versions[0]!.url = 'file:///etc/passwd';
    serveManifest(m);
    await rejection(source().fetch({ version: '1.0.0' }, stagingDir(), context()), 'SOURCE_UNAVAILABLE');
  });
});

describe('http source retries', () => {
  function failFirst(times: number, status: number): void {
    const file = join(feed, 'manifest.json');
    routes.set('/feed/manifest.json', (res, hit) => (hit <= times ? res.writeHead(status).end('busy') : res.writeHead(200).end(readFileSync(file))));
  }

  it('retries a 503 and succeeds on the third attempt', async () => {
    failFirst(2, 503);
    const list = await source({ retries: 2 }).list(AbortSignal.timeout(5000));
    expect(list).toHaveLength(2);
    expect(hits.get('/feed/manifest.json')).toBe(3);
  });

  it('gives up after the configured retries', async () => {
    failFirst(5, 503);
    const err = await rejection(source({ retries: 1 }).list(AbortSignal.timeout(5000)), 'SOURCE_UNAVAILABLE');
    expect(err.message).toMatch(/failed after 2 attempts: answered 503/);
    expect(hits.get('/feed/manifest.json')).toBe(2);
  });

  it('does not retry a 404', async () => {
    routes.delete('/feed/manifest.json');
    await rejection(source().list(AbortSignal.timeout(5000)), 'SOURCE_UNAVAILABLE');
    expect(hits.get('/feed/manifest.json')).toBe(1);
  });

  it('retries a download that answered 502', async () => {
    const file = join(feed, 'app-1.0.0.tgz');
    routes.set('/feed/app-1.0.0.tgz', (res, hit) => (hit === 1 ? res.writeHead(502).end() : res.writeHead(200).end(readFileSync(file))));
    const log: string[] = [];
    const dest = stagingDir();
    await source().fetch({ version: '1.0.0' }, dest, context({ log: (line) => log.push(line) }));
    expect(listTree(dest)).toEqual(['VERSION']);
    expect(log[0]).toMatch(/answered 502.*retrying in 5 ms/);
  });

  it('retries a silent server and reports the timeout', async () => {
    routes.set('/feed/manifest.json', () => undefined); // never answers
    const err = await rejection(source({ retries: 1, timeoutMs: 150 }).list(AbortSignal.timeout(5000)), 'SOURCE_UNAVAILABLE');
    expect(err.message).toMatch(/failed after 2 attempts: timed out after 150 ms/);
  });

  it('retries a refused connection', async () => {
    const url = server.url;
    await server.close();
    const gone = createSource({ type: 'http', manifest: `${url}/feed/manifest.json`, retries: 1, timeoutMs: 1000 }, nodeHost, { retryBaseMs: 5 });
    const err = await rejection(gone.list(AbortSignal.timeout(5000)), 'SOURCE_UNAVAILABLE');
    expect(err.message).toMatch(/failed after 2 attempts.*ECONNREFUSED/);
    server = await serve((_req, res) => res.end());
  });
});

describe('http source download limits', () => {
  /** Serves the 1.0.0 tarball with its true content-length, one byte every `everyMs`, after `failFirst` 503s. */
  function drip(everyMs: number, failFirst = 0): void {
    const body = readFileSync(join(feed, 'app-1.0.0.tgz'));
    routes.set('/feed/app-1.0.0.tgz', (res, hit) => {
      if (hit <= failFirst) return void res.writeHead(503).end();
      res.writeHead(200, { 'content-length': String(body.length) });
      let sent = 0;
      const timer = setInterval(() => {
        if (sent >= body.length) {
          clearInterval(timer);
          res.end();
        } else res.write(body.subarray(sent, ++sent));
      }, everyMs);
      res.on('close', () => clearInterval(timer));
    });
  }

  const tarball = (): string => `${server.url}/feed/app-1.0.0.tgz`.replaceAll('.', '\\.');

  it('gives up on a download that drips below minBytesPerSecond once the window has passed, and does not retry it', async () => {
    drip(100);
    const dest = stagingDir();
    const ctx = context({ signal: AbortSignal.timeout(10_000), minBytesPerSecond: 1024, rateWindowMs: 1500 });
    const err = await rejection(source({ retries: 2 }).fetch({ version: '1.0.0' }, dest, ctx), 'TIMEOUT');
    expect(err.message).toMatch(new RegExp(`^download of ${tarball()} is too slow: \\d+ bytes in the last 1\\.\\d s \\(\\d+\\.\\d bytes/s\\), below updates\\.minBytesPerSecond 1024$`));
    expect(err.details).toMatchObject({ rule: 'minBytesPerSecond', minBytesPerSecond: 1024, windowMs: 1500 });
    expect(hits.get('/feed/app-1.0.0.tgz')).toBe(1);
    expect(listTree(join(dest, '..'))).toEqual(['.staging-test']);
  });

  it('gives up on a download that outlasts fetchTimeoutMs, its retries included', async () => {
    drip(100, 1);
    const dest = stagingDir();
    const ctx = context({ signal: AbortSignal.timeout(10_000), fetchTimeoutMs: 1500 });
    const err = await rejection(source({ retries: 2 }).fetch({ version: '1.0.0' }, dest, ctx), 'TIMEOUT');
    expect(err.message).toMatch(new RegExp(`^download of ${tarball()} did not finish within updates\\.fetchTimeoutMs \\(1500 ms\\); \\d+ bytes received$`));
    expect(err.details).toMatchObject({ rule: 'fetchTimeoutMs', fetchTimeoutMs: 1500 });
    expect(hits.get('/feed/app-1.0.0.tgz')).toBe(2);
    expect(listTree(join(dest, '..'))).toEqual(['.staging-test']);
  });

  it('lets a download at full speed through with both limits set', async () => {
    const dest = stagingDir();
    await source().fetch({ version: '1.1.0' }, dest, context({ minBytesPerSecond: 1024, rateWindowMs: 200, fetchTimeoutMs: 5000 }));
    expect(listTree(dest)).toEqual(['VERSION']);
  });
});
