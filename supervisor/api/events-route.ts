/**
 * `GET /events`: server-sent events of the supervisor's bus, so a dashboard
 * (or `outlast apply --wait`) can follow restarts and updates live.
 */
import type { EventBus } from '../events.ts';
import type { Router } from './router.ts';

const HEARTBEAT_MS = 15_000;

/** Registers `/events` on `router`. */
export function registerEventsRoute(router: Router, bus: EventBus): void {
  router.get('/events', (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    const headers = { 'content-type': 'text/event-stream', 'cache-control': 'no-store' };
    // HEAD: Node holds the headers of a body-less answer until end(), so a
    // stream left open would never send its status line.
    if (request.method === 'HEAD') return void res.writeHead(200, headers).end();
    res.writeHead(200, { ...headers, connection: 'keep-alive' });
    res.write(': outlast events\n\n');
    const unsubscribe = bus.subscribe((event) => {
      res.write(`event: ${event.type}\ndata: ${JSON.stringify({ at: event.at, ...event.data })}\n\n`);
    });
    // Comments keep proxies and idle timeouts from closing a quiet stream.
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const close = (): void => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    request.raw.once('close', close);
    res.once('error', close);
  });
}
