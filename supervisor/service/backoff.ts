/**
 * Crash-restart policy as pure functions: exponential backoff with jitter, a
 * reset after a stable uptime, and the crash-loop cut-off that puts the
 * service in `errored` (as PM2 and supervisord do).
 */
import type { RestartConfig } from '../config/schema.ts';

/** What the policy remembers between crashes. */
export interface CrashHistory {
  /** Crashes since the last stable run; drives the backoff exponent. */
  readonly consecutive: number;
  /** Monotonic times of recent crashes, oldest first, pruned to the window. */
  readonly recent: readonly number[];
}

/** The decision after one crash. */
export type CrashDecision =
  | { action: 'restart'; delayMs: number; history: CrashHistory }
  | { action: 'give-up'; history: CrashHistory; reason: string };

/** A history with no crashes. */
export const NO_CRASHES: CrashHistory = { consecutive: 0, recent: [] };

/**
 * The delay before restart attempt `attempt` (1-based). The first crash after
 * a stable run restarts at once: that is a fault, not a loop, and every
 * millisecond is downtime. From the second in a row: initial × factor^(n-2),
 * capped at maxMs, then spread by ±jitter using `random` in [0, 1).
 */
export function backoffDelay(attempt: number, backoff: RestartConfig['backoff'], random: number): number {
  if (attempt <= 1) return 0;
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** (attempt - 2));
  const spread = base * backoff.jitter * (2 * random - 1);
  return Math.max(0, Math.round(Math.min(backoff.maxMs, base + spread)));
}

/**
 * Records a crash at monotonic time `now` of a child that had been up for
 * `uptimeMs`, and decides whether to restart (after how long) or give up.
 */
export function onCrash(
  history: CrashHistory,
  now: number,
  uptimeMs: number,
  policy: RestartConfig,
  random: number,
): CrashDecision {
  // A child that ran stably has earned a fresh start: its crash is attempt 1.
  const consecutive = uptimeMs >= policy.resetAfterMs ? 1 : history.consecutive + 1;
  const recent = [...history.recent.filter((t) => now - t < policy.windowMs), now];
  const next: CrashHistory = { consecutive, recent };
  if (recent.length >= policy.maxCrashes) {
    return {
      action: 'give-up',
      history: next,
      reason: `${recent.length} crashes within ${policy.windowMs} ms (limit ${policy.maxCrashes})`,
    };
  }
  return { action: 'restart', delayMs: backoffDelay(consecutive, policy.backoff, random), history: next };
}
