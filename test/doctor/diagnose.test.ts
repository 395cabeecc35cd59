// `diagnose` is pure: each warning from hand-made inputs over recorded
// platform snapshots, and a clean bill of health for a generated unit.
import { describe, expect, it } from 'vitest';
import { detectPlatform, type Platform, type SystemdUnitProperties } from '../../platform/index.ts';
import { diagnose, type DoctorInput, type UnitFacts } from '../../supervisor/doctor/diagnose.ts';
import { formatDoctor } from '../../supervisor/doctor/format.ts';
import type { UnitFile } from '../../supervisor/doctor/unit-file.ts';
import { loadSnapshot } from '../platform/fixtures.ts';

const ENTRY = '/opt/app/node_modules/outlast/bin/outlast.js';

const platformOf = (fixture: string, changes: Partial<Platform> = {}): Platform => ({ ...detectPlatform(loadSnapshot(fixture)), execve: true, ...changes });

/** The unit `outlast install systemd` generates for a 10 s budget. */
const GENERATED: SystemdUnitProperties = {
  killMode: 'mixed',
  timeoutStop: { ok: true, us: 40_000_000 },
  restart: 'always',
  restartForceExitStatus: { statuses: [75], signals: [] },
  notifyAccess: 'all',
  type: 'notify',
};

function unit(properties: Partial<SystemdUnitProperties> = {}, file: Partial<Extract<UnitFile, { ok: true }>> = {}): UnitFacts {
  return {
    name: 'app.service',
    scope: 'user',
    source: 'cgroup',
    properties: { ok: true, value: { ...GENERATED, ...properties } },
    file: { ok: true, fragmentPath: '/home/u/.config/systemd/user/app.service', execStart: ['/usr/bin/node', ENTRY, 'run', '--config', '/opt/app/outlast.json'], needDaemonReload: false, ...file },
  };
}

function input(changes: Partial<DoctorInput> = {}): DoctorInput {
  return {
    platform: platformOf('systemd-user-v2'),
    subject: { kind: 'supervisor', pid: 4242 },
    unit: unit(),
    stopBudgetMs: 10_000,
    requested: 'auto',
    force: false,
    watchdog: { pidfile: '/opt/app/.outlast/watchdog.lock/pid', running: false },
    outlastEntry: ENTRY,
    ...changes,
  };
}

const codes = (changes: Partial<DoctorInput>): string[] => diagnose(input(changes)).warnings.map((w) => w.code);

