/**
 * The respawn side of the restart policy: whether an unplanned exit ends
 * supervision, the one pending backoff timer before the next spawn, and the
 * holds an update puts on the policy while it owns the child.
 */
import type { RestartConfig } from '../config/schema.ts';
import type { ChildExit, HostClock } from '../host/host.ts';
import { onCrash, type CrashHistory } from './backoff.ts';
import { describeExit } from './exit-code.ts';

/** Whether `exit` ends supervision under `policy`: `never`, or `on-failure` after a clean exit. */
export function endsSupervision(policy: RestartConfig['policy'], exit: ChildExit): boolean {
  const clean = exit.kind === 'exited' && exit.code === 0;
  return policy === 'never' || (policy === 'on-failure' && clean);
}

/** At most one pending respawn; a restart or stop cancels it. */
export class BackoffTimer {
  readonly #clock: HostClock;
  #pending: AbortController | undefined;

  constructor(clock: HostClock) {
    this.#clock = clock;
  }

  /** Runs `respawn` after `delayMs`, unless cancelled (or replaced) first. */
  schedule(delayMs: number, respawn: () => void): void {
    const timer = new AbortController();
    this.#pending = timer;
    this.#clock.sleep(delayMs, timer.signal).then(
      () => {
        if (this.#pending !== timer) return;
        this.#pending = undefined;
        respawn();
      },
      () => undefined,
    );
  }

  /** Drops the pending respawn, if any. */
  cancel(): void {
    this.#pending?.abort();
    this.#pending = undefined;
  }
}

/** An exit the policy has not acted on yet; `cause` is what a respawn after it is counted as. */
export interface KeptExit {
  exit: ChildExit;
  uptimeMs: number;
  /** `crash`: the child ended on its own; `health`: we stopped it for failing its readiness or health checks. */
  cause: 'crash' | 'health';
}

/**
 * Holds on the crash policy. While any hold is on, an exit is kept instead
 * of acted on; when the last hold ends, a kept exit (that no restart has
 * made moot with forget()) goes to the policy.
 */
export class PolicyHold {
  #holds = 0;
  #kept: KeptExit | undefined;

  /** Whether the policy is held now. */
  get held(): boolean {
    return this.#holds > 0;
  }

  /** Keeps an exit for when the holds end. */
  keep(kept: KeptExit): void {
    this.#kept = kept;
  }

  /** Drops the kept exit: the child was replaced. */
  forget(): void {
    this.#kept = undefined;
  }

  /** Takes a hold; the returned function ends it (once), handing a kept exit to `apply` when it was the last. */
  take(apply: (kept: KeptExit) => void): () => void {
    this.#holds += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#holds -= 1;
      const kept = this.#kept;
      if (this.#holds > 0 || kept === undefined) return;
      this.#kept = undefined;
      apply(kept);
    };
  }
}

/** What follows an unplanned exit: wait for the update that holds the policy, end supervision, give up, or respawn after a delay. */
export type NextStep =
  | { kind: 'held'; reason: string }
  | { kind: 'finish'; reason: string }
  | { kind: 'errored'; reason: string; history: CrashHistory }
  | { kind: 'respawn'; delayMs: number; history: CrashHistory };

/** The restart policy applied to one exit (pure but for `keep`, which records a held exit). */
export function nextStep(hold: PolicyHold, kept: KeptExit, history: CrashHistory, config: RestartConfig, now: number, random: number): NextStep {
  if (hold.held) {
    hold.keep(kept);
    return { kind: 'held', reason: 'the child exited during an update; the update decides what runs next' };
  }
  if (endsSupervision(config.policy, kept.exit)) return { kind: 'finish', reason: `${describeExit(kept.exit)} (restart policy ${config.policy})` };
  const decision = onCrash(history, now, kept.uptimeMs, config, random);
  if (decision.action === 'give-up') return { kind: 'errored', reason: decision.reason, history: decision.history };
  return { kind: 'respawn', delayMs: decision.delayMs, history: decision.history };
}
