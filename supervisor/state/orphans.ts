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

async function leadsGroup(host: Host, pid: number): Promise<boolean> {
  try {
    const stat = await host.fs.readFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[2]) === pid;
  } catch {
    return false;
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

/** The orphans of a previous supervisor on `stateDir`. */
export async function findOrphans(host: Host, stateDir: string): Promise<Orphan[]> {
  const pids = new Set(await scanForMarked(host, stateDir));
  const recorded = await findOrphan(host, stateDir);
  if (recorded !== undefined) pids.add(recorded.pid);
  return Promise.all([...pids].map(async (pid) => ({ pid, leader: await leadsGroup(host, pid) })));
}
