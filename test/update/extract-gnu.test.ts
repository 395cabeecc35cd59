/**
 * The GNU tar fast path of extraction (extract-gnu.ts) with the real GNU tar
 * of the machine: what only this path has. The shared cases (every hostile
 * archive, good layouts, limits) run against both extractors in
 * extract.test.ts and hostile-archives.test.ts.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { extractSafely } from '../../supervisor/update/extract.ts';
import { findGnuTar, type Untar } from '../../supervisor/update/gnu-tar.ts';
import { nodeFs } from '../../supervisor/host/node-fs.ts';
import { packRelease } from '../../supervisor/update/pack.ts';
import { nodeHost } from '../support/node-host.ts';
import { tempDir } from '../support/supervisor.ts';
import { GNU_TAR } from './extractors.ts';
import { cleanup, listTree, rawTarFile, rejection, stagingDir } from './helpers.ts';

afterEach(cleanup);

/** GNU tar, which also writes one file of its own into the dir: two readings of one archive that differ. */
function tarThatAddsAFile(gnu: Untar, name: string, asDir = false): Untar {
  return {
    name: 'GNU tar, adding a file',
    start(dir) {
      const run = gnu.start(dir);
      return {
        write: (chunk) => run.write(chunk),
        stop: () => run.stop(),
        async end() {
          await run.end();
          if (asDir) mkdirSync(join(dir, name), { recursive: true });
          else writeFileSync(join(dir, name), 'not in the archive');
        },
      };
    },
  };
}

describe.skipIf(GNU_TAR === undefined)('GNU tar fast path', () => {
  const gnu = GNU_TAR!;

  it('extracts a packed release exactly as the Node extractor does', async () => {
    const app = tempDir('outlast-app-');
    mkdirSync(join(app, 'lib/deep'), { recursive: true });
    writeFileSync(join(app, 'server.js'), 'console.log(1)');
    writeFileSync(join(app, 'lib/deep/data.bin'), Buffer.alloc(200_000, 7));
    writeFileSync(join(app, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(app, 'run.sh'), 0o755);
    const packed = await packRelease(nodeFs, { dir: app, version: '1.2.3', feed: tempDir('outlast-feed-'), name: 'app' });
    const [viaTar, viaNode] = [stagingDir(), stagingDir()];
    await extractSafely(nodeHost.fs, packed.tarball, viaTar, { untar: gnu });
    await extractSafely(nodeHost.fs, packed.tarball, viaNode);
    expect(listTree(viaTar)).toEqual(listTree(viaNode));
    expect(listTree(viaTar)).toContain('lib/deep/data.bin');
    for (const path of listTree(viaNode)) {
      const [a, b] = [statSync(join(viaTar, path)), statSync(join(viaNode, path))];
      expect(a.mode, path).toBe(b.mode);
      if (a.isFile()) expect(readFileSync(join(viaTar, path)).equals(readFileSync(join(viaNode, path))), path).toBe(true);
    }
  });

  it('refuses a tree tar wrote with a file the archive does not declare', async () => {
    const dest = stagingDir();
    const err = await rejection(extractSafely(nodeHost.fs, rawTarFile([{ path: 'a.txt', body: 'a' }, { path: 'b.txt', body: 'b' }]), dest, { untar: tarThatAddsAFile(gnu, 'extra') }), 'ARCHIVE_INVALID');
    expect(err.message).toMatch(/tar wrote a file the archive's entries do not declare/);
    expect(listTree(dest)).toEqual([]);
  });

  it('refuses a tree where tar wrote a directory for what the archive calls a file', async () => {
    const dest = stagingDir();
    const err = await rejection(extractSafely(nodeHost.fs, rawTarFile([{ path: 'a.txt', body: 'a' }, { path: 'b/c', body: 'c' }]), dest, { untar: tarThatAddsAFile(gnu, 'a.txt.d', true) }), 'ARCHIVE_INVALID');
    expect(err.message).toMatch(/tar wrote a directory/);
  });

  it('stops before tar reads a refused entry: nothing lands beside the staging dir', async () => {
    const dest = stagingDir();
    await rejection(extractSafely(nodeHost.fs, rawTarFile([{ path: 'ok.txt', body: 'ok' }, { path: '../evil.txt', body: 'x' }, { path: '/tmp/outlast-evil.txt', body: 'x' }]), dest, { untar: gnu }), 'ARCHIVE_INVALID');
    expect(existsSync(join(dest, '..', 'evil.txt'))).toBe(false);
    expect(listTree(dest)).toEqual([]);
  });

  it('reports a tar that fails with ARCHIVE_INVALID and what tar said', async () => {
    // tar refuses to replace a non-empty directory with a file; the entry checks allow a path declared twice.
    const dest = stagingDir();
    const err = await rejection(extractSafely(nodeHost.fs, rawTarFile([{ path: 'x/', type: '5' }, { path: 'x/y', body: 'y' }, { path: 'x', body: 'now a file' }]), dest, { untar: gnu }), 'ARCHIVE_INVALID');
    expect(err.message).toMatch(/GNU tar|tar wrote/);
    expect(listTree(dest)).toEqual([]);
  });
});

describe('findGnuTar', () => {
  it('finds the GNU tar on PATH, and takes a tar that is not GNU tar for none', async () => {
    const bin = tempDir('outlast-fake-tar-');
    writeFileSync(join(bin, 'tar'), '#!/bin/sh\necho "tar (busybox) 1.36.1"\n');
    chmodSync(join(bin, 'tar'), 0o755);
    const busybox = await findGnuTar({ ...nodeHost, env: { PATH: bin } });
    expect(busybox).toBeUndefined();
    const none = await findGnuTar({ ...nodeHost, env: { PATH: tempDir('outlast-empty-path-') } });
    expect(none).toBeUndefined();
    if (GNU_TAR === undefined) console.warn('no GNU tar on PATH: only the negative cases of findGnuTar ran');
    else expect(GNU_TAR.name).toMatch(/^GNU tar \d+\.\d+$/);
  });
});
