/**
 * The rules a release tarball's entries must pass, entry by entry as they are
 * read ({@link EntryChecker.add}) and over the whole list at the end
 * ({@link EntryChecker.finish}): no `..` component, no absolute path, no
 * device, fifo or other special entry, no symlink or hardlink that resolves
 * outside the release, no file placed below such a link, no path or name too
 * long to create, and no more declared bytes than the limit.
 *
 * The per-entry checks hold for every prefix of the tarball, against the
 * paths as written (before the top-level folder is stripped): an extractor
 * that hands an entry on only after `add` accepted it never writes outside
 * the dir it extracts into, whatever comes later. `finish` then checks the
 * complete release as it will be laid out, the same as before any streaming.
 */
import { posix } from 'node:path';
import { findEscape, isAbsoluteAnywhere, resolveInside, splitPath } from './contained-paths.ts';
import { OutlastError } from '../errors.ts';
import { unpackedTooLarge, type PlannedEntry } from './extract-write.ts';

/** Longer than this, a name component cannot be created on Linux file systems. */
const MAX_NAME_BYTES = 255;
/** Longer than this (PATH_MAX less room for the staging dir), a path is refused. */
const MAX_PATH_BYTES = 3072;

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/** An entry name short enough for a message: the start, and how long it was. */
function shortName(raw: string): string {
  return raw.length <= 120 ? raw : `${raw.slice(0, 60)}…(${raw.length} characters)`;
}

/** ARCHIVE_INVALID for an entry that cannot be created as named. */
export function invalid(entry: string, reason: string): OutlastError {
  return new OutlastError('ARCHIVE_INVALID', `entry "${shortName(entry)}" in release tarball cannot be extracted: ${reason}`, {
    details: { entry: shortName(entry), reason },
  });
}

/** ARCHIVE_INVALID for an entry that would reach outside the release or is not allowed. */
export function unsafe(entry: string, reason: string): OutlastError {
  return new OutlastError('ARCHIVE_INVALID', `unsafe entry "${shortName(entry)}" in release tarball: ${reason}`, { details: { entry: shortName(entry), reason } });
}

function checkLength(entry: string, path: string, parts: readonly string[]): void {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_PATH_BYTES) throw invalid(entry, `its path is ${bytes} bytes, more than ${MAX_PATH_BYTES}`);
  const long = parts.find((part) => Buffer.byteLength(part) > MAX_NAME_BYTES);
  if (long !== undefined) throw invalid(entry, `a name component is ${Buffer.byteLength(long)} bytes, more than ${MAX_NAME_BYTES}`);
}

function checkPath(entry: string, path: string, what: string): string[] {
  if (isAbsoluteAnywhere(path)) throw unsafe(entry, `absolute ${what} "${path}"`);
  const parts = splitPath(path);
  if (parts.includes('..')) throw unsafe(entry, `${what} "${path}" contains ".."`);
  checkLength(entry, path, parts);
  return parts;
}

function checkEntry(raw: string, type: string, linkpath: string | undefined, size: number, mode: number | undefined): PlannedEntry {
  if (!ALLOWED_TYPES.has(type)) throw unsafe(raw, `${type} entries are not allowed`);
  const parts = checkPath(raw, raw, 'path');
  if (parts.length === 0 && type !== 'Directory') throw unsafe(raw, `a ${type} entry at the release root`);
  if (type === 'SymbolicLink' && !linkpath) throw unsafe(raw, 'symlink without a target');
  const entry: PlannedEntry = { raw, type, linkpath, size, parts, mode };
  if (type === 'Link') entry.linkParts = checkPath(raw, linkpath ?? '', 'hardlink target');
  return entry;
}

/** The one top-level directory to strip, if the tarball has exactly one and nothing beside it. */
export function topLevelDir(entries: readonly PlannedEntry[]): string | undefined {
  const tops = new Set(entries.flatMap((e) => e.parts.slice(0, 1)));
  const [top] = tops;
  if (tops.size !== 1 || top === undefined) return undefined;
  const isDir = entries.every((e) => e.parts.length !== 1 || e.type === 'Directory');
  return isDir ? top : undefined;
}

/** The entries as laid out with `top` stripped (copies; the originals keep the paths as written). */
function strip(entries: readonly PlannedEntry[], top: string): PlannedEntry[] {
  return entries.map((entry) => {
    const stripped: PlannedEntry = { ...entry, parts: entry.parts.slice(1) };
    if (entry.linkParts === undefined) return stripped;
    if (entry.linkParts[0] !== top) throw unsafe(entry.raw, `hardlink target "${entry.linkpath}" is outside the release`);
    stripped.linkParts = entry.linkParts.slice(1);
    return stripped;
  });
}

