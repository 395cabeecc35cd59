/**
 * The control API's HTTP server, bound to node:http. The API itself
 * (supervisor/api/) sees only the server's types: this file is the one place
 * the supervisor's own HTTP server is made.
 */
import type * as HttpModuleNs from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

// Loaded with require, not an ESM import: the ESM namespace of node:http
// reads every export, and its lazy WebSocket getter then loads undici
// (measured: +15 MB resident against ~5 MB for require).
const require = createRequire(import.meta.url);

/** What the server does with each request. */
export type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/** An HTTP/1.1 server (not yet listening) that hands every request to `listener`. */
export function createHttpServer(listener: RequestListener): Server {
  const http = require('node:http') as typeof HttpModuleNs;
  return http.createServer(
    {
      // An idle keep-alive connection stays open 72 s, longer than the
      // 60 s idle timeout of common proxies, so the proxy closes it first and
      // never sends a request on a socket this server is closing.
      keepAliveTimeout: 72_000,
      // No deadline on a whole request: /events streams stay open for hours.
      requestTimeout: 0,
    },
    listener,
  );
}
