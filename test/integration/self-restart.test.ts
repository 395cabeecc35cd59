/**
 * The supervisor restarting itself on this machine, strategy by strategy,
 * with the verdict `outlast why` gives afterwards. The kill-window proofs
 * (cgroup kill, PID-namespace teardown, Android-like) are in kill-windows.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { api, BIN, cleanup, ROOT, serviceStatus, startCli, supervisorInfo, SVC, tempDir, type RunningCli } from '../support/supervisor.ts';
import { alive, waitFor } from '../support/wait.ts';

afterEach(cleanup);
const json = { 'content-type': 'application/json' };
const started: number[] = [];
afterEach(async () => {
  // Supervisors started by ctl.sh are not our children: stop them by pid, and
  // wait, so their state dir can be removed after them.
  for (const pid of started.splice(0)) {
    if (alive(pid)) process.kill(pid, 'SIGTERM');
    await waitFor(() => !alive(pid), `pid ${pid} to stop`, 15_000);
  }
});

function configWith(selfRestart: Record<string, unknown>): string {
  const dir = tempDir('outlast-self-');
  const path = join(dir, 'outlast.json');
  writeFileSync(path, JSON.stringify({ name: 'svc', stateDir: join(dir, 'state'), api: { port: 0 }, selfRestart, service: { command: [process.execPath, SVC] } }));
  return path;
}

function why(stateDir: string): { code: string; summary: string; downtimeMs?: number } {
  const res = spawnSync(process.execPath, [BIN, 'why', '--json', '--state-dir', stateDir], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(res.stdout) as { code: string; summary: string; downtimeMs?: number };
}

async function requestSelfRestart(cli: RunningCli): Promise<Record<string, unknown>> {
  const res = await api(cli, 'POST', '/restart', { body: '{"target":"supervisor"}', headers: json });
  expect(res.status).toBe(202);
  return res.json;
}

describe('self-restart', () => {
  it('reexec keeps the pid, restarts the service, and why calls it clean', async () => {
    const cli = startCli(['run', '--config', configWith({ strategy: 'reexec' })]);
    const before = await waitFor(async () => (await serviceStatus(cli)).pid ?? undefined, 'service');
    expect(await requestSelfRestart(cli)).toMatchObject({ strategy: 'reexec' });
    const after = await waitFor(async () => {
      const s = await serviceStatus(cli).catch(() => undefined);
      return s?.state === 'ready' && s.pid !== before ? s : undefined;
    }, 'service back under the re-executed supervisor');
    expect((await supervisorInfo(cli)).pid).toBe(cli.proc.pid);
    expect(alive(before)).toBe(false);
    expect(after.pid).not.toBe(before);
    expect(cli.proc.exitCode).toBeNull();
    expect(why(cli.stateDir)).toMatchObject({ code: 'clean-restart' });
  });

  it('manager exits 75 for the service manager to restart', async () => {
    const cli = startCli(['run', '--config', configWith({ strategy: 'manager' })]);
    const child = await waitFor(async () => (await serviceStatus(cli)).pid ?? undefined, 'service');
    expect(await requestSelfRestart(cli)).toMatchObject({ strategy: 'manager' });
    expect((await cli.exited).code).toBe(75);
    expect(alive(child)).toBe(false);
    expect(why(cli.stateDir).code).toBe('died-in-exec-window');
  });

  it('watchdog refuses to exit when no watchdog loop runs, and the supervisor stays up', async () => {
    const cli = startCli(['run', '--config', configWith({ strategy: 'watchdog' })]);
    const child = await waitFor(async () => (await serviceStatus(cli)).pid ?? undefined, 'service');
    await requestSelfRestart(cli);
    await waitFor(() => cli.logs().some((l) => l.msg === 'supervisor restart failed; staying up'), 'refusal logged');
    expect((await serviceStatus(cli)).pid).toBe(child);
  });

  it('detached starts a new supervisor through ctl.sh after the old one is gone', async () => {
    const cli = startCli(['run', '--config', configWith({ strategy: 'detached', delayMs: 300 })]);
    const oldPid = (await supervisorInfo(cli)).pid;
    await waitFor(async () => (await serviceStatus(cli)).state === 'ready', 'service');
    expect(await requestSelfRestart(cli)).toMatchObject({ strategy: 'detached' });
    expect((await cli.exited).code).toBe(0);
    const next = await waitFor(() => {
      const info = JSON.parse(readFileSync(join(cli.stateDir, 'supervisor.json'), 'utf8')) as { pid: number; apiUrl: string };
      return info.pid !== oldPid ? info : undefined;
    }, 'a new supervisor', 20_000);
    started.push(next.pid);
    await waitFor(async () => (await fetch(`${next.apiUrl}/health`)).status === 200, 'new supervisor healthy');
    const verdict = why(cli.stateDir);
    expect(verdict.code).toBe('clean-restart');
    expect(verdict.downtimeMs).toBeGreaterThanOrEqual(300);
    expect(readFileSync(join(cli.stateDir, 'logs', 'restart-helper.log'), 'utf8')).toMatch(/is healthy/);
  });
});
