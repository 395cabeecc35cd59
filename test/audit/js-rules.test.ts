// The JS/TS rules on small inline services: the shapes handlers, servers and
// fallbacks take in real code, and the shapes that must not count.
import { describe, expect, it } from 'vitest';
import { auditService } from '../../supervisor/audit/index.ts';

/** Audits `files` as one service; each finding as `rule@file:line`. */
function audit(files: Record<string, string>): string[] {
  return auditService(Object.entries(files).map(([path, text]) => ({ path, text }))).map((f) => `${f.rule}@${f.file}:${f.line}`);
}

const SERVER = "import http from 'node:http';\nconst server = http.createServer();\nserver.listen(3000);\n";

describe('audit: which servers need a SIGTERM handler', () => {
  it.each([
    ['express', "const express = require('express');\nconst app = express();\napp.listen(3000);\n", 3],
    ['koa', "import Koa from 'koa';\nconst app = new Koa();\napp.listen(3000);\n", 3],
    ['fastify', "import Fastify from 'fastify';\nconst app = Fastify();\nawait app.listen({ port: 3000 });\n", 3],
    ['hono on node', "import { serve } from '@hono/node-server';\nimport { app } from './app.js';\nserve({ fetch: app.fetch });\n", 3],
    ['net', "const net = require('node:net');\nnet.createServer((s) => s.end()).listen(7000);\n", 2],
    ['ws alone', "import { WebSocketServer } from 'ws';\nconst wss = new WebSocketServer({ port: 8080 });\n", 2],
    ['ws default import', "import WebSocket from 'ws';\nconst wss = new WebSocket.Server({ port: 8080 });\n", 2],
    ['Deno', 'Deno.serve((req) => new Response("ok"));\n', 1],
    ['an app from another module', "import { app } from './app.js';\napp.listen(3000);\n", 2],
  ])('%s', (_name, text, line) => {
    expect(audit({ 'svc/main.js': text })).toEqual([`no-sigterm-handler@svc/main.js:${line}`]);
  });

  it('does not take any .listen() for a server', () => {
    expect(audit({ 'svc/bus.js': "const bus = new EventBus();\nbus.listen('orders');\nqueue.listen();\n" })).toEqual([]);
  });

  it('counts a handler registered in another file of the service', () => {
    const handler = "process.on('SIGTERM', () => process.exit(0));\n";
    expect(audit({ 'svc/server.js': SERVER, 'svc/signals.js': handler })).toEqual([]);
  });

  it('reads TypeScript and TSX', () => {
    const ts = "import { createServer, type Server } from 'node:http';\nconst id = <T,>(x: T): T => x;\nconst server: Server = id(createServer());\nserver.listen(3000 as number);\n";
    const tsx = "import { createServer } from 'node:http';\nconst page = <main>ok</main>;\ncreateServer().listen(3000);\n";
    expect(audit({ 'svc/a.ts': ts })).toEqual(['no-sigterm-handler@svc/a.ts:3']);
    expect(audit({ 'svc/b.tsx': tsx })).toEqual(['no-sigterm-handler@svc/b.tsx:3']);
  });

  it('reports a file it cannot parse instead of skipping it', () => {
    expect(audit({ 'svc/broken.js': 'const = ;\n' })).toEqual(['parse-failed@svc/broken.js:1']);
  });
});

describe('audit: reading signal registrations', () => {
  const drain = 'function stop() { server.close(() => process.exit(0)); server.closeIdleConnections(); setTimeout(() => process.exit(1), 5000).unref(); }\n';

  it.each([
    ['once', "process.once('SIGTERM', stop);"],
    ['addListener', "process.addListener('SIGTERM', stop);"],
    ['globalThis.process', "globalThis.process.on('SIGTERM', stop);"],
    ['an alias of node:process', "import proc from 'node:process';\nproc.on('SIGTERM', stop);"],
    ['a template literal', 'process.on(`SIGTERM`, stop);'],
    ['a constant', "const TERM = 'SIGTERM';\nprocess.on(TERM, stop);"],
    ['a for-of over a list', "for (const s of ['SIGINT', 'SIGTERM']) process.on(s, stop);"],
    ['forEach over a constant list', "const SIGNALS = ['SIGINT', 'SIGTERM'];\nSIGNALS.forEach((signal) => process.on(signal, stop));"],
    ['a bound method', "const svc = { stop };\nprocess.on('SIGTERM', svc.stop.bind(svc));"],
    ['a helper with a parameter, in a file that names SIGTERM', "function onSignal(s, fn) { process.on(s, fn); }\nonSignal('SIGTERM', stop);"],
  ])('%s', (_name, registration) => {
    expect(audit({ 'svc/main.js': `${SERVER}${drain}${registration}\n` })).toEqual([]);
  });

  it('counts a registration through a helper when the service names SIGTERM elsewhere', () => {
    const host = "export function onSignal(signal, handler) { process.on(signal, handler); }\n";
    const main = (signals: string): string => `${SERVER}import { onSignal } from './host.js';\nconst STOP = ${signals};\nfor (const s of STOP) onSignal(s, () => process.exit(0));\n`;
    expect(audit({ 'svc/host.js': host, 'svc/main.js': main("['SIGTERM', 'SIGINT']") })).toEqual([]);
    expect(audit({ 'svc/host.js': host, 'svc/main.js': main("['SIGINT']") })).toEqual(['no-sigterm-handler@svc/main.js:2']);
  });

  it('ignores events that are not signals', () => {
    expect(audit({ 'svc/main.js': `${SERVER}process.on('exit', () => {});\nprocess.on('uncaughtException', () => {});\n` }))
      .toEqual(['no-sigterm-handler@svc/main.js:2']);
  });

  it('counts close-with-grace as a handler with its own forced exit', () => {
    const text = "import closeWithGrace from 'close-with-grace';\nimport Fastify from 'fastify';\nconst app = Fastify();\nawait app.listen({ port: 3000 });\ncloseWithGrace({ delay: 500 }, async () => { await app.close(); });\n";
    expect(audit({ 'svc/main.mjs': text })).toEqual([]);
  });
});

