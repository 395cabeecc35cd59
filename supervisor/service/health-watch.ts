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
    if (attempt.adopted !== undefined) return hasProbe(config.health) ? waitReady(host, config.health, attempt.abort.signal) : Promise.resolve({ ok: true });
    if (config.health.notify && readyMessage !== undefined) return readyMessage(attempt.abort.signal, config.health.readyTimeoutMs);
    if (hasProbe(config.health)) return waitReady(host, config.health, attempt.abort.signal);
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
      const result = await probeOnce(host, config.health);
      if (signal.aborted || !isCurrent()) return undefined;
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
