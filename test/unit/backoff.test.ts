import { describe, expect, it } from 'vitest';
import { backoffDelay, NO_CRASHES, onCrash } from '../../supervisor/service/backoff.ts';
import type { RestartConfig } from '../../supervisor/config/schema.ts';

const policy: RestartConfig = {
  policy: 'always',
  backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
  stableAfterMs: 1000,
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
    expect(last).toMatchObject({ action: 'give-up', reason: '4 crashes within 60000 ms, each under 1000 ms of uptime (limit 4)' });
  });

  it('forgets crashes older than the window', () => {
    const history = { consecutive: 3, recent: [0, 10, 20] };
    const d = onCrash(history, 70_000, 5, policy, 0.5);
    expect(d.action).toBe('restart');
    expect(d.history.recent).toEqual([70_000]);
  });
});

describe('onCrash after a stable run', () => {
  const defaults: RestartConfig = {
    policy: 'always',
    backoff: { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0 },
    stableAfterMs: 1000,
    resetAfterMs: 30_000,
    maxCrashes: 5,
    windowMs: 60_000,
  };

  it('restarts at once and never gives up on a service killed every 2.5 s', () => {
    let history = NO_CRASHES;
    for (let i = 1; i <= 30; i++) {
      const d = onCrash(history, i * 2500, 2400, defaults, 0.5);
      expect(d).toMatchObject({ action: 'restart', delayMs: 0 });
      history = d.history;
    }
    expect(history.recent).toEqual([]);
  });

  it('backs off fast crashes and gives up after maxCrashes of them', () => {
    let history = NO_CRASHES;
    const delays: number[] = [];
    let last;
    for (const t of [0, 100, 700, 1800, 4000]) {
      last = onCrash(history, t, 50, defaults, 0.5);
      if (last.action === 'restart') delays.push(last.delayMs);
      history = last.history;
    }
    expect(delays).toEqual([0, 500, 1000, 2000]);
    expect(last).toMatchObject({ action: 'give-up', reason: '5 crashes within 60000 ms, each under 1000 ms of uptime (limit 5)' });
  });

  it('treats a run of exactly stableAfterMs as stable and one just under it as fast', () => {
    expect(onCrash(NO_CRASHES, 0, 1000, defaults, 0.5).history.recent).toEqual([]);
    expect(onCrash(NO_CRASHES, 0, 999, defaults, 0.5).history.recent).toEqual([0]);
  });

  it('starts the backoff over after a stable run, but keeps counting earlier fast crashes', () => {
    const history = { consecutive: 4, recent: [0, 10, 20, 30] };
    const stable = onCrash(history, 5000, 4000, defaults, 0.5);
    expect(stable).toMatchObject({ action: 'restart', delayMs: 0, history: { consecutive: 1, recent: [0, 10, 20, 30] } });
    // A service that flaps (fast crashes between short stable runs) still ends errored.
    expect(onCrash(stable.history, 5100, 50, defaults, 0.5)).toMatchObject({ action: 'give-up' });
  });

  it('forgets earlier fast crashes after a run of resetAfterMs', () => {
    const history = { consecutive: 4, recent: [0, 10, 20, 30] };
    const d = onCrash(history, 40_000, 35_000, defaults, 0.5);
    expect(d).toMatchObject({ action: 'restart', delayMs: 0, history: { consecutive: 1, recent: [] } });
    expect(onCrash(d.history, 40_100, 50, defaults, 0.5)).toMatchObject({ action: 'restart', delayMs: 500 });
  });
});

describe('onCrash with stableAfterMs above resetAfterMs', () => {
  it('still starts over after a run of resetAfterMs, counting the crash as the first fast one', () => {
    const odd: RestartConfig = { ...policy, stableAfterMs: 20_000, resetAfterMs: 5000 };
    const d = onCrash({ consecutive: 3, recent: [0, 10, 20] }, 100, 6000, odd, 0.5);
    expect(d).toMatchObject({ action: 'restart', delayMs: 0, history: { consecutive: 1, recent: [100] } });
  });
});
