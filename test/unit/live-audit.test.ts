// The pure parts of `outlast audit --live`: the plan from flags or a config
// (through the fake Host), and the verdict on a stop.
import { describe, expect, it } from 'vitest';
import { judgeStop, planLive, runLive, type LiveNet } from '../../supervisor/audit/live/index.ts';
import { createFakeHost } from '../support/fake-host.ts';

const net: LiveNet = {
  freePort: async () => 41234,
  openIdle: () => Promise.reject(new Error('no network in unit tests')),
  openStream: () => Promise.reject(new Error('no network in unit tests')),
};

describe('planLive', () => {
  it('picks a free port, passes it as PORT, and waits for the port', async () => {
    const host = createFakeHost({ HOME: '/home/me' });
    const plan = await planLive(host, net, { command: ['node', 'server.js'] });
    expect(plan).toMatchObject({
      command: ['node', 'server.js'],
      cwd: '/srv',
      env: { HOME: '/home/me', PORT: '41234' },
      target: { host: '127.0.0.1', port: 41234 },
      healthUrl: undefined,
      path: '/',
      stopSignal: 'SIGTERM',
      budgetMs: 10_000,
      readyTimeoutMs: 30_000,
      connections: 50,
    });
  });

  it('takes the target and path from the health URL, and leaves PORT alone', async () => {
    const plan = await planLive(createFakeHost(), net, { command: ['./api'], healthUrl: 'http://localhost:9000/healthz?deep=1', budget: '2500', connections: '5' });
    expect(plan).toMatchObject({ target: { host: 'localhost', port: 9000 }, path: '/healthz?deep=1', budgetMs: 2500, connections: 5 });
    expect(plan.env.PORT).toBeUndefined();
  });

  it('passes --port to the service as PORT', async () => {
    const plan = await planLive(createFakeHost({ PORT: '1' }), net, { command: ['./api'], port: '8081' });
    expect(plan).toMatchObject({ target: { host: '127.0.0.1', port: 8081 }, env: { PORT: '8081' } });
  });

  it('reads command, env, health, stop signal and budget from a config file', async () => {
    const host = createFakeHost({ HOME: '/home/me' });
    host.files.set('/srv/svc/outlast.json', {
      mode: 0o644,
      data: JSON.stringify({ service: { command: ['python3', 'app.py'], cwd: 'app', env: { MODE: 'x' }, inheritEnv: false, health: { tcp: { port: 7000 } }, stopSignal: 'SIGINT', stopTimeoutMs: 3000 } }),
    });
    const plan = await planLive(host, net, { command: [], config: 'svc/outlast.json' });
    expect(plan).toMatchObject({ command: ['python3', 'app.py'], cwd: '/srv/svc/app', env: { MODE: 'x' }, target: { host: '127.0.0.1', port: 7000 }, stopSignal: 'SIGINT', budgetMs: 3000 });
    expect(plan.env.HOME).toBeUndefined();
  });

  it('refuses what it cannot run', async () => {
    const host = createFakeHost();
    await expect(planLive(host, net, { command: [] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(planLive(host, net, { command: ['x'], budget: '10s' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: '--budget must be a whole number >= 1, got "10s"' });
    await expect(planLive(host, net, { command: ['x'], healthUrl: 'https://127.0.0.1/' })).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    await expect(planLive(host, net, { command: ['x'], healthUrl: 'nope' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('runLive', () => {
  it('reports a command that cannot be found', async () => {
    const host = createFakeHost();
    host.failNextSpawn('ENOENT');
    const plan = await planLive(host, net, { command: ['no-such-thing'] });
    await expect(runLive(host, net, plan)).rejects.toMatchObject({ code: 'COMMAND_NOT_FOUND' });
  });
});

describe('judgeStop', () => {
  const exited = (code: number) => ({ kind: 'exited', code }) as const;

  it('calls exit 0 within the budget clean', () => {
    expect(judgeStop({ exit: exited(0), forced: false, elapsedMs: 40 }, 'SIGTERM', 10_000, 35, false)).toEqual({ verdict: 'clean', severity: null, message: 'exited cleanly in 35 ms' });
  });

  it('calls an overrun high: it would be SIGKILLed', () => {
    expect(judgeStop({ exit: { kind: 'signaled', signal: 'SIGKILL' }, forced: true, elapsedMs: 10_000 }, 'SIGTERM', 10_000, 10_000, false)).toMatchObject({ verdict: 'would-be-killed', severity: 'high', message: 'did not exit within the budget (10000 ms): would be SIGKILLed' });
  });

  it('calls death by the stop signal high: nothing handles it', () => {
    expect(judgeStop({ exit: { kind: 'signaled', signal: 'SIGTERM' }, forced: false, elapsedMs: 3 }, 'SIGTERM', 10_000, 3, false)).toMatchObject({ verdict: 'signaled', severity: 'high' });
  });

  it('calls a failing exit or group leftovers medium', () => {
    expect(judgeStop({ exit: exited(1), forced: false, elapsedMs: 40 }, 'SIGTERM', 10_000, 40, false)).toMatchObject({ verdict: 'exit-code', severity: 'medium' });
    expect(judgeStop({ exit: exited(0), forced: false, elapsedMs: 10_000 }, 'SIGTERM', 10_000, 40, true)).toMatchObject({ verdict: 'clean', severity: 'medium' });
  });
});
