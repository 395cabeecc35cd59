/**
 * The product's defining claim, proven against real kill windows: when
 * outlast restarts itself, the new process survives the platform's kill.
 * Each environment also runs the naive strategy as a negative control, which
 * must die there, or the harness proves nothing.
 *
 * Every case prints a KILL-WINDOW line (environment, strategy, outcome,
 * downtime from the restart request to healthy) for the results table.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAndroidLike } from '../harness/android-like.ts';
import { cgroupV2Available } from '../harness/cgroup.ts';
import { pidNamespaceAvailable, startPidNamespace } from '../harness/pid-namespace.ts';
import { startSystemdEmulation } from '../harness/systemd-emulation.ts';
import { startSystemdUser, systemdUserSkipReason, type SystemdUser } from '../harness/systemd-user.ts';
import { onTeardown, teardownKillWindows } from '../harness/teardown.ts';
import { freePort } from '../support/net.ts';
import { BIN, cleanup, SVC, tempDir } from '../support/supervisor.ts';
import { alive, waitFor } from '../support/wait.ts';

// One hook, in this order: after-hooks run last-registered first, so two
// hooks would remove the temp dirs while the environments still ran, and a
// supervisor the restart helper started late would write its state into a
// removed dir. The cgroups (helpers and all) go first, then the dirs.
afterEach(async () => {
  try {
    await teardownKillWindows();
  } finally {
    await cleanup();
  }
});

const cgroups = cgroupV2Available();
const namespaces = pidNamespaceAvailable();
if (!cgroups.ok) console.log(`kill-window tests on cgroup v2 skipped: ${cgroups.reason}`);
if (!namespaces.ok) console.log(`kill-window tests in a PID namespace skipped: ${namespaces.reason}`);
const noSystemd = systemdUserSkipReason();
if (noSystemd !== undefined) console.log(`kill-window tests under a real systemd --user skipped: ${noSystemd}`);

interface Rig {
  stateDir: string;
  argv: string[];
}

/** A config for the test service under `strategy`, with restart settings. */
async function rig(restart: Record<string, unknown>): Promise<Rig> {
  const dir = tempDir('outlast-kw-');
  const stateDir = join(dir, 'state');
  const port = await freePort();
  const config = join(dir, 'outlast.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'svc',
      stateDir,
      api: { port: 0 },
      restart: { force: true, retries: 1, ...restart },
      service: { command: [process.execPath, SVC], env: { PORT: String(port) }, health: { url: `http://127.0.0.1:${port}/health`, intervalMs: 1000 } },
    }),
  );
  return { stateDir, argv: [process.execPath, BIN, 'run', '--config', config] };
}

interface Serving {
  pid: number;
  startedAt: string;
  apiUrl: string;
}

function info(stateDir: string): Serving | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'supervisor.json'), 'utf8')) as Serving;
  } catch {
    return undefined;
  }
}

/** The supervisor that serves (healthy service), optionally a different run than `not`. */
async function serving(stateDir: string, not?: Serving, timeoutMs = 20_000): Promise<Serving> {
  return waitFor(async () => {
    const now = info(stateDir);
    if (now === undefined || (not !== undefined && now.startedAt === not.startedAt)) return undefined;
    const res = await fetch(`${now.apiUrl}/health`, { signal: AbortSignal.timeout(1000) });
    return res.status === 200 ? now : undefined;
  }, 'a healthy supervisor', timeoutMs);
}

/** Asks the supervisor to restart itself; returns when it was asked. */
async function restartSupervisor(stateDir: string, at: Serving): Promise<number> {
  const token = readFileSync(join(stateDir, 'token'), 'utf8').trim();
  const t0 = Date.now();
  const res = await fetch(`${at.apiUrl}/restart`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{"target":"supervisor"}',
  });
  expect(res.status).toBe(202);
  return t0;
}

/** True when no healthy supervisor appears within `ms` (polled, not slept). */
async function staysDown(stateDir: string, before: Serving, ms: number): Promise<boolean> {
  try {
    await serving(stateDir, before, ms);
    return false;
  } catch {
    return true;
  }
}

function report(env: string, strategy: string, survived: boolean, downtimeMs?: number): void {
  console.log(`KILL-WINDOW env=${env} strategy=${strategy} outcome=${survived ? 'survived' : 'killed'}${downtimeMs === undefined ? '' : ` downtimeMs=${downtimeMs}`}`);
}

