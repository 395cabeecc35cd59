/**
 * A full or read-only disk under the state dir, for real: the state dir is a
 * small tmpfs. Every fault answers with its own code (507 NO_SPACE, 503
 * READ_ONLY), leaves no staging dir, no lock and no temp file behind, and
 * once the fault is gone the next apply goes through at once.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFeed } from '../support/feed.ts';
import { cleanup, onCleanup, tempDir } from '../support/supervisor.ts';
import { apply, finalState, serviceVersion, startUpdating, store } from '../support/update-supervisor.ts';
import { waitFor } from '../support/wait.ts';

afterEach(cleanup);

/** Whether this process may mount a tmpfs (root, with CAP_SYS_ADMIN); the reason when not. */
function mountProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs for the state dir needs root';
  const probe = tempDir('outlast-mount-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs here: ${(err as Error).message.split('\n')[0]}`;
  }
}

const problem = mountProblem();
if (problem !== undefined) console.log(`skipping the disk-fault tests: ${problem}`);

/** An 8 MiB tmpfs, unmounted at cleanup before its temp dir is removed. */
function smallDisk(): string {
  const dir = join(tempDir('outlast-disk-'), 'state');
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', dir]);
  onCleanup(() => void execFileSync('umount', ['-l', dir]));
  return dir;
}

/** Nothing an apply leaves behind when it fails: no staging, no lock, no holder, no temp file. */
function leftovers(stateDir: string): string[] {
  const top = readdirSync(stateDir).filter((n) => n === 'update.lock' || n === 'update-holder.json' || n.endsWith('.tmp'));
  const staging = readdirSync(join(stateDir, 'releases')).filter((n) => n.startsWith('.staging'));
  return [...top, ...staging];
}

async function setup(): Promise<{ stateDir: string; cli: Awaited<ReturnType<typeof startUpdating>>['cli']; port: number }> {
  const feed = await makeFeed([
    { version: '1.0.0' },
    // 12 MiB of incompressible bytes: the download fits the feed's disk, the unpacked release does not fit 8 MiB.
    { version: '1.1.0', files: { 'blob.txt': randomBytes(9 * 1024 * 1024).toString('base64') } },
    { version: '1.2.0' },
  ]);
  const stateDir = smallDisk();
  const { cli, port } = await startUpdating({ type: 'dir', path: feed }, { stateDir });
  return { stateDir, cli, port };
}

describe.skipIf(problem !== undefined)('a full or read-only state dir', () => {
  it('answers 507 NO_SPACE when the release does not fit, and leaves the lock free', async () => {
    const { stateDir, cli, port } = await setup();
    const before = store(stateDir);
    const res = await apply(cli, { version: '1.1.0' });
    expect(res.status, JSON.stringify(res.json)).toBe(507);
    expect(res.json).toMatchObject({ error: { code: 'NO_SPACE' } });
    expect(JSON.stringify(res.json)).not.toContain(stateDir);
    expect(leftovers(stateDir)).toEqual([]);
    expect(store(stateDir)).toEqual(before);
    expect(await serviceVersion(port)).toBe('1.0.0');
    // Not 409: nothing holds the lock.
    const next = await apply(cli, { version: '1.2.0' });
    expect(next.status, JSON.stringify(next.json)).toBe(202);
    expect(await finalState(cli, next.json.id as string)).toMatchObject({ state: 'committed' });
  });

  it('answers 507 when not even the lock holder can be written, then takes the next apply once space is back', async () => {
    const { stateDir, cli } = await setup();
    // Fill the disk to the last byte.
    const free = statfsSync(stateDir).bavail * statfsSync(stateDir).bsize;
    writeFileSync(join(stateDir, 'filler'), Buffer.alloc(Math.max(0, free)));
    try {
      writeFileSync(join(stateDir, 'filler2'), Buffer.alloc(64 * 1024));
    } catch {
      // Full: as intended.
    }
    const res = await apply(cli, { version: '1.2.0' });
    expect(res.status, JSON.stringify(res.json)).toBe(507);
    expect(res.json).toMatchObject({ error: { code: 'NO_SPACE' } });
    execFileSync('rm', ['-f', join(stateDir, 'filler'), join(stateDir, 'filler2')]);
    expect(leftovers(stateDir)).toEqual([]);
    const next = await apply(cli, { version: '1.2.0' });
    expect(next.status, JSON.stringify(next.json)).toBe(202);
    expect(await finalState(cli, next.json.id as string)).toMatchObject({ state: 'committed' });
  });

  it('answers 503 READ_ONLY on a read-only state dir, and applies once it is writable again', async () => {
    const { stateDir, cli } = await setup();
    // A remount fails with EBUSY while a file is open for writing there (the
    // supervisor's log file is appended to in batches): try again briefly.
    await waitFor(() => {
      try {
        execFileSync('mount', ['-o', 'remount,ro', stateDir], { stdio: 'pipe' });
        return true;
      } catch {
        return false;
      }
    }, 'the state dir remounted read-only', 10_000, 50);
    const res = await apply(cli, { version: '1.2.0' });
    execFileSync('mount', ['-o', 'remount,rw', stateDir]);
    expect(res.status, JSON.stringify(res.json)).toBe(503);
    expect(res.json).toMatchObject({ error: { code: 'READ_ONLY' } });
    expect(leftovers(stateDir)).toEqual([]);
    const next = await apply(cli, { version: '1.2.0' });
    expect(next.status, JSON.stringify(next.json)).toBe(202);
    expect(await finalState(cli, next.json.id as string)).toMatchObject({ state: 'committed' });
  });
});
