/**
 * The Service state machine against the fake Host: scripted children and
 * virtual time, so backoff and stop budgets are checked without waiting.
 */
import type { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../supervisor/config/load.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';
import { childEnv, SUPERVISOR_ONLY_ENV } from '../../supervisor/service/child-env.ts';
import { Service } from '../../supervisor/service/service.ts';
import { createFakeHost, flush, type FakeHost } from '../support/fake-host.ts';

function setup(service: Record<string, unknown> = {}): { host: FakeHost; svc: Service; out: ReturnType<typeof memorySink> } {
  const host = createFakeHost();
  const config = parseConfig({ service: { command: ['app'], ...service } }, '/srv', 'test');
  const out = memorySink();
  const logger = createLogger({ level: 'silent', sink: memorySink(), pid: host.pid });
  const svc = new Service({ host, config: config.service, logger, stdout: out, stderr: out });
  return { host, svc, out };
}

describe('Service', () => {
  it('spawns the child detached, in its own group, with the configured env', () => {
    const { host, svc } = setup({ env: { PORT: '1' }, inheritEnv: false });
    svc.start();
    expect(host.children[0]).toMatchObject({ file: 'app', options: { detached: true, cwd: '/srv', env: { PORT: '1' } } });
    expect(svc.status()).toMatchObject({ state: 'ready', pid: 1000, restarts: 0 });
  });

  it('ends supervision at once with the spawn failure when the command never ran', async () => {
    const { host, svc } = setup();
    host.failNextSpawn('ENOENT');
    svc.start();
    await expect(svc.done).resolves.toMatchObject({ kind: 'spawn-failed', errno: 'ENOENT' });
    expect(svc.status().state).toBe('finished');
  });

  it('respawns after the backoff delay, not before', async () => {
    const { host, svc } = setup({ restart: { backoff: { initialMs: 1000, jitter: 0 } } });
    svc.start();
    host.children[0]!.exit({ kind: 'exited', code: 1 });
    await host.advance(0);
    // The first crash restarts at once; the second in a row waits initialMs.
    expect(host.children).toHaveLength(2);
    host.children[1]!.exit({ kind: 'exited', code: 1 });
    await flush();
    expect(svc.status().state).toBe('backoff');
    await host.advance(999);
    expect(host.children).toHaveLength(2);
    await host.advance(1);
    expect(host.children).toHaveLength(3);
    expect(svc.status()).toMatchObject({ state: 'ready', restarts: 2, lastExit: { code: 1 } });
  });

  it('stops with the stop signal to the group and escalates to SIGKILL after the budget', async () => {
    const { host, svc } = setup({ stopTimeoutMs: 500, stopSignal: 'SIGINT' });
    svc.start();
    const child = host.children[0]!;
    const stopping = svc.stop('test');
    await flush();
    expect(host.signals).toContainEqual({ target: 'group', id: child.pid, signal: 'SIGINT' });
    await host.advance(500);
    expect(host.signals).toContainEqual({ target: 'group', id: child.pid, signal: 'SIGKILL' });
    child.exit({ kind: 'signaled', signal: 'SIGKILL' });
    await expect(stopping).resolves.toMatchObject({ forced: true, exit: { kind: 'signaled', signal: 'SIGKILL' } });
    expect(svc.status().state).toBe('stopped');
  });

  it('passes child output through whole lines only', async () => {
    const { host, svc, out } = setup();
    svc.start();
    const child = host.children[0]!;
    (child.stdout as PassThrough).write('hel');
    await flush();
    expect(out.text()).toBe('');
    (child.stdout as PassThrough).write('lo\nwor');
    await flush();
    expect(out.text()).toBe('hello\n');
    child.exit({ kind: 'exited', code: 0 });
    await flush();
    expect(out.text()).toBe('hello\nwor\n');
  });

  it('refuses a restart once stopped', async () => {
    const { host, svc } = setup();
    svc.start();
    const stopping = svc.stop('test');
    host.children[0]!.exit({ kind: 'exited', code: 0 });
    await stopping;
    await expect(svc.restart('test')).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(() => svc.assertRestartable()).toThrow(expect.objectContaining({ code: 'CONFLICT', details: { state: 'stopped' } }));
  });

  it('signals its own child: signal() to the child, kill() SIGKILL to its group, nothing without a child', async () => {
    const { host, svc } = setup({ restart: { policy: 'never' } });
    expect(svc.signal('SIGHUP')).toBeNull();
    expect(svc.kill()).toBeNull();
    expect(host.signals).toEqual([]);
    svc.start();
    const child = host.children[0]!;
    expect(svc.signal('SIGUSR1')).toBe(child.pid);
    expect(svc.kill()).toBe(child.pid);
    expect(host.signals).toEqual([
      { target: 'pid', id: child.pid, signal: 'SIGUSR1' },
      { target: 'group', id: child.pid, signal: 'SIGKILL' },
    ]);
    child.exit({ kind: 'signaled', signal: 'SIGKILL' });
    await svc.done;
    expect(svc.signal('SIGHUP')).toBeNull();
  });

  it('never hands the child the variables addressed to the supervisor', () => {
    const supervisorOnly = Object.fromEntries([...SUPERVISOR_ONLY_ENV].map((name) => [name, 'x']));
    const host = createFakeHost({ ...supervisorOnly, HOME: '/home/me' });
    const config = parseConfig({ service: { command: ['app'], env: { PORT: '1' } } }, '/srv', 'test');
    const svc = new Service({ host, config: config.service, logger: createLogger({ level: 'silent', sink: memorySink(), pid: host.pid }), stdout: memorySink(), stderr: memorySink(), extraEnv: { OUTLAST_STATE_DIR: '/s' } });
    svc.start();
    expect(host.children[0]!.options.env).toEqual({ HOME: '/home/me', PORT: '1', OUTLAST_STATE_DIR: '/s' });
  });
});

describe('Service under an update’s hold', () => {
  it('keeps a crash for the holder, and a stop answers it: releasing the hold after a stop spawns nothing', async () => {
    const { host, svc } = setup();
    svc.start();
    const release = svc.hold();
    expect(() => svc.assertRestartable()).toThrow(/an update owns the service/);
    host.children[0]!.exit({ kind: 'exited', code: 1 });
    await host.advance(0);
    expect(svc.status()).toMatchObject({ state: 'errored', reason: expect.stringContaining('during an update') as string });
    expect(host.children).toHaveLength(1);
    await svc.stop('shutdown');
    release();
    await host.advance(1000);
    expect(host.children).toHaveLength(1);
    expect(svc.status().state).toBe('stopped');
  });

  it('hands a kept crash to the policy when the hold ends with nobody having answered it', async () => {
    const { host, svc } = setup();
    svc.start();
    const release = svc.hold();
    host.children[0]!.exit({ kind: 'exited', code: 1 });
    await host.advance(0);
    release();
    await host.advance(0);
    expect(host.children).toHaveLength(2);
    expect(() => svc.assertRestartable()).not.toThrow();
  });

  it('does not end supervision when the first spawn of a held service fails: the holder decides', async () => {
    const { host, svc } = setup();
    const release = svc.hold();
    host.failNextSpawn('ENOENT');
    svc.start();
    await host.advance(0);
    expect(svc.status().state).toBe('errored');
    let ended = false;
    void svc.done.then(() => (ended = true));
    await flush();
    expect(ended).toBe(false);
    // The holder's answer: a restart (the rollback's) runs the old version.
    await expect(svc.restart('rollback')).resolves.toMatchObject({ ok: true });
    release();
    await host.advance(0);
    expect(host.children).toHaveLength(1);
  });
});

describe('childEnv', () => {
  it('layers the inherited env (less the supervisor-only names), service.env and the extras, later winning', () => {
    const env = childEnv({ HOME: '/h', PORT: '0', NOTIFY_SOCKET: '/run/n', LISTEN_FDS: '1', GONE: undefined }, { inheritEnv: true, env: { PORT: '1' } }, { A: 'a' }, undefined, { A: 'b' });
    expect(env).toEqual({ HOME: '/h', PORT: '1', A: 'b' });
  });

  it('inherits nothing without inheritEnv', () => {
    expect(childEnv({ HOME: '/h' }, { inheritEnv: false, env: { PORT: '1' } })).toEqual({ PORT: '1' });
  });
});
