/**
 * Zero-downtime restart: the new child starts on the same sockets while the
 * old one keeps serving; only once the new one is ready does the old one get
 * its stop signal and drain. If the new child never becomes ready within
 * readyTimeoutMs it is killed and the old one serves on.
 *
 * Like execa's terminate helpers, this takes the steps it needs from the
 * Service, never the Service itself: the Service stays the one owner of
 * which child is current.
 */
import { discardAttempt, drainAttempt, type Attempt } from './attempt.ts';
import type { ProbeResult } from './readiness.ts';
import type { StopOutcome } from './stop.ts';
import type { RestartResult, ServiceDeps } from './types.ts';

/** What a handoff asks of the Service. */
export interface HandoffSteps {
  /** Starts the new child beside the old one (and announces it); undefined when it could not start. */
  launch(): Attempt | undefined;
  /** Waits for the new child's readiness. */
  ready(next: Attempt): Promise<ProbeResult>;
  /** Makes the new child the current one. */
  adopt(next: Attempt): void;
  /** Hears how the old child's drain went, once it is gone. */
  drained(outcome: StopOutcome): void;
  /** Marks the sockets as shared by two children (probes then count only for the child that accepted them); returns the end of it. */
  share(): () => void;
}

/** Hands the sockets over from `old` to a new child; see the module comment. */
export async function handOff(deps: ServiceDeps, steps: HandoffSteps, old: Attempt, reason: string): Promise<RestartResult> {
  const { logger } = deps;
  // After an adoption our sockets are only bound: they listen from now on, for the new child.
  await deps.listeners?.activate();
  const next = steps.launch();
  if (next === undefined) return { ok: false, handoff: true, reason: 'the new child could not be started; the old one keeps serving' };
  logger.info({ childPid: next.pid, oldPid: old.pid, reason }, 'handoff: new child started on the same sockets; the old one serves until it is ready');
  // Both children accept until the old one is gone: an answer to a probe may come from either.
  const unshare = steps.share();
  try {
    const ready = await steps.ready(next);
    if (!ready.ok) {
      await discardAttempt(deps.host, next);
      logger.error({ childPid: next.pid, reason: ready.reason }, 'handoff: the new child never became ready; the old one keeps serving');
      return { ok: false, handoff: true, reason: `the new child never became ready (${ready.reason}); the old one keeps serving` };
    }
    steps.adopt(next);
    steps.drained(await drainAttempt(deps, old));
    return { ok: true, handoff: true };
  } finally {
    unshare();
  }
}