describe('diagnose', () => {
  it('warns about updates inside a Kubernetes pod, and only there', () => {
    const pod = platformOf('kubernetes');
    expect(pod.container?.runtime).toBe('kubernetes');
    expect(codes({ platform: pod, unit: undefined, updates: true })).toContain('UPDATES_UNDER_ORCHESTRATOR');
    expect(codes({ platform: pod, unit: undefined, updates: false })).not.toContain('UPDATES_UNDER_ORCHESTRATOR');
    expect(codes({ platform: platformOf('docker-v2'), unit: undefined, updates: true })).not.toContain('UPDATES_UNDER_ORCHESTRATOR');
    const warning = diagnose(input({ platform: pod, unit: undefined, updates: true })).warnings.find((w) => w.code === 'UPDATES_UNDER_ORCHESTRATOR');
    expect(warning?.fix).toMatch(/ship new versions as new images/);
  });

  it('has nothing to say about a generated unit under systemd', () => {
    const report = diagnose(input());
    expect(report.warnings).toEqual([]);
    expect(report.strategy).toMatchObject({ name: 'reexec' });
    expect(report.unit).toMatchObject({ name: 'app.service', scope: 'user', properties: GENERATED });
  });

  it('is pure: the same input gives the same report, and the input is left alone', () => {
    const given = input({ unit: unit({ timeoutStop: { ok: true, us: 5_000_000 } }) });
    const copy = structuredClone(given);
    expect(diagnose(given)).toEqual(diagnose(given));
    expect(given).toEqual(copy);
  });

  it('warns when TimeoutStopSec is below the drain budget + 30 s, with the value to set', () => {
    const report = diagnose(input({ stopBudgetMs: 61_000, unit: unit({ timeoutStop: { ok: true, us: 90_000_000 } }) }));
    expect(report.warnings).toEqual([
      {
        code: 'STOP_TIMEOUT_TOO_SHORT',
        message: 'app.service has TimeoutStopSec=90s, below the drain budget (service.stopTimeoutMs 61000 ms) + 30 s: systemd will SIGKILL mid-drain',
        fix: 'set TimeoutStopSec=91s in the unit (regenerate it with `outlast install systemd`), or lower service.stopTimeoutMs',
      },
    ]);
    expect(codes({ stopBudgetMs: 60_000, unit: unit({ timeoutStop: { ok: true, us: 90_000_000 } }) })).toEqual([]);
    expect(codes({ unit: unit({ timeoutStop: { ok: true, infinite: true } }) })).toEqual([]);
  });

  it('warns when KillMode would kill a detached strategy asked for in config, and says what it uses instead', () => {
    const report = diagnose(input({ requested: 'detached', unit: unit({ killMode: 'control-group' }) }));
    expect(report.strategy.name).toBe('reexec');
    expect(report.warnings.map((w) => w.code)).toEqual(['KILLMODE_KILLS_STRATEGY']);
    expect(report.warnings[0]?.message).toMatch(/refused: KillMode=control-group kills .*; using reexec instead$/);
    const forced = diagnose(input({ requested: 'detached', force: true, unit: unit({ killMode: 'mixed' }) }));
    expect(forced.warnings.map((w) => w.code)).toEqual(['KILLMODE_KILLS_STRATEGY']);
    expect(forced.warnings[0]?.message).toMatch(/^the detached strategy is in use, but KillMode=mixed/);
  });

  it('warns about a container PID 1 without an init, and not with one', () => {
    expect(codes({ platform: platformOf('docker-v1'), unit: undefined })).toEqual(['PID1_WITHOUT_INIT']);
    expect(codes({ platform: platformOf('docker-v2'), unit: undefined })).toEqual([]);
    const agent = diagnose(input({ platform: platformOf('dev-vm-dockerenv'), unit: undefined }));
    expect(agent.warnings.map((w) => w.code)).toEqual(['PID1_WITHOUT_INIT']);
    expect(agent.warnings[0]?.message).toMatch(/^PID 1 is process_api, not a known init: /);
  });

  it('does not warn about a PID 1 that is not our manager, when a systemd unit runs us on a root with /.dockerenv', () => {
    const report = diagnose(input({ platform: platformOf('systemd-user-dockerenv'), unit: undefined }));
    expect(report.platform.kind).toBe('systemd');
    expect(report.warnings.map((w) => w.code)).not.toContain('PID1_WITHOUT_INIT');
  });

  it('warns on Termux without a running watchdog, and about the phantom process killer', () => {
    const termux = platformOf('termux-android12-top-app');
    const report = diagnose(input({ platform: termux, unit: undefined }));
    expect(report.strategy.name).toBe('detached');
    expect(report.warnings.map((w) => w.code)).toEqual(['TERMUX_NO_WATCHDOG', 'ANDROID_PHANTOM_KILLER']);
    expect(report.warnings[0]?.message).toContain('no pidfile at /opt/app/.outlast/watchdog.lock/pid');
    expect(report.warnings[1]?.message).toMatch(/^on Android 12, the phantom process killer/);
    const running = { pidfile: '/opt/app/.outlast/watchdog.lock/pid', pid: 777, running: true };
    expect(codes({ platform: termux, unit: undefined, watchdog: running })).toEqual(['ANDROID_PHANTOM_KILLER']);
  });

  it('gives the phantom advice when the Android version is unreadable, and not before Android 12', () => {
    const unknown = diagnose(input({ platform: platformOf('termux-android14-uid-pid'), unit: undefined }));
    expect(unknown.warnings.find((w) => w.code === 'ANDROID_PHANTOM_KILLER')?.message).toMatch(/^if this is Android 12 or later/);
    const android11 = platformOf('termux-android12-top-app');
    android11.termux = { ...android11.termux!, androidVersion: '11' };
    expect(codes({ platform: android11, unit: undefined })).toEqual(['TERMUX_NO_WATCHDOG']);
  });

  it('warns once about a Node without process.execve, and falls back to manager under systemd', () => {
    const report = diagnose(input({ platform: platformOf('systemd-user-v2', { execve: false, node: 'v20.11.0' }), requested: 'reexec' }));
    expect(report.strategy.name).toBe('manager');
    expect(report.warnings.map((w) => w.code)).toEqual(['NO_EXECVE']);
  });

  it('warns when the manager strategy exits 75 into a unit that would not restart on it', () => {
    const report = diagnose(input({ platform: platformOf('systemd-user-v2', { execve: false }), unit: unit({ restart: 'no', restartForceExitStatus: { statuses: [], signals: [] } }) }));
    expect(report.warnings.map((w) => w.code)).toEqual(['NO_EXECVE', 'MANAGER_EXIT_NOT_RESTARTED']);
  });

  it('warns about a stale unit file: another outlast in ExecStart, or a pending daemon-reload', () => {
    const moved = diagnose(input({ outlastEntry: '/srv/outlast-2/bin/outlast.js' }));
    expect(moved.warnings).toEqual([
      {
        code: 'STALE_UNIT_FILE',
        message: `app.service's ExecStart runs ${ENTRY}, but the outlast in use is /srv/outlast-2/bin/outlast.js`,
        fix: 'regenerate the unit with `outlast install systemd --user`',
      },
    ]);
    const edited = diagnose(input({ unit: unit({}, { needDaemonReload: true }) }));
    expect(edited.warnings).toEqual([expect.objectContaining({ code: 'STALE_UNIT_FILE', fix: 'run `systemctl --user daemon-reload` and restart app.service' })]);
  });

  it('says which checks were skipped when systemctl did not answer', () => {
    const hung: UnitFacts = { ...unit(), properties: { ok: false, reason: 'systemctl show app.service did not answer within 700 ms' }, file: { ok: false, reason: 'timed out' } };
    const report = diagnose(input({ unit: hung }));
    expect(report.warnings.map((w) => w.code)).toEqual(['UNIT_UNREADABLE']);
    expect(report.warnings[0]?.message).toContain('did not answer within 700 ms');
    expect(report.unit).toEqual({ name: 'app.service', scope: 'user' });
  });

  it('says a self-update restarts the service where only a new process can take over, and warns without a rescue from outside', () => {
    const termux = platformOf('termux-android12-top-app');
    const running = { pidfile: '/x/pid', pid: 9, running: true };
    expect(codes({ platform: termux, unit: undefined, watchdog: running, selfUpdate: true })).toContain('SELF_UPDATE_RESTARTS_SERVICE');
    expect(codes({ platform: termux, unit: undefined, watchdog: running, selfUpdate: true })).not.toContain('SELF_UPDATE_WITHOUT_RESCUE');
    expect(codes({ platform: termux, unit: undefined, watchdog: running, selfUpdate: false })).not.toContain('SELF_UPDATE_RESTARTS_SERVICE');
    // systemd with re-exec: the child is adopted, and Restart=always rescues a supervisor that cannot start.
    expect(codes({ selfUpdate: true })).not.toContain('SELF_UPDATE_RESTARTS_SERVICE');
    expect(codes({ selfUpdate: true })).not.toContain('SELF_UPDATE_WITHOUT_RESCUE');
    const bare = platformOf('systemd-user-v2', { kind: 'bare', systemd: undefined });
    expect(codes({ platform: bare, unit: undefined, selfUpdate: true })).toContain('SELF_UPDATE_WITHOUT_RESCUE');
    expect(codes({ unit: unit({ restart: 'no', restartForceExitStatus: { statuses: [], signals: [] } }), selfUpdate: true, requested: 'reexec' })).toContain('SELF_UPDATE_WITHOUT_RESCUE');
  });

  it('reports SIGKILLs found in the journal', () => {
    const journal = {
      ok: true as const, unit: 'app.service', scope: 'user' as const, since: '30 days ago', complete: true,
      sigkill: { count: 3, last: '2026-03-10T14:00:07+0000' },
      stopTimeout: { count: 2, last: '2026-03-09T09:05:18+0000' },
    };
    const report = diagnose(input({ journal }));
    expect(report.journal).toEqual(journal);
    expect(report.warnings).toEqual([
      expect.objectContaining({
        code: 'JOURNAL_SIGKILLS',
        message: 'in the last 30 days the stop timed out and systemd SIGKILLed it 2 time(s) (last 2026-03-09T09:05:18+0000), and its main process died of SIGKILL 3 time(s) (last 2026-03-10T14:00:07+0000)',
      }),
    ]);
  });
});

describe('formatDoctor', () => {
  it('prints the platform, the unit, the strategy, the journal and each warning with its fix', () => {
    const text = formatDoctor(
      diagnose(input({ stopBudgetMs: 61_000, journal: { ok: false, unit: 'app.service', scope: 'user', reason: 'no journalctl on this machine' } })),
    );
    expect(text).toMatch(/^platform {3}systemd \(user unit outlast-demo\.service\), Node v\S+, process\.execve available\n {11}seen from the running supervisor, pid 4242\n/);
    expect(text).toContain('unit       app.service (user): KillMode=mixed, TimeoutStopSec=40s, Type=notify, NotifyAccess=all, Restart=always, RestartForceExitStatus=75\n');
    expect(text).toContain('strategy   reexec: systemd: execve keeps the MainPID');
    expect(text).toContain('journal    not scanned: no journalctl on this machine\n');
    expect(text).toContain('  [STOP_TIMEOUT_TOO_SHORT] app.service has TimeoutStopSec=40s');
    expect(text).toContain('      fix: set TimeoutStopSec=91s');
  });
});
