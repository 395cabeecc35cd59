// The supervisor's end of the ready protocol, with real unix sockets.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutlastError } from '../../supervisor/errors.ts';
import { formatNotify, parseNotifyLine, type ReadyMessage } from '../../supervisor/notify/protocol.ts';
import { listenReadySocket, type ReadySocket } from '../../supervisor/notify/ready-socket.ts';
import { sendNotify } from '../../supervisor/shutdown/notify-client.ts';
import { waitFor } from '../support/wait.ts';
import { nodeHost } from '../support/node-host.ts';

const dirs: string[] = [];
const sockets: ReadySocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) await socket.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dir(): string {
  const path = mkdtempSync(join(tmpdir(), 'outlast-ready-'));
  dirs.push(path);
  return path;
}

async function listen(path: string): Promise<{ socket: ReadySocket; messages: ReadyMessage[] }> {
  const socket = await listenReadySocket(nodeHost, path);
  sockets.push(socket);
  const messages: ReadyMessage[] = [];
  socket.on('message', (message) => messages.push(message));
  return { socket, messages };
}

function write(path: string, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = connect({ path }, () => client.end(text));
    client.once('error', reject);
    client.once('close', () => resolve());
  });
}

describe('the notify protocol', () => {
  it('formats MAINPID first, one field per line, and keeps a status on one line', () => {
    expect(formatNotify({ ready: true, status: 'up\nand running', pid: 7 })).toBe('MAINPID=7\nREADY=1\nSTATUS=up and running\n');
  });

  it('parses the known keys and ignores the rest', () => {
    expect(parseNotifyLine('READY=1')).toEqual({ ready: true });
    expect(parseNotifyLine('READY=1\r')).toEqual({ ready: true });
    expect(parseNotifyLine('STATUS=a=b')).toEqual({ status: 'a=b' });
    expect(parseNotifyLine('MAINPID=42')).toEqual({ pid: 42 });
    for (const ignored of ['READY=0', 'MAINPID=-1', 'MAINPID=x', 'WATCHDOG=1', '=1', 'garbage', '']) expect(parseNotifyLine(ignored)).toBeUndefined();
  });
});

describe('listenReadySocket', () => {
  it('listens with mode 0600 and reports ready and status lines with the sender pid', async () => {
    const path = join(dir(), 'notify.sock');
    const { messages } = await listen(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    await write(path, 'MAINPID=123\nREADY=1\nWATCHDOG=1\nSTAT');
    await write(path, 'STATUS=still here\n');
    await waitFor(() => messages.length === 2, 'two messages');
    expect(messages).toEqual([{ ready: true, pid: 123 }, { status: 'still here' }]);
  });

  it('receives what sendNotify sends, with our pid', async () => {
    const path = join(dir(), 'notify.sock');
    const { messages } = await listen(path);
    expect(await sendNotify({ OUTLAST_NOTIFY_SOCKET: path }, { ready: true, status: 'ok' })).toEqual({ sent: true });
    await waitFor(() => messages.length === 2, 'two messages');
    expect(messages).toEqual([{ ready: true, pid: process.pid }, { status: 'ok', pid: process.pid }]);
  });

  it('drops a client that sends an endless line', async () => {
    const path = join(dir(), 'notify.sock');
    const { messages } = await listen(path);
    await write(path, `STATUS=${'x'.repeat(10_000)}`);
    await write(path, 'READY=1\n');
    await waitFor(() => messages.length === 1, 'the next client');
    expect(messages).toEqual([{ ready: true }]);
  });

  it('removes the socket file on close', async () => {
    const path = join(dir(), 'notify.sock');
    const socket = await listenReadySocket(nodeHost, path);
    await socket.close();
    expect(existsSync(path)).toBe(false);
  });

  it('replaces a stale socket left by a dead process', async () => {
    const path = join(dir(), 'notify.sock');
    // A process that dies by SIGKILL leaves its socket file behind.
    const holder = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(statSync(path).isSocket()).toBe(true);

    const { messages } = await listen(path);
    await write(path, 'READY=1\n');
    await waitFor(() => messages.length === 1, 'a message on the new socket');
  });

  it('refuses a path where another process listens, or that is not a socket', async () => {
    const base = dir();
    const live = join(base, 'live.sock');
    await listen(live);
    await expect(listenReadySocket(nodeHost, live)).rejects.toMatchObject({ code: 'ADDRESS_IN_USE' });

    const file = join(base, 'file');
    writeFileSync(file, 'keep me');
    await expect(listenReadySocket(nodeHost, file)).rejects.toBeInstanceOf(OutlastError);
    expect(statSync(file).isFile()).toBe(true);
  });

  it('refuses a path too long for a unix socket', async () => {
    await expect(listenReadySocket(nodeHost, join(dir(), 'x'.repeat(120)))).rejects.toMatchObject({ code: 'STATE_DIR_UNUSABLE' });
  });
});
