/**
 * The update journal: `<stateDir>/journal.json`, rewritten atomically (temp
 * file, fsync, rename, fsync of the dir) at every phase of every operation.
 * After a SIGKILL, the last entry tells recovery how far an operation got.
 */
import { join } from 'node:path';
import type { ErrorCode } from '../errors.ts';
import type { Host } from '../host/host.ts';

/** The states an operation moves through; the last three are final. */
export type OperationState = 'applying' | 'restarting' | 'verifying' | 'rolling-back' | 'committed' | 'rolled-back' | 'failed';

/** Where in the pipeline an operation is; recovery reads this. */
export type OperationPhase =
  | 'lock'
  | 'busy-wait'
  | 'fetch'
  | 'install'
  | 'preflight'
  | 'stage'
  | 'switch'
  | 'restart'
  | 'health-gate'
  | 'commit'
  | 'rollback'
  | 'done';

/** One update or rollback. */
export interface Operation {
  id: string;
  kind: 'apply' | 'rollback';
  from: string | null;
  to: string;
  state: OperationState;
  phase: OperationPhase;
  phases: Array<{ name: OperationPhase; ms: number }>;
  startedAt: string;
  endedAt?: string;
  error?: { code: ErrorCode; message: string };
  /** Set when the switch to `to` has happened (recovery must undo or finish it). */
  switched: boolean;
  /** What `previous` pointed at before the switch, so an undo restores both links. */
  previousBefore?: string | null;
  /** A self-update: the supervisor restarted itself, and the new image resumes the operation. */
  selfRestart?: boolean;
}

const FINAL: ReadonlySet<OperationState> = new Set(['committed', 'rolled-back', 'failed']);
const KEEP = 50;

/** Whether the operation has ended. */
export function isFinal(op: Operation): boolean {
  return FINAL.has(op.state);
}

/** Reads and writes the journal. */
export class Journal {
  readonly #host: Host;
  readonly #path: string;
  #ops: Operation[] | undefined;

  constructor(host: Host, stateDir: string) {
    this.#host = host;
    this.#path = join(stateDir, 'journal.json');
  }

  /** All known operations, oldest first. */
  async all(): Promise<Operation[]> {
    if (this.#ops === undefined) {
      try {
        const parsed = JSON.parse(await this.#host.fs.readFile(this.#path)) as { operations?: Operation[] };
        this.#ops = Array.isArray(parsed.operations) ? parsed.operations : [];
      } catch {
        // A missing journal is an empty one; rename(2) means it is never half written.
        this.#ops = [];
      }
    }
    return this.#ops;
  }

  /** One operation by id. */
  async get(id: string): Promise<Operation | undefined> {
    return (await this.all()).find((op) => op.id === id);
  }

  /** The newest operation. */
  async last(): Promise<Operation | undefined> {
    return (await this.all()).at(-1);
  }

  /**
   * Adds or replaces `op` (in place: an operation keeps its position, so the
   * newest operation stays last) and makes it durable before returning.
   */
  async write(op: Operation): Promise<void> {
    const ops = [...(await this.all())];
    const at = ops.findIndex((o) => o.id === op.id);
    if (at >= 0) ops[at] = structuredClone(op);
    else ops.push(structuredClone(op));
    this.#ops = ops.slice(-KEEP);
    await this.#host.fs.writeFileAtomic(this.#path, `${JSON.stringify({ operations: this.#ops }, null, 2)}\n`);
  }
}
