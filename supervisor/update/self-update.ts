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
 */
import { OutlastError, toOutlastError } from '../errors.ts';
import type { UpdateContext } from './context.ts';
import { watchGate } from './health-gate.ts';
import { isFinal, type Operation } from './journal.ts';
import type { HeldLock } from './lock.ts';
import type { RunningOperation } from './operation.ts';
import { judgeFirstChild } from './transition.ts';

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

/** The self-update side of the update jobs. */
export class SelfUpdate {
  readonly #restart: RestartSelf;

  constructor(restart: RestartSelf) {
    this.#restart = restart;
  }

  /** Journals the operation for the next image and restarts the supervisor into `current`. */
  async handOver(run: RunningOperation, reason: string): Promise<void> {
    run.op.selfRestart = true;
    await run.save();
    await this.#restart(reason, run.lock);
  }
}

/**
 * Resumes a handed-over operation: takes over its lock and starts watching
 * the first child NOW, before the service starts, so none of its events is
 * missed. The operation then ends (or is handed over again) in the background.
 */
export async function resumeHandover(ctx: UpdateContext, op: Operation, pending: Pending): Promise<void> {
  const run = await ctx.ops.resume(op);
  if (pending === 'gate') return judgeFirstChild(ctx, run);
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
