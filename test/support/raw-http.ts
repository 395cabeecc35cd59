/**
 * Raw HTTP/1.1 client connections for shutdown tests: plain sockets, so a
 * test decides exactly what is sent when (a pipelined request during the
 * drain, an upgrade held open) and sees every byte the server sends back.
 */
import { connect, type Socket } from 'node:net';
import { waitFor } from './wait.ts';

/** One raw connection and everything received on it. */
export interface RawConnection {
  socket: Socket;
  /** All bytes received so far, as latin1 text. */
  received(): string;
  /** Resolves when the server (or anyone) closed the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
  send(text: string): void;
  /** Polls until `received()` satisfies `test`. */
  until(test: (text: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
}

/** Opens a TCP connection to 127.0.0.1:port. */
export async function rawConnect(port: number): Promise<RawConnection> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closedPromise = new Promise<void>((resolve) => socket.once('close', () => {
    closed = true;
    resolve();
  }));
  return {
    socket,
    received: () => text,
    closed: closedPromise,
    isClosed: () => closed,
    send: (data) => void socket.write(data),
    until: (test, what, timeoutMs = 10_000) => waitFor(() => (test(text) ? text : undefined), what, timeoutMs, 5),
  };
}

/** A GET request line and headers for a keep-alive connection. */
export function get(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`;
}

/** Opens `count` keep-alive connections, each after one answered GET, left idle. */
export async function idleConnections(port: number, count: number, path = '/'): Promise<RawConnection[]> {
  const opened: RawConnection[] = [];
  // In batches, so the listen backlog never overflows.
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, count - i) }, async () => {
      const connection = await rawConnect(port);
      connection.send(get(path));
      await connection.until((text) => /\r\n\r\n[\s\S]*\n/.test(text), 'the first answer');
      return connection;
    }));
    opened.push(...batch);
  }
  return opened;
}

/** Opens a WebSocket-style upgraded connection and waits for the 101. */
export async function upgradedConnection(port: number, path = '/'): Promise<RawConnection> {
  const connection = await rawConnect(port);
  connection.send(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  await connection.until((text) => text.startsWith('HTTP/1.1 101'), 'the 101 answer');
  return connection;
}

/** The status lines of every response in `text`, in order. */
export function statusLines(text: string): string[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3})[^\r\n]*/g)].map((match) => match[0]);
}
