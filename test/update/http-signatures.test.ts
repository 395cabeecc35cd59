/**
 * Signatures beside what they sign, over a real HTTP server on loopback:
 * `<tarball>.minisig` (404 is "unsigned", a 5xx is retried, an oversize one
 * is refused) and `manifest.json.sig` with its serial.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packRelease } from '../../supervisor/update/pack.ts';
import { generateKeyPair, signManifest } from '../../supervisor/update/signing.ts';
import { createSource } from '../../supervisor/update/sources/create.ts';
import type { UpdateSource } from '../../supervisor/update/sources/source.ts';
import { minisignSigner, type MinisignSigner } from '../support/minisign-signer.ts';
import { nodeHost } from '../support/node-host.ts';
import { cleanup, context, listTree, rejection, serveRoutes, stagingDir, tempDir, writeTree, type Route, type TestServer } from './helpers.ts';

let server: TestServer;
let routes: Map<string, Route>;
const hits = new Map<string, number>();
let feed: string;
let signer: MinisignSigner;

beforeEach(async () => {
  routes = new Map();
  hits.clear();
  server = await serveRoutes(routes, hits);
  signer = minisignSigner();
  const project = tempDir('outlast-project-');
  feed = tempDir('outlast-feed-');
  for (const version of ['1.0.0', '1.1.0']) {
    writeTree(project, { VERSION: version });
    await packRelease(nodeHost.fs, { dir: project, version, feed, name: 'app' });
    const tarball = join(feed, `app-${version}.tgz`);
    routes.set(`/feed/app-${version}.tgz`, (res) => res.writeHead(200).end(readFileSync(tarball)));
  }
  routes.set('/feed/manifest.json', (res) => res.writeHead(200).end(readFileSync(join(feed, 'manifest.json'))));
});

afterEach(async () => {
  await server.close();
  await cleanup();
});

function source(overrides: Record<string, unknown> = {}): UpdateSource {
  return createSource({ type: 'http', manifest: `${server.url}/feed/manifest.json`, retries: 2, timeoutMs: 5000, minisignKey: signer.pubLine, ...overrides }, nodeHost, { retryBaseMs: 5 });
}

const tarballBytes = (version: string): Buffer => readFileSync(join(feed, `app-${version}.tgz`));

describe('<tarball>.minisig over http', () => {
  it('fetches the signature beside the tarball, retrying a 5xx, and verifies it', async () => {
    routes.set('/feed/app-1.1.0.tgz.minisig', (res, hit) => (hit < 2 ? res.writeHead(503).end() : res.writeHead(200).end(signer.sign(tarballBytes('1.1.0')))));
    const dest = stagingDir();
    await source().fetch({ version: '1.1.0' }, dest, context());
    expect(listTree(dest)).toEqual(['VERSION']);
    expect(hits.get('/feed/app-1.1.0.tgz.minisig')).toBe(2);
  });

  it('takes a 404 for "unsigned" and refuses before downloading; gives up on a server that keeps failing', async () => {
    const dest = stagingDir();
    const unsigned = await rejection(source().fetch({ version: '1.1.0' }, dest, context()), 'SIGNATURE_INVALID');
    expect(unsigned.details).toMatchObject({ reason: 'unsigned' });
    routes.set('/feed/app-1.1.0.tgz.minisig', (res) => res.writeHead(500).end());
    await rejection(source().fetch({ version: '1.1.0' }, dest, context()), 'SOURCE_UNAVAILABLE');
    // The 404 once, then the first attempt and two retries.
    expect(hits.get('/feed/app-1.1.0.tgz.minisig')).toBe(4);
    expect(hits.get('/feed/app-1.1.0.tgz')).toBeUndefined();
    expect(listTree(dest)).toEqual([]);
  });

  it('refuses a signature file larger than any signature without reading it all', async () => {
    routes.set('/feed/app-1.1.0.tgz.minisig', (res) => res.writeHead(200).end('x'.repeat(1 << 20)));
    const err = await rejection(source().fetch({ version: '1.1.0' }, stagingDir(), context()), 'SIGNATURE_INVALID');
    expect(err.details).toMatchObject({ reason: 'malformed' });
  });

  it('prefers the minisig of the manifest entry, and fetches no file for it', async () => {
    const manifest = JSON.parse(readFileSync(join(feed, 'manifest.json'), 'utf8')) as { versions: Array<Record<string, unknown>> };
    manifest.versions[1]!.minisig = signer.sign(tarballBytes('1.1.0'), { legacy: true });
    writeFileSync(join(feed, 'manifest.json'), JSON.stringify(manifest));
    const dest = stagingDir();
    await source().fetch({ version: '1.1.0' }, dest, context());
    expect(listTree(dest)).toEqual(['VERSION']);
    expect(hits.get('/feed/app-1.1.0.tgz.minisig')).toBeUndefined();
  });
});

describe('manifest.json.sig over http', () => {
  it('checks the manifest signature, remembers the serial, and refuses an older edition', async () => {
    const keys = generateKeyPair();
    const editions = new Map<number, { manifest: Buffer; sig: string }>();
    for (const serial of [4, 5]) {
      const manifest = Buffer.from(JSON.stringify({ ...JSON.parse(readFileSync(join(feed, 'manifest.json'), 'utf8')), serial }));
      editions.set(serial, { manifest, sig: signManifest(keys.privateKeyPem, manifest) });
    }
    let serving = 5;
    routes.set('/feed/manifest.json', (res) => res.writeHead(200).end(editions.get(serving)!.manifest));
    routes.set('/feed/manifest.json.sig', (res) => res.writeHead(200).end(editions.get(serving)!.sig));
    const src = source({ minisignKey: undefined, publicKey: keys.publicKeyBase64, requireSignedManifest: true });
    expect((await src.list(AbortSignal.timeout(5000))).map((e) => e.version)).toEqual(['1.0.0', '1.1.0']);
    serving = 4;
    const err = await rejection(src.list(AbortSignal.timeout(5000)), 'MANIFEST_REPLAYED');
    expect(err.details).toMatchObject({ serial: 4, accepted: 5, reason: 'older' });
    // A signature that does not match what is served: refused, whatever the serial.
    routes.set('/feed/manifest.json.sig', (res) => res.writeHead(200).end(editions.get(4)!.sig));
    serving = 5;
    expect((await rejection(src.list(AbortSignal.timeout(5000)), 'SIGNATURE_INVALID')).details).toMatchObject({ reason: 'bad-signature' });
  });
});
