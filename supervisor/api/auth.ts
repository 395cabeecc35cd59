/**
 * Bearer-token checks for the control API, in constant time, without
 * node:crypto (supervisor/lazy-crypto.ts says why).
 */

/**
 * Whether two secrets are equal, in a time that depends only on the
 * expected one's length, never on where or whether they differ: every
 * code unit of `expected` is compared, and the differences are OR-ed
 * together rather than returned at the first.
 */
export function sameSecret(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  // Past the end of `given`, charCodeAt is NaN and counts as 0: the length already differs.
  for (let i = 0; i < expected.length; i++) diff |= given.charCodeAt(i) ^ expected.charCodeAt(i);
  return diff === 0;
}

/** Whether an Authorization header carries `token`. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) return false;
  return sameSecret(match[1] ?? '', token);
}

/** Whether binding `host` keeps the API on this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
