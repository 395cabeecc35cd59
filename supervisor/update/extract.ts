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
import type { ReadEntry } from 'tar';
import { OutlastError, toOutlastError } from '../errors.ts';
import { findEscape, isAbsoluteAnywhere, splitPath } from './contained-paths.ts';
import { feed, tarParser, unpackedTooLarge, writeEntries, type ExtractFs, type PlannedEntry } from './extract-write.ts';

export type { ExtractFs } from './extract-write.ts';

/** Options for {@link extractSafely}. */
export interface ExtractOptions {
  /**
   * Refuse, with TOO_LARGE, a tarball whose plain tar stream (headers
   * included) or whose files add up to more than this: a decompression bomb,
   * or a release that would fill the disk.
   */
  maxUnpackedBytes?: number | undefined;
}

/** Longer than this, a name component cannot be created on Linux file systems. */
const MAX_NAME_BYTES = 255;
/** Longer than this (PATH_MAX less room for the staging dir), a path is refused. */
const MAX_PATH_BYTES = 3072;


function invalid(entry: string, reason: string): OutlastError {
  return new OutlastError('ARCHIVE_INVALID', `entry "${shortName(entry)}" in release tarball cannot be extracted: ${reason}`, {
    details: { entry: shortName(entry), reason },
  });
}

function checkLength(entry: string, path: string, parts: readonly string[]): void {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_PATH_BYTES) throw invalid(entry, `its path is ${bytes} bytes, more than ${MAX_PATH_BYTES}`);
  const long = parts.find((part) => Buffer.byteLength(part) > MAX_NAME_BYTES);
  if (long !== undefined) throw invalid(entry, `a name component is ${Buffer.byteLength(long)} bytes, more than ${MAX_NAME_BYTES}`);
}

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/** An entry name short enough for a message: the start, and how long it was. */
function shortName(raw: string): string {
  return raw.length <= 120 ? raw : `${raw.slice(0, 60)}…(${raw.length} characters)`;
}

function unsafe(entry: string, reason: string): OutlastError {
  return new OutlastError('ARCHIVE_INVALID', `unsafe entry "${shortName(entry)}" in release tarball: ${reason}`, { details: { entry: shortName(entry), reason } });
}

function checkPath(entry: string, path: string, what: string): string[] {
  if (isAbsoluteAnywhere(path)) throw unsafe(entry, `absolute ${what} "${path}"`);
  const parts = splitPath(path);
  if (parts.includes('..')) throw unsafe(entry, `${what} "${path}" contains ".."`);
  checkLength(entry, path, parts);
  return parts;
}

function checkEntry(raw: string, type: string, linkpath: string | undefined, size: number): PlannedEntry {
  if (!ALLOWED_TYPES.has(type)) throw unsafe(raw, `${type} entries are not allowed`);
  const parts = checkPath(raw, raw, 'path');
  if (parts.length === 0 && type !== 'Directory') throw unsafe(raw, `a ${type} entry at the release root`);
  if (type === 'SymbolicLink' && !linkpath) throw unsafe(raw, 'symlink without a target');
  const entry: PlannedEntry = { raw, type, linkpath, size, parts };
  if (type === 'Link') entry.linkParts = checkPath(raw, linkpath ?? '', 'hardlink target');
  return entry;
}

/** The one top-level directory to strip, if the tarball has exactly one and nothing beside it. */
function topLevelDir(entries: readonly PlannedEntry[]): string | undefined {
  const tops = new Set(entries.flatMap((e) => e.parts.slice(0, 1)));
  const [top] = tops;
  if (tops.size !== 1 || top === undefined) return undefined;
  const isDir = entries.every((e) => e.parts.length !== 1 || e.type === 'Directory');
  return isDir ? top : undefined;
}

