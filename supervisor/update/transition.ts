/**
 * The one path from one version to another, shared by apply, rollback and
 * the resume of a self-update: switch `current`, restart into it, judge it
 * by the health gate, then commit, or return to where it came from.
 *
 * While a transition owns the child (from the switch to the verdict) the
 * Service's crash policy is held: the version being judged is never
 * respawned behind the gate's back, and an operation only ends
 * `rolled-back` once the old version is ready again.
 */
import { OutlastError, toOutlastError } from '../errors.ts';
import { clearBad, markBad } from './bad-versions.ts';
import type { UpdateContext } from './context.ts';
import { watchGate } from './health-gate.ts';
import type { RunningOperation } from './operation.ts';
import { isStartRefusal, refuseStart } from './self-update.ts';

/** How a started version fared. */
export type Verdict = { ok: true } | { ok: false; code: 'HANDOFF_FAILED' | 'HEALTH_GATE_FAILED'; reason: string };

/**
 * The whole move of an apply or a rollback by request once it holds the lock
 * (and, for an apply, a staged release): switch, restart, gate, verdict, with
 * the crash policy held throughout. Never rejects: every failure ends the operation.
 */
export async function transition(ctx: UpdateContext, run: RunningOperation, reason: string): Promise<void> {
  const release = ctx.service.hold();
  try {
    const verdict = await switchAndRestart(ctx, run, run.op.to, reason);
    if (verdict !== 'handed-over') await settle(ctx, run, verdict);
  } catch (err) {
    if (isStartRefusal(err)) return await refuseStart(ctx, run, err);
    ctx.logger.error({ err, id: run.op.id }, `${reason} failed after the lock was taken`);
    await undoSwitch(ctx, run);
    await run.end('failed', toOutlastError(err));
  } finally {
    release();
  }
}

/**
 * Judges the first child this process starts: the new image of a
 * self-update, or a bundled release adopted at start. Call it before the
 * service starts, so none of the child's events is missed; the operation
 * then ends in the background (never rejects).
 */
export function judgeFirstChild(ctx: UpdateContext, run: RunningOperation): void {
  const release = ctx.service.hold();
  const gate = judge(ctx);
  void (async () => {
    await run.enter('health-gate', 'verifying');
    await settle(ctx, run, await gate.verdict);
  })()
    .catch(async (err: unknown) => {
      ctx.logger.error({ err, id: run.op.id }, 'judging the first child failed');
      await undoSwitch(ctx, run);
      await run.end('failed', toOutlastError(err));
    })
    .finally(release);
}

/** After an unexpected failure past the switch: `current` goes back to what serves. */
export async function undoSwitch(ctx: UpdateContext, run: RunningOperation): Promise<void> {
  const { op } = run;
  if (!op.switched || op.from === null || ctx.store.current === op.from) return;
  await ctx.store.restore(op.from, op.previousBefore ?? null).catch((err: unknown) => ctx.logger.error({ err, id: op.id }, 'cannot restore the links after a failed update'));
}

/** Watches the health gate from now; call it before the child it judges starts. */
export function judge(ctx: UpdateContext): { verdict: Promise<Verdict>; cancel: () => void } {
  const gate = watchGate(ctx.service, ctx.host.clock, ctx.config.healthGate);
  return { verdict: gate.result.then((r): Verdict => (r.ok ? { ok: true } : { ok: false, code: 'HEALTH_GATE_FAILED', reason: r.reason })), cancel: gate.cancel };
}

/**
 * Switches to `target` and restarts into it. Resolves with the gate's
 * verdict, or `handed-over` when the supervisor itself restarted into the
 * new release (the next image resumes the operation).
 */
export async function switchAndRestart(ctx: UpdateContext, run: RunningOperation, target: string, reason: string): Promise<Verdict | 'handed-over'> {
  run.op.previousBefore = (await ctx.store.previous()) ?? null;
  await run.enter('switch');
  await ctx.store.switchTo(target);
  await run.enter('restart', 'restarting');
  if (ctx.self !== undefined) {
    await ctx.self.handOver(run, reason);
    return 'handed-over';
  }
  return restartAndJudge(ctx, reason, () => run.enter('health-gate', 'verifying'));
}

