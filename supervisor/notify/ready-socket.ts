/**
 * The supervisor's end of the ready protocol (protocol.ts): a unix STREAM
 * socket the service's `ready()` connects to.
 *
 * How to wire it:
 *
 *   const socket = await listenReadySocket(host, join(stateDir, 'notify.sock'));
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
 * The socket and its file go through the Host ({@link ReadySocketHost}); the
 * protocol itself is pure and lives in protocol.ts.
 */
import { EventEmitter } from 'node:events';
import { OutlastError } from '../errors.ts';
import type { Host, HostFs, HostNet, UnixConnection } from '../host/host.ts';
import { MAX_NOTIFY_LINE, parseNotifyLine, type ReadyMessage } from './protocol.ts';

/** What the ready socket needs of the Host: a unix listener, and its socket file. */
export type ReadySocketHost = Pick<Host, 'runtime'> & {
  net: Pick<HostNet, 'listenUnix' | 'unixAccepts'>;
  fs: Pick<HostFs, 'lstat' | 'chmod' | 'rm'>;
};

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

/** The longest socket path: sun_path is 108 bytes on Linux and 104 on the BSDs, NUL included. */
function maxPathBytes(os: NodeJS.Platform): number {
  return os === 'linux' ? 107 : 103;
}
// A service connects, writes a few lines and hangs up; more at once than
// this is not a service talking to us.
const MAX_CONNECTIONS = 32;

/**
 * Clears the way for a new socket at `path`: a socket file left by a dead
 * supervisor is removed; a live one, or anything that is not a socket, is
 * left alone and refused.
 */
async function removeStale(host: ReadySocketHost, path: string): Promise<void> {
  const info = await host.fs.lstat(path);
  if (info === undefined) return;
  if (info.kind !== 'socket') throw new OutlastError('ADDRESS_IN_USE', `${path} exists and is not a socket; not removing it`, { details: { path } });
  if (await host.net.unixAccepts(path)) throw new OutlastError('ADDRESS_IN_USE', `another process listens on ${path}`, { details: { path } });
  await host.fs.rm(path);
}

function serve(socket: UnixConnection, emit: (message: ReadyMessage) => void): void {
  let buffer = '';
  let pid: number | undefined;
  socket.onData((chunk) => {
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

/**
 * Listens on a unix STREAM socket at `path` (absolute) for ready messages
 * from the service (see the module comment for how to wire it). Resolves once
 * the socket accepts connections, with mode 0600. Rejects with
 * ADDRESS_IN_USE when another process listens there or the path is not a
 * socket, and STATE_DIR_UNUSABLE when the path is too long for a socket.
 */
export async function listenReadySocket(host: ReadySocketHost, path: string): Promise<ReadySocket> {
  const max = maxPathBytes(host.runtime.os);
  if (Buffer.byteLength(path) > max) {
    throw new OutlastError('STATE_DIR_UNUSABLE', `the notify socket path is too long for a unix socket (${Buffer.byteLength(path)} > ${max} bytes): ${path}; use a shorter state dir`, { details: { path } });
  }
  await removeStale(host, path);
  const events = new EventEmitter();
  const server = await host.net.listenUnix(path, { maxConnections: MAX_CONNECTIONS }, (socket) => serve(socket, (message) => events.emit('message', message)));
  try {
    await host.fs.chmod(path, 0o600);
  } catch (err) {
    // Nobody may be left listening on a socket we could not protect.
    await server.close();
    await host.fs.rm(path);
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
      await server.close();
      await host.fs.rm(path);
    },
  };
  return handle;
}
