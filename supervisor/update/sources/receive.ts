/**
 * The common tail of the http and dir sources: admit an entry (signature,
 * size limit), stream its tarball to a temp file next to the staging dir
 * while hashing and counting, check digest and size, and extract safely.
 */
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { OutlastError, toOutlastError } from '../../errors.ts';
import { extractSafely, type ExtractFs } from '../extract.ts';
import { verifyEntry } from '../signing.ts';
import type { ManifestEntry } from './manifest.ts';
import { oversize, type FetchContext } from './source.ts';

/**
 * Checks what can be checked before a byte is read: the signature, when a
 * key is configured (a forged entry then costs no bandwidth), and the
 * declared size against the limit. Returns the byte limit for the download.
 */
export function admit(entry: ManifestEntry, ctx: FetchContext, publicKey: KeyObject | undefined): number {
  if (publicKey !== undefined) verifyEntry(publicKey, entry);
  if (entry.size > ctx.maxBytes) throw oversize(entry.version, ctx.maxBytes);
  return Math.min(entry.size, ctx.maxBytes);
}

/** A failure to read from the source: the caller's abort as it is, anything else SOURCE_UNAVAILABLE. */
export function readFailure(err: unknown, signal: AbortSignal, what: string): unknown {
  if (err instanceof OutlastError) return err;
  if (signal.aborted) return signal.reason;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const reason = [(err as Error).message, cause?.code ?? cause?.message].filter(Boolean).join(': ');
  return new OutlastError('SOURCE_UNAVAILABLE', `${what} failed: ${reason}`, { cause: err });
}

async function nextChunk(chunks: AsyncIterator<Uint8Array>, signal: AbortSignal, what: string): Promise<IteratorResult<Uint8Array>> {
  try {
    return await chunks.next();
  } catch (err) {
    throw readFailure(err, signal, what);
  }
}

/** Streams `body` into `file`, failing as soon as more than `limit` bytes arrive. */
async function writeMetered(fs: ExtractFs, body: AsyncIterable<Uint8Array>, file: string, limit: number, entry: ManifestEntry, ctx: FetchContext, what: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  const handle = await fs.createFile(file, 0o600);
  const chunks = body[Symbol.asyncIterator]();
  let bytes = 0;
  try {
    for (let next = await nextChunk(chunks, ctx.signal, what); next.done !== true; next = await nextChunk(chunks, ctx.signal, what)) {
      bytes += next.value.byteLength;
      if (bytes > limit) throw oversize(entry.version, limit, 'download of release');
      hash.update(next.value);
      await handle.write(next.value);
      ctx.onProgress?.(bytes, entry.size);
    }
  } finally {
    // Stops the download at once when we gave up early (oversize, disk error).
    await chunks.return?.().catch(() => undefined);
    await handle.close();
  }
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * Receives `entry`'s tarball from `body` into the staging dir `dest`, through
 * the Host's file capability `fs`: digest
 * and size checked, then extracted safely. The temp file is always removed.
 * `what` names the read in errors ("download of https://…").
 */
export async function receiveRelease(fs: ExtractFs, body: AsyncIterable<Uint8Array>, entry: ManifestEntry, dest: string, ctx: FetchContext, limit: number, what: string): Promise<void> {
  // Next to dest and named after it: the same file system, and a crash
  // before the rm leaves it where the sweep of staging leftovers
  // (releases/.staging-*) finds it along with dest.
  const tarball = join(dirname(dest), `${basename(dest)}.download-${randomBytes(4).toString('hex')}.tgz`);
  try {
    const got = await writeMetered(fs, body, tarball, limit, entry, ctx, what).catch((err: unknown) => {
      throw err instanceof OutlastError || ctx.signal.aborted ? err : toOutlastError(err);
    });
    const details = { version: entry.version };
    if (got.bytes !== entry.size) {
      throw new OutlastError('DIGEST_MISMATCH', `release ${entry.version} has ${got.bytes} bytes, the manifest says ${entry.size}`, {
        details: { ...details, reason: 'size-mismatch', expected: entry.size, actual: got.bytes },
      });
    }
    if (got.sha256 !== entry.sha256) {
      throw new OutlastError('DIGEST_MISMATCH', `release ${entry.version} has sha256 ${got.sha256}, the manifest says ${entry.sha256}`, {
        details: { ...details, reason: 'sha256-mismatch', expected: entry.sha256, actual: got.sha256 },
      });
    }
    ctx.log?.(`release ${entry.version}: ${got.bytes} bytes, sha256 ok, extracting`);
    await extractSafely(fs, tarball, dest, { maxUnpackedBytes: ctx.maxUnpackedBytes });
  } finally {
    await fs.rm(tarball);
  }
}