function strip(entries: PlannedEntry[], top: string): void {
  for (const entry of entries) {
    entry.parts = entry.parts.slice(1);
    if (entry.linkParts === undefined) continue;
    if (entry.linkParts[0] !== top) throw unsafe(entry.raw, `hardlink target "${entry.linkpath}" is outside the release`);
    entry.linkParts = entry.linkParts.slice(1);
  }
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

/**
 * The symlink and hardlink maps of the release. A path declared twice where
 * one declaration is a symlink is refused: files extracted between the two
 * would land wherever the first link pointed, which the final map no longer
 * shows. A hardlink must point at a file the tarball has already written.
 */
function collectLinks(entries: readonly PlannedEntry[]): { symlinks: Map<string, string>; hardlinks: Map<string, string> } {
  const symlinks = new Map<string, string>();
  const hardlinks = new Map<string, string>();
  const declared = new Map<string, string>();
  for (const e of entries) {
    const path = e.parts.join('/');
    const before = declared.get(path);
    if (before !== undefined && (before === 'SymbolicLink' || e.type === 'SymbolicLink')) throw unsafe(e.raw, 'a symlink declared twice');
    if (e.type === 'SymbolicLink' && e.linkpath !== undefined) symlinks.set(path, e.linkpath);
    if (e.linkParts !== undefined) {
      const target = e.linkParts.join('/');
      // Writing it would first remove the file it links to.
      if (target === path) throw invalid(e.raw, 'a hardlink to itself');
      const kind = declared.get(target);
      if (kind === undefined || kind === 'Directory') throw unsafe(e.raw, `hardlink to "${e.linkpath}", which is not a file of the release`);
      hardlinks.set(path, target);
    }
    declared.set(path, e.type);
  }
  return { symlinks, hardlinks };
}

/** Pass one: read every header, check each entry and the links between them. */
async function plan(fs: ExtractFs, tarball: string, options: ExtractOptions): Promise<PlannedEntry[]> {
  const seen: { raw: string; type: string; linkpath: string | undefined; size: number }[] = [];
  const parser = tarParser({ strict: true });
  parser.on('entry', (e: ReadEntry) => {
    seen.push({ raw: e.path, type: e.type, linkpath: e.linkpath, size: e.size });
    e.resume();
  });
  await feed(fs, tarball, parser, [], { maxTarBytes: options.maxUnpackedBytes });
  const entries = seen.map((e) => checkEntry(e.raw, e.type, e.linkpath, e.size));
  const top = topLevelDir(entries);
  if (top !== undefined) strip(entries, top);
  const total = entries.reduce((sum, e) => sum + e.size, 0);
  if (options.maxUnpackedBytes !== undefined && total > options.maxUnpackedBytes) throw unpackedTooLarge(options.maxUnpackedBytes, `its files declare ${total} bytes,`);
  const { symlinks, hardlinks } = collectLinks(entries);
  const escape = findEscape(symlinks, hardlinks, entries.map((e) => e.parts.join('/')));
  if (escape !== undefined) {
    const entry = entries.find((e) => e.parts.join('/') === escape[0]);
    throw unsafe(entry?.raw ?? escape[0], escape[1]);
  }
  return entries;
}

/** Removes everything inside `dir`, leaving `dir` itself. */
export async function emptyDir(fs: Pick<ExtractFs, 'readdir' | 'rm'>, dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => []);
  await Promise.all(names.map((name) => fs.rm(join(dir, name))));
}

/**
 * Extracts `tarball` into `dest`, an existing empty directory. Throws
 * ARCHIVE_INVALID, naming the entry, for anything unsafe or unreadable,
 * ARCHIVE_INVALID for an entry that cannot be written as named, TOO_LARGE past
 * `maxUnpackedBytes`; on any failure `dest` is emptied again.
 */
export async function extractSafely(fs: ExtractFs, tarball: string, dest: string, options: ExtractOptions = {}): Promise<void> {
  try {
    const entries = await plan(fs, tarball, options);
    const limits = { maxTarBytes: options.maxUnpackedBytes, maxUnpackedBytes: options.maxUnpackedBytes };
    await writeEntries(fs, tarball, dest, entries, (entry) => unsafe(entry, 'the tarball changed while it was being extracted'), limits);
  } catch (err) {
    await emptyDir(fs, dest);
    throw unreadable(err);
  }
}
