// The execa runner against stand-in programs: real processes, real signals.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execaSystemctl } from '../../platform/index.ts';

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

describe('execaSystemctl', () => {
  it('returns the exit code and output', async () => {
    const file = await script('systemctl', 'echo "args: $*"; echo "LC_ALL=$LC_ALL"; echo oops >&2; exit 3');
    const outcome = await execaSystemctl(file)(['--user', 'show', 'x.service'], 5000);
    expect(outcome).toEqual({ kind: 'exited', exitCode: 3, stdout: 'args: --user show x.service\nLC_ALL=C', stderr: 'oops' });
  });

  it('kills a systemctl that ignores SIGTERM, within the hard timeout', async () => {
    // `exec` keeps one process, which inherits the ignored SIGTERM: only SIGKILL ends it.
    const file = await script('systemctl', "trap '' TERM\nexec sleep 30");
    const started = performance.now();
    const outcome = await execaSystemctl(file)(['show', 'x.service'], 200);
    expect(outcome).toEqual({ kind: 'timed-out' });
    // 200 ms timeout + 500 ms until SIGKILL, with room for a slow machine.
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('reports a missing systemctl as ENOENT', async () => {
    const outcome = await execaSystemctl(join(dir, 'no-such-systemctl'))(['show', 'x.service'], 5000);
    expect(outcome).toMatchObject({ kind: 'failed', errno: 'ENOENT' });
  });
});
