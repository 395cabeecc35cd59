/**
 * The control API's router: a table of GET and POST routes (a GET route also
 * answers HEAD), static paths or one `:name` segment, and the request and
 * reply the handlers see. Static paths win over a parameter; paths are
 * matched after percent-decoding, case-sensitively, with no slash dropped.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { OutlastError } from '../errors.ts';

/** A query string's values: a repeated key gives every value, in order. */
export type Query = Readonly<Record<string, string | string[] | undefined>>;

/** A request as the handlers see it. */
export interface ApiRequest {
  readonly method: string;
  /** The request target as sent, query included. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly query: Query;
  readonly params: Readonly<Record<string, string>>;
  /** The peer's address. */
  readonly ip: string;
  /** Undefined, a string (text/plain) or the parsed JSON. */
  body: unknown;
  readonly raw: IncomingMessage;
}

/** The answer being built: its status and headers, until the handler's value is sent. */
export class Reply {
  statusCode = 200;
  /** Header fields by lower-case name. */
  readonly fields: Record<string, string> = {};
  readonly raw: ServerResponse;
  #hijacked = false;

  constructor(raw: ServerResponse) {
    this.raw = raw;
  }

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  header(name: string, value: string): this {
    this.fields[name.toLowerCase()] = value;
    return this;
  }

  headers(values: Readonly<Record<string, string>>): this {
    for (const [name, value] of Object.entries(values)) this.header(name, value);
    return this;
  }

  /** Sets the Location and status; the handler then returns nothing. */
  redirect(location: string, code: number): undefined {
    this.header('location', location).status(code);
    return undefined;
  }

  /** The handler answers on `raw` itself; its value is not sent. */
  hijack(): void {
    this.#hijacked = true;
  }

  get hijacked(): boolean {
    return this.#hijacked;
  }
}

/** A route's handler: its value (an object as JSON, a string, a Buffer, or nothing) is the body. */
export type Handler = (request: ApiRequest, reply: Reply) => unknown;

interface ParamRoute {
  segments: string[];
  handler: Handler;
}

// A longer parameter is refused, not looked up: no id is that long.
const MAX_PARAM_LENGTH = 100;

/** The routes of the API. */
export class Router {
  readonly #static = new Map<string, Handler>();
  readonly #params: Record<string, ParamRoute[]> = {};

  get(path: string, handler: Handler): void {
    this.#add('GET', path, handler);
  }

  post(path: string, handler: Handler): void {
    this.#add('POST', path, handler);
  }

  #add(method: string, path: string, handler: Handler): void {
    if (path.includes('/:')) (this.#params[method] ??= []).push({ segments: path.split('/'), handler });
    else this.#static.set(`${method} ${path}`, handler);
  }

  /**
   * The handler for `method` on the decoded `path` and its parameters
   * (decoded from `rawPath`, the path as sent), or undefined. Throws
   * BAD_REQUEST for a parameter over the length limit.
   */
  find(method: string, path: string, rawPath = path): { handler: Handler; params: Record<string, string> } | undefined {
    const tree = method === 'HEAD' ? 'GET' : method;
    const handler = this.#static.get(`${tree} ${path}`);
    if (handler !== undefined) return { handler, params: {} };
    const segments = path.split('/');
    // Decoding keeps an encoded '/' encoded, so both split alike.
    const rawSegments = rawPath.split('/');
    let tooLong = false;
    for (const route of this.#params[tree] ?? []) {
      if (route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const matches = route.segments.every((pattern, i) => {
        const segment = segments[i] ?? '';
        if (!pattern.startsWith(':')) return pattern === segment;
        if (segment.length > MAX_PARAM_LENGTH) tooLong = true;
        params[pattern.slice(1)] = decodeURIComponent(rawSegments[i] ?? '');
        return segment.length <= MAX_PARAM_LENGTH;
      });
      if (matches) return { handler: route.handler, params };
    }
    if (tooLong) throw new OutlastError('BAD_REQUEST', `'${path}' is exceeding the max param length`);
    return undefined;
  }
}

/**
 * The path of a request target, percent-decoded (an encoded `/`, `?` or
 * `#` stays encoded, so it never splits a segment), and its query string.
 * Throws BAD_REQUEST for a malformed percent-encoding.
 */
export function splitTarget(url: string): { path: string; rawPath: string; query: Query } {
  // An absolute-form target (`GET http://host/status`, as sent to a proxy) is routed by its path.
  const origin = url.startsWith('/') ? undefined : /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(url)?.[0];
  const target = origin === undefined ? url : url.slice(origin.length);
  const end = target.search(/[?#]/);
  const rawPath = end < 0 ? target : target.slice(0, end);
  let path = rawPath;
  if (rawPath.includes('%')) {
    try {
      path = decodeURI(rawPath);
    } catch {
      throw new OutlastError('BAD_REQUEST', `'${url}' is not a valid url component`);
    }
  }
  return { path, rawPath, query: end < 0 ? {} : parseQuery(target.slice(end + 1)) };
}

function parseQuery(text: string): Query {
  const query: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of new URLSearchParams(text)) {
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}
