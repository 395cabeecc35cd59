// The Python scan is line- and indent-aware rather than a parser. These
// cases are the shapes signal handling takes in real services, and the
// traps a plain grep falls into (strings, comments, threads, lambdas).
import { describe, expect, it } from 'vitest';
import { auditService } from '../../supervisor/audit/index.ts';
import { blankPython, lineAt, pythonLines } from '../../supervisor/audit/python/source.ts';

function audit(files: Record<string, string>): string[] {
  return auditService(Object.entries(files).map(([path, text]) => ({ path, text }))).map((f) => `${f.rule}@${f.file}:${f.line}`);
}

const py = (lines: string[]): string => `${lines.join('\n')}\n`;

const SERVE = ['from http.server import HTTPServer, BaseHTTPRequestHandler', 'httpd = HTTPServer(("", 8000), BaseHTTPRequestHandler)'];

describe('python source reading', () => {
  it('blanks strings and comments, keeping offsets and lines', () => {
    const source = 'x = "a # b"  # signal.SIGTERM\ny = \'\'\'serve_forever()\n"quoted"\'\'\' + "\\"esc"\n';
    const blank = blankPython(source);
    expect(blank).toHaveLength(source.length);
    expect(blank.split('\n')).toHaveLength(source.split('\n').length);
    expect(blank).not.toMatch(/SIGTERM|serve_forever|quoted|esc/);
    expect(blank).toContain('x = "     "');
  });

  it('joins bracketed and backslashed lines, and keeps each piece\'s line', () => {
    const lines = pythonLines('def f():\n    signal.signal(\n        signal.SIGTERM,\n        stop,\n    )\n    a = 1 + \\\n        2\n');
    expect(lines.map((line) => [line.line, line.indent, line.text])).toEqual([
      [1, 0, 'def f():'],
      [2, 4, 'signal.signal( signal.SIGTERM, stop, )'],
      [6, 4, 'a = 1 +  2'],
    ]);
    const call = lines[1];
    expect(call === undefined ? 0 : lineAt(call, call.text.indexOf('stop'))).toBe(4);
  });
});

describe('python: which servers need a SIGTERM handler', () => {
  it.each([
    ['flask app.run', ['from flask import Flask', 'app = Flask(__name__)', 'app.run(host="0.0.0.0")'], 3],
    ['socketserver', ['import socketserver', 'with socketserver.TCPServer(("", 9000), H) as srv:', '    srv.serve_forever()'], 3],
    ['asyncio start_server', ['import asyncio', 'async def main():', '    server = await asyncio.start_server(handle, port=9000)', '    await server.serve_forever()'], 3],
    ['aiohttp AppRunner', ['from aiohttp import web', 'async def main(runner):', '    site = web.TCPSite(runner, port=8080)', '    await site.start()'], 3],
    ['wsgiref', ['from wsgiref.simple_server import make_server', 'with make_server("", 8000, app) as httpd:', '    httpd.serve_forever()'], 3],
  ])('%s', (_name, lines, line) => {
    expect(audit({ 'svc/app.py': py(lines) })).toEqual([`python-no-sigterm-handler@svc/app.py:${line}`]);
  });

  it('does not take mentions in strings, comments or docstrings for code', () => {
    const source = py(['"""Serves with serve_forever() and app.run()."""', '# sock.listen(5); conn = sock.accept()', 'print("httpd.serve_forever()")']);
    expect(audit({ 'svc/app.py': source })).toEqual([]);
  });

  it('trusts uvicorn.run and aiohttp run_app to handle SIGTERM', () => {
    expect(audit({ 'svc/a.py': py(['import uvicorn', 'uvicorn.run("app:app")']), 'svc/b.py': py(['from aiohttp import web', 'web.run_app(app)']) })).toEqual([]);
  });
});

