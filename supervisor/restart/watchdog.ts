/**
 * watchdog: record a planned stop and exit; the watchdog loop
 * (scripts/watchdog-loop.sh) sees the service down and runs `ctl.sh start`.
 * Refused when no watchdog is running: exiting would just be a stop.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import type { RestartStrategy } from './strategy.ts';

/** The pid of the running watchdog loop of `stateDir`, if any. */
export async function runningWatchdog(host: Host, stateDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await host.fs.readFile(join(stateDir, 'watchdog.lock', 'pid'))).trim());
    return Number.isInteger(pid) && pid > 0 && host.kill(pid, 0) ? pid : undefined;
  } catch {
    return undefined;
  }
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
