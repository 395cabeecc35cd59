/**
 * Readiness and health probes: an HTTP URL, a TCP port, or none. A probe
 * answers one question once; the service decides how often to ask.
 */
import type { HealthConfig } from '../config/schema.ts';
import type { ConnectionEnds, Host } from '../host/host.ts';
import { acceptedBy, type AcceptedBy } from './accepted-by.ts';

/**
 * The result of one probe. `uncounted`: the probe says nothing about the
 * child it was for, because another process accepted it ('elsewhere') or
 * nobody can tell who did ('untraceable').
 */
export type ProbeResult = { ok: true } | { ok: false; reason: string; uncounted?: 'elsewhere' | 'untraceable' };

/** Whether a health check is configured at all. */
export function hasProbe(health: HealthConfig): boolean {
  return health.url !== undefined || health.tcp !== undefined;
}

/**
 * Runs the configured probe once, bounded by health.timeoutMs. With `only`
 * (a process group), the probe counts only when a process of that group
 * accepted its connection (accepted-by.ts): while two children share the
 * listening socket, the other one's answer says nothing about this one.
 */
export async function probeOnce(host: Host, health: HealthConfig, only?: number): Promise<ProbeResult> {
  let traced: AcceptedBy | undefined;
  const options =
    only === undefined
      ? {}
      : {
          check: async (ends: ConnectionEnds): Promise<void> => {
            traced = await acceptedBy(host, ends, only, health.timeoutMs);
            if (traced.kind !== 'child') throw new Error(traced.reason);
          },
        };
  try {
    if (health.url !== undefined) {
      const status = await host.net.httpGet(health.url, health.timeoutMs, options);
      return status >= 200 && status < 400 ? { ok: true } : { ok: false, reason: `HTTP ${status} from ${health.url}` };
    }
    if (health.tcp !== undefined) {
      await host.net.tcpConnect(health.tcp.host, health.tcp.port, health.timeoutMs, options);
    }
    return { ok: true };
  } catch (err) {
    // A check that timed out on the Host's side left `traced` unset or 'child': a plain failure.
    if (traced !== undefined && traced.kind !== 'child') return { ok: false, reason: traced.reason, uncounted: traced.kind === 'unknown' ? 'untraceable' : 'elsewhere' };
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, reason: cause === undefined ? message : `${message} (${cause})` };
  }
}

/** How {@link waitReady} probes: `only` is asked before each probe (see probeOnce); `onUncounted` hears each probe that did not count. */
export interface WaitOptions {
  only?: () => number | undefined;
  onUncounted?: (result: ProbeResult & { ok: false }) => void;
}

/** Polls until the probe passes, the deadline passes, or `signal` aborts. An uncounted probe is "not ready yet". */
export async function waitReady(host: Host, health: HealthConfig, signal: AbortSignal, options: WaitOptions = {}): Promise<ProbeResult> {
  const deadline = host.clock.monotonic() + health.readyTimeoutMs;
  let pause = 50;
  let last: ProbeResult = { ok: false, reason: 'not probed yet' };
  let counted = false;
  while (!signal.aborted) {
    const result = await probeOnce(host, health, options.only?.());
    if (result.ok) return result;
    if (result.uncounted !== undefined) options.onUncounted?.(result);
    // The child's own last answer says more than another child's: it is the one reported.
    if (result.uncounted === undefined || !counted) last = result;
    counted ||= result.uncounted === undefined;
    const left = deadline - host.clock.monotonic();
    if (left <= 0) break;
    // Start fast (a quick service is ready in tens of ms) and settle at 500 ms.
    await host.clock.sleep(Math.min(pause, left), signal).catch(() => undefined);
    pause = Math.min(500, pause * 2);
  }
  if (signal.aborted) return { ok: false, reason: 'aborted' };
  return { ok: false, reason: `not ready within ${health.readyTimeoutMs} ms: ${last.reason}` };
}
