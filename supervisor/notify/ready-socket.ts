/**
 * The supervisor's end of the ready protocol (protocol.ts): a unix STREAM
 * socket the service's `ready()` connects to.
 *
 * How to wire it:
 *
 *   const socket = await listenReadySocket(join(stateDir, 'notify.sock'));
 *   socket.on('message', (msg) => {
 *     if (msg.ready === true && msg.pid === child.pid) markReady();
 *     if (msg.status !== undefined) log.info({ status: msg.status }, 'service status');
 *   });
 *   spawn(command, { env: { ...env, OUTLAST_NOTIFY_SOCKET: socket.path } });
 *   ...
 *   await socket.close();
 *
 * - Listen before spawning, so a fast service never finds the path missing.
 * - `pid` is what the sender claims (MAINPID=). Node cannot read the peer's
 *   credentials (SO_PEERCRED), so compare it with the child's pid and ignore
 *   what does not match (a stale process of a previous run, a grandchild).
 * - Put the socket in a directory only our user can enter (the state dir,
 *   0700): the file is chmod'ed to 0600 right after bind, and the directory
 *   closes the window before that.
 * - A path is limited to ~107 bytes on Linux (sun_path); a longer one is
 *   refused with STATE_DIR_UNUSABLE rather than silently truncated.
 *
 * This module is an edge binding (node:net, node:fs), like host/node-host.ts;
 * the protocol itself is pure and lives in protocol.ts.
 */
import { EventEmitter } from 'node:events';
import { chmod, lstat, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { OutlastError } from '../errors.ts';
import { MAX_NOTIFY_LINE, parseNotifyLine, type ReadyMessage } from './protocol.ts';

/** The listening socket. */
export interface ReadySocket {
  /** The socket's path: the value for OUTLAST_NOTIFY_SOCKET. */
  readonly path: string;
  /** One call per READY=1 or STATUS= line received, in order. */
  on(event: 'message', listener: (message: ReadyMessage) => void): ReadySocket;
  off(event: 'message', listener: (message: ReadyMessage) => void): ReadySocket;
  /** Stops listening, drops open connections and removes the socket file. */
  close(): Promise<void>;
}

// sun_path is 108 bytes on Linux and 104 on the BSDs, NUL included.
const MAX_PATH_BYTES = process.platform === 'linux' ? 107 : 103;
// A service connects, writes a few lines and hangs up; more at once than
// this is not a service talking to us.
const MAX_CONNECTIONS = 32;

/** Whether something accepts connections on the unix socket at `path`. */
function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Clears the way for a new socket at `path`: a socket file left by a dead
 * supervisor is removed; a live one, or anything that is not a socket, is
 * left alone and refused.
 */
async function removeStale(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) throw new OutlastError('ADDRESS_IN_USE', `${path} exists and is not a socket; not removing it`, { details: { path } });
  if (await listening(path)) throw new OutlastError('ADDRESS_IN_USE', `another process listens on ${path}`, { details: { path } });
  await rm(path, { force: true });
}

function serve(socket: Socket, emit: (message: ReadyMessage) => void): void {
  let buffer = '';
  let pid: number | undefined;
  socket.setEncoding('utf8');
  // A client that vanishes mid-line is no concern of ours.
  socket.on('error', () => undefined);
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
      const parsed = parseNotifyLine(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      if (parsed?.pid !== undefined) pid = parsed.pid;
      else if (parsed !== undefined) emit(pid === undefined ? parsed : { ...parsed, pid });
    }
    if (buffer.length > MAX_NOTIFY_LINE) socket.destroy();
  });
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Listens on a unix STREAM socket at `path` (absolute) for ready messages
 * from the service (see the module comment for how to wire it). Resolves once
 * the socket accepts connections, with mode 0600. Rejects with
 * ADDRESS_IN_USE when another process listens there or the path is not a
 * socket, and STATE_DIR_UNUSABLE when the path is too long for a socket.
 */
export async function listenReadySocket(path: string): Promise<ReadySocket> {
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) {
    throw new OutlastError('STATE_DIR_UNUSABLE', `the notify socket path is too long for a unix socket (${Buffer.byteLength(path)} > ${MAX_PATH_BYTES} bytes): ${path}; use a shorter state dir`, { details: { path } });
  }
  await removeStale(path);
  const events = new EventEmitter();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serve(socket, (message) => events.emit('message', message));
  });
  server.maxConnections = MAX_CONNECTIONS;
  await listen(server, path);
  // A failed accept later on must not crash the supervisor.
  server.on('error', () => undefined);
  try {
    await chmod(path, 0o600);
  } catch (err) {
    // Nobody may be left listening on a socket we could not protect.
    server.close();
    await rm(path, { force: true });
    throw err;
  }
  const handle: ReadySocket = {
    path,
    on(event, listener) {
      events.on(event, listener);
      return handle;
    },
    off(event, listener) {
      events.off(event, listener);
      return handle;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await rm(path, { force: true });
    },
  };
  return handle;
}
