/**
 * Safe extraction against real tarballs, good and hand-crafted malicious
 * ones: every unsafe one is refused as a whole, naming the entry, and leaves
 * the staging dir empty.
 */
import { lstatSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, listTree, rawTarFile, rejection, stagingDir, type RawEntry } from './helpers.ts';
import { EXTRACTORS } from './extractors.ts';

afterEach(cleanup);

describe.each(EXTRACTORS)('$name', ({ extract }) => {

describe('extractSafely: good tarballs', () => {
  it('strips a single top-level folder', async () => {
    const dest = stagingDir();
    await extract(rawTarFile([
      { path: 'package/', type: '5' },
      { path: 'package/index.js', body: 'hi' },
      { path: 'package/lib/', type: '5' },
      { path: 'package/lib/a.js', body: 'a', mode: 0o4755 },
      { path: 'package/link', type: '2', linkpath: 'lib/a.js' },
      { path: 'package/hard', type: '1', linkpath: 'package/index.js' },
    ]), dest);
    expect(listTree(dest)).toEqual(['hard', 'index.js', 'lib', 'lib/a.js', 'link']);
    expect(readFileSync(join(dest, 'hard'), 'utf8')).toBe('hi');
    expect(readlinkSync(join(dest, 'link'))).toBe('lib/a.js');
    expect(statSync(join(dest, 'lib/a.js')).mode & 0o7777).toBe(0o755);
  });

  it('keeps the layout when there are several top-level entries', async () => {
    const dest = stagingDir();
    await extract(rawTarFile([
      { path: './', type: '5' },
      { path: './app/main.js', body: 'x' },
      { path: './README', body: 'r' },
      { path: './app/up', type: '2', linkpath: '../README' },
    ]), dest);
    expect(listTree(dest)).toEqual(['README', 'app', 'app/main.js', 'app/up']);
    expect(readFileSync(join(dest, 'app/up'), 'utf8')).toBe('r');
  });

  it('does not strip a single top-level file', async () => {
    const dest = stagingDir();
    await extract(rawTarFile([{ path: 'only.txt', body: '1' }]), dest);
    expect(listTree(dest)).toEqual(['only.txt']);
  });
});

const unsafe: [string, RawEntry[], string][] = [
  ['a ../ entry', [{ path: 'ok.txt', body: 'ok' }, { path: '../evil.txt', body: 'x' }], '../evil.txt'],
  ['a nested .. entry', [{ path: 'a/../../evil.txt', body: 'x' }], 'a/../../evil.txt'],
  ['an absolute path', [{ path: 'ok.txt', body: 'ok' }, { path: '/tmp/evil.txt', body: 'x' }], '/tmp/evil.txt'],
  ['a symlink escaping dest', [{ path: 'ok.txt', body: 'ok' }, { path: 'out', type: '2', linkpath: '../../etc' }], 'out'],
  ['an absolute symlink', [{ path: 'passwd', type: '2', linkpath: '/etc/passwd' }], 'passwd'],
  ['a symlink escaping through another symlink', [{ path: 'here', type: '2', linkpath: '.' }, { path: 'up', type: '2', linkpath: 'here/..' }], 'up'],
  ['a file written below an escaping symlink', [{ path: 'pkg/ok', body: 'ok' }, { path: 'pkg/link', type: '2', linkpath: '../..' }, { path: 'pkg/link/evil', body: 'x' }], 'pkg/link'],
  ['a hardlink escaping dest', [{ path: 'ok.txt', body: 'ok' }, { path: 'hard', type: '1', linkpath: '../outside.txt' }], 'hard'],
  ['an absolute hardlink', [{ path: 'hard', type: '1', linkpath: '/etc/passwd' }], 'hard'],
  ['a hardlink out of the stripped folder', [{ path: 'package/a', body: 'a' }, { path: 'package/h', type: '1', linkpath: 'other/a' }], 'package/h'],
  ['a symlink redeclared after use', [{ path: 'a', type: '2', linkpath: '../..' }, { path: 'a/evil', body: 'x' }, { path: 'a', type: '2', linkpath: 'b' }], 'a'],
  ['a hardlink to a file not in the tarball', [{ path: 'hard', type: '1', linkpath: 'etc/passwd' }], 'hard'],
  ['a character device', [{ path: 'ok.txt', body: 'ok' }, { path: 'null', type: '3' }], 'null'],
  ['a block device', [{ path: 'sda', type: '4' }], 'sda'],
  ['a fifo', [{ path: 'pipe', type: '6' }], 'pipe'],
  ['a symlink loop', [{ path: 'a', type: '2', linkpath: 'b' }, { path: 'b', type: '2', linkpath: 'a' }], 'a'],
];

describe('extractSafely: unsafe tarballs', () => {
  it.each(unsafe)('refuses %s with ARCHIVE_INVALID and leaves dest empty', async (_name, entries, culprit) => {
    const dest = stagingDir();
    const err = await rejection(extract(rawTarFile(entries), dest), 'ARCHIVE_INVALID');
    expect(err.message).toContain(`"${culprit}"`);
    expect(err.details).toMatchObject({ entry: culprit });
    expect(listTree(dest)).toEqual([]);
    expect(lstatSync(dest).isDirectory()).toBe(true);
  });

  it('refuses a file that is not a tarball', async () => {
    const dest = stagingDir();
    const file = join(dest, '..', 'junk.tgz');
    writeFileSync(file, 'this is not a tarball at all'.repeat(40));
    const err = await rejection(extract(file, dest), 'ARCHIVE_INVALID');
    expect(err.message).toMatch(/not a readable tar archive/);
    expect(listTree(dest)).toEqual([]);
  });

  it('refuses a tarball that unpacks beyond the limit', async () => {
    const dest = stagingDir();
    const err = await rejection(extract(rawTarFile([{ path: 'big', body: 'x'.repeat(2000) }]), dest, { maxUnpackedBytes: 1000 }), 'TOO_LARGE');
    expect(err.details).toMatchObject({ reason: 'unpacked-size', limit: 1000 });
    expect(listTree(dest)).toEqual([]);
  });
});
});
