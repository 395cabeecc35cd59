/**
 * detached: fork + setsid + a delayed `ctl.sh start`. For Termux, where the
 * app's cgroup SIGKILLs a freshly exec'd process: a helper in its own session
 * (immune to SIGHUP, output to a log) waits for our PID to be gone, waits out
 * the platform's kill window, starts a new supervisor through ctl.sh, checks
 * that a NEW pid becomes healthy, and retries with backoff if it dies. We
 * exit only once the helper has confirmed it is running.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import { processStartTime } from '../state/child-record.ts';
import type { RestartStrategy } from './strategy.ts';

const ARM_TIMEOUT_MS = 5000;

/** Where the helper reports that it is armed. */
export function helperFile(stateDir: string): string {
  return join(stateDir, 'restart-helper.json');
}

/** The detached strategy. */
export const detached: RestartStrategy = {
  name: 'detached',
  async restart(deps, request) {
    const { host, relaunch, stateDir, settings, logger } = deps;
    const armed = helperFile(stateDir);
    await host.fs.rm(armed);
    await host.fs.mkdir(join(stateDir, 'logs'), 0o755);
    const args = [
      join(settings.scriptsDir, 'detached-restart.mjs'),
      '--old-pid', String(host.pid),
      '--old-start', (await processStartTime(host, host.pid)) ?? '',
      '--delay-ms', String(settings.delayMs),
      '--retries', String(settings.retries),
      '--state-dir', stateDir,
      '--ctl', join(settings.scriptsDir, 'ctl.sh'),
      '--log', join(stateDir, 'logs', 'restart-helper.log'),
      '--',
      relaunch.execPath,
      ...relaunch.args,
    ];
    // The helper is Node (the runtime we already have): it must wait out the
    // kill window without starting any process, even a `sleep`.
    const helper = host.spawn(relaunch.execPath, args, {
      cwd: relaunch.cwd,
      env: { ...relaunch.env, OUTLAST_RESTART_ID: request.id },
      detached: true,
      stdio: 'ignore',
    });
    // The helper must be running before we stop anything: if it failed to
    // start, we stay up and say so rather than vanish.
    const deadline = host.clock.monotonic() + ARM_TIMEOUT_MS;
    while (!(await host.fs.exists(armed))) {
      if (host.clock.monotonic() > deadline || helper.pid === undefined) {
        if (helper.pid !== undefined) host.killGroup(helper.pid, 'SIGKILL');
        throw new OutlastError('INTERNAL', `the detached restart helper did not confirm within ${ARM_TIMEOUT_MS} ms (see ${join(stateDir, 'logs', 'restart-helper.log')}); not restarting`);
      }
      await host.clock.sleep(20);
    }
    logger.info({ helperPid: helper.pid, delayMs: settings.delayMs, restartId: request.id }, 'detached restart helper armed: exiting');
    await deps.quiesce();
    await deps.markPreRestart({ strategy: 'detached', reason: request.reason, restartId: request.id, helperPid: helper.pid, delayMs: settings.delayMs });
    return { exitCode: 0 };
  },
};
