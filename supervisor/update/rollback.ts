/**
 * A rollback by request: back to `previous`, under the lock, through the
 * same switch, restart and gate as an update; for a self-updating install
 * that means restarting the supervisor into the previous release too. The
 * version it leaves is marked bad (automatic updates skip it; `outlast
 * apply VERSION --force` tries it again).
 */
import { OutlastError } from '../errors.ts';
import type { UpdateContext } from './context.ts';
import { transition } from './transition.ts';

/** Starts a rollback; answers once it holds the lock, the rest runs in `rest`. */
export async function rollBack(ctx: UpdateContext): Promise<{ id: string; from: string | null; to: string; rest: Promise<void> }> {
  const { store } = ctx;
  const target = await store.previous();
  if (target === undefined || target === store.current) throw new OutlastError('NOTHING_TO_ROLL_BACK', 'there is no previous version to roll back to');
  const run = await ctx.ops.begin('rollback', store.current ?? null, target);
  return { id: run.op.id, from: run.op.from, to: target, rest: transition(ctx, run, `rollback to ${target}`) };
}
