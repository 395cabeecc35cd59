/**
 * The log file of a bare supervisor, `<stateDir>/logs/outlast.log`: its own
 * log lines and the service's output, besides stdout/stderr, for `outlast
 * logs` to read where no journald or svlogd keeps them.
 *
 * It is a Sink, so a write returns at once: lines are queued and one drain
 * loop appends them in batches, so a slow disk never holds up the supervisor
 * or the service's pipes. The queue is bounded (what does not fit is
 * counted and reported, not kept), and a failed write (disk full, a
 * read-only file system) is reported once and turns the file off until the
 * next rotation is due, when it is tried again on a fresh file.
 */
import { basename, dirname, join } from 'node:path';
import type { HostFs } from '../host/host.ts';
import { rotationPlan } from './rotation.ts';
import type { Sink } from './safe-sink.ts';

/** The file calls the log file makes. */
export type LogFileFs = Pick<HostFs, 'append' | 'chmod' | 'lstat' | 'mkdir' | 'readdir' | 'rename' | 'rm'>;

/** Where the file is and when it rotates. */
export interface LogFileSettings {
  path: string;
  /** The size at which it is renamed to `.1` and a new file begun. */
  maxBytes: number;
  /** How many rotated files are kept. */
  keep: number;
}

/** What the log file tells whoever logs to stderr; each once per episode. */
export type LogFileProblem =
  | { kind: 'write-failed'; path: string; err: unknown }
  | { kind: 'writing-again'; path: string }
  | { kind: 'fell-behind'; path: string; droppedBytes: number };

/** The most that waits for the disk; a burst beyond it is dropped from the file (stdout/stderr still carry it). */
export const MAX_QUEUED_BYTES = 1024 * 1024;

const NEWLINE = 0x0a;

/** The log file as a sink, and its life cycle. */
export interface LogFile extends Sink {
  /**
   * Starts writing to the file; what was written before (while it was not
   * yet known whether this run has a file at all) goes first.
   */
  open(settings: LogFileSettings): void;
  /** This run has no file: what was queued is dropped, and all that follows. */
  discard(): void;
  /** Resolves once everything written so far is in the file (or dropped). */
  flush(): Promise<void>;
  /** Flushes and stops; later writes are dropped. */
  close(): Promise<void>;
}

interface Chunk {
  text: string;
  bytes: number;
}

