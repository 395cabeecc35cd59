/**
 * node:crypto, loaded on the first call that needs it: the API's session
 * cookies, login codes and page ETags, a staged rollout's device bucket.
 * node:crypto costs a supervisor about 2.6 MB resident (its modules and
 * OpenSSL's pages), and most supervisors never serve the status page or
 * meet a rollout; the bearer check (api/auth.ts) and the Host's random
 * bytes (host/random.ts) need none. A require, so that the callers stay
 * synchronous.
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
