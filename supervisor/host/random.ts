/**
 * Random bytes for the Host, read from the kernel's /dev/urandom: the same
 * source OpenSSL seeds node:crypto's randomBytes from, without node:crypto
 * itself, which costs a supervisor about 2.6 MB resident (its modules and
 * OpenSSL's pages) for a few bytes at each child start. A system without a
 * readable /dev/urandom gets node:crypto's, loaded on that first need.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { nodeCrypto } from '../lazy-crypto.ts';

/** `size` cryptographically random bytes. */
export function randomBytesSync(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  let fd: number;
  try {
    fd = openSync('/dev/urandom', 'r');
  } catch {
    return nodeCrypto().randomBytes(size);
  }
  try {
    // The kernel hands out at most 32 MiB per read; tokens are a few bytes.
    for (let got = 0; got < size; ) {
      const n = readSync(fd, bytes, got, size - got, null);
      if (n <= 0) throw new Error('/dev/urandom returned no bytes');
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}
