// hello: the example service outlast supervises in its demo. It answers
// GET / with its version and GET /health with 200, and drains on SIGTERM.
import { createServer } from 'node:http';
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

server.listen(port, host, () => {
  console.log(`hello ${version} listening on http://${host}:${port} (pid ${process.pid})`);
});

// Drain on SIGTERM: stop accepting, close idle keep-alive sockets at once,
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
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
