/**
 * Runs test/fixtures/shutdown/server.ts as a real child process, for tests of
 * how services stop. Every child started here is SIGKILLed at cleanup if it
 * is still alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './supervisor.ts';
import { waitFor } from './wait.ts';

/** The fixture service. */
export const SHUTDOWN_SERVICE = join(ROOT, 'test/fixtures/shutdown/server.ts');

/** A running fixture service. */
export interface ShutdownService {
  proc: ChildProcess;
  port: number;
  output(): string;
  /** Settles when the process is gone, with the performance.now() of the exit event. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Sends SIGTERM and returns the performance.now() just before it was sent. */
  term(): number;
}

const started: ChildProcess[] = [];

/** SIGKILLs every fixture service still alive. Call from afterEach. */
export function killServices(): void {
  for (const proc of started.splice(0)) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}

/** Starts the fixture with `env` and waits until it listens. */
export async function startService(env: Record<string, string>): Promise<ShutdownService> {
  const proc = spawn(process.execPath, [SHUTDOWN_SERVICE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  const port = await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`the service exited early:\n${out}`);
    const match = /listening (\d+)/.exec(out);
    return match === null ? undefined : Number(match[1]);
  }, 'the service to listen', 15_000, 5);
  return {
    proc,
    port,
    output: () => out,
    exited,
    term() {
      const at = performance.now();
      proc.kill('SIGTERM');
      return at;
    },
  };
}
