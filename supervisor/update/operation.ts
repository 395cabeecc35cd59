/**
 * Operation bookkeeping, in one place: ids, the lock each operation holds,
 * phase timing, journal entries, `update` events and the failpoint. Every
 * job (apply, rollback, first install, the resume of a self-update) gets a
 * RunningOperation from here and moves it through its phases; none of them
 * creates an id, takes the lock or writes the journal itself.
 */
import type { ErrorCode, OutlastError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import { Journal, type Operation, type OperationPhase, type OperationState } from './journal.ts';
import type { HeldLock, UpdateLock } from './lock.ts';
import { pruneOperationLogs } from './stage.ts';
import { isoTime } from '../iso-time.ts';

/** What an operation is for; the first install is journaled as an apply from nothing. */
export type OperationJob = 'apply' | 'rollback' | 'install';

/** An id's first letter says which job made it; the rest sorts by start time. */
const ID_PREFIX: Record<OperationJob, string> = { apply: 'u', rollback: 'r', install: 'i' };

/** What the bookkeeping needs. */
export interface OperationsDeps {
  host: Host;
  stateDir: string;
  lock: UpdateLock;
  events: EventBus;
  logger: Logger;
}

/** Starts, resumes and looks up operations. */
export class Operations {
  readonly journal: Journal;
  readonly #deps: OperationsDeps;

  constructor(deps: OperationsDeps) {
    this.#deps = deps;
    this.journal = new Journal(deps.host, deps.stateDir);
  }

  /** A new operation, its id minted and the update lock taken (or UPDATE_IN_PROGRESS). */
  async begin(job: OperationJob, from: string | null, to: string): Promise<RunningOperation> {
    const { host, lock } = this.#deps;
    const id = `${ID_PREFIX[job]}${host.clock.now().toString(36)}${host.randomToken(3)}`;
    const held = await lock.acquire(id, to);
    const op: Operation = {
      id,
      kind: job === 'rollback' ? 'rollback' : 'apply',
      from,
      to,
      state: 'applying',
      phase: 'lock',
      phases: [],
      startedAt: isoTime(host.clock.now()),
      switched: false,
    };
    return new RunningOperation(this.#deps, this.journal, op, held, { exemptFromFailpoint: job === 'install', resumed: false });
  }

  /** An operation a previous image of this supervisor handed over: its lock is taken over. */
  async resume(op: Operation): Promise<RunningOperation> {
    const held = await this.#deps.lock.takeOver(op.id, op.to);
    return new RunningOperation(this.#deps, this.journal, structuredClone(op), held, { exemptFromFailpoint: false, resumed: true });
  }
}

/** One operation in progress, and the lock it holds. */
export class RunningOperation {
  readonly op: Operation;
  readonly #deps: OperationsDeps;
  readonly #journal: Journal;
  readonly #lock: HeldLock;
  readonly #exemptFromFailpoint: boolean;
  /** When the phase under way began; unknown for a resumed operation until its next phase. */
  #phaseStarted: number | undefined;

  constructor(deps: OperationsDeps, journal: Journal, op: Operation, lock: HeldLock, options: { exemptFromFailpoint: boolean; resumed: boolean }) {
    this.#deps = deps;
    this.#journal = journal;
    this.op = op;
    this.#lock = lock;
    this.#exemptFromFailpoint = options.exemptFromFailpoint;
    this.#phaseStarted = options.resumed ? undefined : deps.host.clock.monotonic();
  }

  /** Journals that the operation enters `phase` (closing the timing of the previous one), then fires a failpoint if one is set. */
  async enter(phase: OperationPhase, state?: OperationState): Promise<void> {
    const { op } = this;
    this.#closePhase();
    op.phases.push({ name: phase, ms: 0 });
    op.phase = phase;
    if (phase === 'switch') op.switched = true;
    if (state !== undefined) op.state = state;
    await this.#journal.write(op);
    await pruneOperationLogs(this.#deps.host.fs, this.#deps.stateDir).catch((err: unknown) => this.#deps.logger.warn({ err }, 'cannot prune old update logs'));
    this.#deps.events.emit('update', { id: op.id, state: op.state, phase, from: op.from, to: op.to });
    this.#failpoint(phase);
  }

  /** Records why the operation is failing, before it is ended (a rollback under way). */
  setError(code: ErrorCode, message: string): void {
    this.op.error = { code, message };
  }

  /** Journals the operation as it is now (before a self-restart hands it over). */
  save(): Promise<void> {
    return this.#journal.write(this.op);
  }

  /**
   * Ends the operation for the outside world: the lock is released first,
   * then the final state is journaled and announced, so whoever sees
   * "committed" can start the next operation at once. A crash between the
   * two leaves a non-final entry, which recovery settles the same way.
   */
  async end(state: Extract<OperationState, 'committed' | 'rolled-back' | 'failed'>, error?: OutlastError): Promise<void> {
    const { op } = this;
    const { host, logger, events } = this.#deps;
    this.#closePhase();
    op.state = state;
    op.phase = 'done';
    op.endedAt = isoTime(host.clock.now());
    if (error !== undefined) op.error = { code: error.code, message: error.message };
    logger.info({ id: op.id, state, from: op.from, to: op.to, error: op.error }, `update ${op.id} ${state}`);
    await this.#lock.release().catch((err: unknown) => logger.error({ err }, 'cannot release the update lock'));
    try {
      await this.#journal.write(op);
    } catch (err) {
      logger.error({ err, id: op.id }, 'cannot journal the end of the update');
    }
    events.emit('update', { id: op.id, state: op.state, phase: 'done', from: op.from, to: op.to, error: op.error ?? null });
  }

  /** The lock, for a self-restart that keeps it held across the exec. */
  get lock(): HeldLock {
    return this.#lock;
  }

  #closePhase(): void {
    const now = this.#deps.host.clock.monotonic();
    const last = this.op.phases.at(-1);
    if (last !== undefined && this.#phaseStarted !== undefined) last.ms = Math.round(now - this.#phaseStarted);
    this.#phaseStarted = now;
  }

  /**
   * Test hook: OUTLAST_FAILPOINT=<phase> SIGKILLs this process right after
   * that phase of a requested update or rollback is journaled, to prove
   * recovery from a kill at that instant. The first install is exempt, so a
   * test can get a service running before it pulls the trigger.
   */
  #failpoint(phase: OperationPhase): void {
    const { host } = this.#deps;
    if (host.env.OUTLAST_FAILPOINT === phase && !this.#exemptFromFailpoint) host.kill(host.pid, 'SIGKILL');
  }
}
