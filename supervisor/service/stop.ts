/**
 * The graceful stop of one child and its process group: the stop signal to
 * the group, the drain budget, then SIGKILL to the group. Every phase is
 * reported with its elapsed time so a slow drain is visible in the logs.
 */
import type { ChildExit, Host } from '../host/host.ts';

/** How a stop went. */
export interface StopOutcome {
  exit: ChildExit;
  /** True when the drain budget ran out and the group got SIGKILL. */
  forced: boolean;
  /** From the stop signal to the child being gone. */
  elapsedMs: number;
}

/** Called for each phase of the stop with the ms since the stop began. */
export type StopPhaseReporter = (phase: 'signal-sent' | 'child-exited' | 'group-leftovers' | 'force-killed', elapsedMs: number) => void;

/** What {@link stopGroup} needs to know about the child. */
export interface StopTarget {
  pid: number;
  exited: Promise<ChildExit>;
}

const GROUP_POLL_MS = 25;

async function raceTimeout<T>(host: Host, promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  const abort = new AbortController();
  try {
    return await Promise.race([
      promise,
      host.clock.sleep(ms, abort.signal).then(() => 'timeout' as const),
    ]);
  } finally {
    abort.abort();
  }
}

/** Waits until nothing is left in process group `pgid`, or the deadline passes. */
async function groupGone(host: Host, pgid: number, deadline: number): Promise<boolean> {
  while (host.killGroup(pgid, 0)) {
    if (host.clock.monotonic() >= deadline) return false;
    await host.clock.sleep(GROUP_POLL_MS);
  }
  return true;
}

/**
 * Stops `target` (a process-group leader) within `timeoutMs`. Grandchildren
 * in the group get the same budget as the child: a service that exits at once
 * but leaves a worker behind still has that worker SIGKILLed at the deadline.
 */
export async function stopGroup(
  host: Host,
  target: StopTarget,
  signal: NodeJS.Signals,
  timeoutMs: number,
  report: StopPhaseReporter,
): Promise<StopOutcome> {
  const started = host.clock.monotonic();
  const elapsed = (): number => Math.round(host.clock.monotonic() - started);
  const deadline = started + timeoutMs;
  // The group may already be empty if the child died just now; signalling the
  // pid directly covers a child that left its group with setpgid.
  if (!host.killGroup(target.pid, signal)) host.kill(target.pid, signal);
  report('signal-sent', elapsed());
  const first = await raceTimeout(host, target.exited, timeoutMs);
  if (first !== 'timeout') {
    report('child-exited', elapsed());
    if (!(await groupGone(host, target.pid, deadline))) {
      host.killGroup(target.pid, 'SIGKILL');
      report('group-leftovers', elapsed());
    }
    return { exit: first, forced: false, elapsedMs: elapsed() };
  }
  host.killGroup(target.pid, 'SIGKILL');
  host.kill(target.pid, 'SIGKILL');
  const exit = await target.exited;
  report('force-killed', elapsed());
  return { exit, forced: true, elapsedMs: elapsed() };
}

/** SIGKILLs whatever is left in a dead child's group; true when something was there. */
export function reapGroup(host: Host, pgid: number): boolean {
  return host.killGroup(pgid, 'SIGKILL');
}

/**
 * Stops processes that are not our children (orphans of a supervisor that was
 * SIGKILLed): the stop signal to each (to its whole group when it leads one),
 * the budget, then SIGKILL. Returns how many had to be force-killed.
 */
export async function stopForeign(host: Host, targets: ReadonlyArray<{ pid: number; leader: boolean }>, signal: NodeJS.Signals, timeoutMs: number): Promise<number> {
  const send = (t: { pid: number; leader: boolean }, sig: NodeJS.Signals | 0): boolean => (t.leader ? host.killGroup(t.pid, sig) : host.kill(t.pid, sig));
  for (const target of targets) send(target, signal);
  const deadline = host.clock.monotonic() + timeoutMs;
  let alive = targets.filter((t) => send(t, 0));
  while (alive.length > 0 && host.clock.monotonic() < deadline) {
    await host.clock.sleep(GROUP_POLL_MS);
    alive = alive.filter((t) => send(t, 0));
  }
  for (const target of alive) send(target, 'SIGKILL');
  return alive.length;
}
