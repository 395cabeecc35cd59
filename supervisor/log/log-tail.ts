/**
 * Reading a rotated log file the way `tail -n N -F` does, through the Host:
 * the last N whole lines (taken from the rotated files too when the current
 * one has fewer), then, when following, every line appended from there on,
 * across rotations. A rotation is seen as a new inode at the path; the rest
 * of the old file is read where it now lives (`.1`, or further on after
 * several rotations between two polls) before the new one, so no line is
 * lost or printed twice.
 *
 * Positions are byte offsets and lines are cut at newline bytes, which never
 * occur inside a multi-byte UTF-8 character, so a read that ends mid-write
 * never garbles a character: the unfinished line waits for the next poll.
 */
import { basename, dirname, join } from 'node:path';
import type { HostClock, HostFs } from '../host/host.ts';
import { rotatedFiles } from './rotation.ts';

/** The file calls reading makes. */
export type TailFs = Pick<HostFs, 'lstat' | 'readdir' | 'openRead'>;

/** Where following goes on: the file, by inode, and the byte after the last whole line read. */
export interface TailPosition {
  ino: number;
  offset: number;
}

const NEWLINE = 0x0a;
/** How much of a file's end is read first to find its last lines; widened until enough are found. */
const FIRST_WINDOW = 64 * 1024;

/**
 * The last `n` lines of a run of files, given each file's lines, newest file
 * first and each file's lines oldest first; the answer is oldest first.
 */
export function lastLines(newestFirst: readonly (readonly string[])[], n: number): string[] {
  const picked: string[][] = [];
  let missing = n;
  for (const lines of newestFirst) {
    if (missing <= 0) break;
    const take = lines.slice(Math.max(0, lines.length - missing));
    picked.unshift(take);
    missing -= take.length;
  }
  return picked.flat();
}

/** The lines in `bytes`, each with its newline; a last line without one is kept only when `keepPartial`. */
export function splitLines(bytes: Uint8Array, keepPartial: boolean): { lines: string[]; end: number } {
  const lastNewline = bytes.lastIndexOf(NEWLINE);
  const end = keepPartial ? bytes.length : lastNewline + 1;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8');
  const lines = text === '' ? [] : text.split(/(?<=\n)/);
  if (keepPartial && lines.length > 0 && !lines[lines.length - 1]!.endsWith('\n')) lines[lines.length - 1] += '\n';
  return { lines, end };
}

