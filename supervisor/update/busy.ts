/**
 * The restart-safe gate: before restarting for an update, ask the service
 * whether it is in the middle of something ({busy: n} from `service.busy.url`)
 * and wait, bounded, until it is not.
 */
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import { FORCE_HINT } from './force-hint.ts';

/** Config of the gate. */
export interface BusyConfig {
  url: string;
  maxWaitMs: number;
  pollMs: number;
}

async function busyCount(host: Host, url: string): Promise<number> {
  const res = await host.net.httpRequest({ method: 'GET', url, timeoutMs: 2000 });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  const busy = (JSON.parse(res.body) as { busy?: unknown }).busy;
  if (typeof busy !== 'number' || !Number.isFinite(busy)) throw new Error(`answer has no numeric "busy": ${res.body.slice(0, 100)}`);
  return busy;
}

/**
 * Resolves once the service reports 0 busy, or throws RESTART_BLOCKED with
 * the last count after `maxWaitMs`. An unreachable or malformed busy URL also
 * blocks: restarting blind is what the gate exists to prevent.
 */
export async function waitNotBusy(host: Host, config: BusyConfig): Promise<{ waitedMs: number }> {
  const started = host.clock.monotonic();
  let last: string;
  for (;;) {
    try {
      const busy = await busyCount(host, config.url);
      if (busy <= 0) return { waitedMs: Math.round(host.clock.monotonic() - started) };
      last = `${busy} operation(s) in progress`;
    } catch (err) {
      last = `busy check failed: ${(err as Error).message}`;
    }
    const waited = host.clock.monotonic() - started;
    if (waited >= config.maxWaitMs) {
      throw new OutlastError('RESTART_BLOCKED', `the service is not safe to restart after ${Math.round(waited)} ms: ${last}; retry later, or apply ${FORCE_HINT} to restart anyway`, {
        details: { reason: last, waitedMs: Math.round(waited) },
      });
    }
    await host.clock.sleep(Math.min(config.pollMs, config.maxWaitMs - waited));
  }
}