describe('audit: the shutdown path', () => {
  const audited = (handler: string): string[] => audit({ 'svc/main.js': `${SERVER}${handler}\n` });

  it('needs no fallback when the handler exits at once', () => {
    expect(audited("process.on('SIGTERM', () => { server.close(); process.exit(0); });")).toEqual([]);
  });

  it('does not take a second-signal exit for a fallback', () => {
    const handler = "let stopping = false;\nprocess.on('SIGTERM', () => {\n  if (stopping) process.exit(1);\n  stopping = true;\n  server.close(() => process.exit(0));\n  server.closeIdleConnections();\n});";
    expect(audited(handler)).toEqual(['no-hard-exit-fallback@svc/main.js:5']);
  });

  it('does not take an exit in an unrelated timer for a fallback', () => {
    expect(audited("process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeIdleConnections(); setTimeout(() => console.log('still here'), 1000); });"))
      .toEqual(['no-hard-exit-fallback@svc/main.js:4']);
  });

  it('follows named functions, across files, to the fallback', () => {
    const files = {
      'svc/main.js': `${SERVER}import { shutdown } from './shutdown.js';\nprocess.on('SIGTERM', () => shutdown(server));\n`,
      'svc/shutdown.js': 'export function shutdown(server) {\n  server.close();\n  server.closeIdleConnections();\n  setTimeout(forceExit, 5000).unref();\n}\nfunction forceExit() {\n  process.exit(1);\n}\n',
    };
    expect(audit(files)).toEqual([]);
  });

  it('takes setTimeout(process.exit, ms) for a fallback, and flags it when it is not unref\'d', () => {
    expect(audited("process.on('SIGTERM', () => {\n  server.close();\n  server.closeIdleConnections();\n  setTimeout(process.exit, 5000, 1);\n});"))
      .toEqual(['timer-not-unrefd@svc/main.js:7']);
  });

  it.each([
    ['unref?.() on a variable', 'const timer = setTimeout(() => process.exit(1), 5000);\n  timer.unref?.();'],
    ['clearTimeout once drained', 'const timer = setTimeout(() => process.exit(1), 5000);\n  server.on(\'close\', () => clearTimeout(timer));'],
  ])('counts a timer released by %s', (_name, timer) => {
    expect(audited(`process.on('SIGTERM', () => {\n  server.close();\n  server.closeIdleConnections();\n  ${timer}\n});`)).toEqual([]);
  });

  it('flags close() with nothing to end idle connections, at the close', () => {
    expect(audited("process.on('SIGTERM', () => {\n  setTimeout(() => process.exit(1), 5000).unref();\n  server?.close();\n});"))
      .toEqual(['close-without-idle@svc/main.js:6']);
  });

  it('does not flag close() when connections are destroyed or a library tracks them', () => {
    const destroyed = "const sockets = new Set();\nserver.on('connection', (s) => sockets.add(s));\nprocess.on('SIGTERM', () => {\n  setTimeout(() => process.exit(1), 5000).unref();\n  server.close();\n  sockets.forEach((s) => s.destroy());\n});";
    const stoppable = "import stoppable from 'stoppable';\nstoppable(server, 5000);\nprocess.on('SIGTERM', () => {\n  setTimeout(() => process.exit(1), 5000).unref();\n  server.close();\n});";
    expect(audited(destroyed)).toEqual([]);
    expect(audited(stoppable)).toEqual([]);
  });

  it('ends WebSocket clients only on the shutdown path, not in a heartbeat', () => {
    const ws = "import { WebSocketServer } from 'ws';\nconst wss = new WebSocketServer({ server });\nsetInterval(() => wss.clients.forEach((c) => c.terminate()), 30000);\n";
    const handler = (ending: string): string => `process.on('SIGTERM', () => {\n  setTimeout(() => process.exit(1), 5000).unref();\n  ${ending}\n  server.close();\n  server.closeIdleConnections();\n});`;
    expect(audited(`${ws}${handler('')}`)).toEqual(['close-without-idle@svc/main.js:10']);
    expect(audited(`${ws}${handler('for (const client of wss.clients) client.close(1001);')}`)).toEqual([]);
    expect(audited(`${ws}${handler('wss.clients.forEach((c) => c.close());')}`)).toEqual([]);
  });

  it('stays silent about a handler it cannot follow', () => {
    expect(audited("import { gracefulShutdown } from 'some-lib';\nprocess.on('SIGTERM', gracefulShutdown);")).toEqual([]);
  });
});
