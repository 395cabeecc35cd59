/**
 * Exit codes as tini and the shell define them: the child's own code, 128+N
 * for a child killed by signal N, 127 when the command is not found and 126
 * when it cannot be executed.
 */
import { constants } from 'node:os';
import type { ChildExit } from '../host/host.ts';
import type { ServiceStatus } from './types.ts';
import { isoTime } from '../iso-time.ts';

/** The number of a signal name, e.g. SIGTERM → 15. */
export function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal];
}

/** The shell-convention exit code for how a child ended. */
export function exitCodeFor(exit: ChildExit): number {
  switch (exit.kind) {
    case 'exited':
      return exit.code;
    case 'signaled':
      return 128 + signalNumber(exit.signal);
    case 'spawn-failed':
      return exit.errno === 'ENOENT' ? 127 : 126;
  }
}

/** A short human description, e.g. "exited with code 3" or "killed by SIGKILL". */
export function describeExit(exit: ChildExit): string {
  switch (exit.kind) {
    case 'exited':
      return `exited with code ${exit.code}`;
    case 'signaled':
      return `killed by ${exit.signal}`;
    case 'spawn-failed':
      return `could not be started (${exit.errno}): ${exit.message}`;
  }
}

/** The `lastExit` of the status for how a child ended, at wall-clock `now` (ms). */
export function lastExitOf(exit: ChildExit, now: number): NonNullable<ServiceStatus['lastExit']> {
  return { description: describeExit(exit), code: exitCodeFor(exit), signal: exit.kind === 'signaled' ? exit.signal : null, at: isoTime(now) };
}
