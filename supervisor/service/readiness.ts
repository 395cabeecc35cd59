/**
 * Readiness and health probes: an HTTP URL, a TCP port, or none. A probe
 * answers one question once; the service decides how often to ask.
 */
import type { HealthConfig } from '../config/schema.ts';
import type { Host } from '../host/host.ts';

/** The result of one probe. */
export type ProbeResult = { ok: true } | { ok: false; reason: string };

/** Whether a health check is configured at all. */
export function hasProbe(health: HealthConfig): boolean {
  return health.url !== undefined || health.tcp !== undefined;
}

/** Runs the configured probe once, bounded by health.timeoutMs. */
export async function probeOnce(host: Host, health: HealthConfig): Promise<ProbeResult> {
  try {
    if (health.url !== undefined) {
      const status = await host.net.httpGet(health.url, health.timeoutMs);
      return status >= 200 && status < 400 ? { ok: true } : { ok: false, reason: `HTTP ${status} from ${health.url}` };
    }
    if (health.tcp !== undefined) {
      await host.net.tcpConnect(health.tcp.host, health.tcp.port, health.timeoutMs);
    }
    return { ok: true };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, reason: cause === undefined ? message : `${message} (${cause})` };
  }
}

/** Polls until the probe passes, the deadline passes, or `signal` aborts. */
export async function waitReady(
  host: Host,
  health: HealthConfig,
  signal: AbortSignal,
): Promise<ProbeResult> {
  const deadline = host.clock.monotonic() + health.readyTimeoutMs;
  let pause = 50;
  let last: ProbeResult = { ok: false, reason: 'not probed yet' };
  while (!signal.aborted) {
    last = await probeOnce(host, health);
    if (last.ok) return last;
    const left = deadline - host.clock.monotonic();
    if (left <= 0) break;
    // Start fast (a quick service is ready in tens of ms) and settle at 500 ms.
    await host.clock.sleep(Math.min(pause, left), signal).catch(() => undefined);
    pause = Math.min(500, pause * 2);
  }
  if (signal.aborted) return { ok: false, reason: 'aborted' };
  return { ok: false, reason: `not ready within ${health.readyTimeoutMs} ms: ${last.reason}` };
}
