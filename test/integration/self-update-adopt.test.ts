/**
 * A self-update that keeps the service serving (strategy reexec): the new
 * supervisor image adopts the running child and its sockets across the
 * execve, gates on itself, and commits; a new supervisor that cannot start
 * is caught by its start probe before any execve.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFeed, type Behaviour } from '../support/feed.ts';
import { freePort } from '../support/net.ts';
import { api, BIN, cleanup, serviceStatus, startCli, supervisorInfo, tempDir, type RunningCli } from '../support/supervisor.ts';
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
  }, `update ${id} to end`, 40_000);
}

/** One GET; resolves with the answering pid and version, rejects on any failure. */
function get(port: number, agent: Agent | false): Promise<{ pid: number; version: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent, headers: agent === false ? { connection: 'close' } : {}, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as { pid: number; version: string }) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Load until stopped: one loop of fresh connections and four of keep-alive ones, concurrently; counts failures. */
function load(port: number): { ok: () => number; stop: () => Promise<{ ok: number; failed: number; pids: Set<number>; errors: string[] }> } {
  let running = true;
  const result = { ok: 0, failed: 0, pids: new Set<number>(), errors: [] as string[] };
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const loop = async (keepAlive: boolean): Promise<void> => {
    while (running) {
      try {
        result.pids.add((await get(port, keepAlive ? agent : false)).pid);
        result.ok += 1;
      } catch (err) {
        result.failed += 1;
        result.errors.push(`${keepAlive ? 'keep-alive' : 'fresh'}: ${(err as Error).message}`);
      }
    }
  };
  const loops = Promise.all([loop(false), loop(true), loop(true), loop(true), loop(true)]);
  return {
    ok: () => result.ok,
    stop: async () => {
      running = false;
      await loops;
      agent.destroy();
      return result;
    },
  };
}

async function setup(releases: Array<{ version: string; behaviour?: Behaviour; entry?: string }>, updates: Record<string, unknown> = {}): Promise<{ cli: RunningCli; port: number }> {
  const feed = await makeFeed(releases.map((r) => ({ ...r, files: { 'outlast-entry.mjs': r.entry ?? entry(r.version) } })));
  const port = await freePort();
  const dir = tempDir('outlast-adopt-');
  const stateDir = join(dir, 'state');
  const config = join(dir, 'outlast.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'app',
      stateDir,
      api: { port: 0 },
      selfRestart: { strategy: 'reexec' },
      service: {
        command: [process.execPath, 'server.js'],
        listen: [{ port }],
        // Readiness by READY=1: during a handoff a probe of the shared port may be answered by the old child.
        // The probe keeps watching, and is what an adopted child (which will not say READY=1 again) is judged by.
        health: { notify: true, url: `http://127.0.0.1:${port}/health`, intervalMs: 300, readyTimeoutMs: 3000 },
        stopTimeoutMs: 3000,
      },
      updates: { source: { type: 'dir', path: feed }, initialVersion: '1.0.0', range: '*', healthGate: { timeoutMs: 5000, stableForMs: 1000 }, ...updates },
    }),
  );
  // Bootstrap: a plain start installs 1.0.0; then the supervisor runs from the release.
  const installer = startCli(['run', '--config', config], { stateDir });
  await waitFor(async () => (await get(port, false).catch(() => undefined))?.version === '1.0.0', '1.0.0 installed');
  installer.proc.kill('SIGTERM');
  await installer.exited;
  const cli = startCli(['run', '--config', config], { stateDir, entry: join(stateDir, 'current', 'outlast-entry.mjs') });
  await supervisorInfo(cli);
  await waitFor(async () => (await serviceStatus(cli)).state === 'ready', '1.0.0 serving under the self-updating supervisor');
  return { cli, port };
}

/** Milliseconds between the first log lines with these messages. */
function between(cli: RunningCli, from: string, to: string): number {
  const logs = cli.logs();
  const at = (msg: string): number => Date.parse(String(logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith(msg))?.time));
  return at(to) - at(from);
}

