// sd_notify through a recording runner: the messages, their order, the
// watchdog interval, and failures that are logged but never thrown.
import { describe, expect, it } from 'vitest';
import type { CommandOutcome, CommandRunner } from '../../platform/index.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';
import { attachNotifier, type NotifiedService } from '../../supervisor/notify/attach.ts';
import { createNotifier, watchdogInterval } from '../../supervisor/notify/sd-notify.ts';
import type { ServiceEvent, ServiceState } from '../../supervisor/service/service.ts';
import { createFakeHost, flush } from '../support/fake-host.ts';

const ENV = { NOTIFY_SOCKET: '/run/user/1000/systemd/notify' };
const OK: CommandOutcome = { kind: 'exited', exitCode: 0, stdout: '', stderr: '' };

function recorder(answer: (args: readonly string[]) => CommandOutcome | Promise<CommandOutcome> = () => OK): CommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return Object.assign(
    async (args: readonly string[], _timeoutMs: number) => {
      calls.push([...args]);
      return answer(args);
    },
    { calls },
  );
}

function logs(): { logger: ReturnType<typeof createLogger>; lines: () => Array<{ level: number; msg: string }> } {
  const sink = memorySink();
  const logger = createLogger({ level: 'debug', sink, pid: 42 });
  const lines = (): Array<{ level: number; msg: string }> =>
    sink.text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string });
  return { logger, lines };
}

describe('watchdogInterval', () => {
  it('is half of WATCHDOG_USEC, in ms', () => {
    expect(watchdogInterval({ WATCHDOG_USEC: '20000000' }, 42)).toBe(10_000);
  });

  it('honours WATCHDOG_PID: only the process it names pings', () => {
    expect(watchdogInterval({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '42' }, 42)).toBe(10_000);
    expect(watchdogInterval({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '41' }, 42)).toBeUndefined();
  });

  it('is undefined without a watchdog, or with a malformed one', () => {
    expect(watchdogInterval({}, 42)).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: '0' }, 42)).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: '20s' }, 42)).toBeUndefined();
  });
});

describe('createNotifier', () => {
  it('does nothing without NOTIFY_SOCKET', async () => {
    const run = recorder();
    const notifier = createNotifier(run, {}, logs().logger, { pid: 42 });
    await notifier.ready('ready');
    await notifier.watchdog();
    expect(notifier.enabled).toBe(false);
    expect(run.calls).toEqual([]);
  });

  it('sends READY=1, STATUS=, STOPPING=1 and WATCHDOG=1 through systemd-notify, in call order', async () => {
    let release!: () => void;
    const slowFirst = new Promise<void>((r) => (release = r));
    const run = recorder(async (args) => {
      if (args[0] === 'STATUS=starting') await slowFirst;
      return OK;
    });
    const notifier = createNotifier(run, { ...ENV, WATCHDOG_USEC: '4000000' }, logs().logger, { pid: 42 });
    expect(notifier.watchdogIntervalMs).toBe(2000);
    const sent = [notifier.status('starting'), notifier.ready('ready: service pid 7'), notifier.watchdog(), notifier.stopping('stopping\nnow')];
    await flush();
    // The first message is still on its way: nothing overtakes it.
    expect(run.calls).toEqual([['STATUS=starting']]);
    release();
    await Promise.all(sent);
    expect(run.calls).toEqual([['STATUS=starting'], ['READY=1', 'STATUS=ready: service pid 7'], ['WATCHDOG=1'], ['STOPPING=1', 'STATUS=stopping now']]);
  });

  it('queues at most one STATUS= behind a slow one, with the newest text, and never moves one past READY=1', async () => {
    let release!: () => void;
    const slowFirst = new Promise<void>((r) => (release = r));
    const run = recorder(async (args) => {
      if (args[0] === 'STATUS=first') await slowFirst;
      return OK;
    });
    const notifier = createNotifier(run, ENV, logs().logger, { pid: 42 });
    const sent = [notifier.status('first')];
    await flush();
    // A crash loop: far more changes than systemd-notify runs.
    for (let i = 1; i <= 1000; i++) sent.push(notifier.status(`restart ${i}`));
    sent.push(notifier.ready('ready'), notifier.status('after ready'), notifier.status('newest'));
    release();
    await Promise.all(sent);
    expect(run.calls).toEqual([['STATUS=first'], ['STATUS=restart 1000'], ['READY=1', 'STATUS=ready'], ['STATUS=newest']]);
  });

  it('skips a watchdog ping while the previous one is still on its way', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    const run = recorder(async () => {
      await stuck;
      return OK;
    });
    const notifier = createNotifier(run, ENV, logs().logger, { pid: 42 });
    const first = notifier.watchdog();
    await notifier.watchdog();
    release();
    await first;
    expect(run.calls).toEqual([['WATCHDOG=1']]);
  });

  it('logs a failure once per kind of message, never throws, and keeps going', async () => {
    const { logger, lines } = logs();
    const outcomes: CommandOutcome[] = [
      { kind: 'timed-out' },
      { kind: 'failed', errno: 'ENOENT', message: 'spawn systemd-notify ENOENT' },
      { kind: 'exited', exitCode: 1, stdout: '', stderr: 'No status data could be sent' },
      OK,
    ];
    const run = recorder(() => outcomes.shift() ?? OK);
    const notifier = createNotifier(run, ENV, logger, { pid: 42, timeoutMs: 50 });
    await expect(notifier.watchdog()).resolves.toBeUndefined();
    await notifier.watchdog();
    await notifier.ready();
    await notifier.ready();
    const warnings = lines().filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings).toEqual([
      'sd_notify WATCHDOG failed: systemd-notify did not finish within 50 ms',
      'sd_notify READY failed: systemd-notify exited with 1: No status data could be sent',
    ]);
    expect(lines().filter((l) => l.level === 20).map((l) => l.msg)).toEqual(['sd_notify failed again']);
    expect(run.calls).toHaveLength(4);
  });
});

