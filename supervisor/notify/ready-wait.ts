/**
 * Readiness by message: waits for READY=1 on the supervisor's notify
 * socket, for a Service with `health.notify`.
 */
import type { Host } from '../host/host.ts';
import type { ReadyMessage } from './protocol.ts';
import type { ReadySocket } from './ready-socket.ts';

/** Waits for READY=1 from the service, bounded by the timeout and the attempt's abort. */
export function waitReadyMessage(host: Host, socket: ReadySocket, signal: AbortSignal, timeoutMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    const timer = new AbortController();
    const done = (result: { ok: true } | { ok: false; reason: string }): void => {
      timer.abort();
      socket.off('message', onMessage);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onMessage = (message: ReadyMessage): void => {
      if (message.ready === true) done({ ok: true });
    };
    const onAbort = (): void => done({ ok: false, reason: 'aborted' });
    host.clock.sleep(timeoutMs, timer.signal).then(() => done({ ok: false, reason: `no READY=1 within ${timeoutMs} ms` }), () => undefined);
    socket.on('message', onMessage);
    signal.addEventListener('abort', onAbort);
  });
}
