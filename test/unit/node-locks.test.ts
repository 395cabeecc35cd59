// The Host's cross-process lock (supervisor/host/node-locks.ts) on real
// files and with real processes: one holder at a time, a stale lock taken
// over, the lock gone with a holder that exits and kept by one killed,
// and a holder told when its lock is removed or taken from it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeLocks } from '../../supervisor/host/node-locks.ts';
import { waitFor } from '../support/wait.ts';

const dirs: string[] = [];
const children: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function target(): string {
  const dir = mkdtempSync(join(tmpdir(), 'outlast-locks-'));
  dirs.push(dir);
  const path = join(dir, 'update');
  writeFileSync(path, '');
  return path;
}

async function refusal(promise: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  const err = await promise.then(() => undefined, (e: unknown) => e as NodeJS.ErrnoException);
  expect(err, 'the lock was taken').toBeDefined();
  return err!;
}

/** A node process that takes the lock on `path`, says "held", then exits at "exit" or waits to be killed. */
function holder(path: string): { ready: Promise<void>; exited: Promise<number | null>; send(line: string): void } {
  const url = new URL('../../supervisor/host/node-locks.ts', import.meta.url).href;
  const script = `const { nodeLocks } = await import(${JSON.stringify(url)});
await nodeLocks.acquire(${JSON.stringify(path)}, { staleMs: 60000, onCompromised: () => {} });
process.stdout.write('held\\n');
process.stdin.on('data', (d) => { if (String(d).includes('exit')) process.exit(0); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => String(d).includes('held') && resolve());
    child.once('exit', (code) => reject(new Error(`the holder exited with ${code} before it held the lock`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { ready, exited, send: (line) => child.stdin.write(`${line}\n`) };
}

const quiet = { staleMs: 60_000, onCompromised: (): void => undefined };

describe('nodeLocks', () => {
  it('lets one holder in at a time, in the lock dir proper-lockfile writes, until it releases', async () => {
    const path = target();
    const release = await nodeLocks.acquire(path, quiet);
    expect(statSync(`${path}.lock`).isDirectory()).toBe(true);
    const err = await refusal(nodeLocks.acquire(path, quiet));
    expect(err.code).toBe('ELOCKED');
    expect(err.message).toBe(`the lock on ${path} is held by another process`);
    await release();
    await release();
    expect(existsSync(`${path}.lock`)).toBe(false);
    await (await nodeLocks.acquire(path, quiet))();
  });

  it('refuses a fresh lock dir another writer made, and takes over one whose mtime is past the stale window', async () => {
    const path = target();
    mkdirSync(`${path}.lock`);
    expect((await refusal(nodeLocks.acquire(path, { ...quiet, staleMs: 5000 }))).code).toBe('ELOCKED');
    const old = new Date(Date.now() - 10_000);
    utimesSync(`${path}.lock`, old, old);
    const release = await nodeLocks.acquire(path, { ...quiet, staleMs: 5000 });
    expect(Date.now() - statSync(`${path}.lock`).mtimeMs).toBeLessThan(5000);
    await release();
  });

  it('keeps another process out while it holds the lock, and frees it when that process exits', async () => {
    const path = target();
    const other = holder(path);
    await other.ready;
    expect((await refusal(nodeLocks.acquire(path, quiet))).code).toBe('ELOCKED');
    other.send('exit');
    expect(await other.exited).toBe(0);
    expect(existsSync(`${path}.lock`)).toBe(false);
    await (await nodeLocks.acquire(path, quiet))();
  });

  it('leaves the lock of a holder killed with SIGKILL until it goes stale or is broken', async () => {
    const path = target();
    const other = holder(path);
    await other.ready;
    children[0]!.kill('SIGKILL');
    await other.exited;
    expect(existsSync(`${path}.lock`)).toBe(true);
    expect((await refusal(nodeLocks.acquire(path, quiet))).code).toBe('ELOCKED');
    await nodeLocks.breakLock(path);
    await (await nodeLocks.acquire(path, quiet))();
  });

  it('keeps a lock whose refresh came late with its own mtime (a phone that slept, a stalled event loop)', async () => {
    const path = target();
    const lost: Error[] = [];
    const release = await nodeLocks.acquire(path, { staleMs: 2000, onCompromised: (err) => lost.push(err) });
    // The event loop stands still for longer than the stale window: no refresh can run.
    const until = Date.now() + 3000;
    while (Date.now() < until);
    // The refresh that was due runs now, late, and finds the mtime its own.
    await waitFor(() => Date.now() - statSync(`${path}.lock`).mtimeMs < 1000, 'the late refresh', 5000);
    expect(lost).toEqual([]);
    await release();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('tells the holder, once, when its lock dir is removed or another process takes it', async () => {
    const path = target();
    const lost: NodeJS.ErrnoException[] = [];
    const release = await nodeLocks.acquire(path, { staleMs: 3000, onCompromised: (err) => lost.push(err) });
    rmSync(`${path}.lock`, { recursive: true });
    await waitFor(() => lost[0], 'the compromise', 5000);
    expect(lost[0]!.code).toBe('ECOMPROMISED');
    expect(lost[0]!.message).toBe(`the lock ${path}.lock was compromised: its directory was removed`);
    // Whoever holds it now keeps it: the release leaves the dir alone.
    mkdirSync(`${path}.lock`);
    await release();
    expect(existsSync(`${path}.lock`)).toBe(true);
    rmSync(`${path}.lock`, { recursive: true });

    const taken: Error[] = [];
    const again = await nodeLocks.acquire(path, { staleMs: 3000, onCompromised: (err) => taken.push(err) });
    const later = new Date(Date.now() + 60_000);
    utimesSync(`${path}.lock`, later, later);
    await waitFor(() => taken[0], 'the take-over', 5000);
    expect(taken[0]!.message).toMatch(/compromised: another process took it over$/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(taken).toHaveLength(1);
    await again();
  });
});
