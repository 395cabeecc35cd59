/**
 * Crash-restart policy as pure functions. A crash after a stable run (at
 * least `stableAfterMs` up) is a fault, not a loop: it restarts at once and
 * never counts toward `errored`, as PM2, supervisord and runit treat it (an
 * OOM or low-memory killer on a phone does this all day). Only fast crashes
 * back off, exponentially with jitter, and `maxCrashes` of them within
 * `windowMs` put the service in `errored`. A run of `resetAfterMs` also
 * forgets the fast crashes still in the window.
 */
import type { RestartConfig } from '../config/schema.ts';

/** What the policy remembers between crashes. */
export interface CrashHistory {
  /** Crashes since (and including) the last stable one; drives the backoff exponent. */
  readonly consecutive: number;
  /** Monotonic times of recent fast crashes, oldest first, pruned to the window. */
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
  // A run of resetAfterMs wipes the slate, even if stableAfterMs is set higher.
  const base = uptimeMs >= policy.resetAfterMs ? NO_CRASHES : history;
  const kept = base.recent.filter((t) => now - t < policy.windowMs);
  if (uptimeMs >= policy.stableAfterMs) {
    // A stable run has earned a fresh start: this crash is attempt 1 (no
    // delay) and is left out of the count, so no rate of such faults ends
    // in `errored`. Earlier fast crashes stay counted until resetAfterMs.
    return { action: 'restart', delayMs: 0, history: { consecutive: 1, recent: kept } };
  }
  const consecutive = base.consecutive + 1;
  const recent = [...kept, now];
  const next: CrashHistory = { consecutive, recent };
  if (recent.length >= policy.maxCrashes) {
    return {
      action: 'give-up',
      history: next,
      reason: `${recent.length} crashes within ${policy.windowMs} ms, each under ${policy.stableAfterMs} ms of uptime (limit ${policy.maxCrashes})`,
    };
  }
  return { action: 'restart', delayMs: backoffDelay(consecutive, policy.backoff, random), history: next };
}
