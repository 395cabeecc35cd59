/**
 * Who may call the control API. A client with `Authorization: Bearer
 * <token>` may call every route, as before the status page existed. A
 * browser holds the page's session cookie instead, and because a browser
 * sends that cookie on its own, a cookie request must also come from the
 * page: an `Origin` naming another site is refused, and a state-changing
 * request must carry the page's `Origin` (cross-site request forgery).
 * The page's own files and the login answer without a credential, like
 * `/health`.
 */
import { OutlastError } from '../errors.ts';
import { bearerMatches } from './auth.ts';
import { PAGE_PATHS } from './page-files.ts';
import type { ApiRequest } from './router.ts';
import { readCookie, SESSION_COOKIE, sessionValid } from './session.ts';

/** The paths anyone may ask for: the health check, the page's static files, the login. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/health', ...Object.keys(PAGE_PATHS), '/login']);

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** `url` without its query. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/**
 * Why the request's `Origin` is not the API's own, or undefined when it is
 * or when there is none. The page's origin is the Host it was loaded from,
 * over http, or https behind a TLS proxy that keeps the Host.
 */
export function foreignOrigin(request: Pick<ApiRequest, 'headers'>): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `the request comes from another site (Sec-Fetch-Site: ${site})`;
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  const host = request.headers.host;
  if (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`)) return undefined;
  return `Origin ${origin} is not this API's (${host ?? 'no Host header'})`;
}

/** Throws FORBIDDEN when the request's Origin is another site's. */
export function refuseForeignOrigin(request: Pick<ApiRequest, 'headers'>): void {
  const foreign = foreignOrigin(request);
  if (foreign !== undefined) throw new OutlastError('FORBIDDEN', `${foreign}: the session cookie works only from the status page itself`);
}

/**
 * The check before every route (and before its body is read): passes, or throws UNAUTHORIZED (no credential, a
 * wrong one) or FORBIDDEN (a session used from another site).
 */
export function authorize(request: Pick<ApiRequest, 'headers' | 'method' | 'url'>, token: string, nowMs: number): void {
  if (OPEN_PATHS.has(pathOf(request.url))) return;
  const authorization = request.headers.authorization;
  // A bearer header decides alone: a wrong token is not rescued by a cookie.
  if (authorization !== undefined) {
    if (bearerMatches(authorization, token)) return;
    throw new OutlastError('UNAUTHORIZED', 'missing or wrong bearer token (see <stateDir>/token)');
  }
  if (!sessionValid(readCookie(request.headers.cookie, SESSION_COOKIE), token, nowMs)) {
    throw new OutlastError('UNAUTHORIZED', 'missing or wrong bearer token (see <stateDir>/token), and no valid session: log in on the status page');
  }
  refuseForeignOrigin(request);
  if (!SAFE_METHODS.has(request.method) && request.headers.origin === undefined) {
    throw new OutlastError('FORBIDDEN', `${request.method} with the session cookie needs the page's Origin header; scripts use the bearer token`);
  }
}
