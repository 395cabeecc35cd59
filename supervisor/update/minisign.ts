/**
 * The minisign format, verified in-process with node:crypto's ed25519, so a
 * publisher can sign with `minisign -S` and the keys they already manage.
 *
 * A public key (`minisign -G`) is base64 of 42 bytes: the algorithm "Ed",
 * an 8-byte key id and the 32-byte ed25519 key, usually after an
 * `untrusted comment:` line. A signature file (`<file>.minisig`) is four
 * lines:
 *
 *     untrusted comment: <anything, not covered by a signature>
 *     base64(algorithm[2] || key id[8] || signature[64])
 *     trusted comment: <text>
 *     base64(global signature[64])
 *
 * The algorithm is "Ed" (legacy: the signature is over the file itself) or
 * "ED" (prehashed, minisign's default: over the file's BLAKE2b-512). The
 * global signature is over signature || the trusted comment's bytes, so an
 * edited trusted comment fails even when the file is intact.
 */
import { createHash, createPublicKey, verify, type Hash, type KeyObject } from 'node:crypto';
import { OutlastError } from '../errors.ts';

/** A minisign public key. */
export interface MinisignKey {
  keyId: Buffer;
  /** The key id as minisign prints it: the 8 bytes read little-endian, in upper-case hex. */
  keyIdHex: string;
  key: KeyObject;
}

/** A parsed `.minisig`. */
export interface Minisig {
  /** 'Ed': signs the file; 'ED': signs its BLAKE2b-512. */
  algorithm: 'Ed' | 'ED';
  keyId: Buffer;
  signature: Buffer;
  /** The trusted comment's exact bytes (what the global signature covers). */
  trustedComment: Buffer;
  globalSignature: Buffer;
}

/**
 * A legacy ("Ed") signature covers the whole file, and node:crypto's ed25519
 * verifies one buffer: the file is held in memory, so it is capped. The
 * prehashed form, minisign's default, has no such limit.
 */
export const LEGACY_MAX_BYTES = 64 * 1024 * 1024;

/** A `.minisig` longer than this is not one (minisign caps the trusted comment at 8 KiB). */
export const MAX_MINISIG_BYTES = 16 * 1024;

const UNTRUSTED = 'untrusted comment: ';
const TRUSTED = Buffer.from('trusted comment: ');

/** Strict base64 (the original alphabet, padded), as libsodium decodes it; undefined otherwise. */
function strictBase64(text: string, bytes: number): Buffer | undefined {
  const raw = Buffer.from(text, 'base64');
  return raw.length === bytes && raw.toString('base64') === text ? raw : undefined;
}

/** Minisign's display form of a key id: little-endian u64 in hex. */
export function keyIdHex(keyId: Buffer): string {
  return Buffer.from(keyId).reverse().toString('hex').toUpperCase();
}

/**
 * Reads a minisign public key: the `RW…` base64 line `minisign -G` prints,
 * or the whole .pub file with its `untrusted comment:` line. CONFIG_INVALID
 * otherwise.
 */
export function parseMinisignKey(text: string): MinisignKey {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('untrusted comment:'));
  const raw = lines.length === 1 ? strictBase64(lines[0] ?? '', 42) : undefined;
  if (raw === undefined || raw.subarray(0, 2).toString('latin1') !== 'Ed') {
    throw new OutlastError('CONFIG_INVALID', 'minisignKey must be a minisign public key: the "RW…" line of minisign.pub, or the whole file');
  }
  const keyId = raw.subarray(2, 10);
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.subarray(10).toString('base64url') }, format: 'jwk' });
  return { keyId, keyIdHex: keyIdHex(keyId), key };
}

/** Whether `text` is a usable minisign public key (for config validation). */
export function isMinisignKey(text: string): boolean {
  try {
    parseMinisignKey(text);
    return true;
  } catch {
    return false;
  }
}

function invalid(what: string, reason: string, message: string, details: Record<string, unknown> = {}): OutlastError {
  return new OutlastError('SIGNATURE_INVALID', `${what}: ${message}`, { details: { ...details, reason } });
}

/** One line of `data` from `start`, without its `\n` (and a `\r` before it); `next` is where the following one starts. */
function line(data: Buffer, start: number): { text: Buffer; next: number } {
  const end = data.indexOf(0x0a, start);
  const stop = end === -1 ? data.length : end;
  const text = data.subarray(start, stop > start && data[stop - 1] === 0x0d ? stop - 1 : stop);
  return { text, next: end === -1 ? data.length : end + 1 };
}

/**
 * Parses the text of a `.minisig`. `what` names the signed thing in errors
 * ("release 1.2.3"). SIGNATURE_INVALID (reason `malformed`) for anything
 * that is not exactly the four lines minisign writes.
 */
