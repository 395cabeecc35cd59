/**
 * The status page's session cookie. Its value is `<id>.<expiry>.<mac>`: a
 * random id, the expiry in epoch ms, and an HMAC of both keyed with the
 * state dir's token. Nothing is stored: the supervisor checks the MAC, so a
 * new token (and the restart that reads it) logs every session out, and a
 * cookie cannot be forged or extended without the token.
 */
import { sameSecret } from './auth.ts';
import { nodeCrypto } from '../lazy-crypto.ts';

/** The cookie's name. */
export const SESSION_COOKIE = 'outlast_session';

/** How long a session lasts: a week, then the page asks again. */
export const SESSION_TTL_MS = 7 * 24 * 3_600_000;

function mac(token: string, id: string, expiresAtMs: number): string {
  return nodeCrypto().createHmac('sha256', token).update(`outlast-session\0${id}\0${expiresAtMs}`).digest('base64url');
}

/** A new session's cookie value, bound to `token`. */
export function newSession(token: string, nowMs: number, ttlMs = SESSION_TTL_MS): string {
  const id = nodeCrypto().randomBytes(16).toString('base64url');
  const expiresAtMs = nowMs + ttlMs;
  return `${id}.${expiresAtMs}.${mac(token, id, expiresAtMs)}`;
}

/** Whether `value` is a session of `token` that has not expired. */
export function sessionValid(value: string | undefined, token: string, nowMs: number): boolean {
  if (value === undefined) return false;
  const match = /^([A-Za-z0-9_-]{22})\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (match === null) return false;
  const [, id = '', expiry = '', given = ''] = match;
  const expiresAtMs = Number(expiry);
  return sameSecret(given, mac(token, id, expiresAtMs)) && expiresAtMs > nowMs;
}

/** The value of cookie `name` in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * The Set-Cookie header for `value`: HttpOnly (no script reads it),
 * SameSite=Strict (no other site's page sends it), Path=/. Secure only
 * behind a TLS proxy: the API itself speaks plain HTTP, where a browser
 * would drop a Secure cookie.
 */
export function sessionCookieHeader(value: string, options: { secure: boolean; maxAgeMs?: number }): string {
  const maxAge = Math.floor((options.maxAgeMs ?? SESSION_TTL_MS) / 1000);
  return `${SESSION_COOKIE}=${value}; Max-Age=${maxAge}; Path=/; HttpOnly; SameSite=Strict${options.secure ? '; Secure' : ''}`;
}

/** The Set-Cookie header that ends the session in this browser. */
export function clearedCookieHeader(secure: boolean): string {
  return sessionCookieHeader('', { secure, maxAgeMs: 0 });
}
