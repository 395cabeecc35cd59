/**
 * Tells the service manager what the service is doing: READY=1 once it is
 * first healthy (so `systemctl start` returns only then), STATUS= lines on
 * every change, STOPPING=1 on stop, and WATCHDOG=1 pings while it is healthy.
 */
import type { HostClock } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import type { ServiceEvent, ServiceState } from '../service/service.ts';
import type { Notifier } from './sd-notify.ts';

/** What the notifier needs of a Service. */
export interface NotifiedService {
  onEvent(listener: (event: ServiceEvent) => void): () => void;
  status(): { state: ServiceState };
}

const text = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : '?');

/** The STATUS= line for an event, or undefined when the event changes nothing worth showing. */
function statusFor(event: ServiceEvent): string | undefined {
  switch (event.type) {
    case 'spawned':
      return `starting: service pid ${text(event.pid)}`;
    case 'ready':
      return `ready: service pid ${text(event.pid)}`;
    case 'exited':
      return `service ${text(event.description)}`;
    case 'backoff':
      return `restarting the service in ${text(event.delayMs)} ms`;
    case 'unhealthy':
      return `unhealthy: ${text(event.reason)}`;
    case 'errored':
      return `errored: ${text(event.reason)} (outlast restart revives it)`;
    case 'stopping':
      return `stopping: ${text(event.reason)}`;
    case 'child_stopped':
    case 'stopped':
    case 'finished':
      return undefined;
  }
}

/**
 * Subscribes `notifier` to the service's events; returns the detach. Does
 * nothing when no manager listens.
 */
export function attachNotifier(service: NotifiedService, notifier: Notifier, logger: Logger, clock: HostClock): () => void {
  if (!notifier.enabled) return () => undefined;
  let readySent = false;
  const pings = new AbortController();
  const unsubscribe = service.onEvent((event) => {
    const status = statusFor(event);
    if (event.type === 'ready' && !readySent) {
      readySent = true;
      void notifier.ready(status);
      if (notifier.watchdogIntervalMs !== undefined) void pingWhileHealthy(service, notifier, clock, pings.signal);
      return;
    }
    if (event.type === 'stopping') {
      void notifier.stopping(status);
      return;
    }
    if (event.type === 'stopped' || event.type === 'finished') {
      pings.abort();
      return;
    }
    if (status !== undefined) void notifier.status(status);
  });
  logger.debug({ watchdogIntervalMs: notifier.watchdogIntervalMs }, 'sd_notify enabled');
  return () => {
    pings.abort();
    unsubscribe();
  };
}

/**
 * WATCHDOG=1 every interval while the service is ready. A service that is
 * down or hung gets no pings, so the manager's WatchdogSec= restarts the
 * whole unit when outlast's own repair takes longer than the watchdog allows.
 */
async function pingWhileHealthy(service: NotifiedService, notifier: Notifier, clock: HostClock, signal: AbortSignal): Promise<void> {
  const interval = notifier.watchdogIntervalMs;
  if (interval === undefined) return;
  while (!signal.aborted) {
    try {
      await clock.sleep(interval, signal);
    } catch {
      return;
    }
    if (service.status().state === 'ready') await notifier.watchdog();
  }
}