export function parseMinisig(text: string | Buffer, what: string): Minisig {
  const data = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const bad = (why: string): OutlastError => invalid(what, 'malformed', `its minisign signature is malformed: ${why}`);
  if (data.length > MAX_MINISIG_BYTES) throw bad(`more than ${MAX_MINISIG_BYTES} bytes`);
  const first = line(data, 0);
  if (!first.text.toString('utf8').startsWith(UNTRUSTED)) throw bad(`the first line must start with "${UNTRUSTED.trim()}"`);
  const second = line(data, first.next);
  const sig = strictBase64(second.text.toString('latin1'), 74);
  if (sig === undefined) throw bad('the second line is not 74 bytes of base64');
  const algorithm = sig.subarray(0, 2).toString('latin1');
  if (algorithm !== 'Ed' && algorithm !== 'ED') throw bad(`unknown signature algorithm "${algorithm}"`);
  const third = line(data, second.next);
  if (!third.text.subarray(0, TRUSTED.length).equals(TRUSTED)) throw bad('the third line must start with "trusted comment:"');
  const fourth = line(data, third.next);
  const globalSignature = strictBase64(fourth.text.toString('latin1'), 64);
  if (globalSignature === undefined) throw bad('the fourth line is not 64 bytes of base64');
  if (data.subarray(fourth.next).toString('utf8').trim() !== '') throw bad('there is more after the fourth line');
  return { algorithm, keyId: sig.subarray(2, 10), signature: sig.subarray(10), trustedComment: third.text.subarray(TRUSTED.length), globalSignature };
}

/**
 * What can be checked before the signed data is read: the key id, and the
 * global signature over the signature and the trusted comment. A signature
 * by another key is `wrong-key`; an edited trusted comment `trusted-comment`.
 */
export function verifyMinisigHeader(key: MinisignKey, sig: Minisig, what: string): void {
  if (!sig.keyId.equals(key.keyId)) {
    throw invalid(what, 'wrong-key', `it is signed by minisign key ${keyIdHex(sig.keyId)}, not by the configured minisignKey ${key.keyIdHex}`, {
      keyId: keyIdHex(sig.keyId),
      expectedKeyId: key.keyIdHex,
    });
  }
  if (!verify(null, Buffer.concat([sig.signature, sig.trustedComment]), key.key, sig.globalSignature)) {
    throw invalid(what, 'trusted-comment', 'the trusted comment of its minisign signature does not verify (edited, or not signed by this key)');
  }
}

/** The signed data, fed as it streams; `verify` throws SIGNATURE_INVALID (`bad-signature`) when it is not what was signed. */
export interface MinisigCheck {
  update(chunk: Uint8Array): void;
  verify(): void;
}

/**
 * A check of `sig` over data that is fed to it as it streams: hashed for the
 * prehashed form, held for the legacy one (at most LEGACY_MAX_BYTES, more is
 * `legacy-too-large`). Call {@link verifyMinisigHeader} first.
 */
export function minisigCheck(key: MinisignKey, sig: Minisig, what: string): MinisigCheck {
  const hash: Hash | undefined = sig.algorithm === 'ED' ? createHash('blake2b512') : undefined;
  const held: Uint8Array[] = [];
  let bytes = 0;
  return {
    update(chunk) {
      bytes += chunk.byteLength;
      if (hash !== undefined) return void hash.update(chunk);
      if (bytes > LEGACY_MAX_BYTES) throw legacyTooLarge(what);
      // A copy: a stream may hand out one buffer and fill it again.
      held.push(Buffer.from(chunk));
    },
    verify() {
      const message = hash?.digest() ?? Buffer.concat(held);
      held.length = 0;
      if (!verify(null, message, key.key, sig.signature)) {
        throw invalid(what, 'bad-signature', `its minisign signature by key ${key.keyIdHex} does not match its bytes`, { keyId: key.keyIdHex });
      }
    },
  };
}

/** The refusal of a legacy signature over more than LEGACY_MAX_BYTES. */
export function legacyTooLarge(what: string): OutlastError {
  return invalid(what, 'legacy-too-large', `its minisign signature is in the legacy form (minisign -l), which outlast verifies up to ${LEGACY_MAX_BYTES} bytes; sign it without -l (prehashed, the default)`, {
    limit: LEGACY_MAX_BYTES,
  });
}

/** Verifies `sig` (text of a .minisig) over `data` in full: key id, trusted comment, then the data. */
export function verifyMinisig(key: MinisignKey, sig: string | Buffer, data: Uint8Array, what: string): Minisig {
  const parsed = parseMinisig(sig, what);
  verifyMinisigHeader(key, parsed, what);
  if (parsed.algorithm === 'Ed' && data.byteLength > LEGACY_MAX_BYTES) throw legacyTooLarge(what);
  const check = minisigCheck(key, parsed, what);
  check.update(data);
  check.verify();
  return parsed;
}
