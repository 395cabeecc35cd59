import { describe, expect, it } from 'vitest';
import { loadConfig, mergeFlags, parseConfig } from '../../supervisor/config/load.ts';
import { OutlastError } from '../../supervisor/errors.ts';
import { createFakeHost } from '../support/fake-host.ts';

function invalid(fn: () => unknown): OutlastError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OutlastError) return err;
    throw err;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('parseConfig', () => {
  it('fills every default', () => {
    const config = parseConfig({ service: { command: ['node', 'server.js'] } }, '/srv/app', 'test');
    expect(config).toMatchObject({
      name: 'server',
      stateDir: '/srv/app/.outlast',
      log: { level: 'info' },
      api: { host: '127.0.0.1', port: 7070 },
      service: {
        cwd: '/srv/app',
        env: {},
        stopSignal: 'SIGTERM',
        stopTimeoutMs: 10_000,
        health: { intervalMs: 5000, failureThreshold: 3 },
        restart: { policy: 'always', maxCrashes: 5, backoff: { initialMs: 500, factor: 2 } },
      },
    });
  });

  it('resolves paths in a file against the file, and the default state dir against the cwd', () => {
    const config = parseConfig({ service: { command: ['./run'], cwd: 'app' } }, '/etc/outlast', 'f', '/home/me');
    expect(config.service.cwd).toBe('/etc/outlast/app');
    expect(config.stateDir).toBe('/home/me/.outlast');
    expect(parseConfig({ stateDir: 'st', service: { command: ['x'] } }, '/etc/outlast', 'f', '/home/me').stateDir).toBe('/etc/outlast/st');
  });

  it('names unknown keys with their values', () => {
    const err = invalid(() => parseConfig({ service: { command: ['x'], restartt: 'always' }, extra: [1] }, '/', 'f'));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details?.problems).toEqual(['unknown key "service.restartt" (value "always")', 'unknown key "extra" (value [1])']);
  });

  it('names wrongly typed keys with their values', () => {
    const err = invalid(() => parseConfig({ service: { command: 'node server.js', stopTimeoutMs: -1 } }, '/', 'f'));
    expect(err.details?.problems).toEqual([
      '"service.command" expected array, received string (got "node server.js")',
      '"service.stopTimeoutMs" must be 0 or more (got -1)',
    ]);
  });

  it('defaults the log file rotation and names bad log.maxBytes and log.keep', () => {
    expect(parseConfig({ service: { command: ['x'] } }, '/', 'f').log).toEqual({ level: 'info', maxBytes: 10 * 1024 * 1024, keep: 3 });
    const problems = (logs: unknown): unknown => invalid(() => parseConfig({ service: { command: ['x'] }, log: logs }, '/', 'f')).details?.problems;
    expect(problems({ maxBytes: 100 })).toEqual(['"log.maxBytes" must be at least 1024 bytes (got 100)']);
    expect(problems({ maxBytes: '10M' })).toEqual(['"log.maxBytes" must be a number of bytes (got "10M")']);
    expect(problems({ maxBytes: 2048.5, keep: -1 })).toEqual(['"log.maxBytes" must be a whole number of bytes (got 2048.5)', '"log.keep" must be 0 or more (got -1)']);
    expect(problems({ keep: 1000 })).toEqual(['"log.keep" must be at most 100 (got 1000)']);
    expect(problems({ max: 1 })).toEqual(['unknown key "log.max" (value 1)']);
  });

  it('says a missing required key is required', () => {
    const err = invalid(() => parseConfig({ service: {} }, '/', 'f'));
    expect(err.details?.problems).toEqual(['"service.command" is required']);
    expect(invalid(() => parseConfig({}, '/', 'f')).details?.problems).toEqual(['"service" is required']);
  });

  it('names a service started with inline code after its interpreter, not after the code', () => {
    const name = (command: string[]): string => parseConfig({ service: { command } }, '/', 'f').name;
    expect(name(['node', '-e', 'require("http").createServer((q, s) => s.end("hi")).listen(8080)'])).toBe('node');
    expect(name(['/usr/bin/node', '--eval', 'setInterval(() => {}, 1000)'])).toBe('node');
    expect(name(['python3', '-c', 'import time; time.sleep(60)'])).toBe('python3');
    expect(name(['sh', '-c', 'exec ./server --port 80'])).toBe('sh');
    expect(name(['node', '--require', './tracing.js', 'server.js'])).toBe('server');
    expect(name(['node', '--import=./hooks.mjs', 'app/main.mjs'])).toBe('main');
    expect(name(['sh', '-e', 'run.sh'])).toBe('run');
  });

  it('refuses health.url and health.tcp together, and a bad URL', () => {
    const both = invalid(() => parseConfig({ service: { command: ['x'], health: { url: 'http://a/h', tcp: { port: 1 } } } }, '/', 'f'));
    expect(both.message).toMatch(/either health.url or health.tcp/);
    const bad = invalid(() => parseConfig({ service: { command: ['x'], health: { url: 'ftp://a' } } }, '/', 'f'));
    expect(bad.message).toMatch(/"service.health.url" must be an http/);
  });
});

describe('mergeFlags', () => {
  it('lets flags override the file', () => {
    const merged = mergeFlags(
      { name: 'file', api: { port: 1 }, service: { command: ['a'], stopTimeoutMs: 1 } },
      { name: 'flag', apiPort: '0', stopTimeout: '2500', healthUrl: 'http://127.0.0.1:1/h', stateDir: 'x', config: 'f.json' },
      '/cwd',
    );
    expect(merged).toEqual({
      name: 'flag',
      stateDir: '/cwd/x',
      api: { port: 0 },
      service: { command: ['a'], stopTimeoutMs: 2500, health: { url: 'http://127.0.0.1:1/h' } },
    });
  });

  it('keeps a non-numeric number flag as a string, so validation names it', () => {
    expect(mergeFlags({}, { apiPort: 'eighty' }, '/')).toEqual({ api: { port: 'eighty' }, service: {} });
  });
});

describe('loadConfig', () => {
  it('reads and validates a file through the host', async () => {
    const host = createFakeHost();
    host.files.set('/etc/app/outlast.json', { data: JSON.stringify({ service: { command: ['node', 'app.js'] } }), mode: 0o644 });
    const config = await loadConfig(host.fs, '/home', { config: '/etc/app/outlast.json', restart: 'never' });
    expect(config.service.restart.policy).toBe('never');
    expect(config.service.cwd).toBe('/etc/app');
  });

  it('reports a missing file and a non-object file', async () => {
    const host = createFakeHost();
    await expect(loadConfig(host.fs, '/', { config: 'nope.json' })).rejects.toThrow(/cannot read config file \/nope.json/);
    host.files.set('/a.json', { data: '[1,2]', mode: 0o644 });
    await expect(loadConfig(host.fs, '/', { config: 'a.json' })).rejects.toThrow(/must hold a JSON object, got \[1,2\]/);
  });
});
