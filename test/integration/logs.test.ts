// `outlast logs`: where the platform keeps the logs, read with the
// platform's own tools (tail for runit's svlogd dir on Termux), from the
// record a supervisor leaves in its state dir.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cleanup, serviceStatus, startCli, svcCommand, tempDir } from '../support/supervisor.ts';
import { freePort } from '../support/net.ts';
import { waitFor } from '../support/wait.ts';

function outlast(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [BIN, ...args], { cwd: '/', env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** A state dir whose last supervisor ran under runit on Termux, and the svlogd file it wrote. */
function termuxRecord(): { stateDir: string; prefix: string; current: string } {
  const stateDir = tempDir('outlast-logs-state-');
  const prefix = tempDir('outlast-logs-prefix-');
  mkdirSync(join(stateDir, 'logs'));
  writeFileSync(join(stateDir, 'logs', 'source.json'), JSON.stringify({ name: 'app', pid: 1, startTime: null, stateDir, apiUrl: 'http://127.0.0.1:1', version: '0.1.0', startedAt: '', platform: { kind: 'termux' } }));
  const dir = join(prefix, 'var', 'log', 'sv', 'app');
  mkdirSync(dir, { recursive: true });
  const current = join(dir, 'current');
  writeFileSync(current, Array.from({ length: 100 }, (_, i) => `line ${i + 1}\n`).join(''));
  return { stateDir, prefix, current };
}

describe('outlast logs', () => {
  afterEach(cleanup);

  it('prints the last N lines of the svlogd file on Termux', () => {
    const { stateDir, prefix } = termuxRecord();
    const res = outlast(['logs', '--state-dir', stateDir, '-n', '3'], { PREFIX: prefix });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('line 98\nline 99\nline 100\n');
  });

  it('follows new lines with -f', async () => {
    const { stateDir, prefix, current } = termuxRecord();
    const proc = spawn(process.execPath, [BIN, 'logs', '--state-dir', stateDir, '-n', '1', '-f'], { env: { ...process.env, PREFIX: prefix }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    try {
      await waitFor(() => out.includes('line 100\n'), 'the last line', 15_000);
      appendFileSync(current, 'a new line\n');
      await waitFor(() => out.includes('a new line\n'), 'the appended line', 15_000);
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
    // The tail it ran went with it.
    await waitFor(() => !spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout.includes(current), 'tail -F to be gone', 5000);
  });

  it('says where the logs of a bare supervisor go, with a stable code, from its own record', async () => {
    const port = await freePort();
    const cli = startCli(['run', '--name', 'bare-app', '--api-port', '0', '--health-url', `http://127.0.0.1:${port}/health`, ...svcCommand()], { env: { PORT: String(port), OUTLAST_REGISTRY_DIR: join(tempDir('outlast-registry-'), 'reg') } });
    await waitFor(async () => (await serviceStatus(cli).catch(() => undefined))?.state === 'ready', 'ready', 20_000);
    const res = outlast(['logs', '--state-dir', cli.stateDir, '--json']);
    expect(res.code).toBe(69);
    expect(JSON.parse(res.stdout)).toMatchObject({ error: { code: 'NOT_SUPPORTED', message: expect.stringMatching(/^bare-app runs bare \(\w+\): .* own stdout and stderr/) as unknown } });
  });

  it('refuses a state dir no supervisor has run in, and a bad -n', () => {
    const none = outlast(['logs', '--state-dir', tempDir('outlast-logs-none-')]);
    expect(none.code).toBe(66);
    expect(none.stderr).toMatch(/no supervisor has run with state dir .* yet/);
    const bad = outlast(['logs', '--state-dir', tempDir('outlast-logs-none-'), '-n', 'ten']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/-n needs a whole number of lines, not "ten"/);
  });
});
