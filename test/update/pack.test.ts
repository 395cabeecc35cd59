/**
 * The publisher side: packing a project into a feed, and reading it back
 * through the dir source.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packRelease } from '../../supervisor/update/pack.ts';
import { generateKeyPair, parsePublicKey, verifyEntry, verifyManifest } from '../../supervisor/update/signing.ts';
import { createDirSource } from '../../supervisor/update/sources/dir.ts';
import { cleanup, context, listTree, rejection, stagingDir, tempDir, writeTree } from './helpers.ts';
import { nodeHost } from '../support/node-host.ts';

afterEach(cleanup);

function project(): string {
  const dir = tempDir('outlast-project-');
  writeTree(dir, {
    'package.json': '{"name":"@acme/hello","version":"0.0.0"}',
    'index.js': 'console.log(1)',
    'lib/util.js': 'u',
    '.git/HEAD': 'ref',
    'node_modules/x/index.js': 'x',
    'lib/node_modules/y.js': 'y',
    '.outlast/state': 's',
  });
  return dir;
}

describe('packRelease', () => {
  it('packs a project into a feed the dir source reads back', async () => {
    const dir = project();
    const feed = tempDir('outlast-feed-');
    const result = await packRelease(nodeHost.fs, { dir, version: 'v1.0.0', feed });
    expect(result.tarball).toBe(join(feed, 'acme-hello-1.0.0.tgz'));
    expect(result.entry).toMatchObject({ version: '1.0.0', url: 'acme-hello-1.0.0.tgz', size: readFileSync(result.tarball).length });
    const manifest = JSON.parse(readFileSync(join(feed, 'manifest.json'), 'utf8')) as unknown;
    expect(manifest).toEqual({ serial: 1, versions: [result.entry] });
    expect(result).toMatchObject({ serial: 1, manifest: join(feed, 'manifest.json') });
    expect(result.manifestSignature).toBeUndefined();
    expect(existsSync(join(feed, 'manifest.json.sig'))).toBe(false);

    const dest = stagingDir();
    await createDirSource({ path: feed }, nodeHost.fs, { now: () => Date.now() }).fetch({ version: '1.0.0' }, dest, context());
    expect(listTree(dest)).toEqual(['index.js', 'lib', 'lib/util.js', 'package.json']);
  });

  it('keeps a project that is a single folder intact', async () => {
    const dir = tempDir('outlast-project-');
    writeTree(dir, { 'dist/app.js': 'a' });
    const feed = tempDir('outlast-feed-');
    await packRelease(nodeHost.fs, { dir, version: '1.0.0', feed, name: 'app' });
    const dest = stagingDir();
    await createDirSource({ path: feed }, nodeHost.fs, { now: () => Date.now() }).fetch({ version: '1.0.0' }, dest, context());
    expect(listTree(dest)).toEqual(['dist', 'dist/app.js']);
  });

  it('signs with a key, appends versions, and refuses a duplicate unless forced', async () => {
    const dir = project();
    const feed = join(dir, 'feed'); // inside the project: must not pack itself
    const keys = generateKeyPair();
    const keyPath = join(tempDir(), 'release.key');
    writeFileSync(keyPath, keys.privateKeyPem);
    const first = await packRelease(nodeHost.fs, { dir, version: '1.0.0', feed, keyPath });
    expect(() => verifyEntry(keys.publicKeyBase64, first.entry)).not.toThrow();
    await packRelease(nodeHost.fs, { dir, version: '1.1.0', feed, keyPath });
    await rejection(packRelease(nodeHost.fs, { dir, version: '1.0.0', feed, keyPath }), 'CONFLICT');
    writeFileSync(join(dir, 'index.js'), 'changed');
    const replaced = await packRelease(nodeHost.fs, { dir, version: '1.0.0', feed, keyPath, force: true });
    const manifest = JSON.parse(readFileSync(join(feed, 'manifest.json'), 'utf8')) as { versions: { version: string; sha256: string }[] };
    expect(manifest.versions.map((v) => v.version)).toEqual(['1.0.0', '1.1.0']);
    expect(manifest.versions[0]?.sha256).toBe(replaced.entry.sha256);
    expect(replaced.entry.sha256).not.toBe(first.entry.sha256);

    const dest = stagingDir();
    await createDirSource({ path: feed, publicKey: keys.publicKeyPem }, nodeHost.fs, { now: () => Date.now() }).fetch({ version: '1.1.0' }, dest, context());
    expect(listTree(dest)).not.toContain('feed');
  });

  it('raises the serial with every manifest it writes, signs the manifest with a key, and drops a signature it cannot renew', async () => {
    const dir = project();
    const feed = tempDir('outlast-feed-');
    const keys = generateKeyPair();
    const keyPath = join(tempDir(), 'release.key');
    writeFileSync(keyPath, keys.privateKeyPem);
    const manifestPath = join(feed, 'manifest.json');
    const serial = (): unknown => (JSON.parse(readFileSync(manifestPath, 'utf8')) as { serial?: unknown }).serial;

    const first = await packRelease(nodeHost.fs, { dir, version: '1.0.0', feed, keyPath });
    expect(first).toMatchObject({ serial: 1, manifestSignature: `${manifestPath}.sig` });
    expect(() => verifyManifest(parsePublicKey(keys.publicKeyPem), readFileSync(`${manifestPath}.sig`, 'utf8'), readFileSync(manifestPath), 'm')).not.toThrow();
    await packRelease(nodeHost.fs, { dir, version: '1.1.0', feed, keyPath });
    expect(serial()).toBe(2);
    expect(() => verifyManifest(parsePublicKey(keys.publicKeyPem), readFileSync(`${manifestPath}.sig`, 'utf8'), readFileSync(manifestPath), 'm')).not.toThrow();
    // The dir source with the key reads the signed manifest and checks its serial.
    const source = createDirSource({ path: feed, publicKey: keys.publicKeyBase64, requireSignedManifest: true }, nodeHost.fs, { now: () => Date.now() });
    expect((await source.list(AbortSignal.timeout(5000))).map((e) => e.version)).toEqual(['1.0.0', '1.1.0']);

    // Packed without the key: the old signature would be wrong, so it goes;
    // a minisign signature outlast cannot renew is named as stale.
    writeFileSync(`${manifestPath}.minisig`, 'stale');
    const unsigned = await packRelease(nodeHost.fs, { dir, version: '1.2.0', feed });
    expect(unsigned).toMatchObject({ serial: 3, staleMinisig: `${manifestPath}.minisig` });
    expect(existsSync(`${manifestPath}.sig`)).toBe(false);
    await rejection(source.list(AbortSignal.timeout(5000)), 'SIGNATURE_INVALID');
  });

  it('refuses an invalid version, a missing folder and an existing tarball', async () => {
    const dir = project();
    const out = tempDir();
    const err = await rejection(packRelease(nodeHost.fs, { dir, version: '1.0', out }), 'BAD_REQUEST');
    expect(err.message).toContain('"1.0" is not a semver version');
    await rejection(packRelease(nodeHost.fs, { dir: join(dir, 'nope'), version: '1.0.0', out }), 'BAD_REQUEST');
    await rejection(packRelease(nodeHost.fs, { dir, version: '1.0.0' }), 'BAD_REQUEST');
    await rejection(packRelease(nodeHost.fs, { dir, version: '1.0.0', out, keyPath: join(dir, 'no-key.pem') }), 'BAD_REQUEST');
    await rejection(packRelease(nodeHost.fs, { dir, version: '1.0.0', out, keyPath: join(dir, 'index.js') }), 'BAD_REQUEST');
    await packRelease(nodeHost.fs, { dir, version: '1.0.0', out });
    await rejection(packRelease(nodeHost.fs, { dir, version: '1.0.0', out }), 'CONFLICT');
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
  });
});
