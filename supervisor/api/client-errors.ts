/**
 * Answers for what goes wrong before a request reaches a route, in the API's
 * one error shape {error:{code, message}}. Node's HTTP parser rejects a
 * malformed request line or header, or headers over the size limit, on the
 * raw socket (`clientError`); a failed `Expect` never becomes a request
 * (`checkExpectation`). Left alone, Fastify and Node answer those with their
 * own bodies, or none.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { OutlastError } from '../errors.ts';

/** The parser error Node hands to `clientError`. */
type ClientError = Error & { code?: string; reason?: unknown };

/** The stable error for a request the parser refused. */
export function clientErrorFor(err: ClientError): OutlastError {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return new OutlastError('HEADERS_TOO_LARGE', 'request headers are larger than the server accepts', { cause: err });
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new OutlastError('REQUEST_TIMEOUT', 'the request did not arrive in time', { cause: err });
  }
  const reason = typeof err.reason === 'string' && err.reason !== '' ? err.reason : err.message;
  return new OutlastError('BAD_REQUEST', `malformed request: ${reason} (${err.code ?? 'unknown'})`, { cause: err });
}

/** The raw HTTP/1.1 answer for `error`, closing the connection. */
export function rawAnswer(error: OutlastError): string {
  const body = JSON.stringify(error.toJSON());
  const status = error.httpStatus;
  return (
    `HTTP/1.1 ${status} ${statusText(status)}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

function statusText(status: number): string {
  return { 400: 'Bad Request', 408: 'Request Timeout', 417: 'Expectation Failed', 431: 'Request Header Fields Too Large' }[status] ?? 'Error';
}

/** The server's `clientError` listener: answers in the error shape, then closes. */
export function onClientError(err: ClientError, socket: Duplex): void {
  // A reset peer has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // A response still being written on this connection owns the socket: a
  // second status line in the middle of its body would corrupt it.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && (inFlight === undefined || inFlight === null || inFlight.writableFinished)) {
    socket.write(rawAnswer(clientErrorFor(err)));
  }
  socket.destroy();
}

/** The server's `checkExpectation` listener: an `Expect` other than 100-continue. */
export function onBadExpectation(request: IncomingMessage, response: ServerResponse): void {
  const error = new OutlastError('EXPECTATION_FAILED', `unsupported expectation: ${String(request.headers.expect)}`);
  const body = JSON.stringify(error.toJSON());
  response.writeHead(error.httpStatus, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  // A HEAD answer carries the headers of the body, never the body.
  response.end(request.method === 'HEAD' ? undefined : body);
}
