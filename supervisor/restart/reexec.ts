/**
 * reexec: process.execve in place. The PID stays, so systemd's MainPID, a
 * container's PID 1 and whatever else watches us see no exit at all: there is
 * no kill window to survive. The new image starts from its first line with
 * the same arguments and finds the state dir as it was left.
 */
import { OutlastError } from '../errors.ts';
import type { RestartStrategy } from './strategy.ts';

/** The reexec strategy. */
export const reexec: RestartStrategy = {
  name: 'reexec',
  async restart(deps, request) {
    const { host, relaunch, logger } = deps;
    if (host.execve === undefined) {
      throw new OutlastError('NOT_SUPPORTED', `process.execve is not available in Node ${host.runtime.nodeVersion} (needs >= 22.15)`);
    }
    // The child stays (when it can): the new image, with our pid, adopts it.
    await deps.quiesce({ keepChild: true });
    await deps.markPreRestart({ strategy: 'reexec', reason: request.reason, restartId: request.id });
    logger.info({ restartId: request.id, execPath: relaunch.execPath }, 'restarting in place (execve): same pid');
    await deps.flushLogs();
    // Nothing after this line runs on success. File descriptors are close-on-exec
    // (libuv opens them so), so the new image inherits no socket of ours; a kept
    // child holds its own copies of the owned sockets and of its output FIFOs.
    return host.execve(relaunch.execPath, [relaunch.execPath, ...relaunch.args], { ...relaunch.env, OUTLAST_RESTART_ID: request.id });
  },
};
