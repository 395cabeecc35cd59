/**
 * The git source: every semver tag (`v1.2.3` or `1.2.3`) of a repository,
 * given as a URL or a local path. A release is a shallow fetch of its tag,
 * checked out without `.git`. Submodules and LFS objects are not fetched.
 */
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { semver } from '../semver.ts';
import { OutlastError } from '../../errors.ts';
import type { Host, HostFs } from '../../host/host.ts';
import { findEscape } from '../contained-paths.ts';
import { emptyDir } from '../extract.ts';
import { hostGit, type GitRunner } from './git-run.ts';
import { ambiguousVersion, findRelease, oversize, sortReleases, type FetchContext, type ReleaseEntry, type UpdateSource } from './source.ts';

/** The git source's config. */
export interface GitSourceConfig {
  url: string;
  /** Limit for each git command. */
  timeoutMs: number;
}

export { hostGit, type GitRunner, type GitRunnerHost } from './git-run.ts';

/** What the git source needs of the Host: git runs and the checked-out tree. */
export type GitSourceHost = Pick<Host, 'spawn' | 'kill' | 'clock' | 'env' | 'cwd'> & {
  fs: Pick<HostFs, 'readdir' | 'lstat' | 'readlink' | 'rename' | 'rm'>;
};

/**
 * Semver releases from `git ls-remote --tags` output; other tags are ignored.
 * A version named by several tags (`v1.2.3` and `1.2.3`) on one commit takes
 * the first; on different commits it is listed with `ambiguous` set, and
 * findRelease refuses it: installing either tag would be a guess.
 */
export function parseTags(output: string): ReleaseEntry[] {
  // version → tag → commit, in the order ls-remote lists them.
  const byVersion = new Map<string, Map<string, string>>();
  for (const line of output.split('\n')) {
    const [sha, field] = line.split('\t');
    const ref = field?.trim();
    if (sha === undefined || ref?.startsWith('refs/tags/') !== true) continue;
    const peeled = ref.endsWith('^{}');
    const tag = ref.slice('refs/tags/'.length, peeled ? -3 : undefined);
    const version = /^v?\d/.test(tag) ? semver.valid(tag) : null;
    if (version === null) continue;
    const tags = byVersion.get(version) ?? new Map<string, string>();
    byVersion.set(version, tags);
    // An annotated tag is listed twice: its tag object, then peeled (^{})
    // the commit it names. The commit is what two tags are compared by.
    if (peeled || !tags.has(tag)) tags.set(tag, sha.trim());
  }
  const entries: ReleaseEntry[] = [];
  for (const [version, tags] of byVersion) {
    const named = [...tags].map(([tag, commit]) => ({ tag, commit }));
    entries.push(new Set(tags.values()).size > 1 ? { version, ambiguous: named } : { version, ref: named[0]!.tag });
  }
  return sortReleases(entries);
}

/** Links, and the total size of regular files, in a checked-out tree. */
async function survey(fs: GitSourceHost['fs'], root: string): Promise<{ links: Map<string, string>; bytes: number }> {
  const links = new Map<string, string>();
  let bytes = 0;
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of await fs.readdir(dir)) {
      const path = join(dir, name);
      const relative = `${prefix}${name}`;
      const info = await fs.lstat(path);
      if (info?.kind === 'symlink') links.set(relative, (await fs.readlink(path)) ?? '');
      else if (info?.kind === 'file') bytes += info.size;
      else if (info?.kind === 'directory') await walk(path, `${relative}/`);
    }
  };
  await walk(root, '');
  return { links, bytes };
}

/** Whether a repository location is a local path rather than a URL or `host:path`. */
function isLocalPath(location: string): boolean {
  return !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location) && !/^[^/]*:/.test(location);
}

/** Creates the git source; git runs through `host` unless `git` replaces it. */
export function createGitSource(config: GitSourceConfig, host: GitSourceHost, git: GitRunner = hostGit(host)): UpdateSource {
  const { fs } = host;
  const url = isLocalPath(config.url) ? resolve(config.url) : config.url;

  async function list(signal: AbortSignal): Promise<ReleaseEntry[]> {
    const output = await git(['ls-remote', '--tags', '--', url], { signal, timeoutMs: config.timeoutMs });
    return parseTags(output);
  }

  async function fetchRelease(entry: ReleaseEntry, dest: string, ctx: FetchContext): Promise<void> {
    if (entry.ambiguous !== undefined) throw ambiguousVersion(entry.version, entry.ambiguous);
    const ref = entry.ref ?? findRelease(await list(ctx.signal), entry.version).ref ?? entry.version;
    // A sibling of dest, named after it: the final move is a rename, and the
    // sweep of staging leftovers catches it after a crash.
    const checkout = join(dirname(dest), `${basename(dest)}.git-${randomBytes(4).toString('hex')}`);
    try {
      const run = { signal: ctx.signal, timeoutMs: config.timeoutMs };
      // Fetch the tag by its full ref: `clone --branch` would take a branch
      // of the same name over the tag.
      await git(['init', '--quiet', checkout], run);
      await git(['-C', checkout, 'fetch', '--quiet', '--depth', '1', '--no-tags', '--', url, `refs/tags/${ref}`], run);
      await git(['-C', checkout, '-c', 'advice.detachedHead=false', 'checkout', '--quiet', 'FETCH_HEAD'], run);
      await fs.rm(join(checkout, '.git'));
      const { links, bytes } = await survey(fs, checkout);
      if (bytes > ctx.maxBytes) throw oversize(entry.version, ctx.maxBytes);
      const escape = findEscape(links, new Map(), []);
      if (escape !== undefined) {
        throw new OutlastError('ARCHIVE_INVALID', `unsafe entry "${escape[0]}" in ${ref}: ${escape[1]}`, {
          details: { entry: escape[0], reason: escape[1] },
        });
      }
      ctx.log?.(`release ${entry.version}: checked out ${ref}, ${bytes} bytes`);
      for (const name of await fs.readdir(checkout)) await fs.rename(join(checkout, name), join(dest, name));
    } catch (err) {
      // A move that failed midway leaves part of the tree: dest is emptied again.
      await emptyDir(fs, dest);
      throw err;
    } finally {
      await fs.rm(checkout);
    }
  }

  return { kind: 'git', list, fetch: fetchRelease };
}
