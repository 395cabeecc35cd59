/**
 * Exit codes as tini passes them through, config errors, and the EPIPE case:
 * all through the real CLI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cleanup, ROOT, startCli, tempDir } from '../support/supervisor.ts';
import { alive, waitFor } from '../support/wait.ts';

afterEach(cleanup);

async function runToEnd(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const cli = startCli(['run', '--api-port', '0', ...args]);
  const { code } = await cli.exited;
  return { code, stderr: cli.stderr() };
}

describe('exit-code passthrough', () => {
  it("passes the child's own code through", async () => {
    expect((await runToEnd(['--restart', 'never', '--', 'sh', '-c', 'exit 3'])).code).toBe(3);
  });

  it('ends with 0 when the child succeeds under on-failure', async () => {
    expect((await runToEnd(['--restart', 'on-failure', '--', 'sh', '-c', 'exit 0'])).code).toBe(0);
  });

  it('maps a child killed by a signal to 128+signal', async () => {
    expect((await runToEnd(['--restart', 'never', '--', 'sh', '-c', 'kill -9 $$'])).code).toBe(137);
    expect((await runToEnd(['--restart', 'never', '--', 'sh', '-c', 'kill -15 $$'])).code).toBe(143);
  });

  it('ends with 127 when the command is not found, even under restart always', async () => {
    const res = await runToEnd(['--', 'outlast-no-such-command-here']);
    expect(res.code).toBe(127);
    expect(res.stderr).toMatch(/ENOENT/);
  });

  // The reason is one line, said once: a JSON log line must not carry an
  // escaped newline, nor a second copy of the same failure.
  function spawnFailureLines(stderr: string): string[] {
    return stderr.split('\n').filter((line) => line.includes('could not be started'));
  }

  it('says once, on one line, that a missing command could not be started', async () => {
    const res = await runToEnd(['--', '/nonexistent/cmd']);
    expect(res.code).toBe(127);
    const lines = spawnFailureLines(res.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('service could not be started (ENOENT): /nonexistent/cmd');
    expect(lines[0]).not.toContain('\\n');
    expect(res.stderr.split('ENOENT')).toHaveLength(2);
  });

  it('says once, on one line, that a configured command is missing, or its working directory', async () => {
    const dir = tempDir();
    const file = join(dir, 'outlast.json');
    writeFileSync(file, JSON.stringify({ stateDir: join(dir, 'state'), service: { command: ['/nonexistent/cmd', '--port', '8080'] } }));
    const missing = await runToEnd(['--config', file]);
    expect(missing.code).toBe(127);
    expect(spawnFailureLines(missing.stderr)).toEqual([expect.stringContaining('service could not be started (ENOENT): /nonexistent/cmd: no such file')]);
    expect(missing.stderr).not.toContain('\\n');

    writeFileSync(file, JSON.stringify({ stateDir: join(dir, 'state'), service: { command: ['sh', '-c', 'exit 0'], cwd: join(dir, 'gone') } }));
    const noCwd = await runToEnd(['--config', file]);
    expect(noCwd.code).toBe(127);
    expect(spawnFailureLines(noCwd.stderr)).toEqual([expect.stringContaining(`service could not be started (ENOENT): the working directory ${join(dir, 'gone')} does not exist`)]);
    expect(noCwd.stderr).not.toContain('\\n');
  });

  it('ends with 126 when the command cannot be executed', async () => {
    const file = join(tempDir(), 'not-executable.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    expect((await runToEnd(['--', file])).code).toBe(126);
  });
});

describe('config errors', () => {
  function run(config: unknown): { code: number | null; stderr: string } {
    const file = join(tempDir(), 'outlast.json');
    writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
    const res = spawnSync(process.execPath, [BIN, 'run', '--config', file], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    return { code: res.status, stderr: res.stderr };
  }

  it('names an unknown key and its value', () => {
    const res = run({ service: { command: ['true'], stopTimeoutMS: 5 } });
    expect(res.code).toBe(78);
    expect(res.stderr).toContain('unknown key "service.stopTimeoutMS" (value 5)');
  });

  it('names a wrongly typed key and its value', () => {
    const res = run({ service: { command: ['true'], stopTimeoutMs: 'ten seconds' } });
    expect(res.code).toBe(78);
    expect(res.stderr).toContain('"service.stopTimeoutMs" must be a duration such as 500, "30s" or "5m" (got "ten seconds")');
  });

  it('says when the file is not JSON', () => {
    const res = run('{ "service": ');
    expect(res.code).toBe(78);
    expect(res.stderr).toMatch(/is not valid JSON/);
  });

  it('validates flags too', () => {
    const res = spawnSync(process.execPath, [BIN, 'run', '--api-port', 'eighty', '--', 'true'], { cwd: ROOT, encoding: 'utf8' });
    expect(res.status).toBe(78);
    expect(res.stderr).toMatch(/"api\.port" expected number, received string \(got "eighty"\)/);
  });

  it('asks for a command when there is neither config nor command', () => {
    const res = spawnSync(process.execPath, [BIN, 'run'], { cwd: ROOT, encoding: 'utf8' });
    expect(res.status).toBe(64);
    expect(res.stderr).toMatch(/nothing to run/);
  });
});

describe('EPIPE on our own stdout', () => {
  it('`outlast run -- sh -c yes | head -1` leaves the supervisor and child running and healthy', async () => {
    const stateDir = tempDir();
    const shell = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" run --state-dir "${stateDir}" --api-port 0 -- sh -c yes | head -1`], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OUTLAST_LOG_FORMAT: 'json' },
    });
    let out = '';
    shell.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const info = await waitFor(() => JSON.parse(readFileSync(join(stateDir, 'supervisor.json'), 'utf8')) as { pid: number; apiUrl: string }, 'supervisor.json');
    try {
      await waitFor(() => out === 'y\n', 'head printed one line');
      const token = readFileSync(join(stateDir, 'token'), 'utf8').trim();
      // Give the pipe time to break and a few thousand more writes to fail.
      const deadline = Date.now() + 1500;
      let child = 0;
      while (Date.now() < deadline) {
        const status = (await (await fetch(`${info.apiUrl}/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
          service: { state: string; pid: number; restarts: number };
        };
        expect(status.service.state).toBe('ready');
        expect(status.service.restarts).toBe(0);
        child = status.service.pid;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(alive(info.pid)).toBe(true);
      expect(alive(child)).toBe(true);
      expect((await fetch(`${info.apiUrl}/health`)).status).toBe(200);
    } finally {
      process.kill(info.pid, 'SIGTERM');
      await new Promise((r) => shell.once('exit', r));
    }
  });
});

describe('why on a state dir that is not there', () => {
  it('says the dir does not exist and exits non-zero', () => {
    const missing = join(tempDir('outlast-why-'), 'no-such-state');
    const res = spawnSync(process.execPath, [BIN, 'why', '--state-dir', missing], { encoding: 'utf8', timeout: 20_000 });
    expect(res.status).toBe(66);
    expect(res.stderr).toContain(`state dir ${missing} does not exist`);
    // Asking must not create it.
    expect(existsSync(missing)).toBe(false);
  });
});