/** Creates a log file that waits for {@link LogFile.open}; `report` hears of problems. */
export function createLogFile(fs: LogFileFs, report: (problem: LogFileProblem) => void): LogFile {
  let state: 'pending' | 'open' | 'failed' | 'closed' = 'pending';
  let settings: LogFileSettings | undefined;
  let queue: Chunk[] = [];
  let queued = 0;
  // Bytes in the file; undefined until the drain has looked (and after a recovery).
  let size: number | undefined;
  let dropped = 0;
  // While failed: bytes that would have been written, to tell when a rotation is due.
  let sinceFailure = 0;
  let rotationDue = false;
  let reported = false;
  let drain: Promise<void> | undefined;

  // A problem report must not become a crash: it is only ever a log line.
  const tell = (problem: LogFileProblem): void => {
    try {
      report(problem);
    } catch {
      // Nowhere left to say it.
    }
  };

  const kick = (): void => {
    drain ??= run()
      // Nothing in the drain may become an unhandled rejection: that would end the supervisor.
      .catch((err: unknown) => fail(settings!, err))
      .finally(() => {
        drain = undefined;
        // A write that came in while the loop was finishing.
        if ((state === 'open' && queue.length > 0) || rotationDue) kick();
      });
  };

  // The next batch that fits in `room` bytes, cut at a line end; a line
  // longer than a whole file goes alone into an empty one (`empty`).
  const take = (room: number, empty: boolean): Chunk => {
    const parts: string[] = [];
    let bytes = 0;
    let whole = 0;
    for (; whole < queue.length; whole++) {
      const head = queue[whole]!;
      if (bytes + head.bytes > room) break;
      parts.push(head.text);
      bytes += head.bytes;
    }
    const next = queue[whole];
    if (next !== undefined) {
      // One chunk of service output can hold many lines: take those that fit.
      const raw = Buffer.from(next.text);
      const cut = room - bytes > 0 ? raw.lastIndexOf(NEWLINE, room - bytes - 1) + 1 : 0;
      const firstLine = raw.indexOf(NEWLINE) + 1 || raw.length;
      const taken = cut > 0 ? cut : parts.length === 0 && empty ? firstLine : 0;
      if (taken === raw.length) whole++;
      else if (taken > 0) queue[whole] = { text: raw.subarray(taken).toString('utf8'), bytes: raw.length - taken };
      if (taken > 0) {
        parts.push(raw.subarray(0, taken).toString('utf8'));
        bytes += taken;
      }
    }
    // One splice per batch: shifting chunk by chunk is quadratic in a long queue.
    queue.splice(0, whole);
    queued -= bytes;
    return { text: parts.join(''), bytes };
  };

  const rotate = async (s: LogFileSettings): Promise<void> => {
    const dir = dirname(s.path);
    for (const step of rotationPlan(basename(s.path), await fs.readdir(dir), s.keep)) {
      if (step.op === 'rm') await fs.rm(join(dir, step.name));
      else await fs.rename(join(dir, step.from), join(dir, step.to));
    }
  };

  const fail = (s: LogFileSettings, err: unknown): void => {
    state = 'failed';
    queue = [];
    queued = 0;
    sinceFailure = 0;
    if (!reported) tell({ kind: 'write-failed', path: s.path, err });
    reported = true;
  };

  async function run(): Promise<void> {
    const s = settings!;
    for (;;) {
      if (state === 'failed') {
        if (!rotationDue) return;
        rotationDue = false;
        sinceFailure = 0;
        try {
          await rotate(s);
          state = 'open';
          size = undefined;
        } catch {
          // Still failing: the next try is another maxBytes of output away.
        }
        continue;
      }
      if (state !== 'open' || queue.length === 0) return;
      try {
        if (size === undefined) {
          await fs.mkdir(dirname(s.path), 0o700);
          size = (await fs.lstat(s.path))?.size ?? 0;
        }
        let batch = take(s.maxBytes - size, size === 0);
        if (batch.bytes === 0) {
          // The next line would carry the file past maxBytes: rotate first.
          await rotate(s);
          size = 0;
          batch = take(s.maxBytes, true);
        }
        const created = size === 0;
        await fs.append(s.path, batch.text);
        // The service's output can hold secrets: only its owner reads the file.
        if (created) await fs.chmod(s.path, 0o600);
        size += batch.bytes;
      } catch (err) {
        fail(s, err);
        continue;
      }
      if (reported) tell({ kind: 'writing-again', path: s.path });
      reported = false;
      if (dropped > 0 && queue.length === 0) {
        tell({ kind: 'fell-behind', path: s.path, droppedBytes: dropped });
        dropped = 0;
      }
    }
  }

  return {
    write(text) {
      if (state === 'closed') return;
      const bytes = Buffer.byteLength(text);
      if (state === 'failed') {
        sinceFailure += bytes;
        if (!rotationDue && (size ?? 0) + sinceFailure >= settings!.maxBytes) {
          rotationDue = true;
          kick();
        }
        return;
      }
      if (queued + bytes > MAX_QUEUED_BYTES) {
        dropped += bytes;
        return;
      }
      queue.push({ text, bytes });
      queued += bytes;
      if (state === 'open') kick();
    },
    get broken() {
      return state === 'failed' || state === 'closed';
    },
    open(s) {
      if (state !== 'pending') return;
      settings = s;
      state = 'open';
      if (queue.length > 0) kick();
    },
    discard() {
      state = 'closed';
      queue = [];
      queued = 0;
    },
    async flush() {
      // The drain re-kicks itself for writes that came in meanwhile.
      while (drain !== undefined) await drain;
    },
    async close() {
      if (state === 'pending') this.discard();
      await this.flush();
      state = 'closed';
      queue = [];
      queued = 0;
    },
  };
}
