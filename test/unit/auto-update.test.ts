/**
 * `updates.auto` against the fake Host: a real Updater and Service over a
 * scripted source, an in-memory state dir, and virtual time set to the
 * dates under test, so a six-hour schedule and a night's window run in no
 * real time. What is checked: when checks happen (jitter within its
 * bounds), that an apply starts only inside the window and through the
 * Updater's own rules, and what is reported.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../supervisor/config/load.ts';
import { EventBus } from '../../supervisor/events.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';
import { Service } from '../../supervisor/service/service.ts';
import { AutoUpdater, type AutoCheck } from '../../supervisor/update/auto.ts';
import type { Operation } from '../../supervisor/update/journal.ts';
import { UpdateLock } from '../../supervisor/update/lock.ts';
import { rolloutBucket } from '../../supervisor/update/rollout.ts';
import { Updater } from '../../supervisor/update/updater.ts';
import { createFakeHost, flush, politeChildren, type FakeHost } from '../support/fake-host.ts';

const STATE = '/state';
const HOUR = 3_600_000;

interface Setup {
  host: FakeHost;
  auto: AutoUpdater;
  updater: Updater;
  /** What the source offers; the test may add to it. */
  offered: string[];
  /** While true, listing the source fails as an unreachable feed does. */
  source: { down: boolean };
  /** Staged rollouts of offered versions (device id "dev-a"); the test may change them. */
  rollouts: Record<string, { percent: number; salt: string }>;
  /** Every `update_check` event, in order. */
  checks: AutoCheck[];
  bus: EventBus;
  /** The options of every sleep the scheduler asked for. */
  sleeps: Array<{ ms: number; ref: boolean | undefined }>;
}

interface Options {
  auto: Record<string, unknown>;
  /** The wall-clock time to start at. */
  start: string;
  /** What host.random() answers, in turn (the last one repeats). */
  random?: number[];
  busy?: Record<string, unknown>;
}

