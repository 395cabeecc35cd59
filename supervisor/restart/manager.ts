/**
 * manager: hand the restart to the service manager. Under systemd with a
 * known unit, a transient `systemd-run` unit — outside our cgroup, so our
 * exit does not take it down — runs `systemctl restart <unit>`. Otherwise
 * exit 75 (EX_TEMPFAIL), which the generated unit's RestartForceExitStatus=75
 * and a container's restart policy both restart on.
 */
import type { RestartStrategy } from './strategy.ts';

/** The exit code a manager is configured to restart on. */
export const RESTART_EXIT_CODE = 75;

/** How long to wait for systemd's stop signal after handing it the restart. */
export const MANAGER_DEADLINE_MS = 30_000;

/** The manager strategy. */
export const manager: RestartStrategy = {
  name: 'manager',
  async restart(deps, request) {
    const { host, settings, logger } = deps;
    const unit = settings.unit;
    if (unit !== undefined) {
      const scope = unit.scope === 'user' ? ['--user'] : [];
      const transient = `outlast-restart-${request.id}`;
      const run = host.spawn('systemd-run', [...scope, '--unit', transient, '--collect', '--quiet', 'systemctl', ...scope, 'restart', unit.name], {
        cwd: '/',
        env: Object.fromEntries(Object.entries(host.env).filter((e): e is [string, string] => e[1] !== undefined)),
        detached: true,
        stdio: 'ignore',
      });
      const exit = await run.exited;
      if (exit.kind === 'exited' && exit.code === 0) {
        await deps.markPreRestart({ strategy: 'manager', reason: request.reason, restartId: request.id, via: `systemd-run ${transient}` });
        logger.info({ unit: unit.name, transient }, 'systemd will restart the unit; waiting for its stop signal');
        // systemd now stops us (SIGTERM) and starts us again; the normal stop
        // path handles it and this never resumes. The transient unit's own
        // `systemctl restart` can still fail (polkit, a unit being edited):
        // past the deadline, exit 75 instead, which the unit restarts on.
        await host.clock.sleep(MANAGER_DEADLINE_MS);
        logger.warn({ unit: unit.name, transient, waitedMs: MANAGER_DEADLINE_MS }, `systemd did not stop the unit for its restart: exiting ${RESTART_EXIT_CODE} instead`);
      } else {
        logger.warn({ unit: unit.name, exit }, `systemd-run failed: falling back to exit ${RESTART_EXIT_CODE}`);
      }
    }
    await deps.quiesce();
    await deps.markPreRestart({ strategy: 'manager', reason: request.reason, restartId: request.id, via: `exit ${RESTART_EXIT_CODE}` });
    return { exitCode: RESTART_EXIT_CODE };
  },
};
