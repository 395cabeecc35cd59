/**
 * Runs the real `outlast` CLI as a child process for integration tests, and
 * cleans up after it: every process and temp dir a test starts is gone when
 * the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { alive, waitFor } from './wait.ts';

/** The repo root. */
export const ROOT = resolve(import.meta.dirname, '../..');
/** The CLI entry. */
export const BIN = join(ROOT, 'bin/outlast.js');
/** The configurable test service. */
export const SVC = join(ROOT, 'test/fixtures/services/svc.mjs');

/** A running `outlast` process. */
export interface RunningCli {
  proc: ChildProcess;
  stateDir: string;
  stdout(): string;
  stderr(): string;
  /** Parsed JSON log lines from stderr. */
  logs(): Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const cleanups: Array<() => void | Promise<void>> = [];

/** Kills whatever the tests started and removes temp dirs. Call from afterEach. */
export async function cleanup(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()?.();
}

/** Runs `fn` at cleanup: cleanups run last-registered first, so a mount made in a temp dir is undone before the dir goes. */
export function onCleanup(fn: () => void | Promise<void>): void {
  cleanups.push(fn);
}

/** A temp dir removed at cleanup. */
export function tempDir(prefix = 'outlast-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Kills a pid at cleanup if it is still alive (a grandchild a test learned of). */
export function killLater(pid: number): void {
  cleanups.push(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
}

/** Starts `outlast <args>` with a temp state dir unless one is given. */
export function startCli(args: string[], options: { env?: Record<string, string>; stateDir?: string; stdio?: 'pipe' | 'shell-pipe'; entry?: string } = {}): RunningCli {
  const stateDir = options.stateDir ?? tempDir();
  const withState = args[0] === 'run' && !args.includes('--state-dir') ? ['run', '--state-dir', stateDir, ...args.slice(1)] : args;
  const proc = spawn(process.execPath, [options.entry ?? BIN, ...withState], {
    cwd: ROOT,
    env: { ...process.env, OUTLAST_LOG_FORMAT: 'json', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  cleanups.push(async () => {
    await stopSupervisor(proc, exited, stateDir);
    // Every stop signal starts the detached shutdown diagnostic, which writes
    // into the state dir: removing the dir before it ends lets it make a fresh
    // logs/ there. It is bounded (3 s); the leftover check reports it if not.
    await waitFor(() => diagnosticsOf(stateDir).length === 0, 'the shutdown diagnostic to end', 5000).catch(() => undefined);
  });
  return {
    proc,
    stateDir,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
  };
}

/** A failed test must not leak processes: ask nicely, then kill the supervisor and the service group it recorded in child.json. */
async function stopSupervisor(proc: ChildProcess, exited: Promise<unknown>, stateDir: string): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 5000))]);
  if (done) return;
  const child = readChildPid(stateDir);
  proc.kill('SIGKILL');
  if (child !== undefined) {
    try {
      process.kill(-child, 'SIGKILL');
    } catch {
      // group already gone
    }
  }
}

/** Pids of shutdown-diag.sh processes writing into `stateDir`. */
function diagnosticsOf(stateDir: string): number[] {
  const log = join(stateDir, 'logs', 'shutdown-diag.log');
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(log);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function readChildPid(stateDir: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(stateDir, 'child.json'), 'utf8')) as { pid?: number }).pid;
  } catch {
    return undefined;
  }
}

/** What supervisor.json says, once it exists. */
export async function supervisorInfo(cli: RunningCli): Promise<{ pid: number; apiUrl: string }> {
  return waitFor(() => {
    const info = JSON.parse(readFileSync(join(cli.stateDir, 'supervisor.json'), 'utf8')) as { pid: number; apiUrl: string };
    return info.pid === cli.proc.pid ? info : undefined;
  }, 'supervisor.json', 15_000);
}

/** The API token of a state dir. */
export function token(stateDir: string): string {
  return readFileSync(join(stateDir, 'token'), 'utf8').trim();
}

/** Calls the API with the token. */
export async function api(cli: RunningCli, method: string, path: string, init: { body?: string; headers?: Record<string, string>; auth?: boolean } = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const { apiUrl } = await supervisorInfo(cli);
  const headers: Record<string, string> = { ...init.headers };
  if (init.auth !== false) headers.authorization = `Bearer ${token(cli.stateDir)}`;
  const res = await fetch(`${apiUrl}${path}`, { method, headers, body: init.body ?? null });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** The service part of GET /status. */
export async function serviceStatus(cli: RunningCli): Promise<{ state: string; pid: number | null; restarts: number; reason: string | null }> {
  const { json } = await api(cli, 'GET', '/status');
  return json.service as { state: string; pid: number | null; restarts: number; reason: string | null };
}

/** The arguments to run the test service under node. */
export function svcCommand(): string[] {
  return ['--', process.execPath, SVC];
}
