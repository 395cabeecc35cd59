/**
 * "systemd emulation on cgroup v2": what a `KillMode=control-group` service
 * does to the processes of a main PID that exits, enforced for real.
 *
 *   - The command runs as the unit's main PID in a fresh cgroup, inside it
 *     from its first instruction (see main-process.ts).
 *   - When the main PID exits, the harness writes 1 to cgroup.kill: every
 *     process left in the group is SIGKILLed, `setsid` or not, because a new
 *     session does not leave the cgroup. This is field failure 2.
 *   - `restartOn` emulates `Restart=on-failure` + `RestartForceExitStatus=`:
 *     when the main exits with one of those codes, the harness waits for the
 *     group to empty, pauses `restartDelayMs` (RestartSec) and starts the
 *     command again as the new main PID, in the same group.
 *
 * Simplifications, all harsher than systemd or equal to it: the group is
 * SIGKILLed at once (systemd sends SIGTERM first and SIGKILL after
 * TimeoutStopSec), and `stop()` also kills at once.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { createCgroup, type Cgroup } from './cgroup.ts';
import { launchInCgroup, type MainProcess } from './main-process.ts';
import type { Command, ExitRecord } from './proc.ts';
import { onTeardown } from './teardown.ts';

/** The unit: the command plus its restart policy. */
export interface SystemdEmulationOptions extends Command {
  /** Exit codes that restart the unit (RestartForceExitStatus=); default none. */
  restartOn?: readonly number[];
  /** RestartSec: the pause between the emptied cgroup and the new main; default 100 ms, systemd's default. */
  restartDelayMs?: number;
  /** Restarts after which the unit gives up as `failed`, so a broken test cannot loop forever; default 10. */
  maxRestarts?: number;
}

/** Like systemd's ActiveState, reduced to what the tests need. */
export type UnitState = 'running' | 'restarting' | 'inactive' | 'failed';

/** One cgroup.kill, written because a main PID exited. */
export interface CgroupKill {
  /** `Date.now()` when cgroup.kill was written. */
  at: number;
  /** The pids in the group just before the kill. */
  pids: number[];
  /** `Date.now()` when the group was seen empty afterwards. */
  emptyAt: number;
  /** The exit that caused it. */
  mainExit: ExitRecord;
}

/** A running emulated unit. */
export interface SystemdEmulation {
  cgroup: Cgroup;
  /** The current main PID, or undefined between a main's exit and the next start (and once settled). */
  mainPid(): number | undefined;
  /** How many times the command was started again (NRestarts). */
  readonly restarts: number;
  /** Every main PID's start (the first, then each restart), oldest first; `at` is `Date.now()` once it is in the cgroup. */
  readonly starts: ReadonlyArray<{ pid: number; at: number }>;
  /** Every main PID's exit, oldest first. */
  readonly exits: readonly ExitRecord[];
  /** Every pid the cgroup kills took down, oldest first. */
  readonly killedByCgroup: readonly number[];
  /** Every cgroup kill, oldest first, recorded once the group has emptied. */
  readonly cgroupKills: readonly CgroupKill[];
  state(): UnitState;
  /** Settles once the unit is inactive or failed (no main, no restart pending, empty cgroup). */
  settled: Promise<UnitState>;
  /** What went wrong inside the harness itself (a start that failed), if anything. */
  error(): Error | undefined;
  /** Everything the main PIDs wrote to stdout and stderr. */
  output(): string;
  /** `systemctl stop`: no more restarts, the cgroup killed and removed; rethrows a harness error. */
  stop(): Promise<void>;
}

/** Starts the unit; resolves once its first main PID is in the cgroup. Needs cgroupV2Available(). */
export async function startSystemdEmulation(options: SystemdEmulationOptions): Promise<SystemdEmulation> {
  const restartOn = options.restartOn ?? [];
  const restartDelayMs = options.restartDelayMs ?? 100;
  const maxRestarts = options.maxRestarts ?? 10;
  const cgroup = createCgroup('systemd');
  let output = '';
  const onOutput = (chunk: string): void => void (output += chunk);
  // All unit state below is owned by `supervise`; stop() only sets `stopping` and aborts the wait.
  let state: UnitState = 'running';
  let current: MainProcess | undefined;
  let restarts = 0;
  let stopping = false;
  let failure: Error | undefined;
  const starts: Array<{ pid: number; at: number }> = [];
  const exits: ExitRecord[] = [];
  const killedByCgroup: number[] = [];
  const cgroupKills: CgroupKill[] = [];
  const abort = new AbortController();
  const launch = async (): Promise<MainProcess> => {
    const main = await launchInCgroup(cgroup, options, onOutput);
    starts.push({ pid: main.pid, at: Date.now() });
    return main;
  };

  let first: MainProcess;
  try {
    first = await launch();
  } catch (err) {
    await cgroup.remove();
    throw err;
  }

  const supervise = async (): Promise<UnitState> => {
    let main = first;
    for (;;) {
      current = main;
      const exit = await main.exited;
      current = undefined;
      exits.push(exit);
      // KillMode=control-group: once the main PID is gone, nothing else in the unit may live on.
      const pids = cgroup.kill();
      const at = Date.now();
      killedByCgroup.push(...pids);
      // systemd only schedules the restart once the cgroup is empty.
      await cgroup.waitEmpty();
      cgroupKills.push({ at, pids, emptyAt: Date.now(), mainExit: exit });
      const wantsRestart = !stopping && exit.code !== null && restartOn.includes(exit.code);
      if (!wantsRestart) return stopping || exit.code === 0 ? 'inactive' : 'failed';
      if (restarts >= maxRestarts) return 'failed';
      state = 'restarting';
      try {
        await delay(restartDelayMs, undefined, { signal: abort.signal });
      } catch {
        return 'inactive'; // stop() during RestartSec
      }
      restarts++;
      main = await launch();
      state = 'running';
      // stop() may have killed the group while the new main was still entering it.
      if (stopping) cgroup.kill();
    }
  };

  const settled: Promise<UnitState> = supervise().then(
    (final) => (state = final),
    (err: unknown) => {
      failure = err instanceof Error ? err : new Error(String(err));
      return (state = 'failed');
    },
  );

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      stopping = true;
      abort.abort();
      cgroup.kill();
      await settled;
      await cgroup.remove();
      unregister();
      if (failure !== undefined) throw failure;
    })());
  const unregister = onTeardown(stop);

  return {
    cgroup,
    mainPid: () => current?.pid,
    get restarts() {
      return restarts;
    },
    starts,
    exits,
    killedByCgroup,
    cgroupKills,
    state: () => state,
    settled,
    error: () => failure,
    output: () => output,
    stop,
  };
}
