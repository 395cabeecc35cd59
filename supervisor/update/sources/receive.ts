/**
 * The common tail of the http and dir sources: admit an entry (signatures,
 * size limit), then receive its tarball while hashing and counting. An
 * unsigned release with GNU tar (the Host's `untar`) is read once: each
 * chunk is hashed and goes on to the checked extraction into the staging
 * dir, and the release counts only once size and digest match (else the
 * staging dir is emptied: nothing is switched before). Otherwise the
 * tarball goes to a temp file first and is proven (size, signatures,
 * digest) before anything is extracted.
 */
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { OutlastError, toOutlastError } from '../../errors.ts';
import type { Untar } from '../gnu-tar.ts';
import { emptyDir, extractSafely, extractStreamSafely, type ExtractFs } from '../extract.ts';
import { LEGACY_MAX_BYTES, legacyTooLarge, MAX_MINISIG_BYTES, minisigCheck, parseMinisig, verifyMinisigHeader, type Minisig, type MinisignKey } from '../minisign.ts';
import { verifyEntry } from '../signing.ts';
import type { ManifestEntry } from './manifest.ts';
import { oversize, type FetchContext } from './source.ts';

/** The keys a source is configured with; every one given must have signed a release. */
export interface ReleaseKeys {
  /** outlast's own ed25519 key (`publicKey`): a signature in the manifest entry. */
  publicKey?: KeyObject | undefined;
  /** A minisign key (`minisignKey`): a `.minisig` in the entry or next to the tarball. */
  minisignKey?: MinisignKey | undefined;
}

/** What {@link admit} found: the byte limit for the download, and the minisign signature its bytes must match. */
export interface Admission {
  limit: number;
  /**
   * Whether a configured key vouches for the bytes (the entry's signature,
   * a signed manifest's sha256, or a minisign signature): then they are
   * proven before tar reads any of them.
   */
  signed: boolean;
  minisig?: { key: MinisignKey; sig: Minisig } | undefined;
}

/**
 * Checks what can be checked before a byte of the tarball is read: outlast's
 * signature (a forged entry then costs no bandwidth), the declared size
 * against the limit, and, with a minisign key, that a signature is there,
 * by that key, with an intact trusted comment. `readMinisig` reads the
 * `.minisig` next to the tarball (undefined when there is none); it is
 * asked only when the entry carries no `minisig` of its own.
 */
export async function admit(entry: ManifestEntry, ctx: FetchContext, keys: ReleaseKeys, readMinisig: () => Promise<Buffer | undefined>): Promise<Admission> {
  if (keys.publicKey !== undefined) verifyEntry(keys.publicKey, entry);
  if (entry.size > ctx.maxBytes) throw oversize(entry.version, ctx.maxBytes);
  const limit = Math.min(entry.size, ctx.maxBytes);
  const key = keys.minisignKey;
  if (key === undefined) return { limit, signed: keys.publicKey !== undefined };
  const what = `release ${entry.version}`;
  const text = entry.minisig ?? (await readMinisig());
  if (text === undefined) {
    throw new OutlastError('SIGNATURE_INVALID', `${what} has no minisign signature (no "minisig" in its manifest entry, no ${entry.url}.minisig), but a minisignKey is configured`, {
      details: { version: entry.version, reason: 'unsigned' },
    });
  }
  const sig = parseMinisig(text, what);
  verifyMinisigHeader(key, sig, what);
  if (sig.algorithm === 'Ed' && entry.size > LEGACY_MAX_BYTES) throw legacyTooLarge(what);
  ctx.log?.(`${what}: minisign signature by key ${key.keyIdHex} (${sig.algorithm === 'ED' ? 'prehashed' : 'legacy'}), trusted comment: ${sig.trustedComment.toString('utf8')}`);
  return { limit, minisig: { key, sig }, signed: true };
}

