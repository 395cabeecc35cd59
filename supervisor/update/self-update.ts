/**
 * Self-update: the releases hold the supervisor itself, so moving to another
 * version means restarting the supervisor into it. This file owns that
 * whole path:
 *
 * - the hand-over: the operation is journaled with `selfRestart`, and the
 *   supervisor restarts with the update lock still held;
 * - the resume: the next image finds the handed-over operation at start-up,
 *   takes over its lock, and judges its own first child, as the gate of an
 *   apply or a rollback by request;
 * - the rollback of self: when that gate fails, the links go back and the
 *   supervisor restarts again, into the old version, whose first child
 *   must be ready before the operation ends `rolled-back`.
 *
 * Before any restart into a new release, its supervisor must pass the start
 * probe (restart/start-probe.ts): one that cannot start is refused while the
 * old supervisor and its child still run. With `reexec` the child is not
 * stopped at all: the new image adopts it (service/adopted.ts), and its gate
 * is on itself (the child still adopted and healthy, its own API up); then,
 * with `updates.selfUpdateService: restart`, the service moves onto the new
 * release, judged by the health gate as in any update.
 */
import { OutlastError, toOutlastError } from '../errors.ts';
import { markBad } from './bad-versions.ts';
import type { UpdateContext } from './context.ts';
import { watchGate } from './health-gate.ts';
import { isFinal, type Operation } from './journal.ts';
import type { HeldLock } from './lock.ts';
import type { RunningOperation } from './operation.ts';
import { judge, judgeFirstChild, restartAndJudge, settle, undoSwitch, type Verdict } from './transition.ts';

/**
 * Restarts the supervisor into the release `current` now points at, the
 * lock staying held for the next image; settles only when this process is
 * about to end (never, for an in-place re-exec).
 */
export type RestartSelf = (reason: string, lock: HeldLock) => Promise<void>;

/** What a handed-over operation asks of the image that finds it. */
export type Pending = 'gate' | 'confirm-rollback';

/**
 * Whether the journal's last operation was handed over to this image:
 * `gate` when `current` is the version the operation moved to and its gate
 * has not ruled, `confirm-rollback` when the gate failed and `current` is
 * back on the old version. A later start after a crash in either sees the
 * same journal and resumes the same way.
 */
export function pendingHandover(op: Operation, current: string | undefined): Pending | undefined {
  if (op.selfRestart !== true || isFinal(op)) return undefined;
  if ((op.phase === 'restart' || op.phase === 'health-gate') && current === op.to) return 'gate';
  if (op.phase === 'rollback' && op.from !== null && current === op.from) return 'confirm-rollback';
  return undefined;
}

/** What a self-update uses besides the restart. */
export interface SelfUpdateOptions {
  /** Runs the supervisor of the release `current` points at in probe mode; rejects with START_PROBE_FAILED. */
  probe?: () => Promise<void>;
  /** The child this image adopted from its previous one, if any (known before recovery). */
  adoptedPid?: number | undefined;
  /** Resolves true once this supervisor's own API answers, false after `timeoutMs`. */
  apiUp?: (timeoutMs: number) => Promise<boolean>;
}

/** The self-update side of the update jobs. */
export class SelfUpdate {
  readonly #restart: RestartSelf;
  readonly #options: SelfUpdateOptions;

  constructor(restart: RestartSelf, options: SelfUpdateOptions = {}) {
    this.#restart = restart;
    this.#options = options;
  }

  /** The child adopted across the re-exec that started this image, if any. */
  get adoptedPid(): number | undefined {
    return this.#options.adoptedPid;
  }

  /**
   * Journals the operation for the next image and restarts the supervisor
   * into `current`; first, unless `probe` is false (going back to a
   * release that already ran), the new supervisor must pass its start probe.
   */
  async handOver(run: RunningOperation, reason: string, options: { probe?: boolean } = {}): Promise<void> {
    if (options.probe !== false) await this.#options.probe?.();
    run.op.selfRestart = true;
    await run.save();
    await this.#restart(reason, run.lock);
  }

  /** Whether this image's API answers within `timeoutMs` (true when there is no way to ask). */
  apiUp(timeoutMs: number): Promise<boolean> {
    return this.#options.apiUp?.(timeoutMs) ?? Promise.resolve(true);
  }
}

