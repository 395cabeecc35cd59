/**
 * The one small interface every update source implements, one file per
 * source (git.ts, http.ts, dir.ts), in the manner of overseer's fetchers.
 */
import semver from 'semver';
import { OutlastError } from '../../errors.ts';

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
  /** The tag the version came from (git). */
  ref?: string;
}

/** What a fetch may use and report. */
export interface FetchContext {
  signal: AbortSignal;
  /** The largest release accepted, in bytes (the tarball, or the git tree). */
  maxBytes: number;
  /** The most a tarball may unpack to, in bytes (http, dir); unlimited when missing. */
  maxUnpackedBytes?: number;
  onProgress?: (done: number, total: number | undefined) => void;
  log?: (line: string) => void;
}

/** A place releases come from. */
export interface UpdateSource {
  readonly kind: 'git' | 'http' | 'dir';
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

/** The entry for `version`; VERSION_NOT_FOUND when the source does not offer it. */
export function findRelease(entries: readonly ReleaseEntry[], version: string): ReleaseEntry {
  const found = entries.find((e) => e.version === version);
  if (found === undefined) {
    throw new OutlastError('VERSION_NOT_FOUND', `version ${version} is not offered by the update source`, { details: { version } });
  }
  return found;
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
