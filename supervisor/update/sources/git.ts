/**
 * The git source: every semver tag (`v1.2.3` or `1.2.3`) of a repository,
 * given as a URL or a local path. A release is a shallow fetch of its tag,
 * checked out without `.git`. Submodules and LFS objects are not fetched.
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir, readlink, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { execa, ExecaError } from 'execa';
import semver from 'semver';
import { OutlastError } from '../../errors.ts';
import { findEscape } from '../contained-paths.ts';
import { emptyDir } from '../extract.ts';
import { findRelease, oversize, sortReleases, type FetchContext, type ReleaseEntry, type UpdateSource } from './source.ts';

/** The git source's config. */
export interface GitSourceConfig {
  url: string;
  /** Limit for each git command. */
  timeoutMs: number;
}

/** Runs git with `args`; resolves with stdout. The seam tests and callers can replace. */
export type GitRunner = (args: readonly string[], options: { signal: AbortSignal; timeoutMs: number }) => Promise<string>;

/** The subcommands this source runs, to name the one that failed. */
const GIT_COMMANDS = new Set(['ls-remote', 'init', 'fetch', 'checkout']);

/** After a timeout's SIGTERM, git gets this long before SIGKILL. */
const KILL_GRACE_MS = 2000;

/** The real runner: execa, never prompting for credentials. */
export const runGit: GitRunner = async (args, { signal, timeoutMs }) => {
  try {
    const result = await execa('git', args, {
      cancelSignal: signal,
      timeout: timeoutMs,
      forceKillAfterDelay: KILL_GRACE_MS,
      stdin: 'ignore',
      env: { GIT_TERMINAL_PROMPT: '0' },
    });
    return result.stdout;
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (!(err instanceof ExecaError)) throw err;
    const command = `git ${args.find((a) => GIT_COMMANDS.has(a)) ?? args[0] ?? ''}`;
    if (err.timedOut) throw new OutlastError('TIMEOUT', `${command} timed out after ${timeoutMs} ms`, { cause: err });
    const stderr = String(err.stderr ?? '').trim().split('\n').at(-1);
    throw new OutlastError('SOURCE_UNAVAILABLE', `${command} failed: ${stderr || err.shortMessage}`, { cause: err });
  }
};

/** Semver releases from `git ls-remote --tags` output; other tags are ignored. */
export function parseTags(output: string): ReleaseEntry[] {
  const byVersion = new Map<string, ReleaseEntry>();
  for (const line of output.split('\n')) {
    const ref = line.split('\t')[1]?.trim();
    if (ref?.startsWith('refs/tags/') !== true) continue;
    // An annotated tag is listed twice, once peeled with ^{}.
    const tag = ref.slice('refs/tags/'.length).replace(/\^\{\}$/, '');
    const version = /^v?\d/.test(tag) ? semver.valid(tag) : null;
    if (version !== null && !byVersion.has(version)) byVersion.set(version, { version, ref: tag });
  }
  return sortReleases([...byVersion.values()]);
}

/** Links, and the total size of regular files, in a checked-out tree. */
async function survey(root: string): Promise<{ links: Map<string, string>; bytes: number }> {
  const links = new Map<string, string>();
  let bytes = 0;
  for (const dirent of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(dirent.parentPath, dirent.name);
    if (dirent.isSymbolicLink()) links.set(relative(root, path).split('\\').join('/'), await readlink(path));
    else if (dirent.isFile()) bytes += (await lstat(path)).size;
  }
  return { links, bytes };
}

/** Whether a repository location is a local path rather than a URL or `host:path`. */
function isLocalPath(location: string): boolean {
  return !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location) && !/^[^/]*:/.test(location);
}

/** Creates the git source. */
export function createGitSource(config: GitSourceConfig, git: GitRunner = runGit): UpdateSource {
  const url = isLocalPath(config.url) ? resolve(config.url) : config.url;

  async function list(signal: AbortSignal): Promise<ReleaseEntry[]> {
    const output = await git(['ls-remote', '--tags', '--', url], { signal, timeoutMs: config.timeoutMs });
    return parseTags(output);
  }

  async function fetchRelease(entry: ReleaseEntry, dest: string, ctx: FetchContext): Promise<void> {
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
      await rm(join(checkout, '.git'), { recursive: true, force: true });
      const { links, bytes } = await survey(checkout);
      if (bytes > ctx.maxBytes) throw oversize(entry.version, ctx.maxBytes);
      const escape = findEscape(links, new Map(), []);
      if (escape !== undefined) {
        throw new OutlastError('VERIFY_FAILED', `unsafe entry "${escape[0]}" in ${ref}: ${escape[1]}`, {
          details: { entry: escape[0], reason: escape[1] },
        });
      }
      ctx.log?.(`release ${entry.version}: checked out ${ref}, ${bytes} bytes`);
      for (const name of await readdir(checkout)) await rename(join(checkout, name), join(dest, name));
    } catch (err) {
      // A move that failed midway leaves part of the tree: dest is emptied again.
      await emptyDir(dest);
      throw err;
    } finally {
      await rm(checkout, { recursive: true, force: true });
    }
  }

  return { kind: 'git', list, fetch: fetchRelease };
}
