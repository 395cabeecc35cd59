// The bench service, run by every supervisor in every scenario of
// `npm run bench`: test/fixtures/release-app/server.js's API (GET / answers
// {version, pid}, GET /health answers 200, --version prints the version from
// the package.json next to this file) plus two things a zero-downtime update
// needs from the service itself:
//
// 1. Socket handoff, the systemd way: with LISTEN_FDS=1 it serves on the
//    inherited listening socket at fd 3 instead of binding PORT, so the old
//    and the new process can share one socket during an update.
// 2. A drain that drops no request: on SIGTERM it stops accepting, answers
//    the next request on each busy keep-alive connection normally but with
//    `Connection: close`, closes connections idle for IDLE_CLOSE_MS (default
//    100; a load generator's connection is never idle that long, a health
//    checker's pooled one is), and exits once every connection is gone, or
//    after DRAIN_GRACE_MS (default 5000) at the latest.
//
// Env: PORT (without LISTEN_FDS), LISTEN_FDS, IDLE_CLOSE_MS, DRAIN_GRACE_MS.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Server as NetServer } from 'node:net';

const version = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).version;
if (process.argv.includes('--version')) {
  console.log(version);
  process.exit(0);
}

const idleCloseMs = Number(process.env.IDLE_CLOSE_MS ?? 100);
const graceMs = Number(process.env.DRAIN_GRACE_MS ?? 5000);
/** Open connections: requests in flight, and since when the connection has had none. */
const connections = new Map();
let draining = false;

const server = createServer((req, res) => {
  if (draining) res.setHeader('connection', 'close');
  if (req.url === '/health') {
    res.writeHead(200);
    res.end('ok\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ version, pid: process.pid }));
});

server.on('connection', (socket) => {
  connections.set(socket, { busy: 0, idleSince: performance.now() });
  socket.once('close', () => {
    connections.delete(socket);
    if (draining && connections.size === 0) process.exit(0);
  });
});
server.on('request', (req, res) => {
  const state = connections.get(req.socket);
  if (state === undefined) return;
  state.busy += 1;
  res.once('close', () => {
    state.busy -= 1;
    state.idleSince = performance.now();
  });
});

const inherited = process.env.LISTEN_FDS === '1';
const announce = () => console.log(`bench app ${version} on ${inherited ? 'fd 3' : process.env.PORT}`);
if (inherited) server.listen({ fd: 3 }, announce);
else server.listen(Number(process.env.PORT), '127.0.0.1', announce);

function closeIdle() {
  const now = performance.now();
  for (const [socket, state] of connections) {
    if (state.busy === 0 && now - state.idleSince >= idleCloseMs) socket.destroy();
  }
}

process.on('SIGTERM', () => {
  if (draining) return;
  draining = true;
  // Stop accepting through net.Server.close, not http.Server.close: since
  // Node 19 the latter closes every idle keep-alive connection at once,
  // which races a client that is sending on one right then (it sees a reset
  // and counts a failed request). Closing our copy of an inherited socket
  // leaves it open in the supervisor and in the next process.
  NetServer.prototype.close.call(server);
  if (connections.size === 0) process.exit(0);
  closeIdle();
  setInterval(closeIdle, 10);
  setTimeout(() => process.exit(0), graceMs).unref();
});
