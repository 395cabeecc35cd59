/**
 * "Android-like": the kill window observed on Termux's top-app cgroup, where
 * processes spawned right after the app's main process exits die at once,
 * while processes that already existed live on. This is field failure 1
 * (fork+setsid without a delay died; with a 15 s delay it survived).
 *
 *   - The command runs as the main process of a fresh cgroup, inside it from
 *     its first instruction (see main-process.ts).
 *   - When it exits, the harness notes which pids are in the group at that
 *     moment. For the next `windowMs`, it polls cgroup.procs every `pollMs`
 *     and SIGKILLs every pid that was not there at the exit.
 *   - After the window nothing is enforced; processes in the group run on
 *     until `stop()`.
 *
 * Limits of the emulation, worth knowing when reading a result:
 *   - It is a poll: a process that starts and exits between two polls is
 *     never seen, and a new process runs for up to `pollMs` before its kill
 *     (Android's was sub-millisecond).
 *   - "At the exit" means when this process learns of it (the child's exit
 *     event, typically well under a millisecond later), so a process spawned
 *     in that gap counts as pre-existing.
 *   - Only the main process's exit opens the window; the execv-in-place kill
 *     of the field report (a new image dying before its first line) is not
 *     emulated.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { createCgroup, type Cgroup } from './cgroup.ts';
import { launchInCgroup, type MainProcess } from './main-process.ts';
import { cmdline, type Command, type ExitRecord } from './proc.ts';
import { onTeardown } from './teardown.ts';

/** The command and the window. */
export interface AndroidLikeOptions extends Command {
  /** How long after the main's exit new processes are killed; default 3000 ms. */
  windowMs?: number;
  /** How often cgroup.procs is read during the window; default 5 ms. */
  pollMs?: number;
}

/** A process the window killed. */
export interface WindowKill {
  pid: number;
  /** Its command line when it was seen ('' if it was gone by then). */
  cmdline: string;
  /** `Date.now()` when SIGKILL was sent. */
  at: number;
  /** Milliseconds from the main's exit to the kill. */
  afterExitMs: number;
}

/** A running Android-like environment. */
export interface AndroidLike {
  cgroup: Cgroup;
  /** The main process's pid. */
  mainPid: number;
  /** Settles when the main process exits (the window opens then). */
  mainExit: Promise<ExitRecord>;
  /** The pids in the group when the main exited (these are spared), or undefined while it runs. */
  presentAtExit(): readonly number[] | undefined;
  /** Every process the window killed, oldest first. */
  readonly killed: readonly WindowKill[];
  /** Settles when the window has closed (or stop() cut it short); `Date.now()` then. */
  windowClosed: Promise<number>;
  /** Everything the main process (and what inherited its stdio) wrote to stdout and stderr. */
  output(): string;
  /** Ends the window, kills everything in the group, and removes it. */
  stop(): Promise<void>;
}

/** Starts `options.argv` as the main process; resolves once it is in its cgroup. Needs cgroupV2Available(). */
export async function startAndroidLike(options: AndroidLikeOptions): Promise<AndroidLike> {
  const windowMs = options.windowMs ?? 3000;
  const pollMs = options.pollMs ?? 5;
  const cgroup = createCgroup('android');
  let output = '';
  let main: MainProcess;
  try {
    main = await launchInCgroup(cgroup, options, (chunk) => void (output += chunk));
  } catch (err) {
    await cgroup.remove();
    throw err;
  }

  let spared: Set<number> | undefined;
  const killed: WindowKill[] = [];
  const abort = new AbortController();

  const enforce = async (): Promise<number> => {
    const exit = await main.exited;
    // Taken first thing: whatever is in the group now existed at the exit and is spared.
    spared = new Set(cgroup.procs());
    const sentKill = new Set<number>();
    const closesAt = exit.at + windowMs;
    while (Date.now() < closesAt && !abort.signal.aborted) {
      for (const pid of cgroup.procs()) {
        if (spared.has(pid) || sentKill.has(pid)) continue;
        // Read before the kill: afterwards there may be nothing left to read.
        const line = cmdline(pid);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          continue; // exited between the read and the kill
        }
        const at = Date.now();
        sentKill.add(pid);
        killed.push({ pid, cmdline: line, at, afterExitMs: at - exit.at });
      }
      try {
        await delay(pollMs, undefined, { signal: abort.signal });
      } catch {
        break; // stop()
      }
    }
    return Date.now();
  };
  const windowClosed = enforce();

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      abort.abort();
      cgroup.kill();
      await main.exited;
      await windowClosed;
      await cgroup.remove();
      unregister();
    })());
  const unregister = onTeardown(stop);

  return {
    cgroup,
    mainPid: main.pid,
    mainExit: main.exited,
    presentAtExit: () => (spared === undefined ? undefined : [...spared]),
    killed,
    windowClosed,
    output: () => output,
    stop,
  };
}
