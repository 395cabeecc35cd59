/**
 * node:crypto for the API's session cookies, login codes and page ETags,
 * loaded on the first request that needs one of them. node:crypto costs a
 * supervisor about 2.6 MB resident (its modules and OpenSSL's pages), and
 * most supervisors never serve the status page; the bearer check needs no
 * crypto (auth.ts). A require, so that the callers stay synchronous.
 */
import type * as Crypto from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let loaded: typeof Crypto | undefined;

/** node:crypto, loaded on the first call. */
export function nodeCrypto(): typeof Crypto {
  loaded ??= require('node:crypto') as typeof Crypto;
  return loaded;
}
