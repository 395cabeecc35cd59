/**
 * Connection bookkeeping for one HTTP server: every socket, the requests in
 * flight on it, and whether it was upgraded (WebSocket). server.close() alone
 * only stops accepting and then waits for every socket to end on its own;
 * this is what lets the drain end them deliberately instead.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/** A server the helper can drain: node:http or node:https. */
export type DrainableServer = HttpServer | HttpsServer;

interface SocketState {
  responses: Set<ServerResponse>;
  upgraded: boolean;
  /** Requests seen on this socket. */
  served: number;
  /** Accepted before the drain began but no request seen yet: its first request is served. */
  freshAtDrain: boolean;
}

/**
 * How long a socket accepted just before the drain may take to send its first
 * request. The client sent it to a server that was accepting: it gets a real
 * answer, not a 503 or a reset. (With handed-over sockets, the next process
 * is already accepting, so this is the only window where a request could be
 * lost.)
 */
const FRESH_GRACE_MS = 1000;

/** How many connections were in which state. */
export interface ConnectionCounts {
  idle: number;
  inFlight: number;
  upgraded: number;
}

/** The tracker of one server. */
export interface ConnectionTracker {
  counts(): ConnectionCounts;
  /**
   * Starts the drain: new requests are answered 503 with `Connection: close`,
   * responses in flight get `Connection: close`, each socket is ended when
   * its last response is done, and idle keep-alive sockets are destroyed now.
   * Returns the counts as they were when the drain began.
   */
  drain(): ConnectionCounts;
  /** Resolves when no request is in flight (at once when none is). */
  settled(): Promise<void>;
  /** Destroys every socket left, upgraded ones included; returns what was left. */
  destroyAll(): ConnectionCounts;
}

function rejectWhileDraining(_req: IncomingMessage, res: ServerResponse): void {
  // Connection: close makes Node end the socket after this answer, so a
  // keep-alive client learns to go elsewhere instead of waiting on us.
  res.writeHead(503, { connection: 'close', 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' });
  res.end('shutting down\n');
}

/**
 * Starts tracking `server`'s connections. Call it before the server accepts
 * its first connection (right after creating it), or earlier sockets are not
 * seen and can only be waited for, not ended.
 */
export function trackConnections(server: DrainableServer): ConnectionTracker {
  const sockets = new Map<Socket, SocketState>();
  // Responses in flight when the drain began, told to close their socket:
  // the client then knows not to send another request on it.
  const marked = new WeakSet<ServerResponse>();
  const markClose = (res: ServerResponse): void => {
    if (res.headersSent || res.hasHeader('connection')) return;
    res.setHeader('connection', 'close');
    marked.add(res);
  };
  let draining = false;
  let waiters: Array<() => void> = [];
  const inFlight = (): number =>
    [...sockets.values()].reduce((sum, state) => sum + state.responses.size + (state.freshAtDrain && state.served === 0 ? 1 : 0), 0);
  let appListeners: Array<(req: IncomingMessage, res: ServerResponse) => void> = [];
  const duringDrain = (req: IncomingMessage, res: ServerResponse): void => {
    const state = sockets.get(req.socket);
    if (state !== undefined && state.freshAtDrain && state.served === 1) {
      // The first request of a connection accepted before the drain: serve it, then close.
      res.setHeader('connection', 'close');
      for (const listener of appListeners) listener.call(server, req, res);
      return;
    }
    rejectWhileDraining(req, res);
  };

  const stateOf = (socket: Socket): SocketState => {
    let state = sockets.get(socket);
    if (state === undefined) {
      state = { responses: new Set(), upgraded: false, served: 0, freshAtDrain: false };
      sockets.set(socket, state);
      socket.once('close', () => {
        sockets.delete(socket);
        wake();
      });
    }
    return state;
  };

  const wake = (): void => {
    if (inFlight() > 0) return;
    const woken = waiters;
    waiters = [];
    for (const resolve of woken) resolve();
  };

  // For TLS, 'connection' hands out the raw TCP socket while requests carry
  // the TLSSocket wrapped around it; the TLSSocket is the one to follow.
  server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => void stateOf(socket));

  // Prepended so the request is counted before the application's handler can
  // answer it synchronously.
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket;
    const state = stateOf(socket);
    state.served += 1;
    if (draining) {
      // A request pipelined behind one in flight: the 503 it gets must be the
      // last answer on the socket. An earlier response we marked `close` would
      // make Node drop this one unanswered, so it goes back to keep-alive.
      for (const earlier of state.responses) {
        if (marked.has(earlier) && !earlier.headersSent) earlier.removeHeader('connection');
      }
    }
    state.responses.add(res);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      state.responses.delete(res);
      // The last answer on this socket went out: nothing more will come on it.
      if (draining && state.responses.size === 0 && !state.upgraded) socket.end();
      wake();
    };
    res.once('finish', finish);
    res.once('close', finish);
  };
  server.prependListener('request', onRequest);

  // Only listened to when the application listens too: an 'upgrade' listener
  // makes Node hand every upgrade request to it, so adding ours to a server
  // without one would leave those requests unanswered.
  const onUpgrade = (req: IncomingMessage): void => {
    stateOf(req.socket).upgraded = true;
  };
  let followsUpgrades = false;
  const followUpgrades = (): void => {
    // Set first: prependListener emits 'newListener' for ours too.
    followsUpgrades = true;
    server.prependListener('upgrade', onUpgrade);
  };
  if (server.listenerCount('upgrade') > 0) followUpgrades();
  server.on('newListener', (event: string | symbol) => {
    if (event === 'upgrade' && !followsUpgrades) followUpgrades();
  });

  // Forgotten at once rather than on 'close' (a tick later), so the counts of
  // the next phase only show what is really left.
  const discard = (socket: Socket): void => {
    sockets.delete(socket);
    socket.destroy();
  };

  const counts = (): ConnectionCounts => {
    const result: ConnectionCounts = { idle: 0, inFlight: 0, upgraded: 0 };
    for (const state of sockets.values()) {
      if (state.upgraded) result.upgraded += 1;
      else if (state.responses.size > 0) result.inFlight += 1;
      else result.idle += 1;
    }
    return result;
  };

  return {
    counts,
    drain() {
      const before = counts();
      draining = true;
      // Swapped in now rather than wrapped at install time, so a request
      // handler the application adds after us is also kept from new work.
      appListeners = [];
      for (const listener of server.listeners('request')) {
        if (listener !== onRequest && listener !== duringDrain) {
          appListeners.push(listener as (req: IncomingMessage, res: ServerResponse) => void);
          server.removeListener('request', listener as (...args: unknown[]) => void);
        }
      }
      server.on('request', duringDrain);
      for (const [socket, state] of sockets) {
        if (state.upgraded) continue;
        if (state.responses.size > 0) {
          for (const res of state.responses) markClose(res);
        } else if (state.served === 0) {
          state.freshAtDrain = true;
          setTimeout(() => {
            if (state.served === 0) discard(socket);
            wake();
          }, FRESH_GRACE_MS).unref();
        } else {
          discard(socket);
        }
      }
      return before;
    },
    settled() {
      return inFlight() === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
    destroyAll() {
      const left = counts();
      for (const socket of [...sockets.keys()]) discard(socket);
      return left;
    },
  };
}
