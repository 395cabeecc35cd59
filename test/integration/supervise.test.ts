/**
 * `outlast run` against real child processes: crash restarts, crash loops,
 * hung health, graceful and forced stops, grandchildren, and signals.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { svcConfig } from '../support/config.ts';
import { freePort } from '../support/net.ts';
import { api, cleanup, killLater, serviceStatus, startCli, supervisorInfo } from '../support/supervisor.ts';
import { alive, waitFor } from '../support/wait.ts';

afterEach(cleanup);

const fastRestart = (extra: Record<string, unknown> = {}) => ({
  backoff: { initialMs: 200, maxMs: 5000, factor: 2, jitter: 0 },
  // Uptime counts from the spawn, Node's start-up included: on a loaded
  // machine a child that crashes 150 ms after starting may live over 1 s.
  stableAfterMs: 10_000,
  maxCrashes: 10,
  ...extra,
});

describe('crash restart', () => {
  it('restarts a crashing child with exponential backoff', async () => {
    const cli = startCli(['run', '--config', svcConfig({ CRASH_AFTER_MS: '150' }, { restart: fastRestart() })]);
    await waitFor(async () => (await serviceStatus(cli)).restarts >= 3, 'three restarts');
    const delays = cli
      .logs()
      .filter((l) => l.msg === 'restarting after backoff')
      .map((l) => l.delayMs as number);
    // jitter 0: the first restart is immediate, then 200, 400, ... doubling.
    expect(delays.slice(0, 3)).toEqual([0, 200, 400]);
    expect(cli.logs().some((l) => l.msg === 'service exited with code 1')).toBe(true);
  });

  it('puts a crash loop in the errored state, and a restart revives it', async () => {
    const config = svcConfig({ CRASH_AFTER_MS: '30' }, { restart: fastRestart({ maxCrashes: 3, backoff: { initialMs: 20, jitter: 0 } }) });
    const cli = startCli(['run', '--config', config]);
    const status = await waitFor(async () => {
      const s = await serviceStatus(cli);
      return s.state === 'errored' ? s : undefined;
    }, 'errored state');
    expect(status.reason).toMatch(/3 crashes within 60000 ms/);
    expect(status.pid).toBeNull();
    const health = await api(cli, 'GET', '/health', { auth: false });
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({ status: 'errored' });
    // The supervisor stays up, as PM2 and supervisord do, until asked.
    expect(alive(cli.proc.pid!)).toBe(true);
    const restart = await api(cli, 'POST', '/restart', { body: '{"target":"service"}', headers: { 'content-type': 'application/json' } });
    expect(restart.status).toBe(202);
    await waitFor(async () => (await serviceStatus(cli)).state !== 'errored', 'revived');
  });

  it('restarts a child that is alive but no longer answers health checks', async () => {
    const port = await freePort();
    const config = svcConfig(
      { PORT: String(port), HANG_AFTER_MS: '400' },
      {
        health: { url: `http://127.0.0.1:${port}/health`, intervalMs: 150, timeoutMs: 200, failureThreshold: 2 },
        restart: fastRestart(),
      },
    );
    const cli = startCli(['run', '--config', config]);
    const first = await waitFor(async () => {
      const s = await serviceStatus(cli);
      return s.state === 'ready' ? s.pid : undefined;
    }, 'first child ready');
    await waitFor(async () => {
      const s = await serviceStatus(cli);
      return s.restarts >= 1 && s.state === 'ready' && s.pid !== first;
    }, 'a new healthy child');
    expect(alive(first!)).toBe(false);
    const failures = cli.logs().filter((l) => l.msg === 'health check failed');
    expect(failures.length).toBeGreaterThanOrEqual(2);
  });
});

describe('graceful stop', () => {
  it('stops within the budget on SIGTERM and logs every phase', async () => {
    const cli = startCli(['run', '--stop-timeout', '5000', '--api-port', '0', '--', process.execPath, 'test/fixtures/services/svc.mjs'], {
      env: { DRAIN_MS: '300' },
    });
    const pid = await waitFor(async () => (await serviceStatus(cli)).pid ?? undefined, 'child pid');
    await waitFor(() => cli.stdout().includes('svc ready'), 'svc ready line');
    const t0 = Date.now();
    cli.proc.kill('SIGTERM');
    const { code } = await cli.exited;
    const took = Date.now() - t0;
    expect(code).toBe(0);
    expect(took).toBeLessThan(5000);
    expect(alive(pid)).toBe(false);
    const messages = cli.logs().map((l) => String(l.msg));
    expect(messages).toContain('stop requested');
    expect(messages).toContain('stop: SIGTERM sent to the process group');
    const exited = cli.logs().find((l) => String(l.msg).startsWith('stop: child exited after'));
    expect(exited?.ms).toBeGreaterThanOrEqual(250);
    expect(messages).toContain('bye');
  });

  it('SIGKILLs a child that ignores SIGTERM once the stop timeout passes', async () => {
    const cli = startCli(['run', '--stop-timeout', '800', '--api-port', '0', '--', process.execPath, 'test/fixtures/services/svc.mjs'], {
      env: { IGNORE_TERM: '1' },
    });
    const pid = await waitFor(async () => (await serviceStatus(cli)).pid ?? undefined, 'child pid');
    await waitFor(() => cli.stdout().includes('svc ready'), 'svc ready line');
    cli.proc.kill('SIGTERM');
    const { code } = await cli.exited;
    expect(code).toBe(137);
    expect(alive(pid)).toBe(false);
    expect(cli.stdout()).toContain('svc ignoring SIGTERM');
    const forced = cli.logs().find((l) => String(l.msg).startsWith('stop: child force-killed after'));
    expect(forced?.ms).toBeGreaterThanOrEqual(800);
  });

  it('leaves no grandchild behind, even one that ignores SIGTERM', async () => {
    const cli = startCli(['run', '--stop-timeout', '700', '--api-port', '0', '--', process.execPath, 'test/fixtures/services/svc.mjs'], {
      env: { GRANDCHILD: '1' },
    });
    const grandchild = Number(await waitFor(() => /grandchild (\d+)/.exec(cli.stdout())?.[1], 'grandchild pid'));
    killLater(grandchild);
    await waitFor(() => cli.stdout().includes('svc ready'), 'svc ready line');
    expect(alive(grandchild)).toBe(true);
    cli.proc.kill('SIGTERM');
    await cli.exited;
    await waitFor(() => !alive(grandchild), 'grandchild gone', 3000);
    expect(cli.logs().some((l) => String(l.msg).startsWith('stop: leftovers in the group SIGKILLed'))).toBe(true);
  });

  it('a second SIGINT skips the rest of the drain budget', async () => {
    const cli = startCli(['run', '--stop-timeout', '20000', '--api-port', '0', '--', process.execPath, 'test/fixtures/services/svc.mjs'], {
      env: { IGNORE_TERM: '1' },
    });
    await waitFor(() => cli.stdout().includes('svc ready'), 'svc ready line');
    cli.proc.kill('SIGINT');
    await waitFor(() => cli.logs().some((l) => l.msg === 'stop requested'), 'stop requested');
    const t0 = Date.now();
    cli.proc.kill('SIGINT');
    const { code } = await cli.exited;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(code).toBe(137);
  });
});

describe('signals', () => {
  it('forwards SIGHUP, SIGUSR1 and SIGUSR2 to the child', async () => {
    const cli = startCli(['run', '--api-port', '0', '--', process.execPath, 'test/fixtures/services/svc.mjs']);
    await waitFor(() => cli.stdout().includes('svc ready'), 'svc ready line');
    for (const signal of ['SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) {
      cli.proc.kill(signal);
      await waitFor(() => cli.stdout().includes(`svc got ${signal}`), `child saw ${signal}`);
    }
    expect((await serviceStatus(cli)).restarts).toBe(0);
  });
});

describe('orphans', () => {
  it('a new supervisor ends the service a SIGKILLed one left behind', async () => {
    const first = startCli(['run', '--api-port', '0', '--', process.execPath, 'test/fixtures/services/svc.mjs']);
    const orphan = await waitFor(async () => (await serviceStatus(first)).pid ?? undefined, 'child pid');
    killLater(orphan);
    await waitFor(() => first.stdout().includes('svc ready'), 'svc ready line');
    first.proc.kill('SIGKILL');
    await first.exited;
    expect(alive(orphan)).toBe(true);
    const second = startCli(['run', '--api-port', '0', '--', process.execPath, 'test/fixtures/services/svc.mjs'], { stateDir: first.stateDir });
    await supervisorInfo(second);
    await waitFor(() => !alive(orphan), 'orphan stopped');
    expect(second.logs().some((l) => String(l.msg).includes('left its service running'))).toBe(true);
    const fresh = await waitFor(async () => (await serviceStatus(second)).pid ?? undefined, 'new child');
    expect(fresh).not.toBe(orphan);
  });

  it('refuses a second supervisor on the same state dir', async () => {
    const first = startCli(['run', '--api-port', '0', '--', process.execPath, 'test/fixtures/services/svc.mjs']);
    const info = await supervisorInfo(first);
    const second = startCli(['run', '--api-port', '0', '--', process.execPath, 'test/fixtures/services/svc.mjs'], { stateDir: first.stateDir });
    const { code } = await second.exited;
    expect(code).toBe(80);
    expect(second.stderr()).toContain(`another outlast (pid ${info.pid}) is running`);
  });
});
