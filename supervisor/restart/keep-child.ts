/**
 * Keeping the service across the supervisor's own re-exec. A self-updating
 * install (on a runtime with execve) gives every child its output through
 * FIFOs and owns its sockets with SO_REUSEPORT, so that under `reexec` the
 * next image (same pid) can adopt the running child instead of starting a
 * new one: it opens the FIFOs again, binds the ports again beside the
 * child's copies, and supervises the child as its own.
 */
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import { findAdoptable } from '../service/adopted.ts';
import type { Attempt } from '../service/attempt.ts';
import { pruneFifos, stdioDir } from '../service/child-stdio.ts';
import { readSupervisorInfo } from '../state/state-dir.ts';

/** Whether this supervisor was started from inside the release store (a self-updating install). */
export function runsFromRelease(host: Pick<Host, 'invocation' | 'cwd'>, stateDir: string): boolean {
  const entry = host.invocation.argv[0];
  if (entry === undefined) return false;
  const inside = (dir: string): boolean => resolve(host.cwd, entry).startsWith(`${dir}/`);
  return inside(join(stateDir, 'current')) || inside(join(stateDir, 'releases'));
}

/** Whether the releases hold the supervisor itself (`updates.selfUpdate`, detected when missing). */
export function selfUpdating(host: Pick<Host, 'invocation' | 'cwd'>, config: Config): boolean {
  return config.updates !== undefined && (config.updates.selfUpdate ?? runsFromRelease(host, config.stateDir));
}

/** What this image does for adoption: where child output goes, and the child it adopted. */
export interface Adoption {
  fifoDir: string;
  adopted: Attempt | undefined;
}

/**
 * For a self-updating install with execve: the FIFO folder, and the child
 * this process's previous image left running, opened for adoption; FIFOs
 * no child owns are removed. Undefined elsewhere: plain pipes, as ever.
 */
export async function prepareAdoption(host: Host, config: Config, logger: Logger): Promise<Adoption | undefined> {
  if (host.execve === undefined || !selfUpdating(host, config)) return undefined;
  const fifoDir = stdioDir(config.stateDir);
  try {
    await host.fs.mkdir(fifoDir, 0o700);
    const adopted = await findAdoptable(host, config.stateDir, fifoDir);
    await pruneFifos(host, fifoDir, adopted?.pid);
    if (adopted !== undefined) logger.info({ childPid: adopted.pid }, 'the previous image of this supervisor left its child running: adopting it');
    return { fifoDir, adopted };
  } catch (err) {
    logger.warn({ err }, 'cannot prepare the output FIFOs: children get pipes, and a re-exec of the supervisor stops them');
    return undefined;
  }
}

/** Resolves true once this process's API (from supervisor.json) answers /health, false after `timeoutMs`. */
export async function ownApiUp(host: Host, stateDir: string, timeoutMs: number): Promise<boolean> {
  const deadline = host.clock.monotonic() + timeoutMs;
  while (host.clock.monotonic() < deadline) {
    const info = await readSupervisorInfo(host, stateDir);
    if (info?.pid === host.pid) {
      const status = await host.net.httpGet(`${info.apiUrl}/health`, 1000).catch(() => 0);
      if (status === 200) return true;
    }
    await host.clock.sleep(100);
  }
  return false;
}
