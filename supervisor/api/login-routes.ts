/**
 * How a browser gets the status page's session, and how it gives it back:
 *
 *   GET  /login?t=<code>   a one-time login link: sets the cookie, 303 to /
 *   POST /login {token}    the page's token form: sets the cookie
 *   POST /logout           clears the cookie (needs the session)
 *   POST /login-links      a new one-time code (needs a credential)
 *
 * Wrong logins count against the remote address (login-limit.ts).
 */
import { OutlastError } from '../errors.ts';
import { refuseForeignOrigin } from './access.ts';
import type { LoginCodes } from './login-codes.ts';
import type { LoginLimiter } from './login-limit.ts';
import { PAGE_HEADERS } from './page-route.ts';
import type { ApiRequest, Reply, Router } from './router.ts';
import { sameSecret } from './auth.ts';
import { clearedCookieHeader, newSession, SESSION_TTL_MS, sessionCookieHeader } from './session.ts';
import { isoTime } from '../iso-time.ts';

/** What the login routes need. */
export interface LoginDeps {
  token: string;
  codes: LoginCodes;
  limiter: LoginLimiter;
  now: () => number;
}

/** The token of `POST /login`'s body `{"token": …}`, or undefined when the body is not that. */
function loginToken(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { token, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || typeof token !== 'string' || token.length < 1 || token.length > 1000) return undefined;
  return token;
}

/** Behind a TLS proxy the cookie may be Secure; on the plain-HTTP API it must not be. */
function overTls(request: ApiRequest): boolean {
  return request.headers['x-forwarded-proto'] === 'https';
}

/** Refuses a braked address, with Retry-After. */
function brake(deps: LoginDeps, request: ApiRequest, reply: Reply): void {
  try {
    deps.limiter.check(request.ip);
  } catch (err) {
    const retryAfterS = err instanceof OutlastError ? err.details?.retryAfterS : undefined;
    if (typeof retryAfterS === 'number') reply.header('retry-after', String(retryAfterS));
    throw err;
  }
}

/** Sets a fresh session cookie on `reply`; returns its expiry. */
function startSession(deps: LoginDeps, request: ApiRequest, reply: Reply): string {
  const now = deps.now();
  reply.header('set-cookie', sessionCookieHeader(newSession(deps.token, now), { secure: overTls(request) }));
  return isoTime(now + SESSION_TTL_MS);
}

/** Registers the login routes on `router`. */
export function registerLoginRoutes(router: Router, deps: LoginDeps): void {
  router.get('/login', async (request, reply) => {
    reply.headers(PAGE_HEADERS);
    brake(deps, request, reply);
    const { t } = request.query;
    // Relative redirects: behind a proxy that serves the API under a sub-path, they stay in it.
    if (typeof t !== 'string' || !deps.codes.consume(t)) {
      // No code is no guess; a wrong one counts.
      if (t !== undefined) deps.limiter.fail(request.ip);
      // A person followed this link: the page says what happened and asks for the token.
      return reply.redirect('./?login=expired', 303);
    }
    startSession(deps, request, reply);
    return reply.redirect('./', 303);
  });

  router.post('/login', async (request, reply) => {
    reply.headers(PAGE_HEADERS);
    refuseForeignOrigin(request);
    brake(deps, request, reply);
    const token = loginToken(request.body);
    if (token === undefined) throw new OutlastError('BAD_REQUEST', 'bad body: expected {"token": "<the token in <stateDir>/token>"}');
    if (!sameSecret(token.trim(), deps.token)) {
      deps.limiter.fail(request.ip);
      throw new OutlastError('UNAUTHORIZED', 'wrong token (see <stateDir>/token)');
    }
    return { ok: true, expiresAt: startSession(deps, request, reply) };
  });

  router.post('/logout', async (request, reply) => {
    reply.header('set-cookie', clearedCookieHeader(overTls(request)));
    return { ok: true };
  });

  router.post('/login-links', async (_request, reply) => {
    const { path, expiresAt } = deps.codes.issue();
    reply.status(201);
    return { path, expiresAt };
  });
}
