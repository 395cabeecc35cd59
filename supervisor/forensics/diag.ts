/**
 * The detached shutdown diagnostic: scripts/shutdown-diag.sh, started on the
 * first stop signal in a session of its own with no stdio. It appends the
 * process tree, /proc/loadavg and the last dmesg and journal lines to
 * `<stateDir>/logs/shutdown-diag.log`.
 *
 * Fire and forget: nothing here waits for it, so a `ps` stuck on a wedged
 * /proc can never eat the drain budget. Being its own session, it survives
 * the supervisor's exit and a SIGKILL of our process group; it is bounded by
 * its own total timeout, after which it kills everything in its session.
 */
import { join } from 'node:path';
import type { Host } from '../host/host.ts';

/** The diagnostic's total budget. */
export const DIAG_TIMEOUT_MS = 3000;

/** Where the diagnostic writes. */
export function diagLogPath(stateDir: string): string {
  return join(stateDir, 'logs', 'shutdown-diag.log');
}

/** What {@link startShutdownDiag} needs. */
export interface DiagOptions {
  stateDir: string;
  signal: NodeJS.Signals;
  /** outlast's scripts/ directory. */
  scriptsDir: string;
  timeoutMs?: number;
}

/** Starts the diagnostic and returns its pid, or undefined when it could not start. Never throws, never waits. */
export function startShutdownDiag(host: Host, options: DiagOptions): number | undefined {
  const seconds = Math.max(1, Math.ceil((options.timeoutMs ?? DIAG_TIMEOUT_MS) / 1000));
  const args = [
    join(options.scriptsDir, 'shutdown-diag.sh'),
    '--log', diagLogPath(options.stateDir),
    '--timeout', String(seconds),
    '--signal', options.signal,
    '--pid', String(host.pid),
  ];
  try {
    // `sh` from PATH: on Termux there is no /bin/sh. cwd / so it pins no directory.
    const child = host.spawn('sh', args, { cwd: '/', env: { PATH: host.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' }, detached: true, stdio: 'ignore' });
    return child.pid;
  } catch {
    return undefined;
  }
}
