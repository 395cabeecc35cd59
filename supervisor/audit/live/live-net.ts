/**
 * The network seam of the live audit: holding connections open against the
 * service. Bound to node:http in node-live-net.ts; the Host covers the rest
 * (spawn, signals, clock, readiness probes).
 */

/** Where the service listens. */
export interface LiveTarget {
  host: string;
  port: number;
}

/** A connection the audit holds open until the service exits. */
export interface HeldConnection {
  destroy(): void;
}

/**
 * What became of the long-lived connection by the time of the stop signal:
 * - `upgraded`: the service accepted a WebSocket-style upgrade (101);
 * - `streaming`: it answered, and the body is still coming (SSE, a stream);
 * - `pending`: no answer yet, a request in flight;
 * - `answered`: a complete plain answer; it is one more idle keep-alive socket;
 * - `closed`: the service closed it.
 */
export type StreamState = 'upgraded' | 'streaming' | 'pending' | 'answered' | 'closed';

/** The long-lived connection. */
export interface HeldStream extends HeldConnection {
  state(): StreamState;
  /** The HTTP status of the answer, once there is one. */
  status(): number | undefined;
}

/** The connections the live audit opens. */
export interface LiveNet {
  /** A TCP port that was free on `host` a moment ago. */
  freePort(host: string): Promise<number>;
  /**
   * A keep-alive connection after one complete GET of `path`, left idle and
   * open. Rejects when there is no complete answer within `timeoutMs`.
   */
  openIdle(target: LiveTarget, path: string, timeoutMs: number): Promise<HeldConnection>;
  /**
   * Sends a WebSocket-style upgrade request for `path` and holds the
   * connection whatever the answer, resolving after the answer's headers or
   * after `settleMs` without one. Rejects only when no connection opens.
   */
  openStream(target: LiveTarget, path: string, settleMs: number): Promise<HeldStream>;
}
