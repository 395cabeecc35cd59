/**
 * Zero-downtime handoff: the supervisor owns the listening socket and hands
 * it to each child (fd 3, LISTEN_FDS, LISTEN_PID); a restart starts the new
 * child, waits until it is ready, and only then drains the old one. Under a
 * steady stream of requests, not one fails.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFeed } from '../support/feed.ts';
import { freePort } from '../support/net.ts';
import { api, cleanup, serviceStatus, startCli, tempDir } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

afterEach(cleanup);
const HELLO = resolve(import.meta.dirname, '../../examples/hello/server.js');
const json = { 'content-type': 'application/json' };

function config(port: number, extra: Record<string, unknown> = {}): string {
  const dir = tempDir('outlast-handoff-');
  const path = join(dir, 'outlast.json');
  writeFileSync(
    path,
    JSON.stringify({
      name: 'hello',
      stateDir: join(dir, 'state'),
      api: { port: 0 },
      service: { command: [process.execPath, HELLO], listen: [{ port }], health: { notify: true, readyTimeoutMs: 5000 }, stopTimeoutMs: 5000, ...extra },
    }),
  );
  return path;
}

/** Sends requests back to back (new connection each) until `stop`; counts failures. */
function load(port: number): { stop: () => Promise<{ ok: number; failed: number; pids: Set<number> }> } {
  let running = true;
  const result = { ok: 0, failed: 0, pids: new Set<number>() };
  const loop = (async () => {
    while (running) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(5000) });
        if (res.status === 200) {
          result.ok += 1;
          result.pids.add(((await res.json()) as { pid: number }).pid);
        } else {
          result.failed += 1;
        }
      } catch {
        result.failed += 1;
      }
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return result;
    },
  };
}

describe('socket handoff', () => {
  it('restarts under load with zero failed requests', async () => {
    const port = await freePort();
    const cli = startCli(['run', '--config', config(port)]);
    await waitFor(async () => (await serviceStatus(cli)).state === 'ready', 'ready');
    const traffic = load(port);
    for (let i = 0; i < 3; i++) {
      const before = (await serviceStatus(cli)).pid;
      expect((await api(cli, 'POST', '/restart', { body: '{"target":"service"}', headers: json })).status).toBe(202);
      await waitFor(async () => {
        const s = await serviceStatus(cli);
        return s.state === 'ready' && s.pid !== before;
      }, `handoff ${i + 1}`);
    }
    await waitFor(() => cli.logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('handoff: the old child drained')).length === 3, 'three drains');
    const result = await traffic.stop();
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(50);
    expect(result.pids.size).toBeGreaterThanOrEqual(4);
  });

  it('keeps the old child serving when the new one never becomes ready', async () => {
    const port = await freePort();
    const dir = tempDir('outlast-handoff-never-');
    const marker = join(dir, 'first-done');
    const script = join(dir, 'service.mjs');
    // The first child says READY=1; every later one listens but never does.
    writeFileSync(
      script,
      `import { createServer } from 'node:http';
import { connect } from 'node:net';
import { existsSync, writeFileSync } from 'node:fs';
const first = !existsSync(${JSON.stringify(marker)});
writeFileSync(${JSON.stringify(marker)}, '');
const server = createServer((req, res) => res.end(JSON.stringify({ pid: process.pid })));
server.listen({ fd: 3 }, () => {
  if (first) { const s = connect({ path: process.env.OUTLAST_NOTIFY_SOCKET }, () => s.end('READY=1\\n')); }
});
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`,
    );
    const cfg = join(dir, 'outlast.json');
    writeFileSync(cfg, JSON.stringify({ stateDir: join(dir, 'state'), api: { port: 0 }, service: { command: [process.execPath, script], listen: [{ port }], health: { notify: true, readyTimeoutMs: 1500 } } }));
    const cli = startCli(['run', '--config', cfg]);
    const first = await waitFor(async () => {
      const s = await serviceStatus(cli);
      return s.state === 'ready' ? s.pid : undefined;
    }, 'first child ready');
    expect((await api(cli, 'POST', '/restart', { body: '{"target":"service"}', headers: json })).status).toBe(202);
    await waitFor(() => cli.logs().some((l) => l.msg === 'handoff: the new child never became ready; the old one keeps serving'), 'handoff refused');
    const status = await serviceStatus(cli);
    expect(status).toMatchObject({ state: 'ready', pid: first });
    const answer = (await (await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })).json()) as { pid: number };
    expect(answer.pid).toBe(first);
  });

  it('updates under load with zero failed requests; a broken version is rolled back', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0' }, { version: '1.2.0', behaviour: { mode: 'crash' } }]);
    const port = await freePort();
    const dir = tempDir('outlast-handoff-upd-');
    const cfg = join(dir, 'outlast.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        stateDir: join(dir, 'state'),
        api: { port: 0 },
        service: { command: [process.execPath, 'server.js'], listen: [{ port }], health: { notify: true, readyTimeoutMs: 3000 }, stopTimeoutMs: 3000 },
        updates: { source: { type: 'dir', path: feed }, initialVersion: '1.0.0', healthGate: { timeoutMs: 3000, stableForMs: 500 } },
      }),
    );
    const cli = startCli(['run', '--config', cfg]);
    await waitFor(async () => (await serviceStatus(cli)).state === 'ready', 'ready');
    const apply = async (version: string, outcome: string): Promise<void> => {
      const res = await api(cli, 'POST', '/updates/apply', { body: JSON.stringify({ version }), headers: json });
      expect(res.status).toBe(202);
      await waitFor(async () => (await api(cli, 'GET', `/updates/${String(res.json.id)}`)).json.state === outcome, `${version} ${outcome}`, 20_000);
    };
    const good = load(port);
    await apply('1.1.0', 'committed');
    const result = await good.stop();
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(20);
    // A version that crashes loses what it had accepted; then the old one serves again.
    await apply('1.2.0', 'rolled-back');
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })).status === 200, 'serving after the rollback');
  });

  it('hands the socket to a Python service too (socket.fromfd)', async () => {
    const port = await freePort();
    const dir = tempDir('outlast-handoff-py-');
    const cfg = join(dir, 'outlast.json');
    const script = resolve(import.meta.dirname, '../../examples/python-hello/server.py');
    writeFileSync(cfg, JSON.stringify({ stateDir: join(dir, 'state'), api: { port: 0 }, service: { command: ['python3', script], listen: [{ port }], health: { notify: true, readyTimeoutMs: 5000 } } }));
    const cli = startCli(['run', '--config', cfg]);
    await waitFor(async () => (await serviceStatus(cli)).state === 'ready', 'ready');
    const traffic = load(port);
    const before = (await serviceStatus(cli)).pid;
    await api(cli, 'POST', '/restart', { body: '{"target":"service"}', headers: json });
    await waitFor(async () => {
      const s = await serviceStatus(cli);
      return s.state === 'ready' && s.pid !== before;
    }, 'handoff to a new python child');
    await waitFor(() => cli.logs().some((l) => typeof l.msg === 'string' && l.msg.startsWith('handoff: the old child drained')), 'old drained');
    const result = await traffic.stop();
    expect(result.failed).toBe(0);
    expect(result.pids.size).toBe(2);
  });
});
