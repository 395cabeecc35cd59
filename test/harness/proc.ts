/**
 * Small /proc readers shared by the kill-window harnesses, and the shapes
 * every harness uses for "the command to run" and "how a process ended".
 *
 * A pid alone is a weak identity in these tests: a killed process's pid can
 * be handed to a new one. Where it matters, a process is named by its pid and
 * its start time (field 22 of /proc/<pid>/stat), which no recycled pid shares.
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';

/** The command a harness launches as "the main process". `env` is merged over this process's env. */
export interface Command {
  argv: readonly string[];
  env?: Record<string, string>;
  cwd?: string;
}

/** How a process ended, as its parent saw it; `at` is `Date.now()` when the harness learned of it. */
export interface ExitRecord {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** Whether a harness can run here; when not, `reason` says why, for a printed skip. */
export type Availability = { ok: true } | { ok: false; reason: string };

/** A process named by pid and start time, so a recycled pid is never mistaken for it. */
export interface ProcessRef {
  pid: number;
  startTime: number;
}

/** Fields of /proc/<pid>/stat after the command name (which may itself hold spaces and parens). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The process's state letter (R, S, Z, …), or undefined when the pid is gone. */
export function processState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/** The process's parent pid, or undefined when the pid is gone. */
export function parentPid(pid: number): number | undefined {
  const field = statFields(pid)?.[1];
  return field === undefined ? undefined : Number(field);
}

/** The process's session id, or undefined when the pid is gone. */
export function sessionId(pid: number): number | undefined {
  const field = statFields(pid)?.[3];
  return field === undefined ? undefined : Number(field);
}

/** The pid's identity right now, or undefined when it is gone. */
export function processRef(pid: number): ProcessRef | undefined {
  // stat field 22 (starttime) is index 19 once pid and comm are cut off.
  const field = statFields(pid)?.[19];
  return field === undefined ? undefined : { pid, startTime: Number(field) };
}

/**
 * Whether this very process still runs. A zombie counts as dead: it has been
 * killed (or exited) and only waits for its parent to reap it.
 */
export function isRunning(ref: ProcessRef): boolean {
  const fields = statFields(ref.pid);
  return fields !== undefined && fields[0] !== 'Z' && Number(fields[19]) === ref.startTime;
}

/** The command line of a pid, space-joined, or '' when it is gone. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** The direct children of a pid, over all its threads. */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text !== '') children.push(...text.split(' ').map(Number));
    }
  } catch {
    // the pid (or one of its threads) is gone: report what was read
  }
  return children;
}

/** Every pid on the host, as /proc lists them now. */
export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** Whether an executable `tool` is on PATH. */
export function hasTool(tool: string): boolean {
  return (process.env.PATH ?? '')
    .split(':')
    .filter(Boolean)
    .some((dir) => {
      try {
        accessSync(`${dir}/${tool}`, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}
