/**
 * The real Host's network, bound to fetch, node:net and Node's tcp_wrap:
 * client HTTP, TCP probes, the bound-not-listening sockets handed to
 * children, and the unix socket services report readiness on.
 */
import type * as HttpModuleNs from 'node:http';
import { createRequire } from 'node:module';
import { connect, createServer, type Socket } from 'node:net';
import type * as TlsModule from 'node:tls';
import type { HostNet, HttpRequest, ProbeOptions, UnixServer } from './host.ts';

const require = createRequire(import.meta.url);
type HttpModule = typeof HttpModuleNs;

interface TcpBinding {
  TCP: new (type: number) => { bind(host: string, port: number, flags?: number): number; bind6(host: string, port: number, flags: number): number; fd: number; close(): void };
  constants: { SERVER: number; UV_TCP_REUSEPORT?: number };
}

/**
 * A bound, not listening, TCP socket. Node's net.Server would listen and
 * accept in this process (libuv polls every listening handle), stealing
 * connections meant for the children, so the socket is made with the raw
 * tcp_wrap binding: bind only. Children call listen() on their copy; the
 * socket then stays listening while we hold it, and connections that arrive
 * between two children wait in the backlog instead of being refused.
 */
function bindTcp(host: string, port: number, options: { reusePort?: boolean } = {}): { fd: number; close(): void } {
  const { TCP, constants: tcp } = (process as unknown as { binding(name: string): TcpBinding }).binding('tcp_wrap');
  const handle = new TCP(tcp.SERVER);
  let flags = 0;
  if (options.reusePort === true) {
    if (tcp.UV_TCP_REUSEPORT === undefined) throw Object.assign(new Error(`cannot bind ${host}:${port} with SO_REUSEPORT: this Node lacks it`), { code: 'ENOTSUP' });
    flags = tcp.UV_TCP_REUSEPORT;
  }
  const err = host.includes(':') ? handle.bind6(host, port, flags) : handle.bind(host, port, flags);
  if (err !== 0) {
    handle.close();
    const code = err === -98 ? 'EADDRINUSE' : err === -13 ? 'EACCES' : err === -99 ? 'EADDRNOTAVAIL' : `errno ${err}`;
    throw Object.assign(new Error(`cannot bind ${host}:${port}: ${code}`), { code });
  }
  return { fd: handle.fd, close: () => handle.close() };
}

async function httpRequest(request: HttpRequest): Promise<{ status: number; body: string }> {
  const res = await fetch(request.url, {
    method: request.method,
    headers: request.headers ?? {},
    body: request.body ?? null,
    signal: AbortSignal.timeout(request.timeoutMs),
    redirect: 'manual',
  });
  return { status: res.status, body: await res.text() };
}

async function eventStream(url: string, headers: Record<string, string>, onEvent: (event: string, data: string) => void): Promise<() => void> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  if (res.status !== 200 || res.body === null) {
    abort.abort();
    throw new Error(`event stream answered HTTP ${res.status}`);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) onEvent(event, data.join('\n'));
      }
    }
  })();
  return () => abort.abort();
}

/**
 * Opens a TCP connection and runs `check` on it before handing it on;
 * rejects (closing it) on a connect error, a failed check, or `signal`.
 */
function openChecked(host: string, port: number, signal: AbortSignal, check: NonNullable<ProbeOptions['check']>): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const fail = (err: unknown): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const onAbort = (): void => fail(new Error(`connection to ${host}:${port} timed out`));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', fail);
    socket.once('connect', () => {
      const ends = { localAddress: socket.localAddress ?? '', localPort: socket.localPort ?? 0, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 };
      check(ends).then(() => {
        if (signal.aborted) return;
        signal.removeEventListener('abort', onAbort);
        socket.off('error', fail);
        // Whoever takes the socket over listens for errors from the next tick on.
        socket.on('error', () => undefined);
        resolve(socket);
      }, fail);
    });
  });
}

/**
 * The health probe: node:http with no agent (one short connection per
 * check, nothing pooled between checks), which costs a fraction of fetch's
 * CPU per check. Loaded through require: an ESM import of node:http would
 * pull in undici through its lazy WebSocket getter. Redirects are not
 * followed: a 3xx is the answer. With `check`, the connection is opened
 * first and the request is sent on it only once the check passed: who
 * accepted it is known before the server can answer, or close.
 */
function httpGet(url: string, timeoutMs: number, options: ProbeOptions = {}): Promise<number> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const client = (secure ? require('node:https') : require('node:http')) as HttpModule;
  const signal = AbortSignal.timeout(timeoutMs);
  const get = (socket?: Socket): Promise<number> =>
    new Promise((resolve, reject) => {
      // With our own connection there is no agent at all: createConnection hands it over.
      // node:tls (with all of node:crypto, ~6 MB resident) is loaded only for an https URL.
      const tls = (): typeof TlsModule => require('node:tls') as typeof TlsModule;
      const how: HttpModuleNs.RequestOptions = socket === undefined ? { agent: false } : { createConnection: (opts) => (secure ? tls().connect({ ...(opts as TlsModule.ConnectionOptions), socket }) : socket) };
      const request = client.get(target, { ...how, signal }, (res) => {
        // Drain the body so the socket closes at once.
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      request.on('error', reject);
    });
  if (options.check === undefined) return get();
  const port = Number(target.port === '' ? (secure ? 443 : 80) : target.port);
  return openChecked(target.hostname.replace(/^\[(.*)\]$/, '$1'), port, signal, options.check).then(get);
}

async function tcpConnect(host: string, port: number, timeoutMs: number, options: ProbeOptions = {}): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const socket = await openChecked(host, port, signal, options.check ?? (() => Promise.resolve()));
    socket.end();
  } catch (err) {
    throw signal.aborted ? new Error(`TCP connect to ${host}:${port} timed out after ${timeoutMs} ms`) : err;
  }
}

function listenUnix(path: string, options: { maxConnections: number }, onConnection: Parameters<HostNet['listenUnix']>[2]): Promise<UnixServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    // A client that vanishes mid-line is no concern of ours.
    socket.on('error', () => undefined);
    onConnection({ onData: (listener) => void socket.on('data', listener), destroy: () => socket.destroy() });
  });
  server.maxConnections = options.maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      // A failed accept later on must not crash the supervisor.
      server.on('error', () => undefined);
      resolve({
        close() {
          const closed = new Promise<void>((done) => server.close(() => done()));
          for (const socket of sockets) socket.destroy();
          return closed;
        },
      });
    });
  });
}

function unixAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** {@link HostNet} over fetch and node:net. */
export const nodeNet: HostNet = { httpRequest, httpGet, tcpConnect, eventStream, bindTcp, listenUnix, unixAccepts };