describe.skipIf(!cgroups.ok)('systemd emulation on cgroup v2 (KillMode=control-group)', () => {
  it('reexec keeps the main PID: no cgroup kill, the service serves again', async () => {
    const r = await rig({ strategy: 'reexec' });
    const unit = await startSystemdEmulation({ argv: r.argv, restartOn: [75] });
    onTeardown(() => unit.stop());
    const before = await serving(r.stateDir);
    const t0 = await restartSupervisor(r.stateDir, before);
    const after = await serving(r.stateDir, before);
    report('systemd-emulation', 'reexec', true, Date.now() - t0);
    expect(after.pid).toBe(before.pid);
    expect(unit.mainPid()).toBe(before.pid);
    expect(unit.cgroupKills).toHaveLength(0);
    expect(unit.restarts).toBe(0);
  });

  it('manager exits 75 and the unit restarts it (RestartForceExitStatus=75)', async () => {
    const r = await rig({ strategy: 'manager' });
    const unit = await startSystemdEmulation({ argv: r.argv, restartOn: [75] });
    onTeardown(() => unit.stop());
    const before = await serving(r.stateDir);
    const t0 = await restartSupervisor(r.stateDir, before);
    const after = await serving(r.stateDir, before);
    report('systemd-emulation', 'manager', true, Date.now() - t0);
    expect(after.pid).not.toBe(before.pid);
    expect(unit.restarts).toBe(1);
    expect(unit.exits[0]?.code).toBe(75);
  });

  it('negative control: the detached helper dies in the cgroup kill', async () => {
    const r = await rig({ strategy: 'detached', delayMs: 300 });
    const unit = await startSystemdEmulation({ argv: r.argv });
    onTeardown(() => unit.stop());
    const before = await serving(r.stateDir);
    await restartSupervisor(r.stateDir, before);
    const helper = await waitFor(() => (JSON.parse(readFileSync(join(r.stateDir, 'restart-helper.json'), 'utf8')) as { pid: number }).pid, 'the helper armed');
    await unit.settled;
    expect(await staysDown(r.stateDir, before, 4000)).toBe(true);
    report('systemd-emulation', 'detached', false);
    expect(unit.killedByCgroup).toContain(helper);
    expect(alive(helper)).toBe(false);
  });
});

describe.skipIf(!namespaces.ok)("Docker's PID-1 semantics (a real PID namespace)", () => {
  it('reexec keeps PID 1: the namespace lives and the service serves again', async () => {
    const r = await rig({ strategy: 'reexec' });
    const ns = await startPidNamespace({ argv: r.argv });
    onTeardown(() => ns.stop());
    const before = await serving(r.stateDir);
    expect(before.pid).toBe(1);
    const t0 = await restartSupervisor(r.stateDir, before);
    const after = await serving(r.stateDir, before);
    report('pid-namespace', 'reexec', true, Date.now() - t0);
    expect(after.pid).toBe(1);
    expect(alive(ns.pid1)).toBe(true);
  });

  it('negative control: PID 1 exits for the detached helper, and the kernel kills it with the namespace', async () => {
    const r = await rig({ strategy: 'detached', delayMs: 300 });
    const ns = await startPidNamespace({ argv: r.argv });
    onTeardown(() => ns.stop());
    const before = await serving(r.stateDir);
    await restartSupervisor(r.stateDir, before);
    const exit = await ns.exited;
    expect(exit.code).toBe(0);
    expect(await staysDown(r.stateDir, before, 4000)).toBe(true);
    report('pid-namespace', 'detached', false);
  });
});

