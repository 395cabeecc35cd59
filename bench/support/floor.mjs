// The floor of a Node supervisor's idle cost: a bare `node` process running
// an HTTP server (loopback, port 0, as outlast's API) and one child, the
// bench service (server.js in the cwd, PORT from the env). Nothing else is
// loaded. node:http comes through require: its ESM namespace would load
// undici through the lazy WebSocket getter (see
// supervisor/host/node-http-server.ts), which outlast avoids as well.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const http = require('node:http');
const { spawn } = require('node:child_process');

const server = http.createServer((_req, res) => res.end('ok'));
server.listen(0, '127.0.0.1');
const child = spawn(process.execPath, ['server.js'], { stdio: 'ignore' });
process.stdout.write(`${child.pid}\n`);
child.once('exit', () => process.exit(0));
process.once('SIGTERM', () => {
  server.close();
  child.kill('SIGTERM');
});
