/**
 * One request through the control API, in the order every request takes:
 * the target (a bad percent-encoding is refused before anything else), the
 * route, the access check (before the body is read, so no credential means
 * no body read), the body, the handler, the answer. Every failure on the way
 * answers {error:{code, message}}, keeping the headers the handler had set.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { diskError, OutlastError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { BODY_METHODS, BodyError, readBody } from './body.ts';
import { Reply, splitTarget, type ApiRequest, type Router } from './router.ts';

/** How requests are served. */
export interface PipelineOptions {
  bodyLimit: number;
  logger: Logger;
  /** Runs before the body is read, on every request (an unknown route's too); throws to refuse it. */
  onRequest(request: ApiRequest): void;
}

/** The server's request listener. */
export function createListener(router: Router, options: PipelineOptions): (request: IncomingMessage, response: ServerResponse) => void {
  return (raw, response) => {
    const reply = new Reply(response);
    // handle answers its own errors; this is for an answer that could not be written at all.
    handle(router, options, raw, reply).catch((err: unknown) => {
      options.logger.error({ err }, 'API answer failed');
      response.destroy();
    });
  };
}

async function handle(router: Router, options: PipelineOptions, raw: IncomingMessage, reply: Reply): Promise<void> {
  try {
    const method = raw.method ?? 'GET';
    const url = raw.url ?? '/';
    const { path, rawPath, query } = splitTarget(url);
    const route = router.find(method, path, rawPath);
    const request: ApiRequest = { method, url, headers: raw.headers, query, params: route?.params ?? {}, ip: raw.socket.remoteAddress ?? 'unknown', body: undefined, raw };
    options.onRequest(request);
    if (BODY_METHODS.has(method)) request.body = await readBody(raw, options.bodyLimit, route !== undefined);
    if (route === undefined) throw new OutlastError('NOT_FOUND', `no route ${method} ${url}`);
    const payload: unknown = await route.handler(request, reply);
    if (!reply.hijacked) send(reply, payload);
  } catch (err) {
    answerError(reply, err, options.logger);
  }
}

function toApiError(err: unknown): OutlastError {
  if (err instanceof OutlastError) return err;
  return diskError(err) ?? new OutlastError('INTERNAL', 'internal error', { cause: err });
}

function answerError(reply: Reply, err: unknown, logger: Logger): void {
  const error = toApiError(err);
  if (error.code === 'INTERNAL') logger.error({ err }, 'API request failed');
  // A stream already under way has no room left for an error answer.
  if (reply.hijacked || reply.raw.headersSent) return void reply.raw.destroy();
  delete reply.fields['content-type'];
  delete reply.fields['content-length'];
  // The client may still be sending the body this answer refuses.
  if (err instanceof BodyError) reply.header('connection', 'close');
  send(reply.status(error.httpStatus), error.toJSON());
}

/**
 * Writes `payload` with the reply's status and headers: an object as JSON,
 * a string as text, a Buffer as it is (each with a default Content-Type),
 * undefined as no body. A HEAD answer carries the headers of the body it
 * leaves out (Node drops the body itself).
 */
function send(reply: Reply, payload: unknown): void {
  const { fields, raw } = reply;
  let body: string | Buffer | undefined;
  if (Buffer.isBuffer(payload)) {
    body = payload;
    fields['content-type'] ??= 'application/octet-stream';
  } else if (typeof payload === 'string') {
    body = payload;
    fields['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (payload !== undefined) {
    body = JSON.stringify(payload);
    fields['content-type'] ??= 'application/json; charset=utf-8';
  }
  const status = reply.statusCode;
  if (body !== undefined) fields['content-length'] = String(Buffer.byteLength(body));
  // No length on a 204 or 304 (RFC 9110 §8.6); a HEAD's empty answer says 0.
  else if (raw.req.method === 'HEAD' || (status >= 200 && status !== 204 && status !== 304)) fields['content-length'] = '0';
  raw.writeHead(status, fields);
  raw.end(body);
}
