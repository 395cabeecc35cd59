/**
 * Receiving an unsigned release through the GNU tar fast path: the
 * tarball's bytes are read once, hashed as they pass on to the checked
 * extraction, and the release counts only when size and digest then match.
 * A swapped file is named as that even when its first bad entry stops the
 * extraction early; whatever fails, the staging dir ends empty. A signed
 * release is proven before tar reads a byte of it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HostFs } from '../../supervisor/host/host.ts';
import { generateKeyPair, signEntry } from '../../supervisor/update/signing.ts';
import { createDirSource } from '../../supervisor/update/sources/dir.ts';
import { nodeHost } from '../support/node-host.ts';
import { tempDir } from '../support/supervisor.ts';
import { GNU_TAR } from './extractors.ts';
import { cleanup, context, listTree, rawTar, rejection, stagingDir, type RawEntry } from './helpers.ts';

afterEach(cleanup);

/** A dir feed offering 1.0.0 as `tarball`, its manifest entry describing `described` (the same bytes unless a swap is wanted). */
function feedOf(tarball: Buffer, described: Buffer = tarball): string {
  const feed = tempDir('outlast-feed-');
  writeFileSync(join(feed, 'app-1.0.0.tgz'), tarball);
  const sha256 = createHash('sha256').update(described).digest('hex');
  writeFileSync(join(feed, 'manifest.json'), JSON.stringify({ versions: [{ version: '1.0.0', url: 'app-1.0.0.tgz', sha256, size: described.length }] }));
  return feed;
}

/** The node fs, counting the bytes read from each file. */
function countingFs(): { fs: HostFs; read: Map<string, number> } {
  const read = new Map<string, number>();
  const fs: HostFs = {
    ...nodeHost.fs,
    openRead(path, options) {
      const inner = nodeHost.fs.openRead(path, options);
      return (async function* () {
        for await (const chunk of inner) {
          read.set(path, (read.get(path) ?? 0) + chunk.byteLength);
          yield chunk;
        }
      })();
    },
  };
  return { fs, read };
}

const GOOD: RawEntry[] = [{ path: 'package/package.json', body: '{"name":"app","version":"1.0.0"}' }, { path: 'package/server.js', body: 'console.log(1)' }];
const HOSTILE: RawEntry[] = [{ path: 'package/ok.js', body: 'ok' }, { path: '../escape.js', body: 'x' }, { path: 'package/late.js', body: 'y' }];

describe.skipIf(GNU_TAR === undefined)('receiving a release through GNU tar', () => {
  it('reads the tarball once, without a temp copy, and extracts it', async () => {
    const tarball = rawTar(GOOD);
    const feed = feedOf(tarball);
    const { fs, read } = countingFs();
    const dest = stagingDir();
    await createDirSource({ path: feed }, fs, { now: () => Date.now() }).fetch({ version: '1.0.0' }, dest, context({ untar: GNU_TAR }));
    expect(listTree(dest)).toEqual(['package.json', 'server.js']);
    expect(read.get(join(feed, 'app-1.0.0.tgz'))).toBe(tarball.length);
    // Nothing beside the staging dir: no downloaded copy was written.
    expect(readdirSync(dirname(dest))).toEqual(['.staging-test']);
  });

  it('refuses bytes whose digest does not match, and leaves the staging dir empty', async () => {
    const tarball = rawTar(GOOD);
    const other = Buffer.from(tarball);
    other.writeUInt8(other.readUInt8(other.length - 1) ^ 0xff, other.length - 1);
    const feed = feedOf(tarball, other);
    const dest = stagingDir();
    const err = await rejection(createDirSource({ path: feed }, nodeHost.fs, { now: () => Date.now() }).fetch({ version: '1.0.0' }, dest, context({ untar: GNU_TAR })), 'DIGEST_MISMATCH');
    expect(err.details).toMatchObject({ version: '1.0.0', reason: 'sha256-mismatch' });
    expect(listTree(dest)).toEqual([]);
  });

  it('names a swapped hostile file by its digest, though its first bad entry stopped the extraction', async () => {
    const hostile = rawTar(HOSTILE);
    // The manifest describes a good release of the same size: only the hash tells them apart.
    const good = Buffer.alloc(hostile.length, 0);
    const feed = feedOf(hostile, good);
    const dest = stagingDir();
    const err = await rejection(createDirSource({ path: feed }, nodeHost.fs, { now: () => Date.now() }).fetch({ version: '1.0.0' }, dest, context({ untar: GNU_TAR })), 'DIGEST_MISMATCH');
    expect(err.details).toMatchObject({ reason: 'sha256-mismatch' });
    expect(listTree(dest)).toEqual([]);
    expect(readdirSync(dirname(dest))).toEqual(['.staging-test']);
  });

  it('refuses a hostile entry of a release whose digest matches, naming the entry', async () => {
    const feed = feedOf(rawTar(HOSTILE));
    const dest = stagingDir();
    const err = await rejection(createDirSource({ path: feed }, nodeHost.fs, { now: () => Date.now() }).fetch({ version: '1.0.0' }, dest, context({ untar: GNU_TAR })), 'ARCHIVE_INVALID');
    expect(err.message).toContain('../escape.js');
    expect(listTree(dest)).toEqual([]);
  });

  it('proves a signed release before extracting it: a temp copy, read twice', async () => {
    const tarball = rawTar(GOOD);
    const keys = generateKeyPair();
    const feed = tempDir('outlast-feed-');
    writeFileSync(join(feed, 'app-1.0.0.tgz'), tarball);
    const entry = { version: '1.0.0', url: 'app-1.0.0.tgz', sha256: createHash('sha256').update(tarball).digest('hex'), size: tarball.length };
    writeFileSync(join(feed, 'manifest.json'), JSON.stringify({ versions: [{ ...entry, signature: signEntry(keys.privateKeyPem, entry) }] }));
    const { fs, read } = countingFs();
    const dest = stagingDir();
    await createDirSource({ path: feed, publicKey: keys.publicKeyBase64 }, fs, { now: () => Date.now() }).fetch({ version: '1.0.0' }, dest, context({ untar: GNU_TAR }));
    expect(listTree(dest)).toEqual(['package.json', 'server.js']);
    expect(read.get(join(feed, 'app-1.0.0.tgz'))).toBe(tarball.length);
    // The copy was proven, then extracted from: its bytes were read once more, and it is gone.
    expect([...read.entries()].filter(([path]) => path.includes('.download-')).map(([, n]) => n)).toEqual([tarball.length]);
    expect(readdirSync(dirname(dest))).toEqual(['.staging-test']);
  });
});
