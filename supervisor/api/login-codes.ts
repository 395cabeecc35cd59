/**
 * One-time login codes for the status page: `outlast status --url` and the
 * `--banner` print `/login?t=<code>`, and opening it once starts a browser
 * session. Codes are random, live ten minutes, work once, and exist only in
 * this supervisor's memory (a restart forgets them all).
 */
import { isoTime } from '../iso-time.ts';
import { nodeCrypto } from '../lazy-crypto.ts';

/** How long a login link works. */
export const LOGIN_CODE_TTL_MS = 10 * 60_000;

// Each code is issued by an authenticated client; the cap only keeps a
// client that asks in a loop from growing the supervisor's memory.
const MAX_OUTSTANDING = 32;

/** A freshly issued code. */
export interface IssuedCode {
  code: string;
  /** The path that logs in with it. */
  path: string;
  expiresAt: string;
}

/** The codes issued and not yet used or expired. */
export class LoginCodes {
  // Keyed by the code's digest: a lookup that takes longer for a closer
  // guess would then tell about the digest, which gives nothing away.
  readonly #expiries = new Map<string, number>();
  readonly #now: () => number;
  readonly #ttlMs: number;

  constructor(now: () => number, ttlMs = LOGIN_CODE_TTL_MS) {
    this.#now = now;
    this.#ttlMs = ttlMs;
  }

  /** A new code (128 random bits), valid for the TTL, usable once. */
  issue(): IssuedCode {
    this.#prune();
    while (this.#expiries.size >= MAX_OUTSTANDING) this.#expiries.delete(this.#expiries.keys().next().value!);
    const code = nodeCrypto().randomBytes(16).toString('base64url');
    const expiresAtMs = this.#now() + this.#ttlMs;
    this.#expiries.set(digest(code), expiresAtMs);
    return { code, path: `/login?t=${code}`, expiresAt: isoTime(expiresAtMs) };
  }

  /** Whether `code` is live; it is used up either way. */
  consume(code: string): boolean {
    this.#prune();
    const key = digest(code);
    const live = this.#expiries.has(key);
    this.#expiries.delete(key);
    return live;
  }

  #prune(): void {
    const now = this.#now();
    for (const [key, expiresAtMs] of this.#expiries) if (expiresAtMs <= now) this.#expiries.delete(key);
  }
}

function digest(code: string): string {
  return nodeCrypto().createHash('sha256').update(code).digest('hex');
}
