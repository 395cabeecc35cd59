// The status page's files and its session rules, through the real API on
// loopback (real routing, checks and headers), on a clock the test moves:
// one-time codes, the cookie, the Origin rules, the login brake. A client
// from another address binds another loopback address (127.0.0.7).
import { readdirSync, readFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LoginCodes } from '../../supervisor/api/login-codes.ts';
import { createApi, type ApiServer } from '../../supervisor/api/server.ts';
import { EventBus } from '../../supervisor/events.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';

const TOKEN = 'the-right-token-0123456789';
const PAGE = join(import.meta.dirname, '../../supervisor/api/page');
const ORIGIN = 'http://127.0.0.1:7070';

interface Answer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: string;
  json<T>(): T;
}

interface Call {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON, a string as it is. */
  payload?: unknown;
  /** The loopback address the client connects from. */
  remoteAddress?: string;
}

/** One request to the API at `port`, on a connection of its own. */
function call(port: number, options: Call): Promise<Answer> {
  const { method, url, headers = {}, payload, remoteAddress = '127.0.0.1' } = options;
  const body = payload === undefined ? undefined : typeof payload === 'string' ? payload : JSON.stringify(payload);
  const type = body !== undefined && typeof payload !== 'string' ? { 'content-type': 'application/json' } : {};
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: url, localAddress: remoteAddress, agent: false, headers: { ...type, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: text, json: <T>() => JSON.parse(text) as T }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const servers: ApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

interface Harness {
  app: { inject(options: Call): Promise<Answer> };
  codes: LoginCodes;
  clock: { now: number };
  restarts: string[];
}

async function harness(token = TOKEN, clock = { now: Date.parse('2030-01-01T00:00:00Z') }): Promise<Harness> {
  const codes = new LoginCodes(() => clock.now);
  const restarts: string[] = [];
  const api = createApi(
    {
      token,
      supervisorStatus: () => ({ pid: 10, version: '0.1.0', startedAt: '2030-01-01T00:00:00.000Z', name: 'app' }),
      serviceStatus: () => ({ state: 'ready', pid: 11, restarts: 0, uptimeMs: 5, healthFailures: 0, lastExit: null, reason: null }),
      statusExtras: async () => ({}),
      restart: async (target) => {
        restarts.push(target);
        return {};
      },
      stop: async () => ({ pid: 10, drainMs: 1000 }),
      updater: undefined,
      events: new EventBus(() => clock.now),
      logins: codes,
      metrics: () => {
        throw new Error('no metrics in these tests');
      },
      resident: () => ({ rssMb: 50, modules: [], builtins: [], moduleCount: 1, loaded: [] }),
      insights: {
        doctor: async () => ({ platform: { kind: 'bare' } }) as never,
        why: async () => ({ code: 'no-history', summary: 'no restart-window markers yet', evidence: [] }),
      },
    },
    { bodyLimit: 64 * 1024, logger: createLogger({ level: 'silent', sink: memorySink(), pid: 10 }), now: () => clock.now },
  );
  servers.push(api);
  await api.listen({ host: '127.0.0.1', port: 0 });
  const { port } = api.server.address() as { port: number };
  return { app: { inject: (options) => call(port, options) }, codes, clock, restarts };
}

/** Logs in with a fresh one-time code; returns the Cookie header value. */
async function session(h: Harness): Promise<string> {
  const res = await h.app.inject({ method: 'GET', url: h.codes.issue().path });
  expect([res.statusCode, res.headers.location]).toEqual([303, './']);
  return String(res.headers['set-cookie']).split(';')[0]!;
}

const restart = (h: Harness, headers: Record<string, string>, remoteAddress?: string) =>
  h.app.inject({ method: 'POST', url: '/restart', headers: { host: '127.0.0.1:7070', 'content-type': 'application/json', ...headers }, payload: '{}', ...(remoteAddress === undefined ? {} : { remoteAddress }) });

describe('the page files', () => {
  it('serves the page, its script and style with strict headers, revalidated by ETag', async () => {
    const { app } = await harness();
    for (const [url, type] of [['/', 'text/html'], ['/app.js', 'text/javascript'], ['/app.css', 'text/css'], ['/favicon.svg', 'image/svg+xml']]) {
      const res = await app.inject({ method: 'GET', url: url! });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain(type);
      expect(res.headers['content-security-policy']).toMatch(/^default-src 'self';.*frame-ancestors 'none'/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      const again = await app.inject({ method: 'GET', url: url!, headers: { 'if-none-match': String(res.headers.etag) } });
      expect([again.statusCode, again.body]).toEqual([304, '']);
    }
  });

  it('has no inline script or style, loads only files it serves, and stays under 60 KB', async () => {
    const { app } = await harness();
    const html = readFileSync(join(PAGE, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const names = readdirSync(PAGE);
    const scripts = names.filter((name) => name.endsWith('.js'));
    const references = [
      ...[...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!),
      ...scripts.flatMap((name) => [...readFileSync(join(PAGE, name), 'utf8').matchAll(/^import .* from '\.\/([^']+)';$/gm)].map((m) => m[1]!)),
    ];
    // Every file is loaded by something, and everything loaded is served.
    expect(new Set(references)).toEqual(new Set(names.filter((name) => name !== 'index.html')));
    for (const name of names) expect((await app.inject({ method: 'GET', url: `/${name === 'index.html' ? '' : name}` })).statusCode, name).toBe(200);
    const total = names.reduce((sum, name) => sum + readFileSync(join(PAGE, name)).length, 0);
    expect(total).toBeLessThan(60 * 1024);
  });
});

describe('credentials', () => {
  it('keeps every other route closed without one, /health and the page open', async () => {
    const { app } = await harness();
    for (const url of ['/status', '/doctor', '/why', '/updates', '/events']) {
      const res = await app.inject({ method: 'GET', url });
      expect([url, res.statusCode, res.json<{ error: { code: string } }>().error.code]).toEqual([url, 401, 'UNAUTHORIZED']);
    }
    expect((await app.inject({ method: 'POST', url: '/login-links' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('takes a one-time code once, and not after ten minutes', async () => {
    const h = await harness();
    const { path } = h.codes.issue();
    expect((await h.app.inject({ method: 'GET', url: path })).statusCode).toBe(303);
    const used = await h.app.inject({ method: 'GET', url: path });
    expect([used.headers.location, used.headers['set-cookie']]).toEqual(['./?login=expired', undefined]);
    const late = h.codes.issue();
    h.clock.now += 10 * 60_000;
    expect((await h.app.inject({ method: 'GET', url: late.path })).headers.location).toBe('./?login=expired');
  });

  it('hands out codes to a bearer client', async () => {
    const h = await harness();
    const res = await h.app.inject({ method: 'POST', url: '/login-links', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(201);
    const { path } = res.json<{ path: string }>();
    expect(path).toMatch(/^\/login\?t=[A-Za-z0-9_-]{22}$/);
    expect((await h.app.inject({ method: 'GET', url: path })).headers.location).toBe('./');
  });

  it('sets an HttpOnly, SameSite=Strict, Path=/ cookie that reads the API for a week', async () => {
    const h = await harness();
    const res = await h.app.inject({ method: 'POST', url: '/login', payload: { token: TOKEN } });
    expect(res.statusCode).toBe(200);
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^outlast_session=[^;]+; Max-Age=604800; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(';')[0]!;
    expect((await h.app.inject({ method: 'GET', url: '/status', headers: { cookie } })).statusCode).toBe(200);
    h.clock.now += 7 * 24 * 3_600_000;
    expect((await h.app.inject({ method: 'GET', url: '/status', headers: { cookie } })).statusCode).toBe(401);
  });

  it('binds the session to the token: another token, or an edited cookie, is no session', async () => {
    const h = await harness();
    const cookie = await session(h);
    expect((await (await harness('a-rotated-token')).app.inject({ method: 'GET', url: '/status', headers: { cookie } })).statusCode).toBe(401);
    const [id, expiry, mac] = cookie.slice('outlast_session='.length).split('.');
    const longer = `outlast_session=${id}.${Number(expiry) + 1}.${mac}`;
    expect((await h.app.inject({ method: 'GET', url: '/status', headers: { cookie: longer } })).statusCode).toBe(401);
  });

  it('lets a cookie change state only from the page: the same Origin passes, another or none is refused', async () => {
    const h = await harness();
    const cookie = await session(h);
    expect((await restart(h, { cookie, origin: ORIGIN })).statusCode).toBe(202);
    const foreign = await restart(h, { cookie, origin: 'http://evil.example' });
    expect([foreign.statusCode, foreign.json<{ error: { code: string } }>().error.code]).toEqual([403, 'FORBIDDEN']);
    expect((await restart(h, { cookie })).statusCode).toBe(403);
    expect((await restart(h, { cookie, origin: ORIGIN, 'sec-fetch-site': 'same-site' })).statusCode).toBe(403);
    const read = await h.app.inject({ method: 'GET', url: '/status', headers: { cookie, 'sec-fetch-site': 'cross-site' } });
    expect(read.statusCode).toBe(403);
    expect(h.restarts).toEqual(['service']);
  });

  it('leaves bearer clients as they were, whatever Origin they send', async () => {
    const h = await harness();
    expect((await restart(h, { authorization: `Bearer ${TOKEN}`, origin: 'http://evil.example' })).statusCode).toBe(202);
    // A wrong bearer token is not rescued by a good cookie.
    const cookie = await session(h);
    expect((await h.app.inject({ method: 'GET', url: '/status', headers: { cookie, authorization: 'Bearer wrong' } })).statusCode).toBe(401);
  });

  it('logs out by clearing the cookie', async () => {
    const h = await harness();
    const cookie = await session(h);
    const res = await h.app.inject({ method: 'POST', url: '/logout', headers: { cookie, host: '127.0.0.1:7070', origin: ORIGIN } });
    expect(res.statusCode).toBe(200);
    expect(String(res.headers['set-cookie'])).toMatch(/^outlast_session=; Max-Age=0; Path=\//);
  });
});

describe('the login brake', () => {
  it('refuses an address after 5 wrong logins in a minute, even the right token, with 429 and Retry-After', async () => {
    const h = await harness();
    const login = (token: string, remoteAddress = '127.0.0.7') => h.app.inject({ method: 'POST', url: '/login', payload: { token }, remoteAddress });
    for (let i = 0; i < 4; i++) expect((await login('wrong')).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/login?t=made-up', remoteAddress: '127.0.0.7' })).headers.location).toBe('./?login=expired');
    h.clock.now += 30_000;
    const braked = await login(TOKEN);
    expect(braked.statusCode).toBe(429);
    expect(braked.json<{ error: { code: string } }>().error.code).toBe('TOO_MANY_REQUESTS');
    expect(braked.headers['retry-after']).toBe('30');
    expect(braked.headers['set-cookie']).toBeUndefined();
    expect((await h.app.inject({ method: 'GET', url: h.codes.issue().path, remoteAddress: '127.0.0.7' })).statusCode).toBe(429);
    // Another address is not braked by this one's failures.
    expect((await login(TOKEN, '127.0.0.8')).statusCode).toBe(200);
    h.clock.now += 30_001;
    expect((await login(TOKEN)).statusCode).toBe(200);
  });
});
