// `outlast logs`: where the platform keeps the logs, read with the
// platform's own tools (tail for runit's svlogd dir on Termux), or, for a
// real bare supervisor, from the log file it writes in its state dir: the
// last lines across rotations, and -f across rotations until it is stopped.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cleanup, serviceStatus, startCli, tempDir, type RunningCli } from '../support/supervisor.ts';
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

/**
 * A real bare supervisor whose service prints `lines` lines, "svc err" on
 * stderr, four lines on SIGUSR1 and 150 on SIGUSR2; ready once it has
 * printed them.
 */
async function bareSupervisor(logs?: { maxBytes: number; keep: number }, lines = 20): Promise<{ cli: RunningCli; registry: string }> {
  const registry = join(tempDir('outlast-registry-'), 'reg');
  const script = [
    "process.on('SIGUSR1', () => { for (let i = 1; i <= 4; i++) console.log('svc usr1 ' + i); });",
    "process.on('SIGUSR2', () => { for (let i = 1; i <= 150; i++) console.log('svc usr2 ' + i); });",
    `for (let i = 1; i <= ${lines}; i++) console.log('svc line ' + i);`,
    "console.error('svc err');",
    'setInterval(() => {}, 1 << 30);',
  ].join('\n');
  const config = join(tempDir('outlast-logs-config-'), 'outlast.json');
  writeFileSync(config, JSON.stringify({ name: 'bare-app', api: { port: 0 }, ...(logs === undefined ? {} : { log: logs }), service: { command: [process.execPath, '-e', script] } }));
  const cli = startCli(['run', '--config', config], { env: { OUTLAST_REGISTRY_DIR: registry } });
  await waitFor(() => cli.stdout().includes(`svc line ${lines}\n`) && cli.stderr().includes('svc err\n'), 'the service\'s first lines', 20_000);
  await waitFor(async () => (await serviceStatus(cli).catch(() => undefined))?.state === 'ready', 'ready', 20_000);
  return { cli, registry };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
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

  it('prints a bare supervisor\'s last lines from its own log file: the service\'s and its own', async () => {
    const { cli, registry } = await bareSupervisor();
    cli.proc.kill('SIGUSR1');
    const file = join(cli.stateDir, 'logs', 'outlast.log');
    await waitFor(() => readText(file).includes('svc usr1 4\n'), 'the service\'s answer in the log file', 15_000);
    const res = outlast(['logs', 'bare-app', '-n', '5'], { OUTLAST_REGISTRY_DIR: registry });
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.split('\n').slice(0, -1);
    expect(lines).toHaveLength(5);
    // The supervisor's own line, as JSON, then the service's lines it forwarded the signal for.
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'forwarding signal to the service', signal: 'SIGUSR1', name: 'bare-app' });
    expect(lines.slice(1)).toEqual(['svc usr1 1', 'svc usr1 2', 'svc usr1 3', 'svc usr1 4']);
    // Besides stdout and stderr, not instead of them.
    expect(cli.stdout()).toContain('svc usr1 4\n');
    expect(cli.logs().some((l) => l.msg === 'forwarding signal to the service')).toBe(true);
    expect(readText(file)).toContain('svc err\n');
    expect(JSON.parse(readText(join(cli.stateDir, 'logs', 'source.json')))).toMatchObject({ platform: { logFile: file } });
  });

  it('rotates at log.maxBytes keeping exactly log.keep old files, and -n reaches across the boundary', async () => {
    const { cli } = await bareSupervisor({ maxBytes: 1024, keep: 2 }, 300);
    cli.proc.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
    const dir = join(cli.stateDir, 'logs');
    expect(readdirSync(dir).filter((n) => n.startsWith('outlast.log')).sort()).toEqual(['outlast.log', 'outlast.log.1', 'outlast.log.2']);
    for (const name of ['outlast.log', 'outlast.log.1', 'outlast.log.2']) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(1024);
    const current = readText(join(dir, 'outlast.log')).split('\n').slice(0, -1);
    const previous = readText(join(dir, 'outlast.log.1')).split('\n').slice(0, -1);
    expect(previous.length).toBeGreaterThan(3);
    // A stopped supervisor: found by its record in the state dir.
    const res = outlast(['logs', '--state-dir', cli.stateDir, '-n', String(current.length + 3)]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe(`${[...previous.slice(-3), ...current].join('\n')}\n`);
    expect(res.stdout).toContain('"msg":"bye"');
  });

  it('follows with -f across rotations, every line once, and stops cleanly on SIGTERM', async () => {
    const { cli, registry } = await bareSupervisor({ maxBytes: 1024, keep: 3 });
    const follow = spawn(process.execPath, [BIN, 'logs', 'bare-app', '-n', '1', '-f'], { env: { ...process.env, OUTLAST_REGISTRY_DIR: registry }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => follow.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      // The one last line is printed before following begins.
      await waitFor(() => out.endsWith('\n'), 'the last line so far', 15_000);
      expect(out.split('\n')).toHaveLength(2);
      // Written after it started: 150 lines, over a kilobyte, so the file rotates while it follows.
      cli.proc.kill('SIGUSR2');
      await waitFor(() => out.includes('svc usr2 150\n'), 'the lines written after -f started', 15_000);
    } finally {
      follow.kill('SIGTERM');
    }
    expect(await exited).toEqual({ code: 0, signal: null });
    const usr2 = out.split('\n').filter((l) => l.startsWith('svc usr2 '));
    expect(usr2).toEqual(Array.from({ length: 150 }, (_, i) => `svc usr2 ${i + 1}`));
    expect(readdirSync(join(cli.stateDir, 'logs')).filter((n) => n.startsWith('outlast.log.')).length).toBeGreaterThan(0);
  });

  it('ends -f once the reader of its output has gone, as tail does on SIGPIPE', async () => {
    const { cli, registry } = await bareSupervisor();
    const follow = spawn(process.execPath, [BIN, 'logs', 'bare-app', '-n', '1', '-f'], { env: { ...process.env, OUTLAST_REGISTRY_DIR: registry }, stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise<number | null>((resolve) => follow.once('exit', (code) => resolve(code)));
    try {
      await new Promise((resolve) => follow.stdout.once('data', resolve));
      follow.stdout.destroy();
      // The first write after the reader left fails; the next one ends it.
      let done = false;
      void exited.then(() => (done = true));
      await waitFor(() => {
        if (!done) cli.proc.kill('SIGUSR1');
        return done;
      }, '-f to end on its own', 15_000, 300);
      expect(await exited).toBe(0);
    } finally {
      if (follow.exitCode === null) follow.kill('SIGKILL');
    }
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
