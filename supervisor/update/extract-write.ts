/**
 * The byte side of extract.ts: feeding a tarball from the Host into node-tar's
 * parser, and pass two, which writes the planned entries through the Host's
 * file capability (node-tar parses; it never touches the disk itself).
 */
import { join } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
// The parser's own module: tar's index bundles create, list, update and
// unpack too, about 1 MB more resident in a pipeline that stays loaded.
import { Parser } from 'tar/parse';
import type { ReadEntry } from 'tar/read-entry';
import { OutlastError } from '../errors.ts';
import type { HostFs, WritableFile } from '../host/host.ts';

/**
 * What extraction needs of the Host: read the tarball, create files,
 * directories and links, set mtimes, list and move what tar
 * wrote, and empty the staging dir again.
 */
export type ExtractFs = Pick<HostFs, 'openRead' | 'createFile' | 'mkdir' | 'symlink' | 'link' | 'setMtime' | 'rm' | 'readdir' | 'readdirKinds' | 'rename'>;

/** One entry as pass one checked it, with its path relative to the release root. */
export interface PlannedEntry {
  raw: string;
  type: string;
  linkpath: string | undefined;
  size: number;
  parts: string[];
  /** The permission bits as written in the header. */
  mode?: number | undefined;
  /** For a hardlink: the target, relative to the release root. */
  linkParts?: string[];
}

/** A step of pass two; they run strictly one after the other. */
type Step = () => Promise<void>;

/** Limits applied while a tarball is read. */
export interface FeedLimits {
  /** The most bytes of plain tar (after gunzip) accepted; one more is TOO_LARGE. */
  maxTarBytes?: number | undefined;
}

/** The TOO_LARGE thrown when a release unpacks to more than `limit` bytes. */
export function unpackedTooLarge(limit: number, what: string): OutlastError {
  return new OutlastError('TOO_LARGE', `release tarball is too large: ${what} more than ${limit} bytes (updates.maxUnpackedBytes)`, {
    details: { reason: 'unpacked-size', limit },
  });
}

/** A parser fed only plain tar: decompression happens in {@link plainTar}, never inside node-tar. */
export function tarParser(options: ConstructorParameters<typeof Parser>[0] = {}): Parser {
  return new Parser({ ...options, brotli: false, zstd: false });
}

/** What judges each entry as the parser meets it (extract-check.ts's EntryChecker). */
export interface EntryJudge {
  add(path: string, type: string, linkpath: string | undefined, size: number, mode: number | undefined): void;
}

/**
 * A strict parser whose entries go to `judge` as they are read. The first
 * refusal is kept (a throw inside the parser's event would be lost) and
 * read with `failure()`; `fail` records one from elsewhere (the parser's
 * own error), the first kept.
 */
export function judgingParser(judge: EntryJudge): { parser: Parser; failure: () => Error | undefined; fail: (err: Error) => void } {
  let failure: Error | undefined;
  const parser = tarParser({ strict: true });
  parser.on('entry', (e: ReadEntry) => {
    try {
      if (failure === undefined) judge.add(e.path, e.type, e.linkpath, e.size, e.mode);
    } catch (err) {
      failure = err as Error;
    }
    e.resume();
  });
  return { parser, failure: () => failure, fail: (err) => void (failure ??= err) };
}

/**
 * The tarball as plain tar. A gzip stream is inflated by zlib's asynchronous
 * stream (on the thread pool, in 16 KiB chunks), never by node-tar's
 * synchronous inflate: a decompression bomb inflated synchronously holds the
 * event loop, and with it /health and the control API, for as long as it runs.
 * A tar that is itself compressed again is refused, so nothing downstream
 * inflates synchronously either.
 */
export function plainTar(fs: Pick<HostFs, 'openRead'>, tarball: string): AsyncGenerator<Uint8Array> {
  return plainTarOf(fs.openRead(tarball));
}

/** {@link plainTar} of a tarball's bytes as they arrive (a download, read once). */
export async function* plainTarOf(bytes: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const raw = bytes[Symbol.asyncIterator]();
  const first = await raw.next();
  if (first.done === true) return;
  const head = first.value;
  const source = (async function* () {
    yield head;
    for (let next = await raw.next(); next.done !== true; next = await raw.next()) yield next.value;
  })();
  if (!isGzip(head)) {
    yield* source;
    return;
  }
  // pipeline destroys both ends when we stop early (a limit hit), closing the file.
  const gunzip = pipeline(Readable.from(source, { objectMode: false }), createGunzip(), () => undefined);
  let start = true;
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    if (start && isGzip(chunk)) {
      gunzip.destroy();
      throw new OutlastError('ARCHIVE_INVALID', 'release tarball is compressed twice; only one gzip layer is accepted', { details: { reason: 'nested-compression' } });
    }
    start = false;
    yield chunk;
  }
}

function isGzip(chunk: Uint8Array): boolean {
  return chunk[0] === 0x1f && chunk[1] === 0x8b;
}

/**
 * Streams `tarball` into `parser` as plain tar. After each chunk the steps its
 * entries queued run to the end before the next chunk is read, so writes keep
 * the tarball's order and at most one chunk's worth of data waits in memory.
 * Fails with TOO_LARGE on the first chunk that takes the plain tar past
 * `limits.maxTarBytes`. Rejects with the parser's error (strict mode) or the
 * first failed step.
 */
