/**
 * The shutdown snapshot and the planned-stop marker against the fake Host's
 * /proc, and the snapshot's cost against the real /proc (printed, not
 * asserted: timings belong in the report, not in a flaky test).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, type BusEvent } from '../../supervisor/events.ts';
import { readMarkers } from '../../supervisor/forensics/markers.ts';
import { plannedStopPath, PLANNED_STOP_TTL_MS, writePlannedStop } from '../../supervisor/forensics/planned-stop.ts';
import { shutdownSnapshot } from '../../supervisor/forensics/snapshot.ts';
import { recordStopSignal } from '../../supervisor/forensics/stop-signal.ts';
import { createNodeHost } from '../../supervisor/host/node-host.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';
import { createFakeHost, flush, type FakeHost } from '../support/fake-host.ts';
import { cleanup, tempDir } from '../support/supervisor.ts';

afterEach(cleanup);

const STATE = '/srv/.outlast';

/** A fake host whose /proc says: pid 42, started at tick 123456, parent 7 (systemd), in app.service. */
function procHost(status: Record<string, string> = {}, env: Record<string, string> = {}): FakeHost {
  const host = createFakeHost(env);
  const fields = { Name: 'node', PPid: '7', TracerPid: '0', ...status };
  const file = (path: string, data: string): void => void host.files.set(path, { data, mode: 0o444 });
  file('/proc/self/status', Object.entries(fields).map(([k, v]) => `${k}:\t${v}`).join('\n'));
  file('/proc/self/stat', '42 (node (main)) S 7 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 123456 1000 10');
  file('/proc/self/cgroup', '0::/system.slice/app.service\n');
  file('/proc/loadavg', '0.42 0.30 0.20 1/200 4242\n');
  file('/proc/7/comm', 'systemd\n');
  file('/proc/7/cmdline', '/lib/systemd/systemd\0--system\0--deserialize\0');
  return host;
}

describe('shutdownSnapshot', () => {
  it('takes the parent, systemd, load and marker facts from /proc and the env', () => {
    const host = procHost({}, { INVOCATION_ID: 'abc' });
    const snap = shutdownSnapshot(host, 'SIGTERM', STATE);
    expect(snap).toMatchObject({
      signal: 'SIGTERM',
      pid: 42,
      ppid: 7,
      parent: { name: 'systemd', cmdline: '/lib/systemd/systemd --system --deserialize' },
      underSystemd: true,
      unit: 'app.service',
      loadavg1m: 0.42,
      plannedStop: { present: false },
    });
    expect(snap).not.toHaveProperty('tracerPid');
    expect(snap).not.toHaveProperty('takeover');
    expect(typeof snap.tookMs).toBe('number');
  });

  it('reports a tracer only when one is attached, and a takeover when a restart helper is armed', () => {
    const host = procHost({ TracerPid: '999' });
    host.files.set(`${STATE}/restart-helper.json`, { data: '{"pid":555}', mode: 0o644 });
    const snap = shutdownSnapshot(host, 'SIGINT', STATE);
    expect(snap).toMatchObject({ tracerPid: 999, takeover: { helperPid: 555 }, underSystemd: false });
  });

  it('never throws without /proc: every fact is null', () => {
    const snap = shutdownSnapshot(createFakeHost(), 'SIGHUP', STATE);
    expect(snap).toMatchObject({ ppid: 1, parent: { name: null, cmdline: null }, unit: null, loadavg1m: null, plannedStop: { present: false } });
  });
});

describe('the planned-stop marker', () => {
  it('names us by pid and start time', async () => {
    const host = procHost();
    await writePlannedStop(host, STATE, 'deploy');
    expect(JSON.parse(host.files.get(plannedStopPath(STATE))!.data)).toMatchObject({ pid: 42, startTime: '123456', reason: 'deploy' });
    expect(shutdownSnapshot(host, 'SIGTERM', STATE).plannedStop).toEqual({ present: true, forUs: true, expired: false, reason: 'deploy', pid: 42 });
  });

  it('is not ours when the pid was recycled, and not honoured past its TTL', async () => {
    const host = procHost();
    await writePlannedStop(host, STATE, 'old run');
    const marker = JSON.parse(host.files.get(plannedStopPath(STATE))!.data) as Record<string, unknown>;
    host.files.set(plannedStopPath(STATE), { data: JSON.stringify({ ...marker, startTime: '1' }), mode: 0o644 });
    expect(shutdownSnapshot(host, 'SIGTERM', STATE).plannedStop).toMatchObject({ present: true, forUs: false });
    await writePlannedStop(host, STATE, 'late');
    await host.advance(PLANNED_STOP_TTL_MS + 1);
    expect(shutdownSnapshot(host, 'SIGTERM', STATE).plannedStop).toMatchObject({ present: true, forUs: true, expired: true });
    host.files.set(plannedStopPath(STATE), { data: '{"pid":4', mode: 0o644 });
    expect(shutdownSnapshot(host, 'SIGTERM', STATE).plannedStop).toMatchObject({ present: true, forUs: false });
  });
});

