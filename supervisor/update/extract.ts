/**
 * Safe extraction of a release tarball (tar or tar.gz) into a staging dir.
 *
 * It takes two passes over the file. The first lists every entry and rejects
 * the whole tarball, before anything is written, for a `..` component, an
 * absolute path, a device, fifo or other special entry, a symlink or hardlink
 * that resolves outside the release, or a file placed below such a link. The
 * second extracts, and each entry must match what the first pass checked.
 *
 * Top-level folder: when every entry lives under one single top-level
 * directory (npm's `package/`, GitHub's `repo-v1.2.3/`), that directory is
 * stripped and its contents become the release root. A tarball with files or
 * several folders at the top is extracted as it is. A release whose content
 * is itself a single directory must be packed under a wrapper folder, as
 * `outlast pack` does with `package/`.
 *
 * All file access goes through the Host's file capability ({@link ExtractFs}):
 * node-tar only parses the bytes it is fed.
 */
import { join } from 'node:path';
import { OutlastError, toOutlastError } from '../errors.ts';
import { EntryChecker, unsafe } from './extract-check.ts';
import { extractWithTar } from './extract-gnu.ts';
import type { Untar } from './gnu-tar.ts';
import { feed, judgingParser, writeEntries, type ExtractFs, type PlannedEntry } from './extract-write.ts';

export type { ExtractFs } from './extract-write.ts';

/** Options for {@link extractSafely}. */
export interface ExtractOptions {
  /**
   * Refuse, with TOO_LARGE, a tarball whose plain tar stream (headers
   * included) or whose files add up to more than this: a decompression bomb,
   * or a release that would fill the disk.
   */
  maxUnpackedBytes?: number | undefined;
  /** GNU tar to write the files (extract-gnu.ts); the Node extractor when missing. */
  untar?: Untar | undefined;
}

function isTarError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(TAR_|Z_)/.test(code);
}

function unreadable(err: unknown): OutlastError {
  if (err instanceof OutlastError) return err;
  if (!isTarError(err)) return toOutlastError(err);
  const message = err instanceof Error ? err.message : String(err);
  return new OutlastError('ARCHIVE_INVALID', `release tarball is not a readable tar archive: ${message}`, { cause: err });
}

/** Pass one: read every header, check each entry and then the whole release. */
async function plan(fs: ExtractFs, tarball: string, options: ExtractOptions): Promise<PlannedEntry[]> {
  const checker = new EntryChecker(options.maxUnpackedBytes);
  const { parser, failure } = judgingParser(checker);
  await feed(fs, tarball, parser, [], { maxTarBytes: options.maxUnpackedBytes });
  const refused = failure();
  if (refused !== undefined) throw refused;
  return checker.finish().entries;
}

/** Removes everything inside `dir`, leaving `dir` itself. */
export async function emptyDir(fs: Pick<ExtractFs, 'readdir' | 'rm'>, dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => []);
  await Promise.all(names.map((name) => fs.rm(join(dir, name))));
}

/**
 * Extracts a tarball's bytes, as they arrive, into `dest` (an existing empty
 * directory) through `untar`, with {@link extractSafely}'s checks and
 * errors; on any failure `dest` is emptied again. The bytes are not yet
 * proven: the caller checks size, signature and digest once they have all
 * passed, and empties `dest` when they do not match.
 */
export async function extractStreamSafely(fs: ExtractFs, bytes: AsyncIterable<Uint8Array>, dest: string, untar: Untar, maxUnpackedBytes: number | undefined): Promise<void> {
  try {
    await extractWithTar(fs, untar, bytes, dest, maxUnpackedBytes);
  } catch (err) {
    await emptyDir(fs, dest);
    throw unreadable(err);
  }
}

/**
 * Extracts `tarball` into `dest`, an existing empty directory. Throws
 * ARCHIVE_INVALID, naming the entry, for anything unsafe or unreadable,
 * ARCHIVE_INVALID for an entry that cannot be written as named, TOO_LARGE past
 * `maxUnpackedBytes`; on any failure `dest` is emptied again.
 */
export async function extractSafely(fs: ExtractFs, tarball: string, dest: string, options: ExtractOptions = {}): Promise<void> {
  try {
    if (options.untar !== undefined) return await extractWithTar(fs, options.untar, tarball, dest, options.maxUnpackedBytes);
    const entries = await plan(fs, tarball, options);
    const limits = { maxTarBytes: options.maxUnpackedBytes, maxUnpackedBytes: options.maxUnpackedBytes };
    await writeEntries(fs, tarball, dest, entries, (entry) => unsafe(entry, 'the tarball changed while it was being extracted'), limits);
  } catch (err) {
    await emptyDir(fs, dest);
    throw unreadable(err);
  }
}