describe.skipIf(!cgroups.ok)('Android-like: new processes in the cgroup are SIGKILLed for 3 s after the exit', () => {
  it('detached with a delay past the window survives', async () => {
    const r = await rig({ strategy: 'detached', delayMs: 3500 });
    const android = await startAndroidLike({ argv: r.argv, windowMs: 3000 });
    onTeardown(() => android.stop());
    const before = await serving(r.stateDir);
    const t0 = await restartSupervisor(r.stateDir, before);
    await android.mainExit;
    const after = await serving(r.stateDir, before, 30_000);
    report('android-like', 'detached (delay 3.5 s)', true, Date.now() - t0);
    onTeardown(async () => {
      if (alive(after.pid)) process.kill(after.pid, 'SIGTERM');
      await waitFor(() => !alive(after.pid), 'new supervisor stopped');
    });
    expect(after.pid).not.toBe(before.pid);
    expect(android.killed.map((k) => k.pid)).not.toContain(after.pid);
  });

  it('negative control: an immediate respawn (delay 0) is killed in the window', async () => {
    const r = await rig({ strategy: 'detached', delayMs: 0 });
    const android = await startAndroidLike({ argv: r.argv, windowMs: 3000 });
    onTeardown(() => android.stop());
    const before = await serving(r.stateDir);
    await restartSupervisor(r.stateDir, before);
    await android.mainExit;
    await android.windowClosed;
    expect(await staysDown(r.stateDir, before, 3000)).toBe(true);
    report('android-like', 'detached (delay 0)', false);
    expect(android.killed.length).toBeGreaterThan(0);
  });
});

describe.skipIf(noSystemd !== undefined)('a real systemd --user manager', () => {
  let sdu: SystemdUser;
  beforeAll(async () => {
    sdu = await startSystemdUser();
  });
  afterAll(async () => {
    await sdu?.stop();
  });

  async function show(unit: string): Promise<Map<string, string>> {
    const { stdout } = await sdu.exec(['systemctl', '--user', 'show', unit, '-p', 'MainPID,NRestarts,ActiveState,Result']);
    return new Map(stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  async function runUnit(name: string, killMode: string, r: Rig, extra: string[] = []): Promise<void> {
    const started = await sdu.exec(['systemd-run', '--user', `--unit=${name}`, '-p', `KillMode=${killMode}`, '-p', 'TimeoutStopSec=20s', ...extra, ...r.argv]);
    expect(started.code).toBe(0);
  }

  it('manager: a transient systemd-run unit outside our cgroup restarts the unit', async () => {
    const r = await rig({ strategy: 'manager' });
    const unit = 'outlast-kw-manager';
    // RestartForceExitStatus=75 is the fallback when systemd-run is refused.
    await runUnit(unit, 'mixed', r, ['-p', 'RestartForceExitStatus=75', '-p', 'RestartSec=100ms']);
    const before = await serving(r.stateDir);
    const mainBefore = (await show(unit)).get('MainPID');
    const t0 = await restartSupervisor(r.stateDir, before);
    await serving(r.stateDir, before);
    report('systemd --user KillMode=mixed', 'manager (systemd-run restart)', true, Date.now() - t0);
    const after = await show(unit);
    expect(after.get('ActiveState')).toBe('active');
    expect(after.get('MainPID')).not.toBe(mainBefore);
    await sdu.exec(['systemctl', '--user', 'stop', unit]);
  });

  for (const killMode of ['control-group', 'mixed']) {
    it(`KillMode=${killMode}: reexec keeps the MainPID, NRestarts stays 0, the service serves again`, async () => {
      const r = await rig({ strategy: 'reexec' });
      const unit = `outlast-kw-reexec-${killMode}`;
      await runUnit(unit, killMode, r);
      const before = await serving(r.stateDir);
      const mainBefore = (await show(unit)).get('MainPID');
      const t0 = await restartSupervisor(r.stateDir, before);
      await serving(r.stateDir, before);
      report(`systemd --user KillMode=${killMode}`, 'reexec', true, Date.now() - t0);
      const after = await show(unit);
      expect(after.get('MainPID')).toBe(mainBefore);
      expect(after.get('NRestarts')).toBe('0');
      expect(after.get('ActiveState')).toBe('active');
      await sdu.exec(['systemctl', '--user', 'stop', unit]);
    });

    it(`KillMode=${killMode}: negative control, the detached helper dies with the unit`, async () => {
      const r = await rig({ strategy: 'detached', delayMs: 300 });
      const unit = `outlast-kw-detached-${killMode}`;
      await runUnit(unit, killMode, r);
      const before = await serving(r.stateDir);
      await restartSupervisor(r.stateDir, before);
      expect(await staysDown(r.stateDir, before, 5000)).toBe(true);
      report(`systemd --user KillMode=${killMode}`, 'detached', false);
      expect((await show(unit)).get('ActiveState')).not.toBe('active');
    });
  }
});
