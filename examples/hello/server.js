// hello: the example service outlast supervises in its demo. It answers
// GET / with its version and GET /health with 200, drains on SIGTERM, and
// tells outlast when it is ready.
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';

const version =
  process.env.OUTLAST_VERSION ??
  JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).version;

if (process.argv.includes('--version')) {
  console.log(version);
  process.exit(0);
}

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
// With `service.listen`, outlast owns the socket and hands it over as fd 3
// (LISTEN_FDS=1, the systemd way): restarts and updates then overlap, and no
// request is refused. Without it, the service binds its port itself.
const inherited = process.env.LISTEN_FDS === '1' && process.env.LISTEN_PID === String(process.pid);
const listenOn = inherited ? { fd: 3 } : { port, host };
const where = inherited ? 'fd 3 (from outlast)' : `http://${host}:${port}`;
const startedAt = new Date().toISOString();

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', version }));
    return;
  }
  if (req.url === '/' || req.url === '/version') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ service: 'hello', version, pid: process.pid, startedAt }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: 'not found' }));
});

// Which drain to use. This file ships in two shapes: in outlast's checkout
// (the demo), and as a release tarball unpacked on its own, with no
// node_modules (the demo's update feed). A static import of outlast would
// break the second, so the helper is looked for, in order:
// 1. `outlast/shutdown`, the package export, for a service that installed outlast;
// 2. outlast's own source, but only inside outlast's checkout (checked by
//    name, so nothing outside a release is ever loaded from a stray path),
//    on a Node that strips types (>= 22.18);
// 3. failing both, the inline drain below, which any Node 18+ runs.
// Only "not there" falls through: a helper that is there but broken fails loudly.
const MISSING = new Set(['ERR_MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_UNKNOWN_FILE_EXTENSION', 'ENOENT']);

async function importIfThere(load) {
  try {
    return await load();
  } catch (err) {
    if (MISSING.has(err?.code)) return undefined;
    throw err;
  }
}

function inOutlastCheckout() {
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).name === 'outlast';
  } catch {
    return false;
  }
}

const helper =
  (await importIfThere(() => import('outlast/shutdown'))) ??
  (inOutlastCheckout() ? await importIfThere(() => import('../../supervisor/shutdown/index.ts')) : undefined);

if (helper !== undefined) {
  // Installed before listen, so every connection is tracked. 8 s of drain
  // (and the helper's hard exit at 9 s) stay inside outlast's 10 s stop budget.
  const shutdown = helper.gracefulShutdown(server, { drainMs: 8000 });
  server.listen(listenOn, () => {
    console.log(`hello ${version} listening on ${where} (pid ${process.pid}, drain: outlast/shutdown)`);
    void shutdown.ready();
  });
} else {
  server.listen(listenOn, () => {
    console.log(`hello ${version} listening on ${where} (pid ${process.pid}, drain: inline)`);
    notifyReady();
  });
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

// The inline form of ready(): one line to the socket outlast names.
function notifyReady() {
  const path = process.env.OUTLAST_NOTIFY_SOCKET;
  if (path === undefined) return;
  const socket = connect({ path }, () => socket.end(`MAINPID=${process.pid}\nREADY=1\n`));
  socket.on('error', () => undefined);
}

// The inline drain: stop accepting, close idle keep-alive sockets at once,
// let in-flight requests finish, and exit before the supervisor's budget.
function shutdown(signal) {
  console.log(`hello: ${signal} received, draining`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => {
    server.closeAllConnections();
    process.exit(0);
  }, 3000).unref();
}
