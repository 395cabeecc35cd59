// Gathering doctor's input: what it asks systemctl and journalctl (in
// parallel), what it reads from the state dir and /proc, and that a runner
// that never answers cannot hold it up.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { detectPlatform, type CommandOutcome, type CommandRunner, type Platform } from '../../platform/index.ts';
import { gatherDoctorInput, type DoctorDeps } from '../../supervisor/doctor/gather.ts';
import { createNodeHost } from '../../supervisor/host/node-host.ts';
import { loadSnapshot } from '../platform/fixtures.ts';
import { createFakeHost, flush } from '../support/fake-host.ts';

const SYSTEMD_USER: Platform = { ...detectPlatform(loadSnapshot('systemd-user-v2')), execve: true };
const OPTIONS = { stateDir: '/srv/.outlast', stopBudgetMs: 10_000, requested: 'auto', force: false } as const;
const PROPERTIES = 'LoadState=loaded\nKillMode=mixed\nTimeoutStopUSec=40s\nRestart=always\nRestartForceExitStatus=75\nNotifyAccess=all\nType=notify\nWatchdogUSec=0\n';
const UNIT_FILE =
  'FragmentPath=/home/u/.config/systemd/user/outlast-demo.service\n' +
  'ExecStart={ path=/usr/bin/node ; argv[]=/usr/bin/node /opt/outlast/bin/outlast.js run --config /srv/outlast.json ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n' +
  'NeedDaemonReload=no\n';

const never: CommandRunner = () => new Promise<CommandOutcome>(() => undefined);
const exited = (stdout: string): CommandOutcome => ({ kind: 'exited', exitCode: 0, stdout, stderr: '' });

