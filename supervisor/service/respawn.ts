/**
 * The respawn side of the restart policy: whether an unplanned exit ends
 * supervision, and the one pending backoff timer before the next spawn.
 */
import type { RestartConfig } from '../config/schema.ts';
import type { ChildExit, HostClock } from '../host/host.ts';

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
