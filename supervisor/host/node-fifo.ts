/**
 * The real Host's FIFOs (see HostFifos): made with mkfifo(1), since Node has
 * no mkfifo; read through a net.Socket on the descriptor, so libuv polls it
 * like a pipe and reports its end when the last writer is gone.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { HostFifos } from './host.ts';

/** Synchronous, so a spawn stays synchronous: about 2 ms per FIFO, once per child started. */
function make(path: string): void {
  try {
    execFileSync('mkfifo', ['-m', '600', path], { timeout: 5000, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const output = (err as { stderr?: Buffer | string }).stderr;
    const stderr = (output === undefined ? '' : output.toString()).trim();
    throw new Error(`mkfifo ${path}: ${stderr === '' ? (err as Error).message : stderr}`, { cause: err });
  }
}

function openForChild(path: string): { fd: number; close(): void } {
  // O_RDWR on a FIFO never blocks on Linux, and makes the holder its own reader.
  const fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY);
  let open = true;
  return {
    fd,
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

function read(path: string): Socket {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  const socket = new Socket({ fd, readable: true, writable: false });
  // A read error ends the stream for its reader (forwardLines); it must not crash us.
  socket.on('error', () => undefined);
  return socket;
}

/** {@link HostFifos} over mkfifo(1) and node:net. */
export const nodeFifos: HostFifos = { make, openForChild, read };
