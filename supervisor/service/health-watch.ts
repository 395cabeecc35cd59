/**
 * Readiness and the health loop of the current child: when it counts as
 * ready (READY=1 with `health.notify`, else the probe, else at once), and
 * the periodic probe that declares a running child unhealthy.
 */
import type { Attempt } from './attempt.ts';
import { hasProbe, probeOnce, waitReady, type ProbeResult } from './readiness.ts';
import type { ServiceDeps } from './types.ts';

/** Owns the consecutive health-failure count of the current child. */
export class HealthWatch {
  readonly #deps: ServiceDeps;
  #failures = 0;
  #shared = 0;
  #warnedUntraceable = false;

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  /** Consecutive failed checks of the current child. */
  get failures(): number {
    return this.#failures;
  }

  /** A new child starts with a clean count. */
  reset(): void {
    this.#failures = 0;
  }

  /**
   * While another child still accepts on the handed-over sockets (from a
   * handoff's launch until the old child is gone), a probe counts only for
   * the child that accepted it. Returns the end of that window.
   */
  share(): () => void {
    this.#shared += 1;
    let ended = false;
    return () => {
      if (!ended) this.#shared -= 1;
      ended = true;
    };
  }

  /** The process group whose answers count for `attempt` now: its own while the sockets are shared, else anyone's. */
  #only(attempt: Attempt): number | undefined {
    return this.#shared > 0 ? attempt.pid : undefined;
  }

  /** An uncounted probe is "not ready yet" (or, for a running child, no verdict); an untraceable one is worth one warning. */
  #uncounted(attempt: Attempt, result: ProbeResult & { ok: false }): void {
    const { logger } = this.#deps;
    if (result.uncounted === 'untraceable' && !this.#warnedUntraceable) {
      this.#warnedUntraceable = true;
      logger.warn({ childPid: attempt.pid, reason: result.reason }, 'health probe during a handoff: cannot tell which child answered, so no probe counts until the old child is gone; readiness then needs health.notify (READY=1)');
      return;
    }
    logger.debug({ childPid: attempt.pid, reason: result.reason }, 'health probe not counted: the child it was for did not accept it');
  }

  /** Whether readiness is something to wait for (READY=1 or a probe), rather than immediate. */
  get waits(): boolean {
    const { config, readyMessage } = this.#deps;
    return (config.health.notify && readyMessage !== undefined) || hasProbe(config.health);
  }

  /** Whether a probe keeps checking a ready child. */
  get probes(): boolean {
    return hasProbe(this.#deps.config.health);
  }

  /** Waits until `attempt` is ready: READY=1 with health.notify, else the probe, else at once. */
  ready(attempt: Attempt): Promise<ProbeResult> {
    const { host, config, readyMessage } = this.#deps;
    // An adopted child said READY=1 to the previous image and will not say it again: the probe, if any, decides.
    const wait = { only: () => this.#only(attempt), onUncounted: (result: ProbeResult & { ok: false }) => this.#uncounted(attempt, result) };
    if (attempt.adopted !== undefined) return hasProbe(config.health) ? waitReady(host, config.health, attempt.abort.signal, wait) : Promise.resolve({ ok: true });
    if (config.health.notify && readyMessage !== undefined) return readyMessage(attempt.abort.signal, config.health.readyTimeoutMs);
    if (hasProbe(config.health)) return waitReady(host, config.health, attempt.abort.signal, wait);
    return Promise.resolve({ ok: true });
  }

  /**
   * Probes `attempt` every interval until it is aborted or no longer
   * current; resolves with the reason once it failed `failureThreshold`
   * checks in a row, or undefined when it stood down.
   */
  async watch(attempt: Attempt, isCurrent: () => boolean): Promise<string | undefined> {
    const { host, config, logger } = this.#deps;
    const { signal } = attempt.abort;
    while (!signal.aborted) {
      try {
        await host.clock.sleep(config.health.intervalMs, signal);
      } catch {
        return undefined;
      }
      const result = await probeOnce(host, config.health, this.#only(attempt));
      if (signal.aborted || !isCurrent()) return undefined;
      if (!result.ok && result.uncounted !== undefined) {
        this.#uncounted(attempt, result);
        continue;
      }
      if (result.ok) {
        if (this.#failures > 0) logger.info({ childPid: attempt.pid }, 'health recovered');
        this.#failures = 0;
        continue;
      }
      this.#failures += 1;
      logger.warn({ childPid: attempt.pid, failures: this.#failures, reason: result.reason }, 'health check failed');
      if (this.#failures >= config.health.failureThreshold) return `unhealthy: ${this.#failures} failed checks in a row (${result.reason})`;
    }
    return undefined;
  }
}
