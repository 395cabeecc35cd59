/**
 * Finding the processes a SIGKILLed supervisor left behind. Every child gets
 * OUTLAST_STATE_DIR=<state dir> in its environment, and its descendants
 * inherit it, so a scan of /proc/<pid>/environ finds them all, including a
 * child spawned in the instant before child.json could record it. The
 * record (pid + start time) remains the way on systems without /proc.
 */
import type { Host } from '../host/host.ts';
import { findOrphan } from './child-record.ts';

/** The env variable that marks a process as belonging to a state dir. */
export const STATE_DIR_ENV = 'OUTLAST_STATE_DIR';

/** A process left behind, and whether it leads its own process group. */
export interface Orphan {
  pid: number;
  leader: boolean;
}

/** The process group of `pid` (field 5 of /proc/<pid>/stat), or undefined when it is gone. */
async function groupOf(host: Host, pid: number): Promise<number | undefined> {
  try {
    const stat = await host.fs.readFile(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

/** Every live process carrying this state dir's marker, other than us. */
export async function scanForMarked(host: Host, stateDir: string): Promise<number[]> {
  const marker = `${STATE_DIR_ENV}=${stateDir}\0`;
  const pids = (await host.fs.readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const found: number[] = [];
  for (const pid of pids) {
    if (pid === host.pid) continue;
    try {
      // environ ends each variable with NUL; a trailing NUL is appended to match the last one.
      if (`${await host.fs.readFile(`/proc/${pid}/environ`)}\0`.includes(marker)) found.push(pid);
    } catch {
      // Gone, or not ours to read: either way not an orphan of ours.
    }
  }
  return found;
}

/**
 * The orphans of a previous supervisor on `stateDir`; the process group
 * `keepGroup` (a child this image adopted) is none of them.
 */
export async function findOrphans(host: Host, stateDir: string, keepGroup?: number): Promise<Orphan[]> {
  const pids = new Set(await scanForMarked(host, stateDir));
  const recorded = await findOrphan(host, stateDir);
  if (recorded !== undefined) pids.add(recorded.pid);
  const found = await Promise.all([...pids].map(async (pid) => ({ pid, group: await groupOf(host, pid) })));
  return found.filter((o) => keepGroup === undefined || (o.pid !== keepGroup && o.group !== keepGroup)).map((o) => ({ pid: o.pid, leader: o.group === o.pid }));
}
