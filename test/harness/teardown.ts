/**
 * One place that tears down every kill-window environment a test started:
 * each harness registers its `stop` here when it starts, and a test file calls
 * `teardownKillWindows()` from afterEach, so a failed assertion never leaks a
 * process, a namespace or a cgroup.
 */
import { removeAllCgroups } from './cgroup.ts';

const stops = new Set<() => Promise<void>>();

/** Registers a stop function; returns the function that unregisters it (call it once stopped). */
export function onTeardown(stop: () => Promise<void>): () => void {
  stops.add(stop);
  return () => void stops.delete(stop);
}

/**
 * Stops every environment still registered (newest first), then kills and
 * removes every cgroup left. Every stop is tried; the failures are thrown
 * together afterwards rather than swallowed.
 */
export async function teardownKillWindows(): Promise<void> {
  const failures: unknown[] = [];
  for (const stop of [...stops].reverse()) {
    stops.delete(stop);
    try {
      await stop();
    } catch (err) {
      failures.push(err);
    }
  }
  try {
    await removeAllCgroups();
  } catch (err) {
    failures.push(err);
  }
  if (failures.length > 0) throw new AggregateError(failures, `kill-window teardown failed ${failures.length} time(s)`);
}