/** The refusal of a signature file larger than any signature (a `.minisig` or a `.sig`). */
export function signatureTooLarge(where: string): OutlastError {
  return new OutlastError('SIGNATURE_INVALID', `${where} is larger than ${MAX_MINISIG_BYTES} bytes: not a signature`, { details: { where, reason: 'malformed' } });
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
async function writeMetered(fs: ExtractFs, body: AsyncIterable<Uint8Array>, file: string, limit: number, entry: ManifestEntry, ctx: FetchContext, what: string, also?: (chunk: Uint8Array) => void): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  const handle = await fs.createFile(file, 0o600);
  const chunks = body[Symbol.asyncIterator]();
  let bytes = 0;
  try {
    for (let next = await nextChunk(chunks, ctx.signal, what); next.done !== true; next = await nextChunk(chunks, ctx.signal, what)) {
      bytes += next.value.byteLength;
      if (bytes > limit) throw oversize(entry.version, limit, 'download of release');
      hash.update(next.value);
      also?.(next.value);
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
 * the Host's file capability `fs`: size, minisign signature (when admitted
 * with one) and digest checked, then extracted safely. The temp file is
 * always removed. `what` names the read in errors ("download of https://…").
 */
export async function receiveRelease(fs: ExtractFs, body: AsyncIterable<Uint8Array>, entry: ManifestEntry, dest: string, ctx: FetchContext, admission: Admission, what: string): Promise<void> {
  const { limit } = admission;
  // Made afresh for each attempt: a retried download starts its hash over.
  const check = admission.minisig === undefined ? undefined : minisigCheck(admission.minisig.key, admission.minisig.sig, `release ${entry.version}`);
  // Unsigned, the digest proves nothing an attacker could not rewrite along
  // with the tarball, so reading once costs no assurance; signed, nothing
  // unproven reaches tar.
  if (ctx.untar !== undefined && !admission.signed) return receiveStreaming(fs, body, entry, dest, ctx, { limit, untar: ctx.untar }, what);
  // Next to dest and named after it: the same file system, and a crash
  // before the rm leaves it where the sweep of staging leftovers
  // (releases/.staging-*) finds it along with dest.
  const tarball = join(dirname(dest), `${basename(dest)}.download-${randomBytes(4).toString('hex')}.tgz`);
  try {
    const got = await writeMetered(fs, body, tarball, limit, entry, ctx, what, check === undefined ? undefined : (chunk) => check.update(chunk)).catch((err: unknown) => {
      throw err instanceof OutlastError || ctx.signal.aborted ? err : toOutlastError(err);
    });
    proveBytes(entry, got, check);
    ctx.log?.(`release ${entry.version}: ${got.bytes} bytes, ${check === undefined ? '' : 'minisign signature ok, '}sha256 ok, extracting`);
    await extractSafely(fs, tarball, dest, { maxUnpackedBytes: ctx.maxUnpackedBytes, untar: ctx.untar });
  } finally {
    await fs.rm(tarball);
  }
}

/** Size, then signature, then digest of the bytes received: DIGEST_MISMATCH or SIGNATURE_INVALID when one does not match. */
function proveBytes(entry: ManifestEntry, got: { bytes: number; sha256: string }, check: { verify(): void } | undefined): void {
  const details = { version: entry.version };
  if (got.bytes !== entry.size) {
    throw new OutlastError('DIGEST_MISMATCH', `release ${entry.version} has ${got.bytes} bytes, the manifest says ${entry.size}`, {
      details: { ...details, reason: 'size-mismatch', expected: entry.size, actual: got.bytes },
    });
  }
  // Before the digest: with a minisign key the signature, not the
  // manifest's sha256 (which nothing may have signed), is what proves the
  // bytes, so a tampered tarball is refused as a bad signature whether or
  // not its manifest entry was rewritten to match it.
  check?.verify();
  if (got.sha256 !== entry.sha256) {
    throw new OutlastError('DIGEST_MISMATCH', `release ${entry.version} has sha256 ${got.sha256}, the manifest says ${entry.sha256}`, {
      details: { ...details, reason: 'sha256-mismatch', expected: entry.sha256, actual: got.sha256 },
    });
  }
}

/**
 * {@link receiveRelease} of an unsigned release, reading the bytes once:
 * hashed as they pass on to the extraction. An extraction that stops early (a hostile entry, a bomb)
 * leaves bytes unread: they are read through the hash too, up to the limit,
 * so a tampered or swapped file is named as that (the more basic fault)
 * rather than by its first bad entry. Whatever fails, `dest` ends empty.
 */
async function receiveStreaming(fs: ExtractFs, body: AsyncIterable<Uint8Array>, entry: ManifestEntry, dest: string, ctx: FetchContext, parts: { limit: number; untar: Untar }, what: string): Promise<void> {
  const { limit, untar } = parts;
  const hash = createHash('sha256');
  const chunks = body[Symbol.asyncIterator]();
  let bytes = 0;
  let readError: Error | undefined;
  // Each chunk pulled from the source is counted and hashed here, whoever asked for it.
  const pull = async (): Promise<IteratorResult<Uint8Array>> => {
    const next = await nextChunk(chunks, ctx.signal, what);
    if (next.done === true) return next;
    bytes += next.value.byteLength;
    if (bytes > limit) throw oversize(entry.version, limit, 'download of release');
    hash.update(next.value);
    ctx.onProgress?.(bytes, entry.size);
    return next;
  };
  const passing = (async function* () {
    try {
      for (let next = await pull(); next.done !== true; next = await pull()) yield next.value;
    } catch (err) {
      readError = err as Error;
      throw err;
    }
  })();
  let extraction: Error | undefined;
  try {
    try {
      await extractStreamSafely(fs, passing, dest, untar, ctx.maxUnpackedBytes);
    } catch (err) {
      extraction = err as Error;
    }
    if (readError !== undefined) throw readError instanceof OutlastError || ctx.signal.aborted ? readError : toOutlastError(readError);
    if (extraction !== undefined) while ((await pull()).done !== true);
    proveBytes(entry, { bytes, sha256: hash.digest('hex') }, undefined);
  } catch (err) {
    await emptyDir(fs, dest);
    throw err;
  } finally {
    // Stops the download at once when we gave up early.
    await chunks.return?.().catch(() => undefined);
  }
  if (extraction !== undefined) throw extraction;
  ctx.log?.(`release ${entry.version}: ${bytes} bytes, sha256 ok, extracted as it arrived (unsigned: read once)`);
}
