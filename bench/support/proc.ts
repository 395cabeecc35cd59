/** Processes for the bench: one-shot commands, children we stop, and what /proc says about a pid. */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { alive, waitFor } from '../../test/support/wait.ts';

/** A command line with its environment (the start-up scenario times these). */
export interface Command {
  /** How a person would type it, for the results (e.g. "pm2 status"). */
  label?: string;
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** How a one-shot command ended. */
export interface Ran {
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; rejects with its output when it fails or outlives `timeoutMs`. */
export function run(command: Command, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(command.file, command.args, { env: command.env ?? process.env, cwd: command.cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) resolve({ stdout, stderr });
      else reject(new Error(`${[command.file, ...command.args].join(' ')} failed: ${err.message}\n${stdout}${stderr}`.trim()));
    });
  });
}

/** Resolves when `child` has exited (at once when it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** `waiting`, cut short with an error naming `what` when `child` exits first (a daemon that died at start). */
export async function whileRunning<T>(child: ChildProcess, what: string, waiting: Promise<T>, log: () => string = () => ''): Promise<T> {
  let onExit: (() => void) | undefined;
  const died = new Promise<never>((_, reject) => {
    onExit = () => reject(new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was up\n${log()}`.trim()));
    if (child.exitCode !== null || child.signalCode !== null) onExit();
    else child.once('exit', onExit);
  });
  try {
    return await Promise.race([waiting, died]);
  } finally {
    child.off('exit', onExit!);
    died.catch(() => undefined);
  }
}

/**
 * Stops a child we started: `signal`, then SIGKILL when it is still there
 * after `graceMs`. Resolves once it has exited.
 */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill(signal);
  const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs).unref());
  if ((await Promise.race([gone.then(() => 'gone' as const), timer])) === 'late') {
    child.kill('SIGKILL');
    await gone;
  }
}

/** Whether `pid` runs in `dir` or below it (how a leftover is recognised as ours). */
export function runsUnder(dir: string): (pid: number) => boolean {
  let root = dir;
  try {
    root = realpathSync(dir);
  } catch {
    // Gone already: compare with the path as given.
  }
  return (pid) => {
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      return cwd === root || cwd.startsWith(`${root}/`);
    } catch {
      return false;
    }
  };
}

/** Whether `pid` has `name`=`value` in its environment. */
export function hasEnv(name: string, value: string): (pid: number) => boolean {
  return (pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${name}=${value}`);
    } catch {
      return false;
    }
  };
}

/**
 * SIGKILLs a process that a peer we started left behind (a service whose
 * supervisor failed to stop it). `ours` must recognise it (its cwd, its
 * env): by the time we look, the pid may have been reused by a process we
 * did not start, and that one is never signalled.
 */
export async function killLeftover(pid: number | undefined, ours: (pid: number) => boolean): Promise<void> {
  if (pid === undefined || !alive(pid) || !ours(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return; // gone in between
  }
  await waitFor(() => !alive(pid), `pid ${pid} to go`, 5000, 10).catch(() => undefined);
}

/** Clock ticks per second of /proc/<pid>/stat's times. */
export const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** user + system CPU time of `pid` so far, in ms (utime + stime of /proc/<pid>/stat). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Resident set size of `pid` in kB (VmRSS). */
export function rssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0);
}
