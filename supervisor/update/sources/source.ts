/**
 * The one small interface every update source implements, one file per
 * source (git.ts, http.ts, dir.ts), in the manner of overseer's fetchers.
 */
import { semver } from '../semver.ts';
import { OutlastError } from '../../errors.ts';
import type { Rollout } from '../rollout.ts';
import type { Untar } from '../gnu-tar.ts';

/** One release a source offers. */
export interface ReleaseEntry {
  /** Canonical semver (`1.2.3`, never `v1.2.3`). */
  version: string;
  /** Where the tarball is, as written in the manifest (http, dir). */
  url?: string;
  /** Lowercase hex sha256 of the tarball (http, dir). */
  sha256?: string;
  /** Exact size of the tarball in bytes (http, dir). */
  size?: number;
  /** base64 ed25519 signature, see signing.ts (http, dir). */
  signature?: string;
  /** The text of a `.minisig` over the tarball, see ../minisign.ts (http, dir). */
  minisig?: string;
  /** A staged rollout: only the devices in it take this version by themselves, see ../rollout.ts (http, dir). */
  rollout?: Rollout;
  /** The tag the version came from (git). */
  ref?: string;
  /** Set instead of `ref` when several tags name this version on different commits (git). */
  ambiguous?: Array<{ tag: string; commit: string }>;
}

/** What a fetch may use and report. */
export interface FetchContext {
  signal: AbortSignal;
  /** The largest release accepted, in bytes (the tarball, or the git tree). */
  maxBytes: number;
  /** The most a tarball may unpack to, in bytes (http, dir); unlimited when missing. */
  maxUnpackedBytes?: number;
  /** The most a download may take, retries and waits included, in ms (http); none when missing. */
  fetchTimeoutMs?: number;
  /** The least average download rate over `rateWindowMs`, in bytes/s (http); none when missing or 0. */
  minBytesPerSecond?: number;
  /** The window the rate is measured over; RATE_WINDOW_MS when missing. */
  rateWindowMs?: number;
  onProgress?: (done: number, total: number | undefined) => void;
  log?: (line: string) => void;
  /** GNU tar, when the Host has one: tarballs are then extracted through it (extract-gnu.ts). */
  untar?: Untar | undefined;
}

/** A place releases come from. */
export interface UpdateSource {
  readonly kind: 'git' | 'http' | 'dir' | 'bundled';
  /** Every release the source offers (versions as written, valid semver only; invalid tags ignored), lowest first. */
  list(signal: AbortSignal): Promise<ReleaseEntry[]>;
  /**
   * Materialises one release into `dest` (an empty staging dir that exists),
   * verified and extracted. Throws an OutlastError with the check's own code
   * (DIGEST_MISMATCH, SIGNATURE_INVALID, TOO_LARGE, ARCHIVE_INVALID) on any
   * integrity problem. An entry with only a version is looked up in `list` first.
   */
  fetch(entry: ReleaseEntry, dest: string, ctx: FetchContext): Promise<void>;
}

/**
 * The entry for `version`; VERSION_NOT_FOUND when the source does not offer
 * it, VERSION_AMBIGUOUS when tags on different commits name it. The updater
 * looks the entry up here before it takes the lock, so an ambiguous version
 * is refused before anything is staged.
 */
export function findRelease(entries: readonly ReleaseEntry[], version: string): ReleaseEntry {
  const found = entries.find((e) => e.version === version);
  if (found === undefined) {
    throw new OutlastError('VERSION_NOT_FOUND', `version ${version} is not offered by the update source`, { details: { version } });
  }
  if (found.ambiguous !== undefined) throw ambiguousVersion(version, found.ambiguous);
  return found;
}

/** The VERSION_AMBIGUOUS for a version that `tags` name on different commits. */
export function ambiguousVersion(version: string, tags: ReadonlyArray<{ tag: string; commit: string }>): OutlastError {
  const named = tags.map((t) => `"${t.tag}" (${t.commit.slice(0, 7)})`);
  const list = `${named.slice(0, -1).join(', ')} and ${named.at(-1) ?? ''}`;
  return new OutlastError('VERSION_AMBIGUOUS', `version ${version} is named by tags ${list} on different commits; delete or move all but one of them`, {
    details: { version, tags: tags.map((t) => ({ ...t })) },
  });
}

/** Sorts entries lowest version first. */
export function sortReleases(entries: ReleaseEntry[]): ReleaseEntry[] {
  return entries.sort((a, b) => semver.compare(a.version, b.version));
}

/** The TOO_LARGE thrown when a release is larger than allowed. */
export function oversize(version: string, limit: number, what = 'release'): OutlastError {
  return new OutlastError('TOO_LARGE', `${what} ${version} is oversize: more than ${limit} bytes`, {
    details: { version, reason: 'oversize', limit },
  });
}
