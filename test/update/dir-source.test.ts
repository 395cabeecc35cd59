/**
 * The dir source over a real feed folder: listing, fetching, and every
 * integrity failure leaving the staging dir empty.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LEGACY_MAX_BYTES } from '../../supervisor/update/minisign.ts';
import { packRelease } from '../../supervisor/update/pack.ts';
import { generateKeyPair, signEntry } from '../../supervisor/update/signing.ts';
import { createSource } from '../../supervisor/update/sources/create.ts';
import { MAX_MANIFEST_BYTES } from '../../supervisor/update/sources/manifest.ts';
import { cleanup, context, listTree, rawTar, rejection, stagingDir, tempDir, writeTree } from './helpers.ts';
import { minisignSigner } from '../support/minisign-signer.ts';
import { nodeHost } from '../support/node-host.ts';

afterEach(cleanup);

async function feedWith(versions: string[], keyPath?: string): Promise<string> {
  const dir = tempDir('outlast-project-');
  const feed = tempDir('outlast-feed-');
  for (const version of versions) {
    writeTree(dir, { 'VERSION': version, 'server.js': `// ${version}` });
    await packRelease(nodeHost.fs, { dir, version, feed, keyPath, name: 'app' });
  }
  return feed;
}

function writeManifest(feed: string, versions: unknown[]): void {
  writeFileSync(join(feed, 'manifest.json'), JSON.stringify({ versions }));
}

describe('dir source', () => {
  it('lists releases lowest first and fetches one', async () => {
    const feed = await feedWith(['1.1.0', '1.0.0', '2.0.0-rc.1']);
    const source = createSource({ type: 'dir', path: feed }, nodeHost);
    const list = await source.list(AbortSignal.timeout(5000));
    expect(list.map((e) => e.version)).toEqual(['1.0.0', '1.1.0', '2.0.0-rc.1']);
    expect(list[0]).toMatchObject({ url: 'app-1.0.0.tgz', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown });

    const dest = stagingDir();
    const progress: number[] = [];
    await source.fetch(list[1]!, dest, context({ onProgress: (done) => progress.push(done) }));
    expect(listTree(dest)).toEqual(['VERSION', 'server.js']);
    expect(progress.at(-1)).toBe(list[1]!.size);
  });

  it('verifies signatures when a key is configured', async () => {
    const keys = generateKeyPair();
    const keyPath = join(tempDir(), 'key.pem');
    writeFileSync(keyPath, keys.privateKeyPem);
    const feed = await feedWith(['1.0.0'], keyPath);
    await createSource({ type: 'dir', path: feed, publicKey: keys.publicKeyBase64 }, nodeHost).fetch({ version: '1.0.0' }, stagingDir(), context());

    const other = generateKeyPair();
    const dest = stagingDir();
    const err = await rejection(createSource({ type: 'dir', path: feed, publicKey: other.publicKeyPem }, nodeHost).fetch({ version: '1.0.0' }, dest, context()), 'SIGNATURE_INVALID');
    expect(err.details).toMatchObject({ reason: 'bad-signature' });
    expect(listTree(dest)).toEqual([]);
  });

  it('refuses an unsigned release when a key is configured', async () => {
    const feed = await feedWith(['1.0.0']);
    const dest = stagingDir();
    const err = await rejection(createSource({ type: 'dir', path: feed, publicKey: generateKeyPair().publicKeyPem }, nodeHost).fetch({ version: '1.0.0' }, dest, context()), 'SIGNATURE_INVALID');
    expect(err.details).toMatchObject({ reason: 'unsigned' });
    expect(listTree(dest)).toEqual([]);
  });

  it('refuses a tarball whose digest or size differs from the manifest', async () => {
    const feed = await feedWith(['1.0.0']);
    const source = createSource({ type: 'dir', path: feed }, nodeHost);
    const [entry] = await source.list(AbortSignal.timeout(5000));
    const dest = stagingDir();
    const sha = await rejection(source.fetch({ ...entry!, sha256: '0'.repeat(64) }, dest, context()), 'DIGEST_MISMATCH');
    expect(sha.details).toMatchObject({ reason: 'sha256-mismatch' });
    const short = await rejection(source.fetch({ ...entry!, size: entry!.size! + 10 }, dest, context()), 'DIGEST_MISMATCH');
    expect(short.details).toMatchObject({ reason: 'size-mismatch' });
    const big = await rejection(source.fetch({ ...entry!, size: entry!.size! - 10 }, dest, context()), 'TOO_LARGE');
    expect(big.details).toMatchObject({ reason: 'oversize' });
    await rejection(source.fetch(entry!, dest, context({ maxBytes: 100 })), 'TOO_LARGE');
    expect(listTree(dest)).toEqual([]);
    expect(listTree(join(dest, '..'))).toEqual(['.staging-test']);
  });

  it('verifies minisign signatures beside the tarballs, and refuses one by another key or too large to hold', async () => {
    const feed = await feedWith(['1.0.0', '1.1.0']);
    const signer = minisignSigner();
    for (const version of ['1.0.0', '1.1.0']) {
      const tarball = join(feed, `app-${version}.tgz`);
      writeFileSync(`${tarball}.minisig`, (version === '1.0.0' ? signer : minisignSigner()).sign(readFileSync(tarball), { legacy: true }));
    }
    const source = createSource({ type: 'dir', path: feed, minisignKey: signer.pubText }, nodeHost);
    const lines: string[] = [];
    const good = stagingDir();
    await source.fetch({ version: '1.0.0' }, good, context({ log: (line) => lines.push(line) }));
    expect(listTree(good)).toEqual(['VERSION', 'server.js']);
    expect(lines.join('\n')).toMatch(/minisign signature by key [0-9A-F]{16} \(legacy\), trusted comment: timestamp:1700000000\tfile:test/);

    const dest = stagingDir();
    expect((await rejection(source.fetch({ version: '1.1.0' }, dest, context()), 'SIGNATURE_INVALID')).details).toMatchObject({ reason: 'wrong-key' });
    // A legacy signature must be held whole: one over more than the cap is refused before the read.
    const [entry] = await source.list(AbortSignal.timeout(5000));
    const huge = await rejection(source.fetch({ ...entry!, size: LEGACY_MAX_BYTES + 1 }, dest, context({ maxBytes: 2 * LEGACY_MAX_BYTES })), 'SIGNATURE_INVALID');
    expect(huge.details).toMatchObject({ reason: 'legacy-too-large' });
    expect(listTree(dest)).toEqual([]);
  });

  it('refuses a well-signed tarball with an unsafe entry', async () => {
    const feed = tempDir('outlast-feed-');
    const tarball = rawTar([{ path: 'ok', body: 'ok' }, { path: '../escape', body: 'x' }]);
    writeFileSync(join(feed, 'evil.tgz'), tarball);
    const keys = generateKeyPair();
    const entry = { version: '1.0.0', url: 'evil.tgz', sha256: createHash('sha256').update(tarball).digest('hex'), size: tarball.length };
    writeManifest(feed, [{ ...entry, signature: signEntry(keys.privateKeyPem, entry) }]);
    const dest = stagingDir();
    const err = await rejection(createSource({ type: 'dir', path: feed, publicKey: keys.publicKeyPem }, nodeHost).fetch({ version: '1.0.0' }, dest, context()), 'ARCHIVE_INVALID');
    expect(err.message).toContain('"../escape"');
    expect(listTree(dest)).toEqual([]);
  });

  it('names an unknown version, an invalid manifest and a missing one', async () => {
    const feed = await feedWith(['1.0.0']);
    const source = createSource({ type: 'dir', path: feed }, nodeHost);
    await rejection(source.fetch({ version: '9.9.9' }, stagingDir(), context()), 'VERSION_NOT_FOUND');

    writeManifest(feed, [{ version: 'v1.0.0', url: 'a.tgz', sha256: 'xyz', size: -1 }]);
    const err = await rejection(source.list(AbortSignal.timeout(5000)), 'SOURCE_UNAVAILABLE');
    expect(err.message).toMatch(/invalid manifest.*versions\[0\]\.version.*versions\[0\]\.sha256.*versions\[0\]\.size/);
    writeFileSync(join(feed, 'manifest.json'), '{"versions": [');
    expect((await rejection(source.list(AbortSignal.timeout(5000)), 'SOURCE_UNAVAILABLE')).message).toMatch(/not JSON/);
    await rejection(createSource({ type: 'dir', path: join(feed, 'missing') }, nodeHost).list(AbortSignal.timeout(5000)), 'SOURCE_UNAVAILABLE');
  });

  it('refuses a manifest above the cap without reading it whole, and takes one at the cap', async () => {
    const feed = tempDir('outlast-feed-');
    const path = join(feed, 'manifest.json');
    // Sparse: 50 MB that cost no disk and would cost memory if read whole.
    writeFileSync(path, '{"versions": []}');
    truncateSync(path, 50 * 1024 * 1024);
    let bytesRead = 0;
    const fs: typeof nodeHost.fs = {
      ...nodeHost.fs,
      readFile: async (file) => {
        const text = await nodeHost.fs.readFile(file);
        bytesRead += Buffer.byteLength(text);
        return text;
      },
      openRead: (file, options) => {
        const chunks = nodeHost.fs.openRead(file, options);
        return (async function* () {
          for await (const chunk of chunks) {
            bytesRead += chunk.byteLength;
            yield chunk;
          }
        })();
      },
    };
    const source = createSource({ type: 'dir', path: feed }, { ...nodeHost, fs });
    const err = await rejection(source.list(AbortSignal.timeout(5000)), 'SOURCE_UNAVAILABLE');
    expect(err.message).toBe(`manifest at ${path} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    expect(err.details).toEqual({ where: path, limit: MAX_MANIFEST_BYTES });
    expect(bytesRead).toBeLessThanOrEqual(MAX_MANIFEST_BYTES + 1);

    const atCap = '{"versions": []}';
    writeFileSync(path, atCap + ' '.repeat(MAX_MANIFEST_BYTES - atCap.length));
    expect(await source.list(AbortSignal.timeout(5000))).toEqual([]);
  });

  it('reads only local files', async () => {
    const feed = await feedWith(['1.0.0']);
    copyFileSync(join(feed, 'app-1.0.0.tgz'), join(feed, 'copy.tgz'));
    const source = createSource({ type: 'dir', path: feed }, nodeHost);
    const [entry] = await source.list(AbortSignal.timeout(5000));
    const dest = stagingDir();
    await rejection(source.fetch({ ...entry!, url: 'https://example.com/app.tgz' }, dest, context()), 'SOURCE_UNAVAILABLE');
    await source.fetch({ ...entry!, url: 'copy.tgz' }, dest, context());
    expect(listTree(dest)).toEqual(['VERSION', 'server.js']);
  });
});
