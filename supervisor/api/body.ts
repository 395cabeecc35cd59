/**
 * Request bodies of the control API: JSON (`application/json`) and plain
 * text (`text/plain`), at most `bodyLimit` bytes. Any other media type is
 * refused; a request with neither Content-Type nor a body has no body.
 */
import type { IncomingMessage } from 'node:http';
import { OutlastError } from '../errors.ts';

/** The methods whose requests may carry a body (a GET's or HEAD's is never read). */
export const BODY_METHODS: ReadonlySet<string> = new Set(['DELETE', 'OPTIONS', 'PATCH', 'PUT', 'POST', 'QUERY']);

const TOKEN = /^[\w!#$%&'*+.^`|~-]+$/;

/** `header`'s media type, lower-cased without parameters, or undefined when it is malformed. */
export function mediaTypeOf(header: string): string | undefined {
  const semicolon = header.indexOf(';');
  const media = (semicolon < 0 ? header : header.slice(0, semicolon)).toLowerCase();
  const slash = media.indexOf('/');
  if (slash < 0) return undefined;
  const type = media.slice(0, slash).trimStart();
  const subtype = media.slice(slash + 1).trimEnd();
  return TOKEN.test(type) && TOKEN.test(subtype) ? `${type}/${subtype}` : undefined;
}

/** A failure while reading or parsing the body: the connection closes after the answer. */
export class BodyError extends OutlastError {}

function unsupported(): OutlastError {
  return new OutlastError('BAD_REQUEST', 'Unsupported Media Type');
}

/**
 * The body of `request`: undefined when there is none, a string for
 * text/plain, the parsed value for JSON. On an unknown route a body of an
 * unknown type is not read (the answer is the 404). Throws BAD_REQUEST or
 * PAYLOAD_TOO_LARGE; a BodyError when the bytes themselves were wrong.
 */
export async function readBody(request: IncomingMessage, limit: number, routeFound: boolean): Promise<unknown> {
  const { headers } = request;
  const contentType = headers['content-type'];
  if (contentType === undefined) {
    if (request.method === 'QUERY') throw new OutlastError('BAD_REQUEST', "Method 'QUERY' must provide a 'Content-Type' header.");
    const length = headers['content-length'];
    if (headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return undefined;
    if (!routeFound) return undefined;
    throw unsupported();
  }
  const media = mediaTypeOf(contentType);
  if (media === undefined) throw unsupported();
  if (media !== 'application/json' && media !== 'text/plain') {
    if (!routeFound) return undefined;
    throw unsupported();
  }
  const text = (await readBytes(request, limit)).toString('utf8');
  return media === 'text/plain' ? text : parseJson(text);
}

/** The whole body, refused past `limit` bytes or when it is not the Content-Length it announced. */
function readBytes(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  // Refused before a byte is read: the client may still be sending, which
  // is why every BodyError closes the connection after its answer.
  if (declared > limit) return Promise.reject(new BodyError('PAYLOAD_TOO_LARGE', 'Request body is too large'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    // Listeners, not an async iterator: leaving an iterator early destroys
    // the request, and with it the socket the answer must go out on.
    const stop = (): void => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) {
        stop();
        reject(new BodyError('PAYLOAD_TOO_LARGE', 'Request body is too large'));
      } else chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      if (!Number.isNaN(declared) && received !== declared) reject(new BodyError('BAD_REQUEST', 'Request body size did not match Content-Length'));
      else resolve(Buffer.concat(chunks, received));
    };
    const onError = (err: Error): void => {
      stop();
      reject(new BodyError('BAD_REQUEST', err.message, { cause: err }));
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  });
}

/**
 * JSON.parse that refuses `__proto__` keys and `constructor.prototype`: a
 * body merged into an object later must not reach its prototype.
 */
function parseJson(text: string): unknown {
  if (text.length === 0) throw new BodyError('BAD_REQUEST', "Body cannot be empty when content-type is set to 'application/json'");
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype'))) {
        throw new SyntaxError('forbidden prototype property');
      }
      return value;
    });
  } catch (err) {
    throw new BodyError('BAD_REQUEST', "Body is not valid JSON but content-type is set to 'application/json'", { cause: err });
  }
}
