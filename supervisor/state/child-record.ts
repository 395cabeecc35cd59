/**
 * `<stateDir>/child.json`: which process group the supervisor's child leads,
 * with the child's start time from /proc/<pid>/stat. A supervisor that was
 * SIGKILLed cannot stop its child; the next one finds the record and ends the
 * orphaned group, and the start time keeps a recycled PID from being mistaken
 * for ours.
 */
import { join } from 'node:path';
import type { Host } from '../host/host.ts';

/** The recorded child. */
export interface ChildRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot), when /proc exists. */
  startTime: string | null;
  supervisorPid: number;
}

function recordPath(stateDir: string): string {
  return join(stateDir, 'child.json');
}

/** State (field 3) and start time (field 22) of a /proc/<pid>/stat line. */
export function parseProcStat(stat: string): { state: string | null; startTime: string | null } {
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? null, startTime: rest[19] ?? null };
}

/** The start time of `pid` from /proc, or null where there is no /proc. */
export async function processStartTime(host: Host, pid: number): Promise<string | null> {
  try {
    return parseProcStat(await host.fs.readFile(`/proc/${pid}/stat`)).startTime;
  } catch {
    return null;
  }
}

/** Records the current child. */
export async function writeChildRecord(host: Host, stateDir: string, pid: number): Promise<void> {
  const record: ChildRecord = { pid, startTime: await processStartTime(host, pid), supervisorPid: host.pid };
  await host.fs.writeFileAtomic(recordPath(stateDir), `${JSON.stringify(record)}\n`);
}

/** Forgets the child (after it is gone). */
export async function clearChildRecord(host: Host, stateDir: string): Promise<void> {
  await host.fs.rm(recordPath(stateDir));
}

/**
 * The child a previous supervisor left running, if its record still matches a
 * live process with the same start time.
 */
export async function findOrphan(host: Host, stateDir: string): Promise<ChildRecord | undefined> {
  let record: ChildRecord;
  try {
    record = JSON.parse(await host.fs.readFile(recordPath(stateDir))) as ChildRecord;
  } catch {
    return undefined;
  }
  if (typeof record.pid !== 'number' || record.supervisorPid === host.pid) return undefined;
  if (!host.kill(record.pid, 0) && !host.killGroup(record.pid, 0)) return undefined;
  if (record.startTime === null) return undefined;
  const now = await processStartTime(host, record.pid);
  // The leader may be dead while its group lives on; only a matching leader proves the group is ours.
  return now === record.startTime ? record : undefined;
}