export async function feed(fs: Pick<HostFs, 'openRead'>, tarball: string, parser: Parser, steps: Step[] = [], limits: FeedLimits = {}): Promise<void> {
  let failure: Error | undefined;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  parser.on('error', (err: Error) => {
    failure ??= err;
    done();
  });
  parser.on('end', () => done());
  parser.on('close', () => done());
  const drain = async (): Promise<void> => {
    for (let step = steps.shift(); step !== undefined; step = steps.shift()) await step();
  };
  let bytes = 0;
  for await (const chunk of plainTar(fs, tarball)) {
    bytes += chunk.byteLength;
    if (limits.maxTarBytes !== undefined && bytes > limits.maxTarBytes) throw unpackedTooLarge(limits.maxTarBytes, 'its tar stream is');
    parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (failure !== undefined) throw failure;
    await drain();
  }
  parser.end();
  await finished;
  if (failure !== undefined) throw failure;
  await drain();
}

/** Limits of pass two. */
export interface WriteLimits extends FeedLimits {
  /** The most file bytes written in all; one more is TOO_LARGE. */
  maxUnpackedBytes?: number | undefined;
}

/**
 * A file-system failure while writing `entry`, naming the entry and not the
 * staging path (which is the machine's business, not the archive's).
 */
function writeFailed(entry: PlannedEntry, err: unknown): Error {
  if (err instanceof OutlastError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  // Out of space and permissions are the machine's state, not the archive's: passed on for the caller to map.
  if (code === 'ENOSPC' || code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code === 'EDQUOT') return err as Error;
  const reason = typeof code === 'string' ? code : 'write failed';
  return new OutlastError('ARCHIVE_INVALID', `entry "${entry.raw}" in release tarball cannot be extracted (${reason})`, {
    details: { entry: entry.raw, reason },
    cause: err,
  });
}

/**
 * Pass two: writes exactly the planned entries under `dest` (an empty
 * directory), each under its checked path, with no setuid, setgid or sticky
 * bit and no owner from the archive. Throws the first failure; a tarball
 * that no longer matches the plan fails with `changed`.
 */
export async function writeEntries(
  fs: ExtractFs,
  tarball: string,
  dest: string,
  entries: readonly PlannedEntry[],
  changed: (entry: string) => Error,
  limits: WriteLimits = {},
): Promise<void> {
  let index = 0;
  let unpacked = 0;
  let failure: Error | undefined;
  const steps: Step[] = [];
  // Relative paths written so far: dest starts empty, so nothing else is there.
  const dirs = new Set<string>(['']);
  const written = new Set<string>();
  let open: WritableFile | undefined;

  const parentOf = async (parts: readonly string[]): Promise<void> => {
    const parent = parts.slice(0, -1).join('/');
    if (dirs.has(parent)) return;
    await fs.mkdir(join(dest, parent));
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  };
  // A path declared twice: the later entry replaces the earlier one (a hardlink
  // made to it keeps the old content), as tar does.
  const clear = async (path: string, target: string): Promise<void> => {
    if (written.has(path) && !dirs.has(path)) await fs.rm(target);
    written.add(path);
  };

  const push = (planned: PlannedEntry, step: Step): void => {
    steps.push(() => step().catch((err: unknown) => Promise.reject(writeFailed(planned, err))));
  };

  const parser = tarParser({
    strict: false,
    onwarn: (code, message, data) => {
      if (code !== 'TAR_ENTRY_INFO') failure ??= Object.assign(new Error(`${code}: ${message}`), { code: data.code ?? code, cause: data });
    },
  });
  parser.on('entry', (entry: ReadEntry) => {
    const planned = entries[index++];
    if (planned?.raw !== entry.path || planned.type !== entry.type || planned.linkpath !== entry.linkpath) {
      failure ??= changed(entry.path);
      entry.resume();
      return;
    }
    const path = planned.parts.join('/');
    const target = join(dest, ...planned.parts);
    const mtimeMs = entry.mtime?.getTime();
    if (planned.parts.length === 0 || failure !== undefined) {
      entry.resume(); // the root itself keeps dest's own mode
      return;
    }
    if (planned.type === 'Directory') {
      entry.resume();
      push(planned, async () => {
        await parentOf(planned.parts);
        await fs.mkdir(target, (entry.mode ?? 0o777) & 0o777);
        dirs.add(path);
        written.add(path);
        if (mtimeMs !== undefined) await fs.setMtime(target, mtimeMs);
      });
    } else if (planned.type === 'SymbolicLink' || planned.type === 'Link') {
      entry.resume();
      push(planned, async () => {
        await parentOf(planned.parts);
        await clear(path, target);
        if (planned.linkParts === undefined) await fs.symlink(planned.linkpath ?? '', target);
        else await fs.link(join(dest, ...planned.linkParts), target);
      });
    } else {
      push(planned, async () => {
        await parentOf(planned.parts);
        await clear(path, target);
        open = await fs.createFile(target, (entry.mode ?? 0o666) & 0o777);
      });
      // Counted as written, so the limit holds whatever the headers declared.
      entry.on('data', (chunk: Buffer) =>
        push(planned, () => {
          unpacked += chunk.byteLength;
          if (limits.maxUnpackedBytes !== undefined && unpacked > limits.maxUnpackedBytes) {
            return Promise.reject(unpackedTooLarge(limits.maxUnpackedBytes, 'its files add up to'));
          }
          return open!.write(chunk);
        }),
      );
      entry.on('end', () =>
        push(planned, async () => {
          const file = open!;
          open = undefined;
          await file.close();
          if (mtimeMs !== undefined) await fs.setMtime(target, mtimeMs);
        }),
      );
    }
  });
  try {
    await feed(fs, tarball, parser, steps, limits);
  } finally {
    await open?.close().catch(() => undefined);
  }
  if (failure === undefined && index !== entries.length) failure = changed(tarball);
  if (failure !== undefined) throw failure;
}
