/**
 * Self-update: the supervisor runs from inside the release store, so an
 * update restarts the supervisor itself into the new release; the new image
 * takes over the update lock and the journal and runs the health gate, and a
 * failed gate restarts it back into the old release.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFeed, type Behaviour } from '../support/feed.ts';
import { freePort } from '../support/net.ts';
import { api, BIN, cleanup, startCli, supervisorInfo, tempDir, type RunningCli } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

afterEach(cleanup);
const json = { 'content-type': 'application/json' };

/** The supervisor's entry inside a release: it says which release it is, then runs outlast. */
function entry(version: string): string {
  return `process.stderr.write('supervisor entry ${version}\\n');\nawait import(${JSON.stringify(BIN)});\n`;
}

async function finalState(cli: RunningCli, id: string): Promise<Record<string, unknown>> {
  return waitFor(async () => {
    const res = await api(cli, 'GET', `/updates/${id}`).catch(() => undefined);
    const state = res?.json.state;
    return state === 'committed' || state === 'rolled-back' || state === 'failed' ? res?.json : undefined;
  }, `update ${id} to end`, 30_000);
}

async function version(port: number): Promise<string | undefined> {
  try {
    return ((await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) })).json()) as { version: string }).version;
  } catch {
    return undefined;
  }
}

async function setup(releases: Array<{ version: string; behaviour?: Behaviour }>): Promise<{ cli: RunningCli; port: number }> {
  const feed = await makeFeed(releases.map((r) => ({ ...r, files: { 'outlast-entry.mjs': entry(r.version) } })));
  const port = await freePort();
  const dir = tempDir('outlast-selfupd-');
  const stateDir = join(dir, 'state');
  const config = join(dir, 'outlast.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'app',
      stateDir,
      api: { port: 0 },
      restart: { strategy: 'reexec' },
      service: {
        command: [process.execPath, 'server.js'],
        env: { PORT: String(port) },
        health: { url: `http://127.0.0.1:${port}/health`, intervalMs: 300, readyTimeoutMs: 3000 },
        stopTimeoutMs: 2000,
      },
      updates: { source: { type: 'dir', path: feed }, initialVersion: '1.0.0', range: '*', healthGate: { timeoutMs: 3000, stableForMs: 1500 } },
    }),
  );
  // Bootstrap: a plain start installs 1.0.0; then the supervisor runs from the release.
  const installer = startCli(['run', '--config', config], { stateDir });
  await waitFor(async () => (await version(port)) === '1.0.0', '1.0.0 installed');
  installer.proc.kill('SIGTERM');
  await installer.exited;
  const cli = startCli(['run', '--config', config], { stateDir, entry: join(stateDir, 'current', 'outlast-entry.mjs') });
  await supervisorInfo(cli);
  await waitFor(async () => (await version(port)) === '1.0.0', '1.0.0 serving under the self-updating supervisor');
  return { cli, port };
}

describe('self-update', () => {
  it('restarts the supervisor into the new release, which runs the gate and commits', async () => {
    const { cli, port } = await setup([{ version: '1.0.0' }, { version: '1.1.0' }]);
    const res = await api(cli, 'POST', '/updates/apply', { body: '{"version":"1.1.0"}', headers: json });
    expect(res.status).toBe(202);
    const op = await finalState(cli, res.json.id as string);
    expect(op).toMatchObject({ state: 'committed', selfRestart: true });
    expect(cli.stderr()).toContain('supervisor entry 1.1.0');
    expect((await supervisorInfo(cli)).pid).toBe(cli.proc.pid);
    expect(await version(port)).toBe('1.1.0');
  });

  it('a new version that fails its gate restarts the supervisor back into the old release', async () => {
    const { cli, port } = await setup([{ version: '1.0.0' }, { version: '2.0.0', behaviour: { mode: 'crash' } }]);
    const res = await api(cli, 'POST', '/updates/apply', { body: '{"version":"2.0.0"}', headers: json });
    const op = await finalState(cli, res.json.id as string);
    expect(op).toMatchObject({ state: 'rolled-back', error: { code: 'HEALTH_GATE_FAILED' } });
    // rolled-back is only said once the old version serves again: no wait here.
    expect(await version(port)).toBe('1.0.0');
    const log = cli.stderr();
    expect(log.indexOf('supervisor entry 2.0.0')).toBeGreaterThan(0);
    expect(log.lastIndexOf('supervisor entry 1.0.0')).toBeGreaterThan(log.indexOf('supervisor entry 2.0.0'));
  });

  it('outlast rollback restarts the supervisor into the previous release too', async () => {
    const { cli, port } = await setup([{ version: '1.0.0' }, { version: '1.1.0' }]);
    const applied = await api(cli, 'POST', '/updates/apply', { body: '{"version":"1.1.0"}', headers: json });
    expect(await finalState(cli, applied.json.id as string)).toMatchObject({ state: 'committed' });
    const afterUpdate = cli.stderr().length;
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'rollback', '--state-dir', cli.stateDir, '--json'], { timeout: 30_000 });
    const started = JSON.parse(stdout) as { id: string; from: string; to: string };
    expect(started).toMatchObject({ from: '1.1.0', to: '1.0.0' });
    const op = await finalState(cli, started.id);
    expect(op).toMatchObject({ kind: 'rollback', state: 'rolled-back', selfRestart: true });
    expect(op.error).toBeUndefined();
    // The supervisor itself restarted from the 1.0.0 release, not only its child.
    expect(cli.stderr().slice(afterUpdate)).toContain('supervisor entry 1.0.0');
    expect((await supervisorInfo(cli)).pid).toBe(cli.proc.pid);
    expect(await version(port)).toBe('1.0.0');
  });
});
