// The Host runner against stand-in programs: real processes, real signals.
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostRunner } from '../../platform/index.ts';
import { createNodeHost } from '../../supervisor/host/node-host.ts';

const host = createNodeHost((code) => {
  throw new Error(`exit(${code}) in a test`);
});
const runner = (file: string) => hostRunner(host, file);

let dir: string;

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outlast-systemctl-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hostRunner', () => {
  it('returns the exit code and output', async () => {
    const file = await script('systemctl', 'echo "args: $*"; echo "LC_ALL=$LC_ALL"; echo oops >&2; exit 3');
    const outcome = await runner(file)(['--user', 'show', 'x.service'], 5000);
    expect(outcome).toEqual({ kind: 'exited', exitCode: 3, stdout: 'args: --user show x.service\nLC_ALL=C', stderr: 'oops' });
  });

  it('kills a systemctl that ignores SIGTERM, within the hard timeout', async () => {
    // `exec` keeps one process, which inherits the ignored SIGTERM: only SIGKILL ends it.
    const file = await script('systemctl', "trap '' TERM\nexec sleep 30");
    const started = performance.now();
    const outcome = await runner(file)(['show', 'x.service'], 200);
    expect(outcome).toEqual({ kind: 'timed-out' });
    // SIGKILL at the deadline: no grace for SIGTERM, with room for a slow machine.
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('reports a missing systemctl as ENOENT', async () => {
    const outcome = await runner(join(dir, 'no-such-systemctl'))(['show', 'x.service'], 5000);
    expect(outcome).toMatchObject({ kind: 'failed', errno: 'ENOENT' });
  });

  it("kills a wrapper script's children with it, and keeps what was printed before the deadline", async () => {
    // Not `exec`: sh waits on a sleeping child that holds our stdout pipe.
    const file = await script('journalctl', `echo "line one"; sleep 30 & echo "$$ $!" > ${dir}/pids; wait`);
    const started = performance.now();
    const outcome = await runner(file)([], 300);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(outcome).toEqual({ kind: 'timed-out', stdout: 'line one\n' });
    for (const pid of readFileSync(join(dir, 'pids'), 'utf8').trim().split(' ').map(Number)) expect(gone(pid)).toBe(true);
  });

  it('answers at the deadline even when an escaped process keeps the pipe open', async () => {
    // setsid leaves our process group, so the group kill misses it; its pipe must not hold us.
    const file = await script('systemctl', `setsid sleep 30 & echo $! > ${dir}/escaped; sleep 30`);
    const started = performance.now();
    const outcome = await runner(file)([], 300);
    const ms = performance.now() - started;
    process.kill(Number(readFileSync(join(dir, 'escaped'), 'utf8')), 'SIGKILL');
    expect(ms).toBeLessThan(1000);
    expect(outcome.kind).toBe('timed-out');
  });
});

/** Gone, or a zombie no one has reaped yet: it no longer runs. */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') === true;
  } catch {
    return true;
  }
}