/** A runner whose calls the test answers by hand. */
function manualRunner(): CommandRunner & { calls: Array<{ args: readonly string[]; answer: (o: CommandOutcome) => void }> } {
  const calls: Array<{ args: readonly string[]; answer: (o: CommandOutcome) => void }> = [];
  const run: CommandRunner = (args) => new Promise((answer) => calls.push({ args, answer }));
  return Object.assign(run, { calls });
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('gatherDoctorInput', () => {
  it('asks systemctl (properties, unit file) and journalctl at once, for the unit the platform names', async () => {
    const host = createFakeHost();
    const systemctl = manualRunner();
    const journalctl = manualRunner();
    const deps: DoctorDeps = { host, systemctl, journalctl, platformOf: () => SYSTEMD_USER, selfEntry: '/opt/outlast/bin/outlast.js' };
    const gathering = gatherDoctorInput(deps, OPTIONS);
    await flush();
    // All three are under way before any has answered: they run in parallel.
    expect(systemctl.calls.map((c) => c.args)).toEqual([
      ['--user', 'show', 'outlast-demo.service', '-p', 'LoadState,KillMode,TimeoutStopUSec,Restart,RestartForceExitStatus,NotifyAccess,Type,WatchdogUSec'],
      ['--user', 'show', 'outlast-demo.service', '-p', 'FragmentPath,ExecStart,NeedDaemonReload'],
    ]);
    expect(journalctl.calls.map((c) => c.args[2])).toEqual(['outlast-demo.service']);
    systemctl.calls[0]?.answer(exited(PROPERTIES));
    systemctl.calls[1]?.answer(exited(UNIT_FILE));
    journalctl.calls[0]?.answer(exited('-- No entries --'));
    const input = await gathering;
    expect(input.subject).toEqual({ kind: 'self' });
    expect(input.outlastEntry).toBe('/opt/outlast/bin/outlast.js');
    expect(input.unit).toMatchObject({
      name: 'outlast-demo.service',
      scope: 'user',
      source: 'cgroup',
      properties: { ok: true, value: { killMode: 'mixed', timeoutStop: { us: 40_000_000 } } },
      file: { ok: true, execStart: ['/usr/bin/node', '/opt/outlast/bin/outlast.js', 'run', '--config', '/srv/outlast.json'], needDaemonReload: false },
    });
    expect(input.journal).toMatchObject({ ok: true, sigkill: { count: 0 } });
    expect(input.watchdog).toEqual({ pidfile: '/srv/.outlast/watchdog.lock/pid', running: false });
  });

  it('looks at the running supervisor: its platform, its outlast entry, and the watchdog in its state dir', async () => {
    const host = createFakeHost();
    host.files.set('/srv/.outlast/supervisor.json', { data: JSON.stringify({ pid: 4242, apiUrl: 'http://127.0.0.1:7070' }), mode: 0o644 });
    host.files.set('/proc/4242/cmdline', { data: ['/usr/bin/node', '--max-old-space-size=64', 'bin/outlast.js', 'run', '--config', 'outlast.json', ''].join('\0'), mode: 0o444 });
    host.links.set('/proc/4242/cwd', '/opt/outlast');
    host.files.set('/srv/.outlast/watchdog.lock/pid', { data: '777 123456\n', mode: 0o644 });
    host.living.add(4242);
    host.living.add(777);
    const asked: Array<number | undefined> = [];
    const deps: DoctorDeps = {
      host,
      systemctl: async () => exited(PROPERTIES),
      journalctl: async () => exited(''),
      platformOf(pid) {
        asked.push(pid);
        return { ...SYSTEMD_USER, systemd: undefined, kind: 'bare' };
      },
      selfEntry: '/elsewhere/bin/outlast.js',
    };
    const input = await gatherDoctorInput(deps, OPTIONS);
    expect(asked).toEqual([4242]);
    expect(input.subject).toEqual({ kind: 'supervisor', pid: 4242 });
    expect(input.outlastEntry).toBe('/opt/outlast/bin/outlast.js');
    expect(input.watchdog).toEqual({ pidfile: '/srv/.outlast/watchdog.lock/pid', pid: 777, running: true });
    expect(input.unit).toBeUndefined();
  });

  it("finds a supervisor in the config's own dir when the default state dir was resolved there", async () => {
    const host = createFakeHost();
    host.files.set('/opt/app/.outlast/supervisor.json', { data: JSON.stringify({ pid: 4242, apiUrl: 'http://127.0.0.1:7070' }), mode: 0o644 });
    host.living.add(4242);
    const deps: DoctorDeps = { host, systemctl: async () => exited(''), journalctl: async () => exited(''), platformOf: () => SYSTEMD_USER, selfEntry: '/x' };
    const input = await gatherDoctorInput(deps, { ...OPTIONS, unit: 'x.service', otherStateDirs: ['/opt/app/.outlast'] });
    expect(input.subject).toEqual({ kind: 'supervisor', pid: 4242 });
    expect(input.watchdog.pidfile).toBe('/opt/app/.outlast/watchdog.lock/pid');
  });

  it('takes the unit from --unit, as a user unit with --user', async () => {
    const systemctl = manualRunner();
    const deps: DoctorDeps = { host: createFakeHost(), systemctl, journalctl: async () => exited(''), platformOf: () => SYSTEMD_USER, selfEntry: '/x' };
    const gathering = gatherDoctorInput(deps, { ...OPTIONS, unit: 'other.service', user: true });
    await flush();
    expect(systemctl.calls[0]?.args.slice(0, 3)).toEqual(['--user', 'show', 'other.service']);
    for (const call of systemctl.calls) call.answer(exited(PROPERTIES + UNIT_FILE));
    expect((await gathering).unit).toMatchObject({ name: 'other.service', scope: 'user', source: 'flag' });
  });

  it('reads the unit from the other manager when the guessed one cannot, and records which answered', async () => {
    const system: Platform = { ...SYSTEMD_USER, systemd: { scope: 'system', unit: 'x.service' } };
    const asked: string[][] = [];
    const systemctl: CommandRunner = async (args) => {
      asked.push([...args]);
      if (args[0] !== '--user') return { kind: 'exited', exitCode: 1, stdout: '', stderr: 'Failed to connect to bus: No such file or directory' };
      return exited(PROPERTIES + UNIT_FILE);
    };
    const journalScopes: string[] = [];
    const journalctl: CommandRunner = async (args) => {
      journalScopes.push(args[0] === '--user' ? 'user' : 'system');
      return exited('');
    };
    const input = await gatherDoctorInput({ host: createFakeHost(), systemctl, journalctl, platformOf: () => system, selfEntry: '/x' }, OPTIONS);
    expect(asked.map((args) => args[0] === '--user')).toEqual([false, false, true, true]);
    expect(input.unit).toMatchObject({
      scope: 'user',
      scopeFallback: { guessed: 'system' },
      properties: { ok: true, value: { timeoutStop: { us: 40_000_000 } } },
    });
    expect(input.unit?.scopeFallback?.reason).toContain('Failed to connect to bus');
    expect(journalScopes).toEqual(['system', 'user']);
    // --user is an answer, not a guess: no fallback.
    asked.length = 0;
    const told = await gatherDoctorInput({ host: createFakeHost(), systemctl: async (args) => (asked.push([...args]), { kind: 'exited', exitCode: 1, stdout: '', stderr: 'no' }), journalctl, platformOf: () => system, selfEntry: '/x' }, { ...OPTIONS, user: true });
    expect(asked).toHaveLength(2);
    expect(told.unit?.scopeFallback).toBeUndefined();
  });

  it('answers in well under 2 s when systemctl and journalctl never answer at all', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'outlast-doctor-'));
    dirs.push(stateDir);
    const host = createNodeHost(() => {
      throw new Error('exit in a test');
    });
    const started = performance.now();
    const input = await gatherDoctorInput(
      { host, systemctl: never, journalctl: never, platformOf: () => SYSTEMD_USER, selfEntry: '/x' },
      { ...OPTIONS, stateDir },
    );
    const ms = performance.now() - started;
    expect(ms).toBeLessThan(2000);
    expect(input.unit?.properties).toEqual({ ok: false, reason: 'systemctl show outlast-demo.service did not answer within 700 ms' });
    expect(input.unit?.file).toEqual({ ok: false, reason: 'systemctl show did not answer within 700 ms' });
    expect(input.journal).toMatchObject({ ok: false, reason: 'journalctl printed nothing within 700 ms' });
  });
});