/** A service whose events and state the test drives. */
function fakeService(): NotifiedService & { emit(type: ServiceEvent['type'], fields?: Record<string, unknown>): void; state: ServiceState } {
  const listeners = new Set<(event: ServiceEvent) => void>();
  const service = {
    state: 'starting' as ServiceState,
    onEvent(listener: (event: ServiceEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    status: () => ({ state: service.state }),
    emit(type: ServiceEvent['type'], fields: Record<string, unknown> = {}) {
      if (type === 'ready') service.state = 'ready';
      if (type === 'backoff' || type === 'exited') service.state = 'backoff';
      for (const listener of listeners) listener({ type, at: 0, ...fields } as ServiceEvent);
    },
  };
  return service;
}

describe('attachNotifier', () => {
  it('sends READY=1 once, when the service is first healthy, and STATUS= on later changes', async () => {
    const host = createFakeHost();
    const run = recorder();
    const service = fakeService();
    attachNotifier(service, createNotifier(run, ENV, logs().logger, { pid: 42 }), logs().logger, host.clock);
    // One event at a time, each sent before the next (a STATUS= still waiting would take the newer text).
    const events: Array<[ServiceEvent['type'], Record<string, unknown>]> = [
      ['spawned', { pid: 7 }],
      ['ready', { pid: 7, ms: 120 }],
      ['exited', { pid: 7, description: 'exited with code 1' }],
      ['backoff', { delayMs: 500 }],
      ['spawned', { pid: 8 }],
      ['ready', { pid: 8 }],
      ['stopping', { reason: 'received SIGTERM' }],
      ['stopped', { reason: 'received SIGTERM' }],
    ];
    for (const [type, fields] of events) {
      service.emit(type, fields);
      await flush();
    }
    expect(run.calls).toEqual([
      ['STATUS=starting: service pid 7'],
      ['READY=1', 'STATUS=ready: service pid 7'],
      ['STATUS=service exited with code 1'],
      ['STATUS=restarting the service in 500 ms'],
      ['STATUS=starting: service pid 8'],
      ['STATUS=ready: service pid 8'],
      ['STOPPING=1', 'STATUS=stopping: received SIGTERM'],
    ]);
  });

  it('pings WATCHDOG=1 at half of WATCHDOG_USEC while the service is ready, and stops on stop', async () => {
    const host = createFakeHost();
    const run = recorder();
    const service = fakeService();
    attachNotifier(service, createNotifier(run, { ...ENV, WATCHDOG_USEC: '10000000' }, logs().logger, { pid: 42 }), logs().logger, host.clock);
    const pings = (): number => run.calls.filter((c) => c[0] === 'WATCHDOG=1').length;
    service.emit('ready', { pid: 7 });
    await host.advance(4999);
    expect(pings()).toBe(0);
    await host.advance(1);
    expect(pings()).toBe(1);
    await host.advance(10_000);
    expect(pings()).toBe(3);
    // Down: no pings, so systemd's watchdog would step in if the repair takes too long.
    service.emit('exited', { pid: 7, description: 'was killed by SIGKILL' });
    await host.advance(20_000);
    expect(pings()).toBe(3);
    service.emit('ready', { pid: 8 });
    await host.advance(5000);
    expect(pings()).toBe(4);
    service.emit('stopped');
    await host.advance(20_000);
    expect(pings()).toBe(4);
  });

  it('does nothing when no manager listens', async () => {
    const host = createFakeHost();
    const run = recorder();
    const service = fakeService();
    attachNotifier(service, createNotifier(run, {}, logs().logger, { pid: 42 }), logs().logger, host.clock);
    service.emit('ready', { pid: 7 });
    await host.advance(60_000);
    expect(run.calls).toEqual([]);
  });
});
