/**
 * The crash policy with its defaults, against a real supervisor: a healthy
 * service killed again and again (as an OOM or low-memory killer does) is
 * restarted every time, and only a fast crash loop ends in `errored`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { svcConfig } from '../support/config.ts';
import { freePort } from '../support/net.ts';
import { cleanup, serviceStatus, startCli, tempDir } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

afterEach(cleanup);

describe('crash policy with the default config', () => {
  it('restarts a service SIGKILLed every ~1.5 s every time, never errored', async () => {
    const port = await freePort();
    const config = svcConfig({ PORT: String(port) }, { health: { url: `http://127.0.0.1:${port}/health`, intervalMs: 100 } });
    const cli = startCli(['run', '--config', config]);
    const killed: number[] = [];
    for (let i = 0; i < 7; i++) {
      const pid = await waitFor(async () => {
        const s = await serviceStatus(cli);
        if (s.state === 'errored') throw new Error(`errored after ${killed.length} kills: ${s.reason}`);
        return s.state === 'ready' && s.pid !== null && !killed.includes(s.pid) ? s.pid : undefined;
      }, `service ready after ${killed.length} kills`);
      // Pace the kills like separate incidents: each run outlasts the default
      // stableAfterMs (1 s) before the next SIGKILL.
      const readyAt = Date.now();
      await waitFor(() => Date.now() - readyAt >= 1500, 'the run to pass 1.5 s');
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    }
    const status = await waitFor(async () => {
      const s = await serviceStatus(cli);
      return s.state === 'ready' && s.pid !== null && !killed.includes(s.pid) ? s : undefined;
    }, 'service ready after the last kill');
    expect(status.restarts).toBe(7);
    expect(cli.logs().some((l) => l.msg === 'service errored: not restarting until asked')).toBe(false);
    const delays = cli.logs().filter((l) => l.msg === 'restarting after backoff').map((l) => l.delayMs);
    expect(delays).toEqual([0, 0, 0, 0, 0, 0, 0]);
  }, 40_000);

  it('puts a service that exits at once in the errored state after backoff', async () => {
    // sh starts in milliseconds, so each run stays far under the default 1 s
    // even on a loaded machine (Node's own start-up may not).
    const dir = tempDir('outlast-config-');
    const config = join(dir, 'outlast.json');
    writeFileSync(config, JSON.stringify({ name: 'exits', stateDir: join(dir, 'state'), api: { port: 0 }, service: { command: ['/bin/sh', '-c', 'exit 3'] } }));
    const cli = startCli(['run', '--config', config]);
    const status = await waitFor(async () => {
      const s = await serviceStatus(cli);
      return s.state === 'errored' ? s : undefined;
    }, 'errored state', 30_000);
    expect(status.reason).toMatch(/^5 crashes within 60000 ms, each under 1000 ms of uptime \(limit 5\)$/);
    const delays = cli.logs().filter((l) => l.msg === 'restarting after backoff').map((l) => l.delayMs as number);
    // Four restarts, each later than the one before (the default backoff, with jitter).
    expect(delays).toHaveLength(4);
    expect(delays[0]).toBe(0);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThan(delays[i - 1]!);
  }, 40_000);
});
