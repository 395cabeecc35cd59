/**
 * The brake on guessing: a remote address with too many wrong logins (a
 * wrong token, or a used, expired or made-up login code) in the window is
 * refused every login, right or wrong, until its oldest failure leaves the
 * window. A right login clears nothing: it would otherwise tell a guesser
 * that the brake is off.
 */
import { OutlastError } from '../errors.ts';

/** Five wrong logins per minute per address. */
export const LOGIN_LIMIT = { failures: 5, windowMs: 60_000 };

// The addresses tracked at once; past it the one seen least recently goes.
const MAX_ADDRESSES = 1024;

/** Counts wrong logins per remote address in a sliding window. */
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>();
  readonly #now: () => number;
  readonly #limit: typeof LOGIN_LIMIT;

  constructor(now: () => number, limit = LOGIN_LIMIT) {
    this.#now = now;
    this.#limit = limit;
  }

  /** Throws TOO_MANY_REQUESTS (with `retryAfterS`) while `address` is braked. */
  check(address: string): void {
    const recent = this.#recent(address);
    if (recent.length < this.#limit.failures) return;
    const retryAfterS = Math.max(1, Math.ceil((recent[0]! + this.#limit.windowMs - this.#now()) / 1000));
    throw new OutlastError(
      'TOO_MANY_REQUESTS',
      `too many wrong logins from ${address}: ${recent.length} in the last ${this.#limit.windowMs / 1000} s; try again in ${retryAfterS} s`,
      { details: { retryAfterS } },
    );
  }

  /** Records a wrong login from `address`. */
  fail(address: string): void {
    const recent = this.#recent(address);
    recent.push(this.#now());
    // Re-inserted last: the Map's order is then least recently failed first.
    this.#failures.delete(address);
    this.#failures.set(address, recent);
    if (this.#failures.size > MAX_ADDRESSES) this.#failures.delete(this.#failures.keys().next().value!);
  }

  #recent(address: string): number[] {
    const since = this.#now() - this.#limit.windowMs;
    const recent = (this.#failures.get(address) ?? []).filter((at) => at > since);
    if (recent.length === 0) this.#failures.delete(address);
    else this.#failures.set(address, recent);
    return recent;
  }
}
