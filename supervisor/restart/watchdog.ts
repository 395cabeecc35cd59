/**
 * watchdog: record a planned stop and exit; the watchdog loop
 * (scripts/watchdog-loop.sh) sees the service down and runs `ctl.sh start`.
 * Refused when no watchdog is running: exiting would just be a stop.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import type { RestartStrategy } from './strategy.ts';

/**
 * The pidfile in the lock dir scripts/watchdog-loop.sh holds (`--lock
 * <stateDir>/watchdog.lock`, as `outlast install termux` starts it). It
 * holds "<pid> <start time>".
 */
export function watchdogPidfile(stateDir: string): string {
  return join(stateDir, 'watchdog.lock', 'pid');
}

/** What the watchdog lock says: its pidfile, the pid in it, and whether that pid runs. */
export async function readWatchdogLock(host: Host, pidfile: string): Promise<{ pidfile: string; pid?: number; running: boolean }> {
  let text: string;
  try {
    text = await host.fs.readFile(pidfile);
  } catch {
    return { pidfile, running: false };
  }
  const pid = /^\s*(\d+)(?:\s|$)/.exec(text)?.[1];
  if (pid === undefined) return { pidfile, running: false };
  return { pidfile, pid: Number(pid), running: host.kill(Number(pid), 0) };
}

/** The pid of the running watchdog loop of `stateDir`, if any. */
export async function runningWatchdog(host: Host, stateDir: string): Promise<number | undefined> {
  const lock = await readWatchdogLock(host, watchdogPidfile(stateDir));
  return lock.running ? lock.pid : undefined;
}

/** The watchdog strategy. */
export const watchdog: RestartStrategy = {
  name: 'watchdog',
  async restart(deps, request) {
    const pid = await runningWatchdog(deps.host, deps.stateDir);
    if (pid === undefined) {
      throw new OutlastError('CONFLICT', `no watchdog loop is running for ${deps.stateDir} (start scripts/watchdog-loop.sh --daemon); not exiting`);
    }
    await deps.quiesce();
    await deps.markPreRestart({ strategy: 'watchdog', reason: request.reason, restartId: request.id, watchdogPid: pid });
    deps.logger.info({ watchdogPid: pid }, 'planned stop: the watchdog will start the supervisor again');
    return { exitCode: 0 };
  },
};
