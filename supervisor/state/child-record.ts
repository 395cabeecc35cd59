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
 * Keeps child.json in step with the current child, one file operation at a
 * time. Only the newest state matters to the next supervisor, so while one
 * write (two fsyncs) is under way, every later change collapses into a
 * single pending one: a crash loop faster than the disk leaves at most one
 * operation waiting, where a queue of them would grow with every restart.
 */
export class ChildRecordKeeper {
  readonly #host: Host;
  readonly #stateDir: string;
  readonly #onError: (err: unknown) => void;
  #wanted: number | null = null;
  /** Bumped on every change, so a recycled pid (with a new start time) is still rewritten. */
  #version = 0;
  #doneVersion = 0;
  #running: Promise<void> | undefined;

  constructor(host: Host, stateDir: string, onError: (err: unknown) => void) {
    this.#host = host;
    this.#stateDir = stateDir;
    this.#onError = onError;
  }

  /** Records `pid` as the child, or that there is none (null). */
  set(pid: number | null): void {
    this.#wanted = pid;
    this.#version += 1;
    this.#running ??= this.#drain();
  }

  /** Settles once the newest state asked for has been written (or failed and been reported). */
  settled(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#doneVersion !== this.#version) {
        const version = this.#version;
        const pid = this.#wanted;
        try {
          if (pid === null) await clearChildRecord(this.#host, this.#stateDir);
          else await writeChildRecord(this.#host, this.#stateDir, pid);
        } catch (err) {
          // Reported, not retried: a broken state dir must not spin this loop.
          this.#onError(err);
        }
        this.#doneVersion = version;
      }
    } finally {
      this.#running = undefined;
    }
  }
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
