/**
 * The child a previous image of this very process left running: after a
 * self-update's execve (same pid), the new image takes it over instead of
 * starting one, with its output FIFOs (child-stdio.ts), and the Service
 * supervises it as any other Attempt.
 *
 * It is still our child in the kernel's eyes, but not libuv's: Node cannot
 * wait for it, so when it exits it stays a zombie until this process ends
 * (or execs and adopts nothing). Its end is seen here by the EOF of its
 * stdout FIFO (every writer gone) and by polling /proc/<pid>/stat for state
 * Z; the exit status is the zombie's field 52 (`exit_code`). kill(pid, 0)
 * proves nothing: it succeeds on a zombie, and so does a signal to a group
 * whose only member is the zombie leader, which is why group operations on
 * an adopted child go through {@link zombieAware}.
 */
import { constants } from 'node:os';
import type { ChildExit, Host } from '../host/host.ts';
import { parseProcStat, type ChildRecord } from '../state/child-record.ts';
import type { Attempt } from './attempt.ts';
import { reopenChildFifos, type OpenFifos } from './child-stdio.ts';
import { forwardLines } from './output.ts';
import type { ServiceDeps } from './types.ts';

/** How often an adopted child's /proc entry is read, besides the FIFO's EOF. */
const POLL_MS = 500;

/** What /proc says of `pid`: `dead` (gone, a zombie, or another process with that pid), with its exit when a zombie tells it. */
function leaderOf(stat: string | undefined, startTime: string): { dead: false } | { dead: true; exit: ChildExit } {
  if (stat === undefined) return { dead: true, exit: { kind: 'exited', code: 0 } };
  const { state, startTime: now } = parseProcStat(stat);
  if (now !== startTime) return { dead: true, exit: { kind: 'exited', code: 0 } };
  if (state !== 'Z' && state !== 'X') return { dead: false };
  return { dead: true, exit: decodeStatus(Number(stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ')[49])) };
}

/** A wait(2) status as a ChildExit. */
export function decodeStatus(status: number): ChildExit {
  if (!Number.isInteger(status)) return { kind: 'exited', code: 0 };
  const signal = status & 0x7f;
  if (signal === 0) return { kind: 'exited', code: (status >> 8) & 0xff };
  const name = Object.entries(constants.signals).find(([, n]) => n === signal)?.[0] as NodeJS.Signals | undefined;
  return name === undefined ? { kind: 'exited', code: 128 + signal } : { kind: 'signaled', signal: name };
}

/**
 * The Host as group operations on an adopted child must see it: once its
 * leader is dead, its group counts as empty (a zombie would keep it
 * "alive" forever); what else was left in it is SIGKILLed at that moment.
 */
function zombieAware(host: Host, pid: number, startTime: string): Host {
  const killGroup = (pgid: number, signal: NodeJS.Signals | 0): boolean => {
    if (pgid !== pid || !leaderOf(host.fs.readSync(`/proc/${pid}/stat`), startTime).dead) return host.killGroup(pgid, signal);
    host.killGroup(pgid, 'SIGKILL');
    return false;
  };
  return { ...host, killGroup };
}

/**
 * The child this process's previous image left, when child.json names one
 * (recorded under our own pid: same process, earlier image) that is alive
 * with the recorded start time and has its FIFOs; undefined otherwise.
 */
export async function findAdoptable(host: Host, stateDir: string, fifoDir: string): Promise<Attempt | undefined> {
  let record: ChildRecord;
  try {
    record = JSON.parse(await host.fs.readFile(`${stateDir}/child.json`)) as ChildRecord;
  } catch {
    return undefined;
  }
  if (record.supervisorPid !== host.pid || typeof record.pid !== 'number' || record.startTime === null) return undefined;
  const { startTime } = record;
  if (leaderOf(host.fs.readSync(`/proc/${record.pid}/stat`), startTime).dead) return undefined;
  const fifos = await reopenChildFifos(host, fifoDir, record.pid);
  if (fifos === undefined) return undefined;
  return adoptedAttempt(host, record.pid, startTime, fifos);
}

function adoptedAttempt(host: Host, pid: number, startTime: string, fifos: OpenFifos): Attempt {
  // Only a real EOF (every writer gone) counts: a stream we destroy ourselves (letGo) closes without one.
  const eof = new Promise<'eof'>((resolve) => fifos.out.once('end', () => resolve('eof')));
  let ended = false;
  const exited = (async (): Promise<ChildExit> => {
    for (;;) {
      const leader = leaderOf(host.fs.readSync(`/proc/${pid}/stat`), startTime);
      if (leader.dead) return leader.exit;
      // After the EOF the leader is gone or about to be: look again soon. Every
      // turn waits on a timer, so this loop can never spin on microtasks alone.
      const poll = new AbortController();
      const slept = host.clock.sleep(ended ? 20 : POLL_MS, poll.signal, { ref: false }).then(() => 'slept' as const, () => 'slept' as const);
      if ((await Promise.race(ended ? [slept] : [eof, slept])) === 'eof') ended = true;
      poll.abort();
    }
  })();
  return { pid, exited, spawnedAt: host.clock.monotonic(), abort: new AbortController(), stopping: false, output: Promise.resolve(), fifos, adopted: { host: zombieAware(host, pid, startTime) } };
}

/** Once the Service owns an adopted attempt: forwards its output and hands its exit to `onExit`. */
export function takeOver(deps: Pick<ServiceDeps, 'stdout' | 'stderr' | 'logger' | 'listeners'>, attempt: Attempt, onExit: (exit: ChildExit) => void): void {
  const { fifos } = attempt;
  if (fifos !== undefined) attempt.output = Promise.all([forwardLines(fifos.out, deps.stdout), forwardLines(fifos.err, deps.stderr)]).then(() => fifos.remove().catch(() => undefined));
  deps.logger.info({ childPid: attempt.pid }, 'adopted the running child: the service did not stop');
  void attempt.exited.then(async (exit) => {
    // It held the only listening copies of the sockets: ours listen before the policy starts another child.
    await deps.listeners?.activate().catch((err: unknown) => deps.logger.error({ err }, 'cannot make the owned sockets listen'));
    onExit(exit);
  });
}

/**
 * Lets go of `attempt` without stopping it, before an execve: its watchers
 * stand down, and its FIFOs stay (named after its pid) for the next image.
 * False, with nothing done, when its output is a pipe, which the execve
 * would break.
 */
export async function letGo(attempt: Attempt): Promise<boolean> {
  const { fifos } = attempt;
  if (fifos === undefined) return false;
  attempt.stopping = true;
  attempt.abort.abort();
  fifos.keep();
  await fifos.placed;
  // Stop reading: what the child writes from now on waits in the FIFO for the next image.
  fifos.out.destroy();
  fifos.err.destroy();
  return true;
}
