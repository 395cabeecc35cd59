import { describe, expect, it } from 'vitest';
import { backoffDelay, NO_CRASHES, onCrash } from '../../supervisor/service/backoff.ts';
import type { RestartConfig } from '../../supervisor/config/schema.ts';

const policy: RestartConfig = {
  policy: 'always',
  backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
  resetAfterMs: 10_000,
  maxCrashes: 4,
  windowMs: 60_000,
};

describe('backoffDelay', () => {
  it('restarts the first crash at once, then doubles from the initial delay up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, policy.backoff, 0.5))).toEqual([0, 100, 200, 400, 800, 1000, 1000]);
  });

  it('spreads each delay by at most ±jitter', () => {
    const jittery = { ...policy.backoff, jitter: 0.2 };
    expect(backoffDelay(4, jittery, 0)).toBe(320);
    expect(backoffDelay(4, jittery, 0.999999)).toBe(480);
    expect(backoffDelay(4, jittery, 0.5)).toBe(400);
  });

  it('never exceeds the cap even with jitter', () => {
    expect(backoffDelay(10, { ...policy.backoff, jitter: 1 }, 0.99)).toBe(1000);
  });
});

describe('onCrash', () => {
  it('grows the delay with consecutive crashes', () => {
    let history = NO_CRASHES;
    const delays: number[] = [];
    for (const t of [0, 1000, 2000]) {
      const d = onCrash(history, t, 500, policy, 0.5);
      if (d.action !== 'restart') throw new Error('expected a restart');
      delays.push(d.delayMs);
      history = d.history;
    }
    expect(delays).toEqual([0, 100, 200]);
  });

  it('resets the backoff after a stable uptime', () => {
    const history = { consecutive: 5, recent: [] };
    const d = onCrash(history, 100_000, 10_000, policy, 0.5);
    expect(d).toMatchObject({ action: 'restart', delayMs: 0, history: { consecutive: 1 } });
  });

  it('gives up after maxCrashes within the window', () => {
    let history = NO_CRASHES;
    let last;
    for (const t of [0, 10, 20, 30]) {
      last = onCrash(history, t, 5, policy, 0.5);
      history = last.history;
    }
    expect(last).toMatchObject({ action: 'give-up', reason: '4 crashes within 60000 ms (limit 4)' });
  });

  it('forgets crashes older than the window', () => {
    const history = { consecutive: 3, recent: [0, 10, 20] };
    const d = onCrash(history, 70_000, 5, policy, 0.5);
    expect(d.action).toBe('restart');
    expect(d.history.recent).toEqual([70_000]);
  });
});