describe('recordStopSignal', () => {
  function setup(host: FakeHost): { events: BusEvent[]; lines: () => Array<Record<string, unknown>>; run: () => ReturnType<typeof recordStopSignal> } {
    const sink = memorySink();
    const logger = createLogger({ level: 'info', sink, pid: host.pid });
    const bus = new EventBus(() => host.clock.now());
    const events: BusEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const lines = (): Array<Record<string, unknown>> => sink.text().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const run = (): ReturnType<typeof recordStopSignal> => recordStopSignal({ host, stateDir: STATE, logger, events: bus, drainMs: 8000, scriptsDir: '/opt/outlast/scripts' }, 'SIGTERM');
    return { events, lines, run };
  }

  it('calls a stop with no marker unplanned, in one line with the snapshot', () => {
    const host = procHost();
    const { events, lines, run } = setup(host);
    expect(run()).toEqual({ planned: false, reason: 'received SIGTERM' });
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ msg: 'unplanned stop (received SIGTERM)', stop: 'unplanned', sinceStopMs: 0, snapshot: { signal: 'SIGTERM', ppid: 7 } });
    expect(events).toMatchObject([{ type: 'service_shutdown', data: { drainMs: 8000, reason: 'received SIGTERM', planned: false } }]);
  });

  it('consumes a marker naming us, writes the planned-stop marker, and starts the diagnostic after the stop', async () => {
    const host = procHost();
    await writePlannedStop(host, STATE, 'deploy');
    const { events, lines, run } = setup(host);
    expect(run()).toEqual({ planned: true, reason: 'planned stop (deploy)' });
    expect(lines()[0]).toMatchObject({ msg: 'planned stop (deploy)', stop: 'planned' });
    expect(events[0]?.data).toMatchObject({ planned: true, drainMs: 8000 });
    // The diagnostic waits for a timer: the caller's stop goes first.
    expect(host.children).toHaveLength(0);
    await host.advance(0);
    await flush();
    expect(host.files.has(plannedStopPath(STATE))).toBe(false);
    expect((await readMarkers(host, STATE)).map((m) => m.kind)).toEqual(['planned-stop']);
    expect(host.children[0]).toMatchObject({ file: 'sh', options: { detached: true, stdio: 'ignore' } });
    expect(host.children[0]?.args).toEqual(['/opt/outlast/scripts/shutdown-diag.sh', '--log', `${STATE}/logs/shutdown-diag.log`, '--timeout', '3', '--signal', 'SIGTERM', '--pid', '42']);
  });
});

describe('snapshot cost on the real /proc', () => {
  it('takes well under 10 ms (printed for the record)', () => {
    const host = createNodeHost(() => {
      throw new Error('no exit in tests');
    });
    const dir = tempDir();
    const first = shutdownSnapshot(host, 'SIGTERM', dir);
    expect(first).toMatchObject({ signal: 'SIGTERM', pid: process.pid, ppid: process.ppid, plannedStop: { present: false } });
    const runs: number[] = [];
    for (let i = 0; i < 500; i++) {
      const t0 = performance.now();
      shutdownSnapshot(host, 'SIGTERM', dir);
      runs.push(performance.now() - t0);
    }
    runs.sort((a, b) => a - b);
    const at = (q: number): string => (runs[Math.floor(q * (runs.length - 1))] ?? 0).toFixed(3);
    console.log(`shutdownSnapshot: first ${first.tookMs.toFixed(3)} ms; warm p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms (n=${runs.length})`);
  });
});
