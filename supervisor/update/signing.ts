/**
 * Release signatures: ed25519 over a canonical payload of the version, the
 * sha256 and the size of the tarball. The URL is left out on purpose, so a
 * mirror can move the files without re-signing them; the digest pins the
 * content wherever it is served from.
 *
 * Manifest signatures (`manifest.json.sig`): ed25519 over a domain tag and
 * the manifest's exact bytes, so one can never pass for the other.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { OutlastError } from '../errors.ts';

/** The fields a signature covers. */
export interface SignedFields {
  version: string;
  sha256: string;
  size: number;
  signature?: string | undefined;
}

/** A fresh key pair, in the forms a publisher and a config need. */
export interface GeneratedKeyPair {
  publicKeyPem: string;
  privateKeyPem: string;
  /** The raw 32-byte public key in base64: the short form for `publicKey` in config. */
  publicKeyBase64: string;
}

/** The exact bytes that are signed. */
export function signedPayload(entry: SignedFields): Buffer {
  return Buffer.from(`outlast-release-v1\n${entry.version}\n${entry.sha256.toLowerCase()}\n${entry.size}\n`, 'utf8');
}

/** Generates an ed25519 key pair for signing releases. */
export function generateKeyPair(): GeneratedKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x ?? '';
  return {
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyBase64: Buffer.from(x, 'base64url').toString('base64'),
  };
}

/**
 * Reads a public key given as PEM (SPKI) or as the raw 32 bytes in base64.
 * Throws CONFIG_INVALID when it is neither, or not an ed25519 key.
 */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith('-----BEGIN')) {
      key = createPublicKey(trimmed);
    } else {
      const raw = Buffer.from(trimmed, 'base64');
      if (raw.length !== 32 || raw.toString('base64') !== trimmed) throw new Error('not 32 bytes of base64');
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    }
  } catch (err) {
    throw new OutlastError('CONFIG_INVALID', 'publicKey must be an ed25519 public key in PEM or 32 bytes of base64', { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new OutlastError('CONFIG_INVALID', `publicKey is a ${key.asymmetricKeyType ?? 'unknown'} key, not ed25519`);
  }
  return key;
}

/** Whether `text` is a usable public key (for config validation). */
export function isPublicKey(text: string): boolean {
  try {
    parsePublicKey(text);
    return true;
  } catch {
    return false;
  }
}

/** A PEM ed25519 private key; BAD_REQUEST for anything else. */
function signingKey(privateKeyPem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (err) {
    throw new OutlastError('BAD_REQUEST', 'the signing key is not a PEM private key', { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new OutlastError('BAD_REQUEST', `the signing key is ${key.asymmetricKeyType ?? 'unknown'}, not ed25519`);
  return key;
}

/** Signs a release entry with a PEM ed25519 private key; returns the signature in base64. BAD_REQUEST for another key. */
export function signEntry(privateKeyPem: string, entry: SignedFields): string {
  return sign(null, signedPayload(entry), signingKey(privateKeyPem)).toString('base64');
}

/**
 * Checks an entry's signature against `publicKey` (PEM, raw base64 or a
 * KeyObject). Throws SIGNATURE_INVALID when it is missing, malformed or wrong.
 */
export function verifyEntry(publicKey: string | KeyObject, entry: SignedFields): void {
  const key = typeof publicKey === 'string' ? parsePublicKey(publicKey) : publicKey;
  const details = { version: entry.version };
  if (entry.signature === undefined || entry.signature === '') {
    throw new OutlastError('SIGNATURE_INVALID', `release ${entry.version} is not signed, but a publicKey is configured`, {
      details: { ...details, reason: 'unsigned' },
    });
  }
  const signature = Buffer.from(entry.signature, 'base64');
  if (signature.length !== 64 || !verify(null, signedPayload(entry), key, signature)) {
    throw new OutlastError('SIGNATURE_INVALID', `release ${entry.version} has a bad signature`, { details: { ...details, reason: 'bad-signature' } });
  }
}

/** The exact bytes a manifest signature (`manifest.json.sig`) covers: a domain tag, then the file as served. */
export function manifestPayload(manifest: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from('outlast-manifest-v1\n', 'utf8'), manifest]);
}

/** Signs a manifest's bytes with a PEM ed25519 private key; returns the text of `manifest.json.sig`. */
export function signManifest(privateKeyPem: string, manifest: Uint8Array): string {
  return `${sign(null, manifestPayload(manifest), signingKey(privateKeyPem)).toString('base64')}\n`;
}

/**
 * Checks the text of a `manifest.json.sig` against the manifest's bytes;
 * SIGNATURE_INVALID (`bad-signature`) when it is malformed or wrong.
 * `what` names the manifest in the error.
 */
export function verifyManifest(publicKey: KeyObject, sigText: string, manifest: Uint8Array, what: string): void {
  const trimmed = sigText.trim();
  const signature = Buffer.from(trimmed, 'base64');
  if (signature.length !== 64 || signature.toString('base64') !== trimmed || !verify(null, manifestPayload(manifest), publicKey, signature)) {
    throw new OutlastError('SIGNATURE_INVALID', `${what} has a bad signature by publicKey (its .sig does not match its bytes)`, { details: { reason: 'bad-signature' } });
  }
}
