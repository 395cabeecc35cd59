/**
 * The always-on recorder behind /metrics, fed by a real Service on the fake
 * Host (scripted children, virtual time) and by a real EventBus; and the
 * families a scrape turns it into.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../supervisor/config/load.ts';
import { EventBus } from '../../supervisor/events.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';
import { renderMetrics } from '../../supervisor/metrics/families.ts';
import { recordMetrics, restartReason, type MetricsRecorder, type MetricsSnapshot } from '../../supervisor/metrics/recorder.ts';
import { Service, type ServiceDeps } from '../../supervisor/service/service.ts';
import type { Operation } from '../../supervisor/update/journal.ts';
import { createFakeHost, flush, type FakeHost } from '../support/fake-host.ts';

function setup(service: Record<string, unknown> = {}, deps: Partial<ServiceDeps> = {}): { host: FakeHost; svc: Service; bus: EventBus; recorder: MetricsRecorder; operations: Map<string, Operation> } {
  const host = createFakeHost();
  const config = parseConfig({ service: { command: ['app'], restart: { backoff: { jitter: 0 } }, ...service } }, '/srv', 'test');
  const logger = createLogger({ level: 'silent', sink: memorySink(), pid: host.pid });
  const svc = new Service({ host, config: config.service, logger, stdout: memorySink(), stderr: memorySink(), ...deps });
  const bus = new EventBus(() => host.clock.now());
  const operations = new Map<string, Operation>();
  const operation = async (id: string): Promise<Operation> => {
    const op = operations.get(id);
    if (op === undefined) throw new Error(`no operation ${id}`);
    return op;
  };
  return { host, svc, bus, recorder: recordMetrics({ service: svc, bus, operation }), operations };
}

function snapshot(svc: Service, recorder: MetricsRecorder, updates?: MetricsSnapshot['updates']): MetricsSnapshot {
  return { version: '9.9.9', rssBytes: 1234, service: svc.status(), recorded: recorder, updates };
}

/** The sample lines of a scrape (no HELP/TYPE). */
const samples = (text: string): string[] => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));

describe('restartReason', () => {
  it('tells update restarts from manual ones by the reasons the update jobs give', () => {
    expect(restartReason({ cause: 'start' })).toBeUndefined();
    expect(restartReason({ cause: 'crash' })).toBe('crash');
    expect(restartReason({ cause: 'health' })).toBe('health');
    expect(restartReason({ cause: 'restart', reason: 'update to 1.1.0' })).toBe('update');
    expect(restartReason({ cause: 'restart', reason: 'rollback to 1.0.0' })).toBe('update');
    expect(restartReason({ cause: 'restart', reason: 'rollback from 2.0.0' })).toBe('update');
    expect(restartReason({ cause: 'restart', reason: 'api' })).toBe('manual');
  });
});

