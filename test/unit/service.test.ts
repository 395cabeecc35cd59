/**
 * The Service state machine against the fake Host: scripted children and
 * virtual time, so backoff and stop budgets are checked without waiting.
 */
import type { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../supervisor/config/load.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';
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
    expect(svc.status().state).toBe('exited');
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
  });
});
