/**
 * The client side of the control API, used by `outlast status`, `restart` and
 * later commands: find the supervisor through supervisor.json, send the token.
 */
import { OutlastError, isErrorCode } from '../errors.ts';
import type { ClientHost } from '../host/client-host.ts';
import { findRunningSupervisor, readToken, type SupervisorInfo } from '../state/state-dir.ts';

/** A connection to a running supervisor. */
export interface ApiClient {
  info: SupervisorInfo;
  call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  /** Follows `/events`; resolves once subscribed, with the close function. */
  events(onEvent: (type: string, data: Record<string, unknown>) => void): Promise<() => void>;
}

/** Connects to the supervisor of `stateDir`, or throws NOT_RUNNING. */
export async function connect(host: ClientHost, stateDir: string, timeoutMs = 10 * 60_000): Promise<ApiClient> {
  const info = await findRunningSupervisor(host, stateDir);
  if (info === undefined) {
    throw new OutlastError('NOT_RUNNING', `no running outlast supervisor for state dir ${stateDir} (start one with: outlast run)`);
  }
  const token = await readToken(host, stateDir);
  return {
    info,
    events: (onEvent) =>
      host.net.eventStream(`${info.apiUrl}/events`, { authorization: `Bearer ${token}` }, (type, data) => {
        try {
          onEvent(type, JSON.parse(data) as Record<string, unknown>);
        } catch {
          // A malformed event is skipped; the stream goes on.
        }
      }),
    async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
      let res: { status: number; body: string };
      try {
        res = await host.net.httpRequest({
          method,
          url: `${info.apiUrl}${path}`,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          timeoutMs,
        });
      } catch (err) {
        throw new OutlastError('API_UNREACHABLE', `cannot reach the supervisor API at ${info.apiUrl}: ${(err as Error).message}`, { cause: err });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(res.body);
      } catch {
        throw new OutlastError('INTERNAL', `the API answered ${res.status} with a body that is not JSON`);
      }
      if (res.status >= 400) {
        const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: Record<string, unknown> } }).error;
        const code = isErrorCode(error?.code) ? error.code : 'INTERNAL';
        const details = error?.details;
        const message = typeof error?.message === 'string' ? error.message : `HTTP ${res.status}`;
        throw new OutlastError(code, message, details === undefined ? {} : { details });
      }
      return parsed as T;
    },
  };
}
