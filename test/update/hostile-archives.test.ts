/**
 * Hostile tarballs that are neither escapes nor malformed: names too long to
 * create, a hardlink to itself, decompression bombs and releases that unpack
 * past the limit. Each is refused with a stable code, naming the entry but not
 * the staging path, and leaves the staging dir empty.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { OutlastError } from '../../supervisor/errors.ts';
import { cleanup, listTree, rawTar, rawTarFile, stagingDir, tempDir, type RawEntry } from './helpers.ts';
import { EXTRACTORS } from './extractors.ts';

afterEach(cleanup);

describe.each(EXTRACTORS)('$name', ({ extract }) => {

/** A pax extended header giving the next entry the path `path`. */
function paxPath(path: string): RawEntry {
  const tail = ` path=${path}\n`;
  let length = tail.length;
  while (`${length}${tail}`.length !== length) length = `${length}${tail}`.length;
  return { path: 'PaxHeader', type: 'x' as RawEntry['type'], body: `${length}${tail}` };
}

async function refusal(tarball: string, dest: string, options = {}): Promise<OutlastError> {
  const err = await extract(tarball, dest, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutlastError);
  expect(listTree(dest)).toEqual([]);
  return err as OutlastError;
}

function writeTarball(bytes: Buffer): string {
  const file = join(tempDir('outlast-tar-'), 'release.tgz');
  writeFileSync(file, bytes);
  return file;
}

describe('extractSafely: entries that cannot be written as named', () => {
  it('refuses a 5,000-character entry name with ARCHIVE_INVALID, without the staging path', async () => {
    const dest = stagingDir();
    const name = `${'a'.repeat(5000)}.js`;
    const err = await refusal(rawTarFile([{ path: 'ok.js', body: 'ok' }, paxPath(name), { path: 'placeholder', body: 'x' }]), dest);
    expect(err.code).toBe('ARCHIVE_INVALID');
    expect(err.message).toContain('aaaa');
    expect(err.message).toContain('5003 characters');
    expect(err.message).not.toContain(dest);
    expect(err.message.length).toBeLessThan(400);
  });

  it('refuses a file followed by a hardlink to itself with ARCHIVE_INVALID naming it', async () => {
    const dest = stagingDir();
    const err = await refusal(rawTarFile([{ path: 'x.txt', body: 'x' }, { path: 'y.txt', body: 'y' }, { path: 'x.txt', type: '1', linkpath: 'x.txt' }]), dest);
    expect(err.code).toBe('ARCHIVE_INVALID');
    expect(err.message).toContain('"x.txt"');
    expect(err.message).toContain('hardlink to itself');
    expect(err.message).not.toContain(dest);
  });
});

describe('extractSafely: size limits', () => {
  it('refuses a decompression bomb with TOO_LARGE on the way in', async () => {
    const dest = stagingDir();
    // 64 MiB of zeros: about 64 KB of gzip.
    const bomb = writeTarball(gzipSync(Buffer.alloc(64 * 1024 * 1024)));
    const err = await refusal(bomb, dest, { maxUnpackedBytes: 4 * 1024 * 1024 });
    expect(err.code).toBe('TOO_LARGE');
    expect(err.details).toMatchObject({ limit: 4 * 1024 * 1024 });
  });

  it('refuses a low-ratio release that unpacks past maxUnpackedBytes, leaving nothing behind', async () => {
    const dest = stagingDir();
    const body = randomBytes(3 * 1024 * 1024).toString('base64');
    const err = await refusal(rawTarFile([{ path: 'a.bin', body }, { path: 'b.bin', body }]), dest, { maxUnpackedBytes: 5 * 1024 * 1024 });
    expect(err.code).toBe('TOO_LARGE');
  });

  it('refuses a gzip inside a gzip', async () => {
    const dest = stagingDir();
    const err = await refusal(writeTarball(gzipSync(rawTar([{ path: 'a.txt', body: 'a' }]))), dest);
    expect(err.code).toBe('ARCHIVE_INVALID');
  });

  it('extracts a release within the limit', async () => {
    const dest = stagingDir();
    await extract(rawTarFile([{ path: 'a.txt', body: 'hello' }, { path: 'b.txt', body: 'b' }]), dest, { maxUnpackedBytes: 10_000 });
    expect(listTree(dest)).toEqual(['a.txt', 'b.txt']);
  });
});
});
