// Services addressed by name from any directory: the per-user registry,
// `outlast ls` and `outlast status NAME`, run from `/` against real
// supervisors that registered themselves.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cleanup, serviceStatus, startCli, svcCommand, tempDir, type RunningCli } from '../support/supervisor.ts';
import { freePort } from '../support/net.ts';
import { waitFor } from '../support/wait.ts';

function outlastFrom(cwd: string, args: string[], env: Record<string, string>): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

async function startNamed(name: string, registry: string): Promise<RunningCli> {
  const port = await freePort();
  const cli = startCli(['run', '--name', name, '--api-port', '0', '--health-url', `http://127.0.0.1:${port}/health`, ...svcCommand()], {
    env: { PORT: String(port), OUTLAST_REGISTRY_DIR: registry },
  });
  await waitFor(async () => (await serviceStatus(cli).catch(() => undefined))?.state === 'ready', `${name} ready`, 20_000);
  return cli;
}

describe('every service addressable by name', () => {
  afterEach(cleanup);

  it('outlast ls and outlast status NAME work from /, and a stopped supervisor leaves the registry', async () => {
    const registry = join(tempDir('outlast-registry-'), 'reg');
    const env = { OUTLAST_REGISTRY_DIR: registry };
    const alpha = await startNamed('alpha', registry);
    const beta = await startNamed('beta', registry);
    // The registry dir is private to its user.
    expect(statSync(registry).mode & 0o777).toBe(0o700);

    const ls = outlastFrom('/', ['ls', '--json'], env);
    expect(ls.code, ls.stderr).toBe(0);
    const rows = JSON.parse(ls.stdout) as Array<{ name: string; pid: number; state: string; api: string }>;
    expect(rows.map((r) => [r.name, r.pid, r.state])).toEqual([
      ['alpha', alpha.proc.pid, 'ready'],
      ['beta', beta.proc.pid, 'ready'],
    ]);
    const human = outlastFrom('/', ['ls'], env);
    expect(human.stdout).toMatch(/^NAME\s+PID\s+STATE\s+VERSION\s+API\n/);
    expect(human.stdout).toMatch(new RegExp(`^beta\\s+${beta.proc.pid}\\s+ready\\s`, 'm'));

    const status = outlastFrom('/', ['status', 'beta', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ supervisor: { pid: beta.proc.pid, name: 'beta' }, service: { state: 'ready' } });

    // An unknown name: the JSON error on stdout, naming the ones that exist.
    const unknown = outlastFrom('/', ['status', 'gamma', '--json'], env);
    expect(unknown.code).toBe(66);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: { code: 'NOT_FOUND', message: expect.stringMatching(/alpha.*beta/) as unknown } });

    // A clean exit removes the entry; the other stays.
    alpha.proc.kill('SIGTERM');
    expect((await alpha.exited).code).toBe(0);
    const after = JSON.parse(outlastFrom('/', ['ls', '--json'], env).stdout) as Array<{ name: string }>;
    expect(after.map((r) => r.name)).toEqual(['beta']);
    expect(readdirSync(registry).filter((f) => f.endsWith('.json'))).toHaveLength(1);
  });

  it('a SIGKILLed supervisor is pruned as stale on the next read', async () => {
    const registry = join(tempDir('outlast-registry-'), 'reg');
    const env = { OUTLAST_REGISTRY_DIR: registry };
    const gone = await startNamed('gone', registry);
    const child = (await serviceStatus(gone)).pid;
    gone.proc.kill('SIGKILL');
    await gone.exited;
    // The service's group outlives a SIGKILLed supervisor: end it here.
    try {
      if (child !== null) process.kill(-child, 'SIGKILL');
    } catch {
      // already gone
    }
    const ls = outlastFrom('/', ['ls', '--json'], env);
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toEqual([]);
    expect(readdirSync(registry).filter((f) => f.endsWith('.json'))).toEqual([]);
  });
});
