// Extraction, the dir source and the git source under the fake Host: every
// byte and every file lives in its in-memory file system. The paths do not
// exist on this machine, so a call that went around the Host would fail.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OutlastError } from '../../supervisor/errors.ts';
import { listenReadySocket } from '../../supervisor/notify/ready-socket.ts';
import { extractSafely } from '../../supervisor/update/extract.ts';
import { createSource } from '../../supervisor/update/sources/create.ts';
import type { GitRunner } from '../../supervisor/update/sources/git.ts';
import { createFakeHost, type FakeHost } from '../support/fake-host.ts';
import { rawTar, type RawEntry } from '../update/helpers.ts';

const ROOT = '/nonexistent-outlast-test';

function putTar(host: FakeHost, path: string, entries: RawEntry[]): Buffer {
  const bytes = rawTar(entries);
  host.files.set(path, { data: bytes.toString('latin1'), mode: 0o644 });
  return bytes;
}

function under(host: FakeHost, dir: string): string[] {
  return [...host.files.keys(), ...host.links.keys()].filter((p) => p.startsWith(`${dir}/`)).sort();
}

function context(): { signal: AbortSignal; maxBytes: number } {
  return { signal: new AbortController().signal, maxBytes: 1024 * 1024 };
}

describe('extractSafely through the Host', () => {
  it('writes files, modes without setuid, symlinks and hardlinks, with the top folder stripped', async () => {
    const host = createFakeHost();
    putTar(host, `${ROOT}/r.tgz`, [
      { path: 'package/', type: '5' },
      { path: 'package/bin/run', body: '#!/bin/sh\n', mode: 0o4755 },
      { path: 'package/current', type: '2', linkpath: 'bin/run' },
      { path: 'package/same', type: '1', linkpath: 'package/bin/run' },
      { path: 'package/empty', body: '' },
    ]);
    await extractSafely(host.fs, `${ROOT}/r.tgz`, `${ROOT}/stage`);
    expect(under(host, `${ROOT}/stage`)).toEqual([`${ROOT}/stage/bin/run`, `${ROOT}/stage/current`, `${ROOT}/stage/empty`, `${ROOT}/stage/same`]);
    expect(host.files.get(`${ROOT}/stage/empty`)).toEqual({ data: '', mode: 0o644 });
    expect(host.files.get(`${ROOT}/stage/bin/run`)).toEqual({ data: '#!/bin/sh\n', mode: 0o755 });
    expect(host.links.get(`${ROOT}/stage/current`)).toBe('bin/run');
    expect(host.files.get(`${ROOT}/stage/same`)?.data).toBe('#!/bin/sh\n');
    expect(host.dirs.has(`${ROOT}/stage/bin`)).toBe(true);
  });

  it('refuses an escaping symlink before writing anything', async () => {
    const host = createFakeHost();
    putTar(host, `${ROOT}/r.tgz`, [{ path: 'ok.txt', body: 'ok' }, { path: 'out', type: '2', linkpath: '../../etc' }]);
    const err = await extractSafely(host.fs, `${ROOT}/r.tgz`, `${ROOT}/stage`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutlastError);
    expect((err as OutlastError).code).toBe('ARCHIVE_INVALID');
    expect(under(host, `${ROOT}/stage`)).toEqual([]);
  });
});

describe('the dir source through the Host', () => {
  it('reads the manifest and the tarball, checks the digest, extracts, and removes its temp file', async () => {
    const host = createFakeHost();
    const bytes = putTar(host, `${ROOT}/feed/app-1.0.0.tgz`, [{ path: 'package/VERSION', body: '1.0.0' }]);
    const entry = { version: '1.0.0', url: 'app-1.0.0.tgz', sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
    host.files.set(`${ROOT}/feed/manifest.json`, { data: JSON.stringify({ versions: [entry] }), mode: 0o644 });
    const source = createSource({ type: 'dir', path: `${ROOT}/feed` }, host);
    expect((await source.list(new AbortController().signal)).map((e) => e.version)).toEqual(['1.0.0']);
    await source.fetch({ version: '1.0.0' }, `${ROOT}/releases/.staging-1`, context());
    expect(under(host, `${ROOT}/releases`)).toEqual([`${ROOT}/releases/.staging-1/VERSION`]);
  });

  it('refuses a tarball whose digest differs from the manifest', async () => {
    const host = createFakeHost();
    const bytes = putTar(host, `${ROOT}/feed/a.tgz`, [{ path: 'VERSION', body: '1' }]);
    const entry = { version: '1.0.0', url: 'a.tgz', sha256: '0'.repeat(64), size: bytes.length };
    host.files.set(`${ROOT}/feed/manifest.json`, { data: JSON.stringify({ versions: [entry] }), mode: 0o644 });
    const err = await createSource({ type: 'dir', path: `${ROOT}/feed` }, host).fetch({ version: '1.0.0' }, `${ROOT}/releases/.s`, context()).catch((e: unknown) => e);
    expect((err as OutlastError).code).toBe('DIGEST_MISMATCH');
    expect(under(host, `${ROOT}/releases`)).toEqual([]);
  });
});

describe('the git source through the Host', () => {
  it('checks out the tag, drops .git, and moves the tree into dest', async () => {
    const host = createFakeHost();
    const calls: string[][] = [];
    const git: GitRunner = async (args) => {
      calls.push([...args]);
      if (args[0] === 'ls-remote') return 'a\trefs/tags/v1.0.0';
      if (args.includes('checkout')) {
        const checkout = args[1]!;
        host.files.set(`${checkout}/.git/HEAD`, { data: 'ref', mode: 0o644 });
        host.files.set(`${checkout}/lib/a.js`, { data: 'a1', mode: 0o644 });
        host.links.set(`${checkout}/current`, 'lib/a.js');
      }
      return '';
    };
    const source = createSource({ type: 'git', url: 'https://example.invalid/r.git', timeoutMs: 1000 }, host, { git });
    await source.fetch({ version: '1.0.0', ref: 'v1.0.0' }, `${ROOT}/releases/.staging-1`, context());
    expect(calls.map((c) => c.find((a) => ['init', 'fetch', 'checkout'].includes(a)))).toEqual(['init', 'fetch', 'checkout']);
    expect(calls[1]).toContain('refs/tags/v1.0.0');
    expect(under(host, `${ROOT}/releases`)).toEqual([`${ROOT}/releases/.staging-1/current`, `${ROOT}/releases/.staging-1/lib/a.js`]);
  });
});

describe('listenReadySocket through the Host', () => {
  it("measures the path against the Host's OS: 106 bytes fit Linux's sun_path, not the BSDs'", async () => {
    const host = createFakeHost();
    const path = `/${'x'.repeat(105)}`;
    // Past the length check, it reaches the fake network, which has no sockets.
    await expect(listenReadySocket(host, path)).rejects.toThrow('no network in unit tests');
    const onBsd = { ...host, runtime: { nodeVersion: 'v24.0.0', os: 'darwin' as const } };
    await expect(listenReadySocket(onBsd, path)).rejects.toMatchObject({ code: 'STATE_DIR_UNUSABLE' });
  });
});
