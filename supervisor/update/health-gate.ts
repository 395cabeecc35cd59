/**
 * The health gate after a switch: the new child must become ready within
 * `timeoutMs` and then run `stableForMs` without exiting or failing health.
 * Nothing is committed until it passes.
 */
import type { HostClock } from '../host/host.ts';
import type { Service, ServiceEvent } from '../service/service.ts';

/** How the gate ended. */
export type GateResult = { ok: true; readyMs: number } | { ok: false; reason: string };

/** Gate settings from `updates.healthGate`. */
export interface GateConfig {
  timeoutMs: number;
  stableForMs: number;
}

const FAILURES = new Set<ServiceEvent['type']>(['exited', 'unhealthy', 'errored', 'finished', 'stopped']);

/**
 * Starts watching `service` NOW. Call it before restarting the child: a
 * service with no probe turns ready synchronously inside restart(), and that
 * event must not be missed.
 */
export function watchGate(service: Service, clock: HostClock, config: GateConfig): { result: Promise<GateResult>; cancel: () => void } {
  const timers = new AbortController();
  let settle!: (result: GateResult) => void;
  const result = new Promise<GateResult>((resolve) => (settle = resolve));
  const started = clock.monotonic();
  let done = false;
  const finish = (outcome: GateResult): void => {
    if (done) return;
    done = true;
    off();
    timers.abort();
    settle(outcome);
  };
  const off = service.onEvent((event) => {
    if (event.type === 'ready') {
      const readyMs = Math.round(clock.monotonic() - started);
      clock.sleep(config.stableForMs, timers.signal).then(() => finish({ ok: true, readyMs }), () => undefined);
      return;
    }
    if (FAILURES.has(event.type)) {
      const detail = typeof event.description === 'string' ? event.description : typeof event.reason === 'string' ? event.reason : event.type;
      const readyPassed = clock.monotonic() - started;
      finish({ ok: false, reason: `the new version ${detail} ${Math.round(readyPassed)} ms after the restart` });
    }
  });
  clock.sleep(config.timeoutMs + config.stableForMs, timers.signal).then(
    () => finish({ ok: false, reason: `the new version was not healthy and stable within ${config.timeoutMs} + ${config.stableForMs} ms` }),
    () => undefined,
  );
  clock.sleep(config.timeoutMs, timers.signal).then(
    () => {
      if (!done && service.status().state !== 'ready') finish({ ok: false, reason: `the new version was not healthy within ${config.timeoutMs} ms` });
    },
    () => undefined,
  );
  return { result, cancel: () => finish({ ok: false, reason: 'cancelled' }) };
}
