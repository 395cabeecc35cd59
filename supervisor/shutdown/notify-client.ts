/**
 * The service's end of the ready protocol (notify/protocol.ts): connect to
 * the socket named by OUTLAST_NOTIFY_SOCKET, write the lines, hang up.
 */
import { createConnection } from 'node:net';
import { formatNotify, NOTIFY_SOCKET_ENV, type ReadyMessage } from '../notify/protocol.ts';

/** How a notification went. */
export type NotifyOutcome = { sent: true } | { sent: false; reason: string };

/**
 * Sends `message` (with our pid) to the supervisor's socket. Never rejects: a
 * service must not crash because its supervisor went away, so failures come
 * back as `{sent: false, reason}`. Without OUTLAST_NOTIFY_SOCKET in `env`
 * (not run by outlast, or an outlast without the socket) nothing is sent.
 */
export function sendNotify(env: Readonly<Record<string, string | undefined>>, message: ReadyMessage, timeoutMs = 2000): Promise<NotifyOutcome> {
  const path = env[NOTIFY_SOCKET_ENV];
  if (path === undefined || path === '') return Promise.resolve({ sent: false, reason: `${NOTIFY_SOCKET_ENV} is not set` });
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    const fail = (reason: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ sent: false, reason });
    };
    // Bounded, and unref'd so a notification never holds a draining process open.
    const timer = setTimeout(() => fail(`no answer from ${path} within ${timeoutMs} ms`), timeoutMs);
    timer.unref();
    socket.once('error', (err) => fail(`${path}: ${err.message}`));
    socket.once('connect', () => {
      socket.end(formatNotify({ pid: process.pid, ...message }), () => {
        clearTimeout(timer);
        resolve({ sent: true });
      });
    });
  });
}