/** A supervisor's update parts at `start`, 1.0.0 installed and running, the scheduler not yet started. */
async function setup(options: Options): Promise<Setup> {
  const host = politeChildren(createFakeHost());
  await host.advance(Date.parse(options.start) - host.clock.now());
  const randoms = [...(options.random ?? [0])];
  host.random = () => (randoms.length > 1 ? randoms.shift()! : randoms[0]!);
  // The scheduler's own view of the clock, so its sleeps can be told from the service's.
  const sleeps: Setup['sleeps'] = [];
  const autoHost = {
    random: () => host.random(),
    clock: { now: () => host.clock.now(), monotonic: () => host.clock.monotonic(), sleep: (ms: number, signal?: AbortSignal, opts?: { ref?: boolean }) => (sleeps.push({ ms, ref: opts?.ref }), host.clock.sleep(ms, signal, opts)) },
  };
  const config = parseConfig(
    {
      stateDir: STATE,
      service: { command: ['app'], ...(options.busy === undefined ? {} : { busy: options.busy }) },
      updates: { source: { type: 'dir', path: '/feed' }, initialVersion: '1.0.0', deviceId: 'dev-a', healthGate: { timeoutMs: '1s', stableForMs: '500ms' }, auto: options.auto },
    },
    '/srv',
    'test',
  );
  const logger = createLogger({ level: 'silent', sink: memorySink(), pid: host.pid });
  const placement: { updater?: Updater } = {};
  const service = new Service({ host, config: config.service, logger, stdout: memorySink(), stderr: memorySink(), spawnContext: () => placement.updater?.spawnContext() ?? {} });
  const offered = ['1.0.0', '1.1.0'];
  const source = { down: false };
  const rollouts: Setup['rollouts'] = {};
  const events = new EventBus(() => host.clock.now());
  const checks: AutoCheck[] = [];
  events.subscribe((event) => {
    if (event.type === 'update_check') checks.push(event.data);
  });
  const updater = new Updater({
    host,
    stateDir: STATE,
    config: config.updates!,
    busy: config.service.busy,
    source: { kind: 'dir', list: () => (source.down ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:80')) : Promise.resolve(offered.map((version) => ({ version, ...(rollouts[version] === undefined ? {} : { rollout: rollouts[version] }) })))), fetch: (entry, dest) => host.fs.writeFileAtomic(`${dest}/VERSION`, entry.version) },
    service,
    logger,
    events,
    lock: new UpdateLock(host, STATE, () => undefined),
    env: {},
    selfRestart: undefined,
  });
  placement.updater = updater;
  await updater.recover();
  await updater.prepareRelease();
  service.start();
  await flush();
  const auto = new AutoUpdater({ host: autoHost, config: config.updates!.auto!, updater, events, logger });
  return { host, auto, updater, offered, source, rollouts, checks, sleeps, bus: events };
}

function journal(host: FakeHost): Operation[] {
  return (JSON.parse(host.files.get(`${STATE}/journal.json`)!.data) as { operations: Operation[] }).operations;
}

/** The applies after the first install (which is journaled as an apply from nothing). */
const applies = (host: FakeHost): Operation[] => journal(host).filter((op) => op.kind === 'apply' && op.from !== null);

/** Advances virtual time to `iso`. */
async function until(s: Setup, iso: string): Promise<void> {
  await s.host.advance(Date.parse(iso) - s.host.clock.now());
}

const NIGHTLY = { checkEvery: '6h', jitter: '30m', apply: true, window: '02:00-05:00', timezone: 'UTC' };

describe('updates.auto', () => {
  it('passes over a version whose rollout this device is not in, and applies it once the percent takes the device in', async () => {
    const s = await setup({ auto: { checkEvery: '1h', jitter: 0, apply: true }, start: '2025-06-02T02:10:00Z' });
    const bucket = rolloutBucket('wave', 'dev-a');
    s.rollouts['1.1.0'] = { percent: bucket, salt: 'wave' };
    s.auto.start();
    await s.host.advance(0);
    expect(s.checks[0]).toMatchObject({ outcome: 'up-to-date', current: '1.0.0', latest: '1.0.0', available: false, rollout: { version: '1.1.0', percent: bucket, bucket, included: false } });
    expect(applies(s.host)).toEqual([]);
    s.rollouts['1.1.0'] = { percent: bucket + 1, salt: 'wave' };
    await s.host.advance(HOUR);
    expect(s.checks[1]).toMatchObject({ outcome: 'applying', latest: '1.1.0', rollout: { included: true } });
    await s.host.advance(1000);
    expect(applies(s.host)).toEqual([expect.objectContaining({ from: '1.0.0', to: '1.1.0', state: 'committed' })]);
    s.auto.stop();
  });

  it('applies inside the window: the check finds 1.1.0, the apply commits, and the report says so', async () => {
    const s = await setup({ auto: NIGHTLY, start: '2025-06-02T02:10:00Z' });
    s.auto.start();
    await s.host.advance(0);
    expect(s.checks).toHaveLength(1);
    expect(s.checks[0]).toMatchObject({ checkedAt: '2025-06-02T02:10:00.000Z', outcome: 'applying', current: '1.0.0', latest: '1.1.0', operation: { from: '1.0.0', to: '1.1.0' } });
    await s.host.advance(1000);
    expect(applies(s.host)).toEqual([expect.objectContaining({ from: '1.0.0', to: '1.1.0', state: 'committed' })]);
    expect(s.updater.currentVersion).toBe('1.1.0');
    expect(s.auto.status()).toEqual({ apply: true, window: '02:00-05:00', timezone: 'UTC', lastCheck: s.checks[0], nextCheckAt: '2025-06-02T08:10:00.000Z' });
    // The next check finds nothing newer.
    await until(s, '2025-06-02T08:10:00Z');
    expect(s.checks.at(-1)).toMatchObject({ outcome: 'up-to-date', current: '1.1.0', latest: '1.1.0', available: false });
    expect(applies(s.host)).toHaveLength(1);
    s.auto.stop();
    await s.auto.stopped;
  });

  it('outside the window it only reports, and applies at the next check inside it', async () => {
    const s = await setup({ auto: NIGHTLY, start: '2025-06-02T12:00:00Z' });
    s.auto.start();
    await s.host.advance(0);
    expect(s.checks[0]).toMatchObject({ outcome: 'outside-window', latest: '1.1.0', nextCheckAt: '2025-06-02T18:00:00.000Z' });
    await until(s, '2025-06-03T01:59:59Z');
    // 18:00 and 00:00 still outside; the one after is set for the opening, before the regular 06:00.
    expect(s.checks.map((c) => [c.outcome, c.nextCheckAt])).toEqual([
      ['outside-window', '2025-06-02T18:00:00.000Z'],
      ['outside-window', '2025-06-03T00:00:00.000Z'],
      ['outside-window', '2025-06-03T02:00:00.000Z'],
    ]);
    expect(applies(s.host)).toEqual([]);
    await s.host.advance(1000);
    expect(s.checks.at(-1)).toMatchObject({ checkedAt: '2025-06-03T02:00:00.000Z', outcome: 'applying', operation: { to: '1.1.0' } });
    await s.host.advance(1000);
    expect(applies(s.host)).toEqual([expect.objectContaining({ to: '1.1.0', state: 'committed' })]);
    s.auto.stop();
  });

  it('with apply off, checks and reports, and never applies', async () => {
    const s = await setup({ auto: { ...NIGHTLY, apply: false }, start: '2025-06-02T03:00:00Z' });
    s.auto.start();
    await until(s, '2025-06-03T03:00:00Z');
    expect(s.checks.length).toBeGreaterThanOrEqual(4);
    expect(new Set(s.checks.map((c) => c.outcome))).toEqual(new Set(['available']));
    expect(s.checks[0]).toMatchObject({ current: '1.0.0', latest: '1.1.0', available: true });
    expect(applies(s.host)).toEqual([]);
    expect(s.auto.status()).toMatchObject({ apply: false, lastCheck: { outcome: 'available' }, nextCheckAt: s.checks.at(-1)!.nextCheckAt });
    s.auto.stop();
  });

  it('waits checkEvery plus a random part of jitter: never sooner, never later', async () => {
    // host.random() in turn: the first wait, then each regular wait.
    const s = await setup({ auto: { checkEvery: '1h', jitter: '10m', timezone: 'UTC' }, start: '2025-06-02T12:00:00Z', random: [0.5, 0, 0.999, 0.25] });
    const startedAt = s.host.clock.now();
    s.auto.start();
    const at = (n: number): number => Date.parse(s.checks[n]!.checkedAt);
    // The first check: within the jitter, here half of it.
    await s.host.advance(5 * 60_000 - 1);
    expect(s.checks).toHaveLength(0);
    await s.host.advance(1);
    expect(at(0) - startedAt).toBe(5 * 60_000);
    // Then 1 h + 0 × 10 m, 1 h + 0.999 × 10 m, 1 h + 0.25 × 10 m.
    await s.host.advance(3 * HOUR + 30 * 60_000);
    expect([at(1) - at(0), at(2) - at(1), at(3) - at(2)]).toEqual([HOUR, HOUR + 599_400, HOUR + 150_000]);
    for (let n = 1; n < s.checks.length; n++) {
      expect(at(n) - at(n - 1)).toBeGreaterThanOrEqual(HOUR);
      expect(at(n) - at(n - 1)).toBeLessThanOrEqual(HOUR + 10 * 60_000);
    }
    // No window: any time of day; apply is off by default.
    expect(s.checks[0]).toMatchObject({ outcome: 'available' });
    s.auto.stop();
  });

  it('a window that wraps midnight: 21:00 is outside, 22:00 applies; 03:00 is inside', async () => {
    const night = { ...NIGHTLY, window: '22:00-04:00' };
    const evening = await setup({ auto: night, start: '2025-06-02T21:00:00Z' });
    evening.auto.start();
    await evening.host.advance(0);
    expect(evening.checks[0]).toMatchObject({ outcome: 'outside-window', nextCheckAt: '2025-06-02T22:00:00.000Z' });
    await until(evening, '2025-06-02T22:00:00Z');
    expect(evening.checks.at(-1)).toMatchObject({ checkedAt: '2025-06-02T22:00:00.000Z', outcome: 'applying' });
    evening.auto.stop();

    const early = await setup({ auto: night, start: '2025-06-03T03:00:00Z' });
    early.auto.start();
    await early.host.advance(0);
    expect(early.checks[0]).toMatchObject({ outcome: 'applying' });
    early.auto.stop();
  });

  it('on the night Berlin springs forward, a 02:00-05:00 window opens at 03:00 CEST (01:00 UTC)', async () => {
    // Sunday 30 March 2025, 00:30 CET.
    const s = await setup({ auto: { ...NIGHTLY, timezone: 'Europe/Berlin' }, start: '2025-03-29T23:30:00Z' });
    s.auto.start();
    await s.host.advance(0);
    expect(s.checks[0]).toMatchObject({ outcome: 'outside-window', nextCheckAt: '2025-03-30T01:00:00.000Z' });
    await until(s, '2025-03-30T01:00:00Z');
    expect(s.checks.at(-1)).toMatchObject({ checkedAt: '2025-03-30T01:00:00.000Z', outcome: 'applying' });
    s.auto.stop();
  });

  it('on the night Berlin falls back, the repeated hour is inside a 02:00-03:00 window', async () => {
    // Sunday 26 October 2025, 02:30 CET: the second pass through 02:00-03:00 (01:30 UTC).
    const s = await setup({ auto: { ...NIGHTLY, window: '02:00-03:00', timezone: 'Europe/Berlin' }, start: '2025-10-26T01:30:00Z' });
    s.auto.start();
    await s.host.advance(0);
    expect(s.checks[0]).toMatchObject({ outcome: 'applying' });
    s.auto.stop();
  });

  it('never retries a version marked bad, and applies a newer one when it comes', async () => {
    const s = await setup({ auto: { ...NIGHTLY, window: undefined, checkEvery: '1h', jitter: 0 }, start: '2025-06-02T12:00:00Z' });
    s.host.files.set(`${STATE}/bad-versions.json`, { data: JSON.stringify({ '1.1.0': 'health gate failed' }), mode: 0o644 });
    s.auto.start();
    await s.host.advance(3 * HOUR);
    expect(s.checks).toHaveLength(4);
    for (const check of s.checks) expect(check).toMatchObject({ outcome: 'up-to-date', available: false, latest: '1.0.0', markedBad: { version: '1.1.0', reason: 'health gate failed' } });
    expect(applies(s.host)).toEqual([]);
    s.offered.push('1.2.0');
    await s.host.advance(HOUR);
    expect(s.checks.at(-1)).toMatchObject({ outcome: 'applying', latest: '1.2.0', operation: { to: '1.2.0' } });
    s.auto.stop();
  });

  it('a service that stays busy defers the apply to the next check; nothing is forced', async () => {
    let busy = 2;
    const s = await setup({ auto: { checkEvery: '1h', jitter: 0, apply: true, timezone: 'UTC' }, start: '2025-06-02T12:00:00Z', busy: { url: 'http://127.0.0.1:9/busy', maxWaitMs: '2s', pollMs: '500ms' } });
    s.host.net.httpRequest = () => Promise.resolve({ status: 200, body: JSON.stringify({ busy }) });
    s.auto.start();
    await s.host.advance(3000);
    // The wait runs from the end of the check: the busy gate held it for its 2 s.
    expect(s.checks[0]).toMatchObject({ outcome: 'deferred', error: { code: 'RESTART_BLOCKED' }, nextCheckAt: '2025-06-02T13:00:02.000Z' });
    expect(applies(s.host)).toEqual([expect.objectContaining({ state: 'failed', error: expect.objectContaining({ code: 'RESTART_BLOCKED' }) as unknown })]);
    busy = 0;
    await until(s, '2025-06-02T13:00:02Z');
    expect(s.checks.at(-1)).toMatchObject({ outcome: 'applying', operation: { to: '1.1.0' } });
    s.auto.stop();
  });

  it('an update already holding the lock defers the scheduled apply', async () => {
    const s = await setup({ auto: { checkEvery: '1h', jitter: 0, apply: true }, start: '2025-06-02T12:00:00Z' });
    // A request's apply, still being judged by its gate.
    const request = await s.updater.apply({ version: '1.1.0' });
    s.auto.start();
    await flush();
    expect(s.checks[0]).toMatchObject({ outcome: 'deferred', error: { code: 'UPDATE_IN_PROGRESS' } });
    await s.host.advance(HOUR);
    expect(applies(s.host)).toEqual([expect.objectContaining({ id: (request as { id: string }).id, state: 'committed' })]);
    expect(s.checks.at(-1)).toMatchObject({ outcome: 'up-to-date', current: '1.1.0' });
    s.auto.stop();
  });

  it('a source that cannot be read is reported, and the schedule goes on', async () => {
    const s = await setup({ auto: { checkEvery: '1h', jitter: 0, apply: true }, start: '2025-06-02T12:00:00Z' });
    s.source.down = true;
    s.auto.start();
    await flush();
    expect(s.checks[0]).toMatchObject({ outcome: 'failed', error: { code: 'SOURCE_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') as string }, current: null, nextCheckAt: '2025-06-02T13:00:00.000Z' });
    s.source.down = false;
    await s.host.advance(HOUR);
    expect(s.checks.at(-1)).toMatchObject({ outcome: 'applying' });
    s.auto.stop();
  });

  it('an apply under way when the window closes finishes', async () => {
    // The check at 04:59:59.8 starts the apply; its gate (500 ms stable) ends after 05:00.
    const s = await setup({ auto: NIGHTLY, start: '2025-06-02T04:59:59.800Z' });
    s.auto.start();
    await s.host.advance(0);
    expect(s.checks[0]).toMatchObject({ outcome: 'applying' });
    await until(s, '2025-06-02T05:00:01Z');
    expect(applies(s.host)).toEqual([expect.objectContaining({ to: '1.1.0', state: 'committed' })]);
    expect(Date.parse(applies(s.host)[0]!.endedAt!)).toBeGreaterThan(Date.parse('2025-06-02T05:00:00Z'));
    s.auto.stop();
  });

  it('stops when the supervisor begins to stop: no apply during the drain', async () => {
    const s = await setup({ auto: { ...NIGHTLY, window: undefined, checkEvery: '1h', jitter: '10m' }, start: '2025-06-02T12:00:00Z', random: [0.5] });
    s.auto.start();
    s.bus.emit('service_shutdown', { drainMs: 10_000, reason: 'received SIGTERM', planned: false, signal: 'SIGTERM' });
    await s.auto.stopped;
    await s.host.advance(2 * HOUR);
    expect(s.checks).toEqual([]);
    expect(applies(s.host)).toEqual([]);
  });

  it('sleeps with timers that never hold the process open, in slices, and stops at once', async () => {
    const s = await setup({ auto: { checkEvery: '6h', jitter: 0 }, start: '2025-06-02T12:00:00Z' });
    s.auto.start();
    await s.host.advance(HOUR);
    expect(s.sleeps.length).toBeGreaterThan(0);
    for (const sleep of s.sleeps) {
      expect(sleep.ref).toBe(false);
      expect(sleep.ms).toBeLessThanOrEqual(10 * 60_000);
    }
    s.auto.stop();
    await s.auto.stopped;
    expect(s.auto.status().nextCheckAt).toBeNull();
    await s.host.advance(12 * HOUR);
    expect(s.checks).toHaveLength(1);
  });
});

describe('updates.auto in the config', () => {
  const parse = (auto: unknown): unknown => parseConfig({ service: { command: ['a'] }, updates: { source: { type: 'dir', path: '/feed' }, auto } }, '/srv', 'test').updates?.auto;
  const problems = (auto: unknown): string[] => {
    try {
      parse(auto);
    } catch (err) {
      return (err as { details: { problems: string[] } }).details.problems;
    }
    throw new Error('expected CONFIG_INVALID');
  };

  it('defaults to a check every 6 h with up to 30 min of jitter, reporting only, at any time, on local time', () => {
    expect(parse({})).toEqual({ checkEvery: 6 * HOUR, jitter: 30 * 60_000, apply: false, timezone: 'local' });
    expect(parse({ checkEvery: '1h30m', jitter: '0s', apply: true, window: '22:00-04:00', timezone: 'Europe/Berlin' })).toEqual({ checkEvery: 1.5 * HOUR, jitter: 0, apply: true, window: '22:00-04:00', timezone: 'Europe/Berlin' });
  });

  it('names the key and the value of anything wrong', () => {
    expect(problems({ window: '2am-5am' })).toEqual(['"updates.auto.window" must be "HH:MM-HH:MM" on a 24-hour clock, such as "02:00-05:00" or "22:00-04:00" (got "2am-5am")']);
    expect(problems({ window: '02:00-25:00' })).toEqual(['"updates.auto.window" has 25:00, which is no time of day (hours 00-23, minutes 00-59; "24:00" only as the end) (got "02:00-25:00")']);
    expect(problems({ timezone: 'Mars/Olympus_Mons' })).toEqual(['"updates.auto.timezone" must be "local", "UTC" or an IANA time zone such as "Europe/Berlin" (got "Mars/Olympus_Mons")']);
    expect(problems({ checkEvery: '5 parsecs' })).toEqual(['"updates.auto.checkEvery" must be a duration such as 500, "30s" or "5m" (got "5 parsecs")']);
    expect(problems({ checkEvery: '10ms' })).toEqual(['"updates.auto.checkEvery" must be at least 1000 ms (got "10ms")']);
    expect(problems({ apply: 'yes' })).toEqual(['"updates.auto.apply" expected boolean, received string (got "yes")']);
  });
});