describe('self-update that keeps the service', () => {
  it('under load, with socket handoff: the new supervisor adopts the child; 0 failed requests, same service pid', async () => {
    const { cli, port } = await setup([{ version: '1.0.0' }, { version: '1.1.0' }], { selfUpdateService: 'keep' });
    const child = (await serviceStatus(cli)).pid;
    const traffic = load(port);
    await waitFor(() => traffic.ok() > 50, 'traffic flowing');
    const res = await api(cli, 'POST', '/updates/apply', { body: '{"version":"1.1.0"}', headers: json });
    expect(res.status).toBe(202);
    expect(await finalState(cli, res.json.id as string)).toMatchObject({ state: 'committed', selfRestart: true });
    const before = traffic.ok();
    await waitFor(() => traffic.ok() > before + 50, 'traffic after the commit');
    const result = await traffic.stop();
    expect(cli.stderr()).toContain('supervisor entry 1.1.0');
    expect(cli.logs().some((l) => l.msg === 'adopted the running child: the service did not stop' && l.childPid === child)).toBe(true);
    expect({ failed: result.failed, errors: result.errors.slice(0, 5) }).toEqual({ failed: 0, errors: [] });
    expect([...result.pids]).toEqual([child]);
    expect(await serviceStatus(cli)).toMatchObject({ state: 'ready', pid: child });
    expect((await supervisorInfo(cli)).pid).toBe(cli.proc.pid);
    console.log(`self-update (keep): ${result.ok} requests served, ${result.failed} failed; execve to adoption ${between(cli, 'restarting in place (execve)', 'adopted the running child')} ms`);
  });

  it('under load, the default moves the service onto the new release by a handoff after the supervisor passed', async () => {
    const { cli, port } = await setup([{ version: '1.0.0' }, { version: '1.1.0' }]);
    const child = (await serviceStatus(cli)).pid;
    const traffic = load(port);
    await waitFor(() => traffic.ok() > 50, 'traffic flowing');
    const res = await api(cli, 'POST', '/updates/apply', { body: '{"version":"1.1.0"}', headers: json });
    expect(await finalState(cli, res.json.id as string)).toMatchObject({ state: 'committed', selfRestart: true });
    const result = await traffic.stop();
    expect(cli.logs().some((l) => l.msg === 'adopted the running child: the service did not stop' && l.childPid === child)).toBe(true);
    expect((await get(port, false)).version).toBe('1.1.0');
    expect((await serviceStatus(cli)).pid).not.toBe(child);
    console.log(`self-update (restart): ${result.ok} requests served, ${result.failed} failed (${result.errors.join('; ')})`);
    // Fresh connections never fail. A keep-alive connection idle at the old
    // child's drain may be closed under a request just sent ("socket hang
    // up", or a reset when the request's bytes reach the closed socket
    // first): at most once per connection, as in a plain handoff restart.
    expect(result.errors.filter((e) => e.startsWith('fresh'))).toEqual([]);
    expect(result.errors.filter((e) => !/^keep-alive: (socket hang up|read ECONNRESET)$/.test(e))).toEqual([]);
    expect(result.failed).toBeLessThanOrEqual(4);
  });

  it('a new supervisor whose entry exits at start is refused before the execve: the old one and its child serve on', async () => {
    const { cli, port } = await setup([{ version: '1.0.0' }, { version: '2.0.0', entry: "process.stderr.write('broken supervisor\\n');\nprocess.exit(3);\n" }]);
    const child = (await serviceStatus(cli)).pid;
    const res = await api(cli, 'POST', '/updates/apply', { body: '{"version":"2.0.0"}', headers: json });
    const op = await finalState(cli, res.json.id as string);
    expect(op).toMatchObject({ state: 'rolled-back', error: { code: 'START_PROBE_FAILED' } });
    expect(String((op.error as { message: string }).message)).toContain('exited with 3');
    expect(await serviceStatus(cli)).toMatchObject({ state: 'ready', pid: child });
    expect((await get(port, false)).pid).toBe(child);
    expect((await supervisorInfo(cli)).pid).toBe(cli.proc.pid);
    expect(cli.logs().some((l) => typeof l.msg === 'string' && l.msg.startsWith('restarting in place'))).toBe(false);
    expect(readFileSync(join(cli.stateDir, 'bad-versions.json'), 'utf8')).toContain('2.0.0');
  });

  it('a new service that fails its handoff: the supervisor re-execs back and adopts the same child again', async () => {
    // 1.2.0 never answers /health: the handoff gives up on it while 1.0.0 serves on.
    const { cli, port } = await setup([{ version: '1.0.0' }, { version: '1.2.0', behaviour: { mode: 'hang' } }]);
    const child = (await serviceStatus(cli)).pid;
    const res = await api(cli, 'POST', '/updates/apply', { body: '{"version":"1.2.0"}', headers: json });
    const op = await finalState(cli, res.json.id as string);
    expect(op).toMatchObject({ state: 'rolled-back', error: { code: 'HANDOFF_FAILED' } });
    const log = cli.stderr();
    expect(log.lastIndexOf('supervisor entry 1.0.0')).toBeGreaterThan(log.indexOf('supervisor entry 1.2.0'));
    expect(cli.logs().filter((l) => l.msg === 'adopted the running child: the service did not stop' && l.childPid === child)).toHaveLength(2);
    expect(await serviceStatus(cli)).toMatchObject({ state: 'ready', pid: child });
    expect(await get(port, false)).toMatchObject({ pid: child, version: '1.0.0' });
  });

  it('an adopted child that dies is seen (not waited for: /proc and the FIFO) and respawned by the crash policy', async () => {
    const { cli, port } = await setup([{ version: '1.0.0' }, { version: '1.1.0' }], { selfUpdateService: 'keep' });
    const child = (await serviceStatus(cli)).pid;
    const res = await api(cli, 'POST', '/updates/apply', { body: '{"version":"1.1.0"}', headers: json });
    expect(await finalState(cli, res.json.id as string)).toMatchObject({ state: 'committed' });
    expect(child).not.toBeNull();
    process.kill(child as number, 'SIGKILL');
    const status = await waitFor(async () => {
      const s = await serviceStatus(cli);
      return s.state === 'ready' && s.pid !== child ? s : undefined;
    }, 'the respawned child ready');
    expect(status.restarts).toBe(1);
    const { json: full } = await api(cli, 'GET', '/status');
    expect((full.service as { lastExit: unknown }).lastExit).toMatchObject({ code: 137, signal: 'SIGKILL' });
    expect((await get(port, false)).version).toBe('1.1.0');
  });
});
