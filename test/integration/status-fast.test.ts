/**
 * `outlast status` is answered by a small module (supervisor/cli/quick-status.ts)
 * before the CLI loads. Proven with a resolve hook that reports every bare
 * package the process imports: the plain forms load none of commander, zod
 * or fastify, and still print what the full CLI prints; the other forms and
 * the error cases go on to the full CLI.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../supervisor/host/node-host.ts';
import { main } from '../../supervisor/cli/main.ts';
import { plainStatusArgs, quickStatus } from '../../supervisor/cli/quick-status.ts';
import { BIN, cleanup, ROOT, serviceStatus, startCli, tempDir, type RunningCli } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

// Prints "package:<name>" to stderr for each bare specifier resolved.
const HOOK = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module'; registerHooks({ resolve(s, c, next) { if (!/^(node:|[./]|file:|data:)/.test(s)) process.stderr.write('package:' + s + '\\n'); return next(s, c); } });",
)}`;

function outlast(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string; packages: string[] } {
  const res = spawnSync(process.execPath, ['--import', HOOK, BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
  const packages = [...res.stderr.matchAll(/^package:(.+)$/gm)].map((m) => m[1]!);
  return { code: res.status, stdout: res.stdout, stderr: res.stderr, packages };
}

/** The full CLI's output for `argv`, in process. */
async function fullCli(argv: string[]): Promise<string> {
  let out = '';
  const code = await main(createNodeHost(() => undefined as never), argv, (t) => (out += t), () => undefined);
  expect(code).toBe(0);
  return out;
}

/** Uptime moves between two calls; everything else must be identical. */
const steady = (text: string): string => text.replace(/up [^,]+,/, 'up X,').replace(/"uptimeMs": \d+/, '"uptimeMs": 0');

describe('plainStatusArgs', () => {
  it('takes only the plain forms', () => {
    expect(plainStatusArgs(['status'])).toEqual({ json: false, stateDir: undefined });
    expect(plainStatusArgs(['status', '--json', '--state-dir', 'd'])).toEqual({ json: true, stateDir: 'd' });
    expect(plainStatusArgs(['status', '--state-dir=d'])).toEqual({ json: false, stateDir: 'd' });
    for (const other of [['status', 'name'], ['status', '--url'], ['status', '-c', 'x.json'], ['status', '--state-dir'], ['status', '--help'], ['restart']]) {
      expect(plainStatusArgs(other), other.join(' ')).toBeUndefined();
    }
  });
});

describe('outlast status, fast path', () => {
  let cli: RunningCli;
  beforeAll(async () => {
    cli = startCli(['run', '--api-port', '0', '--', process.execPath, 'test/fixtures/services/svc.mjs']);
    await waitFor(async () => (await serviceStatus(cli)).state === 'ready', 'service ready');
  });
  afterAll(cleanup);

  it('prints what the full CLI prints, loading no package', async () => {
    const fast = outlast(['status', '--state-dir', cli.stateDir]);
    expect(fast.code, fast.stderr).toBe(0);
    expect(fast.packages).toEqual([]);
    expect(fast.stdout).toMatch(/service\s+svc: ready, pid \d+/);
    expect(steady(fast.stdout)).toBe(steady(await fullCli(['status', '--state-dir', cli.stateDir])));
  });

  it('prints the same JSON with --json, and finds the state dir through $OUTLAST_STATE_DIR', async () => {
    const fast = outlast(['status', '--json'], { OUTLAST_STATE_DIR: cli.stateDir });
    expect(fast.code, fast.stderr).toBe(0);
    expect(fast.packages).toEqual([]);
    expect(steady(fast.stdout)).toBe(steady(await fullCli(['status', '--json', '--state-dir', cli.stateDir])));
  });

  it('leaves the other forms to the full CLI', () => {
    const help = outlast(['status', '--help']);
    expect(help.code).toBe(0);
    expect(help.packages).toContain('commander');
    expect(help.stdout).toMatch(/--state-dir <dir>/);
  });

  it('quickStatus answers undefined, not an error, when it cannot answer', async () => {
    expect(await quickStatus(['status', '--state-dir', tempDir()], {}, ROOT)).toBeUndefined();
    expect(await quickStatus(['status', 'nobody'], {}, ROOT)).toBeUndefined();
  });
});

describe('outlast status, no supervisor', () => {
  afterEach(cleanup);

  it('still says so through the full CLI, with its exit code', () => {
    const res = outlast(['status', '--state-dir', tempDir()]);
    expect(res.code).toBe(69);
    expect(res.stderr).toMatch(/no running outlast supervisor/);
    expect(res.packages).toContain('commander');
  });
});