async function readBytes(fs: TailFs, path: string, start: number, end: number): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  for await (const chunk of fs.openRead(path, { start, limit: end - start })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * The last `need` whole lines of the file's first `size` bytes, and where
 * its whole lines end. The window read from the end grows until it holds
 * enough lines or the whole file; the line it starts inside is not counted.
 */
async function tailOfFile(fs: TailFs, path: string, size: number, need: number, finished: boolean): Promise<{ lines: string[]; end: number }> {
  for (let window = FIRST_WINDOW; ; window *= 4) {
    const start = Math.max(0, size - window);
    const bytes = await readBytes(fs, path, start, size);
    const from = start === 0 ? 0 : bytes.indexOf(NEWLINE) + 1;
    if (from === 0 && start > 0) continue; // no line starts in this window: widen it
    const { lines, end } = splitLines(bytes.subarray(from), finished);
    if (lines.length >= need || start === 0) return { lines: lines.slice(lines.length - Math.min(need, lines.length)), end: start + from + end };
  }
}

/**
 * The rotated files written since the one with inode `ino`, oldest first:
 * that file (from where it now is) and those rotated after it. Empty when it
 * is gone (removed as too old, or by hand).
 */
async function rotatedSince(fs: TailFs, path: string, ino: number): Promise<Array<{ path: string; size: number }>> {
  const dir = dirname(path);
  const newestFirst: Array<{ path: string; size: number }> = [];
  for (const { name } of rotatedFiles(basename(path), await fs.readdir(dir))) {
    const facts = await fs.lstat(join(dir, name));
    if (facts === undefined) continue;
    newestFirst.push({ path: join(dir, name), size: facts.size });
    if (facts.ino === ino) return newestFirst.reverse();
  }
  return [];
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * The last `n` lines of `path` and of its rotated files before it, oldest
 * first, and the position following starts from (undefined when `path` is
 * missing). `found` is false when neither the file nor a rotated one exists.
 */
export async function readLastLines(fs: TailFs, path: string, n: number): Promise<{ lines: string[]; position: TailPosition | undefined; found: boolean }> {
  // A rotation while reading mixes two generations of files: read again.
  for (let attempt = 1; ; attempt++) {
    const read = await readLastLinesOnce(fs, path, n);
    if (attempt === 3 || (await fs.lstat(path))?.ino === read.position?.ino) return read;
  }
}

async function readLastLinesOnce(fs: TailFs, path: string, n: number): Promise<{ lines: string[]; position: TailPosition | undefined; found: boolean }> {
  const current = await fs.lstat(path);
  const groups: string[][] = [];
  let position: TailPosition | undefined;
  let have = 0;
  if (current !== undefined) {
    const tail = await tailOfFile(fs, path, current.size, n, false);
    groups.push(tail.lines);
    have += tail.lines.length;
    position = { ino: current.ino, offset: tail.end };
  }
  const rotated = rotatedFiles(basename(path), await fs.readdir(dirname(path)));
  for (const { name } of rotated) {
    if (have >= n) break;
    const file = join(dirname(path), name);
    try {
      const facts = await fs.lstat(file);
      if (facts === undefined) continue;
      const tail = await tailOfFile(fs, file, facts.size, n - have, true);
      groups.push(tail.lines);
      have += tail.lines.length;
    } catch (err) {
      // Rotated away (removed as too old) while we read: it is simply not there.
      if (!isMissing(err)) throw err;
    }
  }
  return { lines: lastLines(groups, n), position, found: current !== undefined || rotated.length > 0 };
}

/** What {@link followFile} needs. */
export interface FollowOptions {
  fs: TailFs;
  clock: Pick<HostClock, 'sleep'>;
  /** Gets the text of the new whole lines, in order. */
  emit: (text: string) => void;
  /** Ends following. */
  signal: AbortSignal;
  pollMs: number;
}

/**
 * Prints what is appended to `path` from `from` on until `signal` aborts,
 * following it across rotations and waiting for it when it is missing.
 */
export async function followFile(path: string, from: TailPosition | undefined, options: FollowOptions): Promise<void> {
  const { fs, clock, emit, signal, pollMs } = options;
  let position = from;
  while (!signal.aborted) {
    const current = await fs.lstat(path);
    if (position !== undefined && current?.ino !== position.ino) {
      // Rotated (or removed): the rest of the old file first, from where it is
      // now, then whole any files rotated after it between two polls.
      let from = position.offset;
      for (const old of await rotatedSince(fs, path, position.ino)) {
        const rest = splitLines(await readBytes(fs, old.path, from, old.size).catch(() => Buffer.alloc(0)), true);
        if (rest.lines.length > 0) emit(rest.lines.join(''));
        from = 0;
      }
      position = undefined;
    }
    if (current !== undefined) {
      position ??= { ino: current.ino, offset: 0 };
      // Shorter than what we read: truncated in place, so it starts over.
      if (current.size < position.offset) position.offset = 0;
      if (current.size > position.offset) {
        // Rotated away since the lstat: the next round reads it where it went.
        const bytes = await readBytes(fs, path, position.offset, current.size).catch((err: unknown) => {
          if (isMissing(err)) return Buffer.alloc(0);
          throw err;
        });
        // Rotated between the lstat and the read: what was read may be the new
        // file's start. Dropped; the next round reads both files by inode.
        if ((await fs.lstat(path))?.ino !== position.ino) continue;
        const fresh = splitLines(bytes, false);
        if (fresh.lines.length > 0) emit(fresh.lines.join(''));
        position.offset += fresh.end;
      }
    }
    try {
      await clock.sleep(pollMs, signal);
    } catch {
      return;
    }
  }
}