/** Restarts the service into `current` and resolves with the gate's verdict on the new child; `restarted` runs once it is up. */
export async function restartAndJudge(ctx: UpdateContext, reason: string, restarted?: () => Promise<void>): Promise<Verdict> {
  // Watch before restarting: a probe-less service turns ready inside restart().
  const gate = judge(ctx);
  const result = await ctx.service.restart(reason).catch((err: unknown) => {
    gate.cancel();
    throw err;
  });
  if (!result.ok && result.handoff) {
    // The new child never got ready beside the old one, which still serves.
    gate.cancel();
    return { ok: false, code: 'HANDOFF_FAILED', reason: result.reason };
  }
  await restarted?.();
  return gate.verdict;
}

/** The new version passed: keep it, prune old releases, and end the operation. */
export async function commit(ctx: UpdateContext, run: RunningOperation): Promise<void> {
  const { host, stateDir, config, logger, store } = ctx;
  await run.enter('commit');
  await clearBad(host, stateDir, run.op.to);
  // Pruning happens under the lock, before the commit is announced, so a
  // client that sees "committed" can start the next operation at once.
  const pruned = await store.prune(config.keep);
  if (pruned.length > 0) logger.info({ pruned }, 'pruned old releases');
  await run.end('committed');
}

/**
 * The new version failed: mark it bad, put both links back, and restart into
 * the old version (for a self-update, by restarting the supervisor into it).
 * Ends `rolled-back` once the old version is ready again.
 */
export async function returnFrom(ctx: UpdateContext, run: RunningOperation, failed: Exclude<Verdict, { ok: true }>): Promise<void> {
  const { host, stateDir, logger, store, service } = ctx;
  const { op } = run;
  logger.error({ id: op.id, to: op.to, reason: failed.reason }, 'the new version failed its health gate: rolling back');
  await run.enter('rollback', 'rolling-back');
  await markBad(host, stateDir, op.to, failed.reason);
  run.setError(failed.code, failed.reason);
  if (op.from === null) return run.end('rolled-back', new OutlastError(failed.code, failed.reason));
  // Both links go back to where they were: `previous` must not point at the
  // version just marked bad, or a later rollback would return to it.
  await store.restore(op.from, op.previousBefore ?? null);
  if (ctx.self !== undefined && op.selfRestart === true) {
    // Back to a release that ran before: no start probe.
    await ctx.self.handOver(run, `rollback from ${op.to}`, { probe: false });
    return;
  }
  // After a failed handoff the old child never stopped serving.
  const back = failed.code === 'HANDOFF_FAILED' ? undefined : await service.restart(`rollback from ${op.to}`);
  const message = back === undefined || back.ok ? failed.reason : `${failed.reason}; ${op.from} did not get ready again either: ${back.reason}`;
  await run.end('rolled-back', new OutlastError(failed.code, message));
}

/** A rollback by request reached its target: the version it left is marked bad. */
export async function finishRollback(ctx: UpdateContext, run: RunningOperation, verdict: Verdict): Promise<void> {
  const { op } = run;
  if (op.from !== null) await markBad(ctx.host, ctx.stateDir, op.from, 'rolled back by request');
  await run.end('rolled-back', verdict.ok ? undefined : new OutlastError(verdict.code, `rolled back to ${op.to}, but ${verdict.reason}`));
}

/** What to do with the gate's verdict, by the kind of operation. */
export function settle(ctx: UpdateContext, run: RunningOperation, verdict: Verdict): Promise<void> {
  if (run.op.kind === 'rollback') return finishRollback(ctx, run, verdict);
  return verdict.ok ? commit(ctx, run) : returnFrom(ctx, run, verdict);
}
