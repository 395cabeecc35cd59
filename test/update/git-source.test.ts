/**
 * The git source against real repositories made in the test: tags, shallow
 * clones of a tag, and the checks on the checked-out tree.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSource } from '../../supervisor/update/sources/create.ts';
import { parseTags } from '../../supervisor/update/sources/git.ts';
import { findRelease } from '../../supervisor/update/sources/source.ts';
import { cleanup, context, listTree, rejection, stagingDir, tempDir, writeTree } from './helpers.ts';
import { nodeHost } from '../support/node-host.ts';

afterEach(cleanup);

function git(repo: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'init.defaultBranch=main', '-c', 'tag.gpgSign=false', '-c', 'commit.gpgSign=false', ...args], {
    cwd: repo,
    stdio: 'pipe',
  });
}

function commit(repo: string, files: Record<string, string>, ...tags: string[]): void {
  writeTree(repo, files);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', `commit ${tags.join(' ')}`);
  for (const tag of tags) git(repo, 'tag', ...(tag.startsWith('annotated:') ? ['-a', '-m', 'release', tag.slice(10)] : [tag]));
}

function repository(): string {
  const repo = tempDir('outlast-repo-');
  git(repo, 'init', '-q');
  commit(repo, { 'VERSION': '1.0.0', 'lib/a.js': 'a1' }, 'v1.0.0', 'latest', 'release-0.9');
  commit(repo, { 'VERSION': '1.1.0' }, '1.1.0', 'v1.1');
  commit(repo, { 'VERSION': '2.0.0-beta.1' }, 'annotated:v2.0.0-beta.1');
  return repo;
}

describe('git source', () => {
  it('lists semver tags only, lowest first, keeping the tag as ref', async () => {
    const list = await createSource({ type: 'git', url: repository(), timeoutMs: 20_000 }, nodeHost).list(AbortSignal.timeout(20_000));
    expect(list).toEqual([
      { version: '1.0.0', ref: 'v1.0.0' },
      { version: '1.1.0', ref: '1.1.0' },
      { version: '2.0.0-beta.1', ref: 'v2.0.0-beta.1' },
    ]);
  });

  it('fetches a tag into dest without .git', async () => {
    const repo = repository();
    commit(repo, { 'VERSION': 'untagged' });
    git(repo, 'branch', '1.1.0'); // a branch named like the tag must not win
    const source = createSource({ type: 'git', url: repo, timeoutMs: 20_000 }, nodeHost);
    const dest = stagingDir();
    await source.fetch({ version: '1.1.0', ref: '1.1.0' }, dest, context());
    expect(listTree(dest)).toEqual(['VERSION', 'lib', 'lib/a.js']);
    expect(readFileSync(join(dest, 'VERSION'), 'utf8')).toBe('1.1.0');
    expect(listTree(join(dest, '..'))).toEqual(['.staging-test', '.staging-test/VERSION', '.staging-test/lib', '.staging-test/lib/a.js']);

    const byVersion = stagingDir();
    await source.fetch({ version: '2.0.0-beta.1' }, byVersion, context());
    expect(readFileSync(join(byVersion, 'VERSION'), 'utf8')).toBe('2.0.0-beta.1');
  });

  it('refuses a tree with a symlink that escapes, leaving dest empty', async () => {
    const repo = repository();
    symlinkSync('../../../etc/passwd', join(repo, 'lib', 'passwd'));
    commit(repo, {}, 'v3.0.0');
    const dest = stagingDir();
    const err = await rejection(createSource({ type: 'git', url: repo, timeoutMs: 20_000 }, nodeHost).fetch({ version: '3.0.0' }, dest, context()), 'ARCHIVE_INVALID');
    expect(err.message).toContain('"lib/passwd"');
    expect(listTree(join(dest, '..'))).toEqual(['.staging-test']);
  });

  it('refuses a tree larger than maxBytes', async () => {
    const dest = stagingDir();
    const err = await rejection(createSource({ type: 'git', url: repository(), timeoutMs: 20_000 }, nodeHost).fetch({ version: '1.0.0' }, dest, context({ maxBytes: 3 })), 'TOO_LARGE');
    expect(err.details).toMatchObject({ reason: 'oversize' });
    expect(listTree(join(dest, '..'))).toEqual(['.staging-test']);
  });

  it('answers an unknown version and an unreachable repository', async () => {
    const source = createSource({ type: 'git', url: repository(), timeoutMs: 20_000 }, nodeHost);
    await rejection(source.fetch({ version: '9.0.0' }, stagingDir(), context()), 'VERSION_NOT_FOUND');
    const missing = createSource({ type: 'git', url: join(tempDir(), 'no-such-repo'), timeoutMs: 20_000 }, nodeHost);
    const err = await rejection(missing.list(AbortSignal.timeout(20_000)), 'SOURCE_UNAVAILABLE');
    expect(err.message).toMatch(/^git ls-remote failed: /);
  });

  it('kills git when it outlives the timeout', async () => {
    // A git daemon that accepts and never answers; reading lets it see git go.
    const silent = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const source = createSource({ type: 'git', url: `git://127.0.0.1:${port}/repo.git`, timeoutMs: 300 }, nodeHost);
      const err = await rejection(source.list(AbortSignal.timeout(20_000)), 'TIMEOUT');
      expect(err.message).toBe('git ls-remote timed out after 300 ms');
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('parses ls-remote output, peeled tags once', () => {
    // v1.0.0 is annotated (tag object a, commit b); 1.0.0 names the same commit b.
    const out = ['a\trefs/tags/v1.0.0', 'b\trefs/tags/v1.0.0^{}', 'b\trefs/tags/1.0.0', 'd\trefs/heads/v9.9.9', 'e\trefs/tags/=2.0.0', 'f\trefs/tags/v2'].join('\n');
    expect(parseTags(out)).toEqual([{ version: '1.0.0', ref: 'v1.0.0' }]);
  });

  it('marks a version that two tags name on different commits, comparing annotated tags by their commit', () => {
    const out = ['c1\trefs/tags/1.41.0', 'a\trefs/tags/v1.41.0', 'c2\trefs/tags/v1.41.0^{}', 'c3\trefs/tags/v1.42.0'].join('\n');
    expect(parseTags(out)).toEqual([
      { version: '1.41.0', ambiguous: [{ tag: '1.41.0', commit: 'c1' }, { tag: 'v1.41.0', commit: 'c2' }] },
      { version: '1.42.0', ref: 'v1.42.0' },
    ]);
  });
});

describe('git source with ambiguous tags', () => {
  function ambiguousRepository(): string {
    const repo = tempDir('outlast-repo-');
    git(repo, 'init', '-q');
    commit(repo, { 'VERSION': 'one' }, 'v1.41.0');
    commit(repo, { 'VERSION': 'two' }, '1.41.0');
    commit(repo, { 'VERSION': '1.42.0' }, 'annotated:v1.42.0', '1.42.0');
    return repo;
  }

  it('refuses a version that two tags name on different commits, naming both tags', async () => {
    const source = createSource({ type: 'git', url: ambiguousRepository(), timeoutMs: 20_000 }, nodeHost);
    const list = await source.list(AbortSignal.timeout(20_000));
    expect(list.map((e) => e.version)).toEqual(['1.41.0', '1.42.0']);
    // The lookup the updater makes before taking the lock refuses it already.
    const lookup = (() => {
      try {
        return findRelease(list, '1.41.0');
      } catch (err) {
        return err;
      }
    })();
    expect(lookup).toMatchObject({ code: 'VERSION_AMBIGUOUS' });
    for (const entry of [{ version: '1.41.0' }, list[0]!]) {
      const dest = stagingDir();
      const err = await rejection(source.fetch(entry, dest, context()), 'VERSION_AMBIGUOUS');
      expect([err.httpStatus, err.exitCode]).toEqual([409, 65]);
      expect(err.message).toMatch(/^version 1\.41\.0 is named by tags "1\.41\.0" \([0-9a-f]{7}\) and "v1\.41\.0" \([0-9a-f]{7}\) on different commits;/);
      expect(err.details).toMatchObject({ version: '1.41.0', tags: [{ tag: '1.41.0' }, { tag: 'v1.41.0' }] });
      expect(listTree(join(dest, '..'))).toEqual(['.staging-test']);
    }
  });

  it('takes a version whose two tags name the same commit, annotated or not', async () => {
    const source = createSource({ type: 'git', url: ambiguousRepository(), timeoutMs: 20_000 }, nodeHost);
    const dest = stagingDir();
    await source.fetch({ version: '1.42.0' }, dest, context());
    expect(readFileSync(join(dest, 'VERSION'), 'utf8')).toBe('1.42.0');
  });
});