describe('python: reading signal registrations', () => {
  it.each([
    ['spread over lines', ['import signal', 'signal.signal(', '    signal.SIGTERM,', '    on_term,', ')']],
    ['imported names', ['from signal import SIGTERM, signal', 'signal(SIGTERM, on_term)']],
    ['Signals enum', ['import signal', 'signal.signal(signal.Signals.SIGTERM, on_term)']],
    ['a loop over a tuple', ['import signal', 'for sig in (signal.SIGINT, signal.SIGTERM):', '    try:', '        loop.add_signal_handler(sig, stop.set)', '    except NotImplementedError:', '        pass']],
    ['a loop over a constant', ['import signal', 'SIGNALS = (signal.SIGINT, signal.SIGTERM)', 'for s in SIGNALS:', '    signal.signal(s, on_term)']],
    ['functools.partial', ['import functools, signal', 'signal.signal(signal.SIGTERM, functools.partial(on_term, httpd))']],
  ])('%s', (_name, lines) => {
    expect(audit({ 'svc/app.py': py([...SERVE, ...lines, 'httpd.serve_forever()']) })).toEqual([]);
  });

  it('counts a registration through a helper when the service names SIGTERM elsewhere', () => {
    const helper = py(['import signal', 'def on_signal(sig, handler):', '    signal.signal(sig, handler)']);
    const main = (name: string): string => py([...SERVE, 'import signal', `on_signal(signal.${name}, lambda *_: sys.exit(0))`, 'httpd.serve_forever()']);
    expect(audit({ 'svc/helper.py': helper, 'svc/app.py': main('SIGTERM') })).toEqual([]);
    expect(audit({ 'svc/helper.py': helper, 'svc/app.py': main('SIGHUP') })).toEqual(['python-no-sigterm-handler@svc/app.py:5']);
  });

  it('does not count SIG_DFL or SIG_IGN as a handler', () => {
    expect(audit({ 'svc/app.py': py([...SERVE, 'import signal', 'signal.signal(signal.SIGTERM, signal.SIG_DFL)', 'httpd.serve_forever()']) }))
      .toEqual(['python-no-sigterm-handler@svc/app.py:5']);
  });

  it('flags a SIGINT-only handler', () => {
    expect(audit({ 'svc/app.py': py([...SERVE, 'import signal', 'signal.signal(signal.SIGINT, lambda *_: sys.exit(0))', 'httpd.serve_forever()']) }))
      .toEqual(['sigint-without-sigterm@svc/app.py:4', 'python-no-sigterm-handler@svc/app.py:5']);
  });

  it('does not mistake a method named signal for a registration', () => {
    const source = py(['from signal import SIGINT', 'class Bus:', '    def signal(self, name, payload):', '        pass', 'bus.signal(SIGINT, 1)']);
    expect(audit({ 'svc/app.py': source })).toEqual([]);
  });
});

describe('python: shutdown() in the signal handler', () => {
  const served = (lines: string[]): string => py(['import signal, sys, threading', ...SERVE, ...lines, 'httpd.serve_forever()']);

  it('flags a lambda handler', () => {
    expect(audit({ 'svc/app.py': served(['signal.signal(signal.SIGTERM, lambda s, f: httpd.shutdown())']) }))
      .toEqual(['python-shutdown-in-signal-handler@svc/app.py:4']);
  });

  it('follows a method handler to the call, in another file', () => {
    const handler = py(['class Service:', '    def __init__(self, server):', '        self.server = server', '', '    def _on_term(self, signum, frame):', '        self._stop()', '', '    def _stop(self):', '        self.server.shutdown()']);
    expect(audit({ 'svc/app.py': served(['signal.signal(signal.SIGTERM, service._on_term)']), 'svc/service.py': handler }))
      .toEqual(['python-shutdown-in-signal-handler@svc/service.py:9']);
  });

  it.each([
    ['a thread target', 'threading.Thread(target=httpd.shutdown, daemon=True).start()'],
    ['a lambda in a thread', 'threading.Thread(target=lambda: httpd.shutdown()).start()'],
    ['socket.shutdown(how)', 'sock.shutdown(socket.SHUT_RDWR)'],
  ])('accepts %s', (_name, call) => {
    expect(audit({ 'svc/app.py': served(['def on_term(signum, frame):', `    ${call}`, 'signal.signal(signal.SIGTERM, on_term)']) })).toEqual([]);
  });

  it('accepts shutdown() in the handler when serve_forever() runs on another thread', () => {
    const source = py(['import signal, threading', ...SERVE, 'def on_term(signum, frame):', '    httpd.shutdown()', 'signal.signal(signal.SIGTERM, on_term)', 'threading.Thread(target=httpd.serve_forever).start()', 'signal.pause()']);
    expect(audit({ 'svc/app.py': source })).toEqual([]);
  });
});
