import { describe, expect, it } from 'vitest';
import { OutlastError } from '../../supervisor/errors.ts';
import { generateKeyPair, parsePublicKey, signEntry, signedPayload, verifyEntry } from '../../supervisor/update/signing.ts';
import { sourceSchema } from '../../supervisor/update/sources/schema.ts';

const entry = { version: '1.2.3', sha256: 'ab'.repeat(32), size: 1234 };

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof OutlastError ? err.code : 'not an OutlastError';
  }
}

describe('signing', () => {
  it('signs the canonical payload, url excluded', () => {
    expect(signedPayload({ ...entry, sha256: entry.sha256.toUpperCase() }).toString()).toBe(`outlast-release-v1\n1.2.3\n${'ab'.repeat(32)}\n1234\n`);
  });

  it('verifies with the PEM and with the raw base64 key', () => {
    const keys = generateKeyPair();
    const signature = signEntry(keys.privateKeyPem, entry);
    expect(Buffer.from(keys.publicKeyBase64, 'base64')).toHaveLength(32);
    expect(() => verifyEntry(keys.publicKeyPem, { ...entry, signature })).not.toThrow();
    expect(() => verifyEntry(keys.publicKeyBase64, { ...entry, signature })).not.toThrow();
  });

  it('rejects a changed field, another key, garbage and a missing signature', () => {
    const keys = generateKeyPair();
    const signature = signEntry(keys.privateKeyPem, entry);
    expect(code(() => verifyEntry(keys.publicKeyPem, { ...entry, size: 1235, signature }))).toBe('SIGNATURE_INVALID');
    expect(code(() => verifyEntry(keys.publicKeyPem, { ...entry, version: '1.2.4', signature }))).toBe('SIGNATURE_INVALID');
    expect(code(() => verifyEntry(generateKeyPair().publicKeyPem, { ...entry, signature }))).toBe('SIGNATURE_INVALID');
    expect(code(() => verifyEntry(keys.publicKeyPem, { ...entry, signature: 'bm9wZQ==' }))).toBe('SIGNATURE_INVALID');
    expect(code(() => verifyEntry(keys.publicKeyPem, entry))).toBe('SIGNATURE_INVALID');
  });

  it('refuses public keys that are not ed25519', () => {
    expect(code(() => parsePublicKey('AAAA'))).toBe('CONFIG_INVALID');
    expect(code(() => parsePublicKey('-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----'))).toBe('CONFIG_INVALID');
  });
});

describe('sourceSchema', () => {
  it('fills defaults per kind', () => {
    expect(sourceSchema.parse({ type: 'git', url: '/srv/repo' })).toEqual({ type: 'git', url: '/srv/repo', timeoutMs: 120_000 });
    expect(sourceSchema.parse({ type: 'http', manifest: 'https://example.com/m.json' })).toEqual({
      type: 'http',
      manifest: 'https://example.com/m.json',
      retries: 3,
      timeoutMs: 30_000,
      requireSignedManifest: false,
    });
    expect(sourceSchema.parse({ type: 'dir', path: './feed', publicKey: generateKeyPair().publicKeyBase64 })).toMatchObject({ type: 'dir' });
  });

  it('names bad keys, bad public keys and unknown types', () => {
    expect(sourceSchema.safeParse({ type: 'dir', path: 'x', extra: 1 }).success).toBe(false);
    const badKey = sourceSchema.safeParse({ type: 'http', manifest: 'https://example.com/m.json', publicKey: 'short' });
    expect(badKey.error?.issues[0]?.path).toEqual(['publicKey']);
    expect(sourceSchema.safeParse({ type: 'ftp', url: 'x' }).success).toBe(false);
    expect(sourceSchema.safeParse({ type: 'http', manifest: 'file:///etc/passwd' }).success).toBe(false);
  });

  it('refuses requireSignedManifest without a key to check it with', () => {
    const bare = sourceSchema.safeParse({ type: 'dir', path: './feed', requireSignedManifest: true });
    expect(bare.error?.issues[0]).toMatchObject({ path: ['requireSignedManifest'], message: expect.stringContaining('needs publicKey or minisignKey') as unknown });
    expect(sourceSchema.safeParse({ type: 'dir', path: './feed', requireSignedManifest: true, publicKey: generateKeyPair().publicKeyBase64 }).success).toBe(true);
  });
});