/** The symlink and hardlink maps, and the kind each path was last declared as. */
interface Links {
  symlinks: Map<string, string>;
  hardlinks: Map<string, string>;
  declared: Map<string, string>;
}

/**
 * Adds `e` to the link maps. A path declared twice where one declaration is
 * a symlink is refused: files extracted between the two would land wherever
 * the first link pointed, which the final map no longer shows. A hardlink
 * must point at a file the tarball has already written.
 */
function addLinks(links: Links, e: PlannedEntry): void {
  const path = e.parts.join('/');
  const before = links.declared.get(path);
  if (before !== undefined && (before === 'SymbolicLink' || e.type === 'SymbolicLink')) throw unsafe(e.raw, 'a symlink declared twice');
  if (e.type === 'SymbolicLink' && e.linkpath !== undefined) links.symlinks.set(path, e.linkpath);
  if (e.linkParts !== undefined) {
    const target = e.linkParts.join('/');
    // Writing it would first remove the file it links to.
    if (target === path) throw invalid(e.raw, 'a hardlink to itself');
    const kind = links.declared.get(target);
    if (kind === undefined || kind === 'Directory') throw unsafe(e.raw, `hardlink to "${e.linkpath}", which is not a file of the release`);
    links.hardlinks.set(path, target);
  }
  links.declared.set(path, e.type);
}

function newLinks(): Links {
  return { symlinks: new Map(), hardlinks: new Map(), declared: new Map() };
}

function throwEscape(entries: readonly PlannedEntry[], escape: [string, string] | undefined): void {
  if (escape === undefined) return;
  const entry = entries.find((e) => e.parts.join('/') === escape[0]);
  throw unsafe(entry?.raw ?? escape[0], escape[1]);
}

/** findEscape's answer for one entry that is not a symlink, against the links so far. */
function ownEscape(symlinks: ReadonlyMap<string, string>, entry: PlannedEntry, path: string): [string, string] | undefined {
  if (entry.linkParts !== undefined) {
    const target = entry.linkParts.join('/');
    const result = resolveInside(symlinks, [], target);
    if (!result.ok) return [path, `hardlink to "${target}" ${result.reason}`];
  }
  const result = resolveInside(symlinks, [], posix.dirname(path));
  return result.ok ? undefined : [path, `its directory ${result.reason}`];
}

/** Checks entries one by one as a tarball is read, then the whole release. */
export class EntryChecker {
  readonly entries: PlannedEntry[] = [];
  #declaredBytes = 0;
  #links = newLinks();

  readonly maxUnpackedBytes: number | undefined;

  constructor(maxUnpackedBytes: number | undefined) {
    this.maxUnpackedBytes = maxUnpackedBytes;
  }

  /**
   * Checks one entry against itself and everything before it; throws
   * ARCHIVE_INVALID (or TOO_LARGE) naming it. Once this returns, writing the
   * entry (paths as written, under the dir extracted into) stays inside it.
   */
  add(raw: string, type: string, linkpath: string | undefined, size: number, mode?: number): PlannedEntry {
    const entry = checkEntry(raw, type, linkpath, size, mode);
    this.#declaredBytes += entry.size;
    if (this.maxUnpackedBytes !== undefined && this.#declaredBytes > this.maxUnpackedBytes) throw unpackedTooLarge(this.maxUnpackedBytes, `its files declare ${this.#declaredBytes} bytes,`);
    const path = entry.parts.join('/');
    addLinks(this.#links, entry);
    this.entries.push(entry);
    const { symlinks, hardlinks } = this.#links;
    // A new symlink can change where earlier links lead (`a -> b/..`, then
    // `b -> .`): every link is checked again. Any other entry adds at most
    // its own hardlink and directory.
    if (type === 'SymbolicLink') throwEscape(this.entries, findEscape(symlinks, hardlinks, [path]));
    else throwEscape(this.entries, ownEscape(symlinks, entry, path));
    return entry;
  }

  /**
   * The whole release, checked as it will be laid out: the single top-level
   * folder (if any) stripped, then every link and directory resolved.
   * Returns the entries with their final paths, and the folder stripped.
   */
  finish(): { entries: PlannedEntry[]; top: string | undefined } {
    const top = topLevelDir(this.entries);
    const entries = top === undefined ? this.entries : strip(this.entries, top);
    const links = newLinks();
    for (const e of entries) addLinks(links, e);
    throwEscape(entries, findEscape(links.symlinks, links.hardlinks, entries.map((e) => e.parts.join('/'))));
    return { entries, top };
  }
}