describe('MetricsRecorder', () => {
  it('counts a crash respawn once, as crash, and the first start not at all', async () => {
    const { host, svc, recorder } = setup();
    svc.start();
    expect(recorder.restarts).toEqual({ crash: 0, health: 0, update: 0, manual: 0 });
    host.children[0]!.exit({ kind: 'signaled', signal: 'SIGKILL' });
    await host.advance(0);
    expect(host.children).toHaveLength(2);
    expect(recorder.restarts).toEqual({ crash: 1, health: 0, update: 0, manual: 0 });
    // A crash is not a stop by the supervisor.
    expect(recorder.stops.count).toBe(0);
    expect(samples(renderMetrics(snapshot(svc, recorder)))).toEqual(expect.arrayContaining(['outlast_service_last_exit_code 137', 'outlast_service_last_exit_signal 9']));
  });

  it('counts a respawn after failed readiness as health, with the stop that ended the child', async () => {
    const { host, svc, recorder } = setup({ health: { url: 'http://127.0.0.1:1/health', readyTimeoutMs: 1000 } });
    svc.start();
    // The fake network refuses every probe: readiness fails at its timeout, and the child gets the stop signal.
    await host.advance(1000);
    const first = host.children[0]!;
    expect(host.signals).toContainEqual({ target: 'group', id: first.pid, signal: 'SIGTERM' });
    first.exit({ kind: 'exited', code: 0 });
    await host.advance(0);
    expect(host.children).toHaveLength(2);
    expect(recorder.restarts).toEqual({ crash: 0, health: 1, update: 0, manual: 0 });
    expect(recorder.stops.count).toBe(1);
    expect(recorder.stopsForced).toBe(0);
  });

  it('counts restarts by their reason, and a stop that ran out of budget as forced', async () => {
    const { host, svc, recorder } = setup({ stopTimeoutMs: 500 });
    svc.start();
    const manual = svc.restart('api');
    await host.advance(500);
    // The child ignored SIGTERM: SIGKILL at the budget.
    host.children[0]!.exit({ kind: 'signaled', signal: 'SIGKILL' });
    await expect(manual).resolves.toMatchObject({ ok: true });
    const update = svc.restart('update to 1.1.0');
    await flush();
    host.children[1]!.exit({ kind: 'exited', code: 0 });
    await expect(update).resolves.toMatchObject({ ok: true });
    const rollback = svc.restart('rollback from 1.1.0');
    await flush();
    host.children[2]!.exit({ kind: 'exited', code: 0 });
    await expect(rollback).resolves.toMatchObject({ ok: true });
    expect(recorder.restarts).toEqual({ crash: 0, health: 0, update: 2, manual: 1 });
    expect(recorder.stops.count).toBe(3);
    expect(recorder.stops.sum).toBeCloseTo(0.5);
    expect(recorder.stopsForced).toBe(1);
    expect(svc.status().restarts).toBe(3);
  });

  it('counts a handoff restart by its reason, and the drain of the old child as a stop', async () => {
    const { host, svc, recorder } = setup({}, { listeners: { fds: [3], names: ['http'], close: () => undefined, activate: () => Promise.resolve() } });
    svc.start();
    const old = host.children[0]!;
    const restarted = svc.restart('update to 1.1.0');
    await flush();
    // The new child is ready beside the old one, which then gets the stop signal and drains.
    expect(host.children).toHaveLength(2);
    expect(host.signals).toContainEqual({ target: 'group', id: old.pid, signal: 'SIGTERM' });
    old.exit({ kind: 'exited', code: 0 });
    await expect(restarted).resolves.toMatchObject({ ok: true, handoff: true });
    expect(recorder.restarts).toEqual({ crash: 0, health: 0, update: 1, manual: 0 });
    expect(recorder.stops.count).toBe(1);
  });

  it('counts ended operations by result, and adds their phases from the journal', async () => {
    const { svc, bus, recorder, operations } = setup();
    const op = (id: string, state: Operation['state'], phases: Operation['phases']): void => {
      operations.set(id, { id, kind: 'apply', from: '1.0.0', to: '1.1.0', state, phase: 'done', phases, startedAt: '', switched: true });
      bus.emit('update', { id, state: 'applying', phase: 'fetch', from: '1.0.0', to: '1.1.0' });
      bus.emit('update', { id, state, phase: 'done', from: '1.0.0', to: '1.1.0', error: null });
    };
    op('u1', 'committed', [{ name: 'fetch', ms: 40 }, { name: 'restart', ms: 300 }]);
    op('u2', 'rolled-back', [{ name: 'fetch', ms: 2000 }]);
    op('u3', 'failed', [{ name: 'fetch', ms: 10 }]);
    // The journal cannot be read for this one: its result still counts.
    bus.emit('update', { id: 'gone', state: 'failed', phase: 'done', from: null, to: '2.0.0', error: null });
    await flush();
    expect(recorder.updates).toEqual({ committed: 1, rolled_back: 1, failed: 2 });
    expect(recorder.phases.get('fetch')).toMatchObject({ count: 3, sum: 2.05 });
    expect(recorder.phases.get('restart')).toMatchObject({ count: 1, sum: 0.3 });
    const text = samples(renderMetrics(snapshot(svc, recorder, { check: undefined })));
    expect(text).toEqual(
      expect.arrayContaining([
        'outlast_updates_total{result="committed"} 1',
        'outlast_updates_total{result="rolled_back"} 1',
        'outlast_updates_total{result="failed"} 2',
        'outlast_update_duration_seconds_bucket{phase="fetch",le="0.05"} 2',
        'outlast_update_duration_seconds_bucket{phase="fetch",le="+Inf"} 3',
        'outlast_update_duration_seconds_count{phase="restart"} 1',
      ]),
    );
    // No check yet: no availability sample.
    expect(text.some((line) => line.startsWith('outlast_update_available'))).toBe(false);
  });
});

describe('metric families', () => {
  it('reports the state of the scrape: up, uptime, memory, build info, and no exit before one', async () => {
    const { host, svc, recorder } = setup();
    svc.start();
    await host.advance(2500);
    const text = samples(renderMetrics(snapshot(svc, recorder)));
    expect(text).toEqual(expect.arrayContaining(['outlast_service_up 1', 'outlast_service_uptime_seconds 2.5', 'outlast_supervisor_resident_memory_bytes 1234', 'outlast_build_info{version="9.9.9"} 1']));
    expect(text.some((line) => line.startsWith('outlast_service_last_exit'))).toBe(false);
    // Without updates configured there are no update families at all.
    expect(text.some((line) => line.startsWith('outlast_update'))).toBe(false);
  });

  it('reports a child that exited by itself with its code and signal 0, and the last check as available', async () => {
    const { host, svc, recorder } = setup({ restart: { policy: 'never' } });
    svc.start();
    host.children[0]!.exit({ kind: 'exited', code: 3 });
    await flush();
    const check = { current: '1.0.0', latest: '1.1.0', available: true, checkedAt: '' };
    const text = samples(renderMetrics(snapshot(svc, recorder, { check })));
    expect(text).toEqual(expect.arrayContaining(['outlast_service_up 0', 'outlast_service_uptime_seconds 0', 'outlast_service_last_exit_code 3', 'outlast_service_last_exit_signal 0', 'outlast_update_available 1']));
  });
});
