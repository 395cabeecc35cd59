// The shutdown helper in-process, driven by shutdown() instead of a signal,
// with an injected exit: hooks, the exit code, the hard-exit fallback, and
// the ready()/status() no-op outside outlast.
import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { gracefulShutdown, type ShutdownLogger } from '../../supervisor/shutdown/index.ts';
import { upgradedConnection } from '../support/raw-http.ts';
import { waitFor } from '../support/wait.ts';

const servers: Server[] = [];

afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function listening(): Promise<Server> {
  const server = createServer((_req, res) => res.end('ok'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function recorder(): ShutdownLogger & { lines: string[] } {
  const lines: string[] = [];
  const push = (message: string): void => void lines.push(message);
  return { lines, info: push, warn: push, error: push };
}

describe('gracefulShutdown hooks and exit', () => {
  it('runs the hooks in order after the server closed, then exits 0', async () => {
    const server = await listening();
    const order: string[] = [];
    const exits: number[] = [];
    const logger = recorder();
    const handle = gracefulShutdown(server, {
      signals: [],
      logger,
      exit: (code) => void exits.push(code),
      onShutdown: [
        async () => {
          order.push(`first, listening=${server.listening}`);
          await new Promise((r) => setTimeout(r, 20));
        },
        function flushQueue() {
          order.push('second');
        },
      ],
    });

    expect(await handle.shutdown('test')).toBe(0);
    expect(order).toEqual(['first, listening=false', 'second']);
    expect(exits).toEqual([0]);
    expect(handle.shuttingDown).toBe(true);
    // Each phase is logged with the ms since the stop began.
    expect(logger.lines[0]).toMatch(/^outlast\/shutdown \+\d+ms test: draining \(budget 10000 ms, hard exit at 11000 ms\)$/);
    expect(logger.lines.some((line) => /\+\d+ms hook 2 \(flushQueue\) done$/.test(line))).toBe(true);
    expect(logger.lines.at(-1)).toMatch(/\+\d+ms exit 0$/);
  });

  it('bounds each hook, aborts its signal, goes on with the next, and exits 1', async () => {
    const server = await listening();
    const exits: number[] = [];
    let aborted = false;
    let ranNext = false;
    const handle = gracefulShutdown(server, {
      signals: [],
      logger: recorder(),
      exit: (code) => void exits.push(code),
      hookTimeoutMs: 100,
      onShutdown: [
        (_reason, signal) => new Promise(() => signal.addEventListener('abort', () => (aborted = true))),
        () => {
          throw new Error('boom');
        },
        () => void (ranNext = true),
      ],
    });

    const started = performance.now();
    expect(await handle.shutdown()).toBe(1);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(aborted).toBe(true);
    expect(ranNext).toBe(true);
    expect(exits).toEqual([1]);
  });

  it('exits 1 from the hard-exit fallback when the shutdown overruns', async () => {
    const server = await listening();
    const exits: number[] = [];
    const logger = recorder();
    const handle = gracefulShutdown(server, {
      signals: [],
      logger,
      exit: (code) => void exits.push(code),
      hardExitMs: 150,
      hookTimeoutMs: 5000,
      onShutdown: () => new Promise(() => undefined),
    });

    void handle.shutdown();
    await waitFor(() => exits.length > 0, 'the hard exit', 2000);
    expect(exits).toEqual([1]);
    expect(logger.lines.some((line) => line.includes('still not done after 150 ms: exiting with code 1'))).toBe(true);
  });

  it('starts one shutdown only, however often it is asked', async () => {
    const server = await listening();
    const exits: number[] = [];
    const handle = gracefulShutdown([server], { signals: [], logger: recorder(), exit: (code) => void exits.push(code) });
    const first = handle.shutdown('one');
    const second = handle.shutdown('two');
    expect(second).toBe(first);
    await first;
    expect(exits).toEqual([0]);
  });

  it('does nothing on ready() and status() without OUTLAST_NOTIFY_SOCKET', async () => {
    const server = await listening();
    const logger = recorder();
    const handle = gracefulShutdown(server, { signals: [], logger, env: {}, exit: () => undefined });
    expect(await handle.ready()).toBe(false);
    expect(await handle.status('warming up')).toBe(false);
    expect(logger.lines).toEqual([]);
  });

  it('warns, without throwing, when the notify socket cannot be reached', async () => {
    const server = await listening();
    const logger = recorder();
    const handle = gracefulShutdown(server, { signals: [], logger, env: { OUTLAST_NOTIFY_SOCKET: '/nonexistent/notify.sock' }, exit: () => undefined });
    expect(await handle.ready()).toBe(false);
    expect(logger.lines).toEqual([expect.stringMatching(/^outlast\/shutdown: could not notify the supervisor: \/nonexistent\/notify.sock: .*ENOENT/)]);
  });

  it('follows upgrades when the application listens for them only after the helper is installed', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    servers.push(server);
    const logger = recorder();
    const exits: number[] = [];
    const handle = gracefulShutdown(server, { signals: [], logger, exit: (code) => void exits.push(code) });
    server.on('upgrade', (_req, socket: Duplex) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const upgraded = await upgradedConnection(typeof address === 'object' && address !== null ? address.port : 0);

    expect(await handle.shutdown()).toBe(0);
    await upgraded.closed;
    expect(logger.lines).toContainEqual(expect.stringMatching(/closed 0 idle keep-alive connection\(s\); 0 with requests in flight, 1 upgraded$/));
    expect(logger.lines).toContainEqual(expect.stringMatching(/destroyed 1 remaining connection\(s\): 1 upgraded, 0 cut mid-request$/));
  });

  it('refuses a negative budget', () => {
    expect(() => gracefulShutdown([], { drainMs: -1 })).toThrow(RangeError);
  });
});
