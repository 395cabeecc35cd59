/**
 * A minisign signer in the test process, for tests that must run where the
 * minisign binary is not installed: it writes the same formats `minisign -G`
 * and `minisign -S` do (`minisign -V` accepts them: see
 * test/integration/minisign.test.ts).
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

/** A key pair: the .pub file's text, and a function that signs like `minisign -S`. */
export interface MinisignSigner {
  /** The whole .pub file, as `minisign -G` writes it. */
  pubText: string;
  /** Its `RW…` line. */
  pubLine: string;
  /** The text of a .minisig over `data`: prehashed ("ED") unless `legacy`. */
  sign(data: Uint8Array, options?: { legacy?: boolean; trustedComment?: string }): string;
}

/** A fresh key pair with a random key id. */
export function minisignSigner(): MinisignSigner {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const keyId = randomBytes(8);
  const pk = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const pubLine = Buffer.concat([Buffer.from('Ed'), keyId, pk]).toString('base64');
  const idHex = Buffer.from(keyId).reverse().toString('hex').toUpperCase();
  return {
    pubText: `untrusted comment: minisign public key ${idHex}\n${pubLine}\n`,
    pubLine,
    sign(data, options = {}) {
      const legacy = options.legacy === true;
      const message = legacy ? Buffer.from(data) : createHash('blake2b512').update(data).digest();
      const signature = sign(null, message, privateKey);
      const comment = Buffer.from(options.trustedComment ?? 'timestamp:1700000000\tfile:test');
      const global = sign(null, Buffer.concat([signature, comment]), privateKey);
      const head = Buffer.concat([Buffer.from(legacy ? 'Ed' : 'ED'), keyId, signature]).toString('base64');
      return `untrusted comment: signature from minisign secret key\n${head}\ntrusted comment: ${comment.toString()}\n${global.toString('base64')}\n`;
    },
  };
}
