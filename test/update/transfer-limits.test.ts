/**
 * The download limits on virtual time: the rate floor over a sliding window
 * (never before the first window), and the overall deadline.
 */
import { describe, expect, it } from 'vitest';
import { OutlastError } from '../../supervisor/errors.ts';
import { fetchDeadline, rateFloor } from '../../supervisor/update/sources/transfer-limits.ts';
import { createFakeHost } from '../support/fake-host.ts';

function reason(signal: AbortSignal): OutlastError {
  expect(signal.aborted).toBe(true);
  expect(signal.reason).toBeInstanceOf(OutlastError);
  return signal.reason as OutlastError;
}

/** Feeds `bytesPerSecond` for `seconds`, one record a second, as a download would. */
async function feed(host: ReturnType<typeof createFakeHost>, floor: { record(total: number): void }, start: number, bytesPerSecond: number, seconds: number): Promise<number> {
  let total = start;
  for (let s = 0; s < seconds; s++) {
    await host.advance(1000);
    total += bytesPerSecond;
    floor.record(total);
  }
  return total;
}

describe('rateFloor', () => {
  it('never trips within the first window, even with nothing received', async () => {
    const host = createFakeHost();
    const floor = rateFloor(host.clock, new AbortController().signal, { minBytesPerSecond: 1024, windowMs: 30_000, what: 'download of x' });
    await host.advance(29_000);
    expect(floor.signal.aborted).toBe(false);
    floor.stop();
  });

  it('trips with TIMEOUT once a window passes below the floor, naming the rule and the numbers', async () => {
    const host = createFakeHost();
    const floor = rateFloor(host.clock, new AbortController().signal, { minBytesPerSecond: 1024, windowMs: 30_000, what: 'download of http://x/a.tgz' });
    await feed(host, floor, 0, 1, 33);
    const err = reason(floor.signal);
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toMatch(/^download of http:\/\/x\/a\.tgz is too slow: \d\d bytes in the last 3\d\.\d s \([01]\.\d bytes\/s\), below updates\.minBytesPerSecond 1024$/);
    expect(err.details).toMatchObject({ rule: 'minBytesPerSecond', minBytesPerSecond: 1024, windowMs: 30_000 });
    floor.stop();
  });

  it('keeps a steady download above the floor going for many windows', async () => {
    const host = createFakeHost();
    const floor = rateFloor(host.clock, new AbortController().signal, { minBytesPerSecond: 1024, windowMs: 30_000, what: 'download' });
    await feed(host, floor, 0, 1100, 300);
    expect(floor.signal.aborted).toBe(false);
    floor.stop();
  });

  it('slides: a fast start does not pay for a stall later', async () => {
    const host = createFakeHost();
    const floor = rateFloor(host.clock, new AbortController().signal, { minBytesPerSecond: 1024, windowMs: 30_000, what: 'download' });
    // 10 MiB in the first 10 s: the average since the start stays far above
    // 1 KiB/s for minutes, but the last 30 s hold almost nothing.
    const total = await feed(host, floor, 0, 1024 * 1024, 10);
    await feed(host, floor, total, 10, 30);
    expect(floor.signal.aborted).toBe(false);
    await feed(host, floor, total + 300, 10, 5);
    expect(reason(floor.signal).code).toBe('TIMEOUT');
    floor.stop();
  });

  it('is off at 0, and stops watching once stopped', async () => {
    const host = createFakeHost();
    const off = rateFloor(host.clock, new AbortController().signal, { minBytesPerSecond: 0, windowMs: 30_000, what: 'download' });
    const stopped = rateFloor(host.clock, new AbortController().signal, { minBytesPerSecond: 1024, windowMs: 30_000, what: 'download' });
    stopped.stop();
    await host.advance(120_000);
    expect([off.signal.aborted, stopped.signal.aborted]).toEqual([false, false]);
    off.stop();
  });

  it('aborts with the parent', () => {
    const host = createFakeHost();
    const parent = new AbortController();
    const floor = rateFloor(host.clock, parent.signal, { minBytesPerSecond: 1024, windowMs: 30_000, what: 'download' });
    parent.abort(new Error('stop'));
    expect((floor.signal.reason as Error).message).toBe('stop');
    floor.stop();
  });
});

describe('fetchDeadline', () => {
  it('trips with TIMEOUT at the deadline, naming the rule, the limit and the bytes received', async () => {
    const host = createFakeHost();
    let received = 0;
    const deadline = fetchDeadline(host.clock, new AbortController().signal, { ms: 600_000, what: 'download of http://x/a.tgz', received: () => received });
    received = 12_345;
    await host.advance(599_999);
    expect(deadline.signal.aborted).toBe(false);
    await host.advance(1);
    const err = reason(deadline.signal);
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toBe('download of http://x/a.tgz did not finish within updates.fetchTimeoutMs (600000 ms); 12345 bytes received');
    expect(err.details).toEqual({ rule: 'fetchTimeoutMs', fetchTimeoutMs: 600_000, bytes: 12_345 });
  });

  it('does not trip once stopped', async () => {
    const host = createFakeHost();
    const deadline = fetchDeadline(host.clock, new AbortController().signal, { ms: 1000, what: 'download', received: () => 0 });
    deadline.stop();
    await host.advance(5000);
    expect(deadline.signal.aborted).toBe(false);
  });
});
