/**
 * The release store in the state dir:
 *
 *   releases/<version>/        one verified release per folder
 *   releases/.staging-<v>-<r>  a release being fetched (never trusted)
 *   current -> releases/<v>    what the service runs
 *   previous -> releases/<v>   what a rollback returns to
 *
 * `current` is only ever replaced by rename(2) of a fresh symlink over it,
 * followed by an fsync of the state dir, so a crash at any instant leaves
 * either the old or the new link, never a missing or half-written one.
 */
import { join } from 'node:path';
import { semver } from './semver.ts';
import type { Host } from '../host/host.ts';

/** Paths of the release store. */
export interface ReleasePaths {
  stateDir: string;
  releases: string;
  current: string;
  previous: string;
}

const STAGING_PREFIX = '.staging-';

/** The store's paths for a state dir. */
export function releasePaths(stateDir: string): ReleasePaths {
  return { stateDir, releases: join(stateDir, 'releases'), current: join(stateDir, 'current'), previous: join(stateDir, 'previous') };
}

/** The version a link (current/previous) points at, or undefined. */
export async function linkedVersion(host: Host, link: string): Promise<string | undefined> {
  const target = await host.fs.readlink(link);
  if (target === undefined) return undefined;
  const version = target.split('/').pop();
  return version !== undefined && semver.valid(version) !== null ? version : undefined;
}

/** Whether `releases/<version>` exists. */
export function hasRelease(host: Host, paths: ReleasePaths, version: string): Promise<boolean> {
  return host.fs.exists(join(paths.releases, version));
}

/** A fresh, empty staging dir for `version`. */
export async function createStaging(host: Host, paths: ReleasePaths, version: string): Promise<string> {
  const dir = join(paths.releases, `${STAGING_PREFIX}${version}-${host.randomToken(6)}`);
  await host.fs.mkdir(dir, 0o755);
  return dir;
}

/** Removes every staging leftover (from a crash or a failed fetch). */
export async function removeStaging(host: Host, paths: ReleasePaths): Promise<string[]> {
  const leftovers = (await host.fs.readdir(paths.releases)).filter((name) => name.startsWith(STAGING_PREFIX));
  for (const name of leftovers) await host.fs.rm(join(paths.releases, name));
  return leftovers;
}

/** Promotes a verified staging dir to `releases/<version>` (replacing a stale copy). */
export async function promoteStaging(host: Host, paths: ReleasePaths, staging: string, version: string): Promise<void> {
  const dest = join(paths.releases, version);
  if (await host.fs.exists(dest)) await host.fs.rm(dest);
  await host.fs.rename(staging, dest);
  await host.fs.fsyncDir(paths.releases);
}

/** Points `link` at `releases/<version>` atomically. */
export async function pointLink(host: Host, paths: ReleasePaths, link: string, version: string): Promise<void> {
  // A relative target keeps the store valid if the state dir is moved or bind-mounted elsewhere.
  const tmp = `${link}.tmp-${host.randomToken(6)}`;
  await host.fs.symlink(join('releases', version), tmp);
  try {
    await host.fs.rename(tmp, link);
  } catch (err) {
    await host.fs.rm(tmp);
    throw err;
  }
  await host.fs.fsyncDir(paths.stateDir);
}

/**
 * Switches `current` to `version`, keeping what it pointed to as `previous`.
 * Order matters: `previous` is written first, so a crash between the two
 * steps leaves both links on the old version, which is consistent.
 */
export async function switchCurrent(host: Host, paths: ReleasePaths, version: string): Promise<string | undefined> {
  const old = await linkedVersion(host, paths.current);
  if (old !== undefined && old !== version) await pointLink(host, paths, paths.previous, old);
  await pointLink(host, paths, paths.current, version);
  return old;
}

/**
 * Puts both links back as they were before a switch: `current` first (what
 * serves matters most), then `previous`, or no `previous` when there was none.
 */
export async function restoreLinks(host: Host, paths: ReleasePaths, current: string, previous: string | null): Promise<void> {
  await pointLink(host, paths, paths.current, current);
  if (previous !== null && (await hasRelease(host, paths, previous))) await pointLink(host, paths, paths.previous, previous);
  else await host.fs.rm(paths.previous);
}

/** Removes leftover temporary links from an interrupted switch. */
export async function removeTempLinks(host: Host, paths: ReleasePaths): Promise<void> {
  for (const name of await host.fs.readdir(paths.stateDir)) {
    if (/^(current|previous)\.tmp-/.test(name)) await host.fs.rm(join(paths.stateDir, name));
  }
}

/** Deletes `releases/<version>`. */
export function removeRelease(host: Host, paths: ReleasePaths, version: string): Promise<void> {
  return host.fs.rm(join(paths.releases, version));
}

/**
 * Keeps the `keep` newest releases, never removing what `current` or
 * `previous` point at. Returns the removed versions.
 */
export async function pruneReleases(host: Host, paths: ReleasePaths, keep: number): Promise<string[]> {
  const pinned = new Set([await linkedVersion(host, paths.current), await linkedVersion(host, paths.previous)]);
  const versions = (await host.fs.readdir(paths.releases)).filter((name) => semver.valid(name) !== null);
  const removable = semver.rsort(versions).slice(keep).filter((v) => !pinned.has(v));
  for (const version of removable) await removeRelease(host, paths, version);
  return removable;
}
