/**
 * The limits on a download beyond its silence timeout: an overall deadline
 * (updates.fetchTimeoutMs) and a floor on the transfer rate over a sliding
 * window (updates.minBytesPerSecond). A server that drips a byte a second
 * never falls silent, so the silence timeout alone would let it hold the
 * apply, and the update lock with it, for as long as it likes.
 *
 * Each limit is an abort signal on the Host's clock whose reason is a
 * TIMEOUT naming the rule and its numbers; a trip is final, never retried.
 */
import { OutlastError } from '../../errors.ts';
import type { HostClock } from '../../host/host.ts';

/** The window the rate is measured over unless a caller says otherwise. */
export const RATE_WINDOW_MS = 30_000;

// The rate is sampled this many times per window: a trip comes at most a
// tenth of a window late, and a window holds a dozen samples at most.
const SAMPLES_PER_WINDOW = 10;

/** A limit being watched: `signal` aborts when it trips or the parent aborts. */
export interface Limit {
  signal: AbortSignal;
  /** Stops the timer; call it once the download is over, however it ended. */
  stop(): void;
}

/** The rate floor's settings. */
export interface RateFloorOptions {
  /** The least average rate over the window; 0 turns the floor off. */
  minBytesPerSecond: number;
  windowMs: number;
  /** Names the transfer in the message ("download of https://…"). */
  what: string;
}

/**
 * Watches a transfer's byte count (fed with `record(total)`) and trips when
 * fewer than minBytesPerSecond arrived over the last window. Nothing is
 * measured before one window has passed since the start, so a slow first
 * response or TCP ramp-up is not held against it.
 */
export function rateFloor(clock: HostClock, parent: AbortSignal, options: RateFloorOptions): Limit & { record(total: number): void } {
  const { minBytesPerSecond, windowMs, what } = options;
  const tripped = new AbortController();
  const stopped = new AbortController();
  let total = 0;
  const step = Math.max(1, Math.floor(windowMs / SAMPLES_PER_WINDOW));
  // Byte counts taken every step, oldest first; the baseline is the newest
  // one at least a window old, so the span measured is window..window+step.
  const start = clock.monotonic();
  const samples: Array<{ at: number; bytes: number }> = [{ at: start, bytes: 0 }];
  const tick = (): void => {
    const now = clock.monotonic();
    samples.push({ at: now, bytes: total });
    if (now - start < windowMs) return;
    while (samples.length > 1 && samples[1]!.at <= now - windowMs) samples.shift();
    const base = samples[0]!;
    const bytes = total - base.bytes;
    const seconds = (now - base.at) / 1000;
    if (bytes >= minBytesPerSecond * seconds) return;
    tripped.abort(
      new OutlastError(
        'TIMEOUT',
        `${what} is too slow: ${bytes} bytes in the last ${seconds.toFixed(1)} s (${(bytes / seconds).toFixed(1)} bytes/s), below updates.minBytesPerSecond ${minBytesPerSecond}`,
        { details: { rule: 'minBytesPerSecond', minBytesPerSecond, windowMs, bytes, elapsedMs: now - base.at } },
      ),
    );
  };
  const quit = AbortSignal.any([parent, stopped.signal]);
  const loop = async (): Promise<void> => {
    while (!tripped.signal.aborted) {
      await clock.sleep(step, quit);
      tick();
    }
  };
  if (minBytesPerSecond > 0) loop().catch(() => undefined);
  return {
    signal: AbortSignal.any([parent, tripped.signal]),
    record: (bytes) => {
      total = bytes;
    },
    stop: () => stopped.abort(),
  };
}

/** The deadline's settings. */
export interface DeadlineOptions {
  ms: number;
  what: string;
  /** The bytes received so far, for the message. */
  received: () => number;
}

/** Trips `ms` after it is made, whatever the transfer is doing: retries and waits count. */
export function fetchDeadline(clock: HostClock, parent: AbortSignal, options: DeadlineOptions): Limit {
  const tripped = new AbortController();
  const stopped = new AbortController();
  clock.sleep(options.ms, AbortSignal.any([parent, stopped.signal])).then(() => {
    const bytes = options.received();
    tripped.abort(
      new OutlastError('TIMEOUT', `${options.what} did not finish within updates.fetchTimeoutMs (${options.ms} ms); ${bytes} bytes received`, {
        details: { rule: 'fetchTimeoutMs', fetchTimeoutMs: options.ms, bytes },
      }),
    );
  }, () => undefined);
  return { signal: AbortSignal.any([parent, tripped.signal]), stop: () => stopped.abort() };
}
