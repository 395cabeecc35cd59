// The shutdown helper in a real child process, with real sockets and a real
// SIGTERM: the time from the signal to the exit, what clients see during the
// drain, and the ready message.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listenReadySocket } from '../../supervisor/notify/ready-socket.ts';
import type { ReadyMessage } from '../../supervisor/notify/protocol.ts';
import { get, idleConnections, rawConnect, statusLines, upgradedConnection, type RawConnection } from '../support/raw-http.ts';
import { killServices, startService } from '../support/shutdown-service.ts';
import { waitFor } from '../support/wait.ts';
import { nodeHost } from '../support/node-host.ts';

const open: RawConnection[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const connection of open.splice(0)) connection.socket.destroy();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  killServices();
});

describe('gracefulShutdown in a real service', () => {
  it('exits within drainMs + 100 ms with 200 idle keep-alive connections and an upgraded one', async () => {
    const drainMs = 2000;
    const service = await startService({ MODE: 'helper', DRAIN_MS: String(drainMs) });
    const idle = await idleConnections(service.port, 200);
    const upgraded = await upgradedConnection(service.port);
    open.push(...idle, upgraded);

    const sent = service.term();
    const exit = await service.exited;
    const tookMs = exit.at - sent;

    expect(exit.code).toBe(0);
    expect(tookMs).toBeLessThan(drainMs + 100);
    // Nothing was in flight, so nothing waited for the budget: the upgraded
    // socket is destroyed, not waited for.
    expect(tookMs).toBeLessThan(drainMs / 2);
    await Promise.all([...idle, upgraded].map((connection) => connection.closed));
    expect(service.output()).toContain('closed 200 idle keep-alive connection(s); 0 with requests in flight, 1 upgraded');
  });

  it('lets a slow request in flight finish, even through a second SIGTERM, and closes its connection after it', async () => {
    const service = await startService({ MODE: 'helper', DRAIN_MS: '3000', SLOW_MS: '800' });
    const slow = await rawConnect(service.port);
    open.push(slow);
    slow.send(get('/slow'));
    await waitFor(() => service.output().includes('slow request started'), 'the slow request to arrive');

    const sent = service.term();
    // A second SIGTERM (systemd's control-group kill plus the supervisor's)
    // must not cut the drain short.
    await waitFor(() => service.output().includes('stopped accepting'), 'the drain to begin');
    service.term();
    await slow.closed;
    const exit = await service.exited;

    expect(service.output()).toContain('SIGTERM again while draining: already on it');
    expect(statusLines(slow.received())).toEqual(['HTTP/1.1 200 OK']);
    expect(slow.received()).toMatch(/\r\nconnection: close\r\n/i);
    expect(slow.received()).toContain('slow done');
    expect(exit.code).toBe(0);
    expect(exit.at - sent).toBeLessThan(3000 + 100);
  });

  it('answers a request arriving during the drain on an open keep-alive socket with 503 and Connection: close', async () => {
    const service = await startService({ MODE: 'helper', DRAIN_MS: '3000', SLOW_MS: '600' });
    const connection = await rawConnect(service.port);
    open.push(connection);
    connection.send(get('/slow'));
    await waitFor(() => service.output().includes('slow request started'), 'the slow request to arrive');
    service.term();
    await waitFor(() => service.output().includes('closed 0 idle keep-alive'), 'the drain to begin');

    // Pipelined behind the slow one on the same socket: it arrives while the
    // service drains.
    connection.send(get('/'));
    await connection.closed;

    const text = connection.received();
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 503 Service Unavailable']);
    const rejected = text.slice(text.indexOf('HTTP/1.1 503'));
    expect(rejected).toMatch(/\r\nconnection: close\r\n/i);
    expect((await service.exited).code).toBe(0);
  });

  it('cuts a request that outlasts the drain budget and exits 1', async () => {
    const service = await startService({ MODE: 'helper', DRAIN_MS: '500', SLOW_MS: '10000' });
    const slow = await rawConnect(service.port);
    open.push(slow);
    slow.send(get('/slow'));
    await waitFor(() => service.output().includes('slow request started'), 'the slow request to arrive');

    const sent = service.term();
    const exit = await service.exited;

    expect(exit.code).toBe(1);
    expect(exit.at - sent).toBeGreaterThanOrEqual(450);
    expect(exit.at - sent).toBeLessThan(500 + 100);
    await slow.closed;
    expect(slow.received()).toBe('');
    expect(service.output()).toContain('1 cut mid-request');
  });

  it('bounds a hook that never settles, instead of drifting out with code 0', async () => {
    const service = await startService({ MODE: 'helper', HOOK_MS: 'hang', HOOK_TIMEOUT_MS: '300' });
    const sent = service.term();
    const exit = await service.exited;
    expect(exit.code).toBe(1);
    expect(exit.at - sent).toBeGreaterThanOrEqual(250);
    expect(service.output()).toMatch(/hook 1 (\(onShutdown\) )?did not finish within 300 ms; abandoned/);
  });

  it('exits at once on a second SIGINT (Ctrl-C twice)', async () => {
    const service = await startService({ MODE: 'helper', DRAIN_MS: '5000', SLOW_MS: '10000' });
    const slow = await rawConnect(service.port);
    open.push(slow);
    slow.send(get('/slow'));
    await waitFor(() => service.output().includes('slow request started'), 'the slow request to arrive');
    service.proc.kill('SIGINT');
    await waitFor(() => service.output().includes('stopped accepting'), 'the drain to begin');
    const second = performance.now();
    service.proc.kill('SIGINT');

    const exit = await service.exited;
    expect(exit.code).toBe(1);
    expect(exit.at - second).toBeLessThan(1000);
    expect(service.output()).toContain('SIGINT again while draining: exiting now with code 1');
  });

  it('refuses new connections once the drain began', async () => {
    const service = await startService({ MODE: 'helper', DRAIN_MS: '3000', SLOW_MS: '1000' });
    const slow = await rawConnect(service.port);
    open.push(slow);
    slow.send(get('/slow'));
    await waitFor(() => service.output().includes('slow request started'), 'the slow request to arrive');
    service.term();
    await waitFor(() => service.output().includes('stopped accepting'), 'the drain to begin');

    await expect(rawConnect(service.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await service.exited).code).toBe(0);
  });

  it('ready() delivers READY=1 with its pid to listenReadySocket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outlast-notify-'));
    dirs.push(dir);
    const socket = await listenReadySocket(nodeHost, join(dir, 'notify.sock'));
    const messages: ReadyMessage[] = [];
    socket.on('message', (message) => messages.push(message));
    try {
      const service = await startService({ MODE: 'helper', OUTLAST_NOTIFY_SOCKET: socket.path });
      await waitFor(() => messages.length > 0, 'the ready message');
      expect(messages).toEqual([{ ready: true, pid: service.proc.pid }]);
    } finally {
      await socket.close();
    }
  });
});
