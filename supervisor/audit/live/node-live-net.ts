/**
 * The real {@link LiveNet}, bound to node:http and node:net. Each idle
 * connection gets an Agent of its own with one socket, so its keep-alive
 * socket is never shared or reused by another request.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { createServer, type Socket } from 'node:net';
import type { HeldStream, LiveNet, LiveTarget, StreamState } from './live-net.ts';

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function openIdle(target: LiveTarget, path: string, timeoutMs: number): Promise<{ destroy(): void }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise((resolve, reject) => {
    const req = request({ host: target.host, port: target.port, path, agent, headers: { connection: 'keep-alive' } });
    const timer = setTimeout(() => req.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    req.once('error', (err) => {
      clearTimeout(timer);
      agent.destroy();
      reject(err);
    });
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => {
        clearTimeout(timer);
        // The socket now waits in the agent's free pool: an idle keep-alive
        // connection, as far as the service can tell.
        resolve({ destroy: () => agent.destroy() });
      });
    });
    req.end();
  });
}

function openStream(target: LiveTarget, path: string, settleMs: number): Promise<HeldStream> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let state: StreamState = 'pending';
  let status: number | undefined;
  let upgraded: Socket | undefined;
  const req: ClientRequest = request({
    host: target.host,
    port: target.port,
    path,
    agent,
    headers: {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': randomBytes(16).toString('base64'),
    },
  });
  const held: HeldStream = {
    state: () => state,
    status: () => status,
    destroy() {
      upgraded?.destroy();
      req.destroy();
      agent.destroy();
    },
  };
  return new Promise((resolve, reject) => {
    let connected = false;
    const settle = setTimeout(() => resolve(held), settleMs);
    req.once('socket', (socket: Socket) => {
      socket.once('connect', () => (connected = true));
      socket.once('close', () => {
        if (state !== 'upgraded') state = 'closed';
      });
    });
    req.once('upgrade', (res: IncomingMessage, socket: Socket) => {
      state = 'upgraded';
      status = res.statusCode;
      upgraded = socket;
      // Frames (pings) are read and dropped; the point is to stay connected.
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      socket.once('close', () => (state = 'closed'));
      clearTimeout(settle);
      resolve(held);
    });
    req.once('response', (res: IncomingMessage) => {
      state = 'streaming';
      status = res.statusCode;
      res.resume();
      res.once('end', () => {
        if (state === 'streaming') state = 'answered';
      });
      clearTimeout(settle);
      resolve(held);
    });
    req.on('error', (err) => {
      state = 'closed';
      clearTimeout(settle);
      if (connected) resolve(held);
      else reject(err);
    });
    req.end();
  });
}

/** Opens real connections. */
export const nodeLiveNet: LiveNet = { freePort, openIdle, openStream };
