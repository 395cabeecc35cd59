// `outlast audit --live` end to end: the real CLI starts a real service,
// holds real connections, sends a real SIGTERM, and never leaves the service
// behind.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Finding } from '../../supervisor/audit/index.ts';
import type { LiveReport } from '../../supervisor/audit/live/index.ts';
import { freePort } from '../support/net.ts';
import { SHUTDOWN_SERVICE } from '../support/shutdown-service.ts';
import { cleanup, killLater, ROOT, startCli, tempDir } from '../support/supervisor.ts';
import { alive, waitFor } from '../support/wait.ts';

afterEach(cleanup);

const FIXTURE_DIR = join(ROOT, 'test/fixtures/shutdown');

async function audit(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; findings: Finding[]; live: LiveReport; stdout: string }> {
  const cli = startCli(['audit', '--json', ...args], { env });
  const { code } = await cli.exited;
  const parsed = JSON.parse(cli.stdout()) as { findings: Finding[]; live: LiveReport };
  return { code, ...parsed, stdout: cli.stdout() };
}

function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('outlast audit --live', () => {
  it('reports a naive server.close() service held open by its connections as one that would be SIGKILLed', async () => {
    const { code, live } = await audit([FIXTURE_DIR, '--live', '--budget', '1500', '--', process.execPath, SHUTDOWN_SERVICE], { MODE: 'naive' });

    expect(code).toBe(1);
    expect(live.verdict).toBe('would-be-killed');
    expect(live.severity).toBe('high');
    expect(live.message).toBe('did not exit within the budget (1500 ms): would be SIGKILLed');
    expect(live.held).toMatchObject({ idle: 50, requested: 50, stream: 'upgraded', streamStatus: 101 });
    expect(live.phases.map((p) => p.phase)).toEqual(['signal-sent', 'force-killed']);
    expect(live.exit).toEqual({ kind: 'signaled', signal: 'SIGKILL' });
    expect(live.pid).not.toBeNull();
    expect(alive(live.pid!)).toBe(false);
    expect(groupGone(live.pid!)).toBe(true);
  });

  it('reports the example service as exiting cleanly, and exits 0', async () => {
    const example = join(ROOT, 'examples/hello');
    const { code, findings, live, stdout } = await audit([example, '--live', '--', process.execPath, join(example, 'server.js')]);

    expect(code, stdout).toBe(0);
    expect(findings).toEqual([]);
    expect(live.verdict).toBe('clean');
    expect(live.severity).toBeNull();
    expect(live.message).toMatch(/^exited cleanly in \d+ ms$/);
    expect(live.exitedAfterMs).toBeLessThan(2000);
    expect(live.held.idle).toBe(50);
    expect(live.exit).toEqual({ kind: 'exited', code: 0 });
    expect(alive(live.pid!)).toBe(false);
  });

  it('without paths, audits the service entry file, not the cwd (here the repository root)', async () => {
    const { code, findings, live, stdout } = await audit(['--live', '--', process.execPath, 'examples/hello/server.js']);
    expect(code, stdout).toBe(0);
    expect(findings).toEqual([]);
    expect(live.verdict).toBe('clean');
  });

  it('exits cleanly with the helper under 50 idle connections and an upgraded one', async () => {
    const { live } = await audit([FIXTURE_DIR, '--live', '--', process.execPath, SHUTDOWN_SERVICE], { MODE: 'helper' });
    expect(live.verdict).toBe('clean');
    expect(live.held).toMatchObject({ idle: 50, stream: 'upgraded' });
    expect(live.exitedAfterMs).toBeLessThan(1000);
  });

  it('calls a service with no SIGTERM handler killed by the signal itself', async () => {
    const { code, live } = await audit([FIXTURE_DIR, '--live', '--', process.execPath, SHUTDOWN_SERVICE], { MODE: 'none' });
    expect(code).toBe(1);
    expect(live.verdict).toBe('signaled');
    expect(live.message).toMatch(/^was killed by SIGTERM after \d+ ms: nothing handles SIGTERM, so requests in flight are cut$/);
  });

  it('takes the command, the health URL and the budget from a config file', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = join(dir, 'outlast.json');
    writeFileSync(config, JSON.stringify({
      service: {
        command: [process.execPath, SHUTDOWN_SERVICE],
        env: { MODE: 'helper', PORT: String(port) },
        health: { url: `http://127.0.0.1:${port}/health` },
        stopTimeoutMs: 4000,
      },
    }));
    const { code, live } = await audit([FIXTURE_DIR, '--live', '--config', config]);
    expect(code).toBe(0);
    expect(live).toMatchObject({ verdict: 'clean', budgetMs: 4000, target: { host: '127.0.0.1', port } });
  });

  it('kills a service that never becomes ready, and says so', async () => {
    const { code, live } = await audit([FIXTURE_DIR, '--live', '--ready-timeout', '500', '--', process.execPath, '-e', 'setInterval(() => {}, 1000)']);
    expect(code).toBe(1);
    expect(live.verdict).toBe('not-ready');
    expect(live.message).toMatch(/^never became ready: not ready within 500 ms/);
    await waitFor(() => !alive(live.pid!), 'the service to be gone', 2000);
  });

  it('SIGKILLs the service when the audit itself is interrupted', async () => {
    const pidFile = join(tempDir(), 'pid');
    const cli = startCli(['audit', FIXTURE_DIR, '--live', '--budget', '60000', '--', process.execPath, SHUTDOWN_SERVICE], { env: { MODE: 'naive', PID_FILE: pidFile } });
    const pid = await waitFor(() => {
      try {
        return Number(readFileSync(pidFile, 'utf8'));
      } catch {
        return undefined;
      }
    }, 'the service to start');
    killLater(pid);

    cli.proc.kill('SIGINT');
    const { code } = await cli.exited;

    expect(code).toBe(130);
    expect(alive(pid)).toBe(false);
    expect(groupGone(pid)).toBe(true);
  });

  it('refuses live-only flags and a command without --live', async () => {
    for (const args of [['--port', '8080'], ['--', 'node', 'server.js']]) {
      const cli = startCli(['audit', FIXTURE_DIR, ...args]);
      expect((await cli.exited).code).toBe(64);
      expect(cli.stderr()).toMatch(/needs --live/);
    }
  });
});