/** Whether `err` is a failed start probe: nothing was restarted. */
export function isStartRefusal(err: unknown): err is OutlastError {
  return err instanceof OutlastError && err.code === 'START_PROBE_FAILED';
}

/**
 * The new supervisor could not start, and nothing was restarted: the links
 * go back, an applied version is marked bad, and the operation ends
 * (`rolled-back` for an apply, `failed` for a rollback by request, which
 * changed nothing). The old supervisor and its child never stopped.
 */
export async function refuseStart(ctx: UpdateContext, run: RunningOperation, err: OutlastError): Promise<void> {
  const { op } = run;
  ctx.logger.error({ id: op.id, to: op.to, reason: err.message }, 'the new supervisor failed its start probe: staying on this one');
  await undoSwitch(ctx, run);
  if (op.kind !== 'apply') return run.end('failed', err);
  await markBad(ctx.host, ctx.stateDir, op.to, err.message);
  await run.end('rolled-back', err);
}

/**
 * Resumes a handed-over operation: takes over its lock and starts watching
 * the first child NOW, before the service starts, so none of its events is
 * missed. The operation then ends (or is handed over again) in the background.
 */
export async function resumeHandover(ctx: UpdateContext, op: Operation, pending: Pending): Promise<void> {
  const run = await ctx.ops.resume(op);
  const adopted = ctx.self?.adoptedPid;
  if (pending === 'gate') return adopted === undefined ? judgeFirstChild(ctx, run) : judgeAdoption(ctx, run, adopted);
  const release = ctx.service.hold();
  void confirmRollback(ctx, run)
    .catch(async (err: unknown) => {
      ctx.logger.error({ err, id: op.id }, 'the resumed self-update failed');
      await run.end('failed', toOutlastError(err));
    })
    .finally(release);
}

/** Back on the old version after a failed gate: it only has to be ready again, it proved itself before. */
function confirmRollback(ctx: UpdateContext, run: RunningOperation): Promise<void> {
  const ready = watchGate(ctx.service, ctx.host.clock, { timeoutMs: ctx.config.healthGate.timeoutMs, stableForMs: 0 }).result;
  return (async () => {
    const result = await ready;
    const { op } = run;
    const failed = op.error ?? { code: 'HEALTH_GATE_FAILED' as const, message: `${op.to} failed its health gate` };
    const message = result.ok ? failed.message : `${failed.message}; ${op.from ?? 'the old version'} did not get ready again either: ${result.reason}`;
    await run.end('rolled-back', new OutlastError(failed.code, message));
  })();
}

/**
 * The gate of a new image that adopted the child: the child turns ready
 * again (its probe) and stays up for `stableForMs`, still the adopted one,
 * and this supervisor's API answers. Then the service moves onto the new
 * release (`selfUpdateService: restart`), or keeps running. Call it before
 * the service starts; the operation ends in the background (never rejects).
 */
function judgeAdoption(ctx: UpdateContext, run: RunningOperation, pid: number): void {
  const release = ctx.service.hold();
  const gate = judge(ctx);
  void (async () => {
    await run.enter('health-gate', 'verifying');
    let verdict: Verdict = await gate.verdict;
    if (verdict.ok && ctx.service.status().pid !== pid) verdict = { ok: false, code: 'HEALTH_GATE_FAILED', reason: `the adopted child ${pid} is no longer the service's` };
    if (verdict.ok && !(await ctx.self?.apiUp(ctx.config.healthGate.timeoutMs))) verdict = { ok: false, code: 'HEALTH_GATE_FAILED', reason: 'the new supervisor did not open its API' };
    if (verdict.ok) ctx.logger.info({ id: run.op.id, childPid: pid }, 'the new supervisor passed its gate: the child it adopted serves, its API answers');
    if (verdict.ok && ctx.config.selfUpdateService === 'restart') verdict = await restartAndJudge(ctx, `${run.op.kind === 'apply' ? 'update' : 'rollback'} to ${run.op.to}`);
    await settle(ctx, run, verdict);
  })()
    .catch(async (err: unknown) => {
      ctx.logger.error({ err, id: run.op.id }, 'judging the adopted child failed');
      await undoSwitch(ctx, run);
      await run.end('failed', toOutlastError(err));
    })
    .finally(release);
}
