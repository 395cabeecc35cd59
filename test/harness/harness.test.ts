// Self-tests of the kill-window harnesses: each one is shown to enforce its
// platform's kill rule on trivial processes (sh, sleep, node -e), with no
// outlast code involved, so a strategy that survives one of them survives a
// real kill window and not a mock. Skips, with the reason printed, where the
// machine lacks root, cgroup v2 or unshare.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startAndroidLike } from './android-like.ts';
import { cgroupV2Available, createCgroup, liveCgroups } from './cgroup.ts';
import { pidNamespaceAvailable, startPidNamespace } from './pid-namespace.ts';
import { isRunning, parentPid, processRef, processState, sessionId, type ProcessRef } from './proc.ts';
import { startSystemdEmulation } from './systemd-emulation.ts';
import { teardownKillWindows } from './teardown.ts';
import { cleanup, tempDir } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

const cgroups = cgroupV2Available();
if (!cgroups.ok) console.warn(`skipping the cgroup kill-window harness tests: ${cgroups.reason}`);
const pidns = pidNamespaceAvailable();
if (!pidns.ok) console.warn(`skipping the PID-namespace harness tests: ${pidns.reason}`);

// Measured kill latencies, printed once at the end for the record.
const timings: string[] = [];

afterEach(async () => {
  await teardownKillWindows();
  await cleanup();
  expect(liveCgroups()).toEqual([]);
});

afterAll(() => {
  if (timings.length > 0) console.info(`kill-window harness timings:\n  ${timings.join('\n  ')}`);
  // Nothing named after this test process may be left in the hierarchy.
  if (cgroups.ok) expect(readdirSync(cgroups.root).filter((name) => name.startsWith(`outlast-test-${process.pid}-`))).toEqual([]);
});

/** Waits for a pid file a fixture writes (written to .tmp and renamed, so never half-read). */
function pidFile(path: string): Promise<number> {
  return waitFor(() => existsSync(path) && Number(readFileSync(path, 'utf8').trim().split(' ')[0]), `pid file ${path}`, 10_000, 5);
}

/** A process that must exist now; its identity survives pid reuse. */
function ref(pid: number): ProcessRef {
  const found = processRef(pid);
  if (found === undefined) throw new Error(`pid ${pid} is not running`);
  return found;
}

// A main that starts `sleep 60` in a new session (it announces its own pid),
// waits for that pid file, then waits for the test's go file and exits 0.
const DETACH_THEN_EXIT = `
setsid sh -c 'echo $$ > "$1/detached.tmp" && mv "$1/detached.tmp" "$1/detached.pid"; exec sleep 60' detached "$1" </dev/null >/dev/null 2>&1 &
until [ -s "$1/detached.pid" ]; do sleep 0.01; done
until [ -e "$1/go" ]; do sleep 0.01; done
exit "\${2:-0}"
`;

describe.skipIf(!cgroups.ok)('cgroup helpers', () => {
  it('moves a pid in, lists it, kills the group, sees it empty and removes it', async () => {
    const group = createCgroup('helpers');
    const sleep = spawn('sleep', ['60'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => sleep.once('exit', (_code, signal) => resolve(signal)));
    group.add(sleep.pid!);
    expect(group.procs()).toEqual([sleep.pid]);
    expect(group.populated()).toBe(true);
    expect(liveCgroups()).toContain(group.path);

    expect(group.kill()).toEqual([sleep.pid]);
    await group.waitEmpty();
    expect(await exited).toBe('SIGKILL');
    await group.remove();
    expect(existsSync(group.path)).toBe(false);
    expect(liveCgroups()).not.toContain(group.path);
  });
});

describe.skipIf(!cgroups.ok)('systemd emulation (KillMode=control-group on cgroup v2)', () => {
  it('kills a setsid-detached process when the main PID exits 0, and does not restart', async () => {
    const dir = tempDir('outlast-harness-');
    const unit = await startSystemdEmulation({ argv: ['sh', '-c', DETACH_THEN_EXIT, 'main', dir], restartOn: [75] });
    const main = unit.mainPid();
    const sleep = ref(await pidFile(join(dir, 'detached.pid')));

    // The field failure's precondition: a new session, yet still in the unit's cgroup.
    expect(sessionId(sleep.pid)).toBe(sleep.pid);
    expect(sessionId(sleep.pid)).not.toBe(sessionId(main!));
    expect(unit.cgroup.procs()).toEqual(expect.arrayContaining([main, sleep.pid]));

    writeFileSync(join(dir, 'go'), '');
    expect(await unit.settled).toBe('inactive');
    expect(unit.exits.map((e) => [e.pid, e.code])).toEqual([[main, 0]]);
    expect(unit.killedByCgroup).toContain(sleep.pid);
    expect(isRunning(sleep)).toBe(false);
    expect(unit.restarts).toBe(0);
    expect(unit.mainPid()).toBeUndefined();
    const [kill] = unit.cgroupKills;
    timings.push(`systemd emulation: main exit → cgroup.kill ${kill!.at - unit.exits[0]!.at} ms → cgroup empty ${kill!.emptyAt - kill!.at} ms`);
  });

  it('a main exiting with a code outside restartOn leaves the unit failed, not restarted', async () => {
    const dir = tempDir('outlast-harness-');
    writeFileSync(join(dir, 'go'), '');
    const unit = await startSystemdEmulation({ argv: ['sh', '-c', DETACH_THEN_EXIT, 'main', dir, '1'], restartOn: [75] });
    expect(await unit.settled).toBe('failed');
    expect(unit.exits.map((e) => e.code)).toEqual([1]);
    expect(unit.restarts).toBe(0);
    expect(unit.error()).toBeUndefined();
  });

  it('restartOn [75]: the cgroup is killed, then the command starts again as a new main PID in the same cgroup', async () => {
    const dir = tempDir('outlast-harness-');
    // The first start leaves a detached sleep behind and exits 75; the second waits for go and exits 0.
    const script = `
n=$(cat "$1/starts" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$1/starts"
if [ $n -eq 1 ]; then
  setsid sh -c 'echo $$ > "$1/detached.tmp" && mv "$1/detached.tmp" "$1/detached.pid"; exec sleep 60' detached "$1" </dev/null >/dev/null 2>&1 &
  until [ -s "$1/detached.pid" ]; do sleep 0.01; done
  exit 75
fi
echo $$ > "$1/second.tmp" && mv "$1/second.tmp" "$1/second.pid"
until [ -e "$1/go" ]; do sleep 0.01; done
exit 0
`;
    const unit = await startSystemdEmulation({ argv: ['sh', '-c', script, 'main', dir], restartOn: [75] });
    const first = unit.mainPid();
    const leftover = ref(await pidFile(join(dir, 'detached.pid')));
    const second = await pidFile(join(dir, 'second.pid'));

    expect(second).not.toBe(first);
    expect(unit.mainPid()).toBe(second);
    expect(unit.restarts).toBe(1);
    expect(unit.state()).toBe('running');
    expect(unit.exits.map((e) => [e.pid, e.code])).toEqual([[first, 75]]);
    // Killed before the restart, as systemd empties the cgroup before it starts the unit again.
    expect(unit.killedByCgroup).toContain(leftover.pid);
    expect(isRunning(leftover)).toBe(false);
    expect(unit.cgroup.procs()).toContain(second);

    writeFileSync(join(dir, 'go'), '');
    expect(await unit.settled).toBe('inactive');
    expect(unit.exits.map((e) => e.code)).toEqual([75, 0]);
    expect(unit.restarts).toBe(1);
    const [kill] = unit.cgroupKills;
    timings.push(
      `systemd emulation: exit 75 → cgroup.kill ${kill!.at - unit.exits[0]!.at} ms → cgroup empty ${kill!.emptyAt - kill!.at} ms → new main in the cgroup ${unit.starts[1]!.at - kill!.emptyAt} ms (RestartSec 100)`,
    );
  });
});

describe.skipIf(!pidns.ok)("Docker's PID-1 semantics (a real PID namespace)", () => {
  it('when PID 1 exits, the kernel kills a setsid-detached process in the namespace', async () => {
    const dir = tempDir('outlast-harness-');
    const ns = await startPidNamespace({ argv: ['sh', '-c', DETACH_THEN_EXIT, 'pid1', dir] });
    expect(ns.processes().find((p) => p.hostPid === ns.pid1)?.nsPid).toBe(1);
    const inside = await pidFile(join(dir, 'detached.pid'));
    const sleep = await waitFor(() => ns.processes().find((p) => p.nsPid === inside && p.cmdline === 'sleep 60'), 'the detached sleep');
    const sleepRef = ref(sleep.hostPid);
    expect(sessionId(sleep.hostPid)).toBe(sleep.hostPid);

    const goAt = Date.now();
    writeFileSync(join(dir, 'go'), '');
    const exit = await ns.exited;
    timings.push(`pid namespace: go file → PID 1 exited and the namespace emptied, as unshare reported ${exit.at - goAt} ms (PID 1 polls every 10 ms)`);
    expect(exit).toMatchObject({ pid: ns.pid1, code: 0, signal: null });
    // No polling: PID 1's exit only completes once every other member is reaped.
    expect(isRunning(sleepRef)).toBe(false);
    expect(ns.processes()).toEqual([]);
  });

  it('while PID 1 stays, an orphaned detached process lives on (reparented to PID 1) until stop()', async () => {
    const dir = tempDir('outlast-harness-');
    const ns = await startPidNamespace({ argv: ['sh', '-c', 'until [ -e "$1/go" ]; do sleep 0.01; done', 'pid1', dir] });
    expect((await ns.exec(['cat', '/proc/1/cmdline'])).stdout).toContain('until');
    const shell = await ns.exec(['sh', '-c', 'echo $$']);
    expect(Number(shell.stdout)).toBeGreaterThan(1);

    // Started from outside through nsenter; its parent sh exits at once, so it is orphaned.
    const started = await ns.exec(['sh', '-c', 'setsid sleep 61 </dev/null >/dev/null 2>&1 & echo $!']);
    expect(started.code).toBe(0);
    const sleep = await waitFor(() => ns.processes().find((p) => p.cmdline === 'sleep 61' && parentPid(p.hostPid) === ns.pid1), 'the orphan reparented to PID 1');
    const sleepRef = ref(sleep.hostPid);
    expect(sleep.nsPid).toBeGreaterThan(1);
    expect(isRunning(sleepRef)).toBe(true);

    await ns.stop();
    expect(await ns.exited).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(isRunning(sleepRef)).toBe(false);
  });
});

// The main starts a helper (it exists at the exit, so it is spared), spawns a
// last child right before exiting, and exits 0. After noticing the exit, the
// helper spawns one child at 500 ms (inside the window) and one at `lateMs`
// (after it). Node rather than sh: a sh helper would fork `sleep` to wait, and
// those forks would die in the window too.
const HELPER = `
const { spawn } = require('node:child_process');
const { renameSync, writeFileSync } = require('node:fs');
const [main, dir, lateMs] = process.argv.slice(1);
const launch = (name) => {
  const before = Date.now();
  const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  writeFileSync(dir + '/' + name + '.tmp', child.pid + ' ' + before);
  renameSync(dir + '/' + name + '.tmp', dir + '/' + name + '.pid');
  child.unref();
};
const poll = setInterval(() => {
  try { process.kill(Number(main), 0); } catch {
    clearInterval(poll);
    setTimeout(() => launch('early'), 500);
    setTimeout(() => launch('late'), Number(lateMs));
  }
}, 1);
writeFileSync(dir + '/helper.ready', '');
`;
const ANDROID_MAIN = `
const { spawn } = require('node:child_process');
const { existsSync, writeFileSync } = require('node:fs');
const [dir, lateMs, helperSource] = process.argv.slice(1);
const helper = spawn(process.execPath, ['-e', helperSource, String(process.pid), dir, lateMs], { detached: true, stdio: 'ignore' });
writeFileSync(dir + '/helper.pid', String(helper.pid));
const ready = setInterval(() => {
  if (!existsSync(dir + '/helper.ready')) return;
  clearInterval(ready);
  const last = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  writeFileSync(dir + '/at-exit.pid', String(last.pid));
  process.exit(0);
}, 2);
`;

describe.skipIf(!cgroups.ok)('Android-like (new processes in the cgroup die for W ms after the main exits)', () => {
  it('spares what existed at the exit, kills a child spawned 500 ms later, spares one spawned after W', async () => {
    const dir = tempDir('outlast-harness-');
    const windowMs = 2000;
    const env = await startAndroidLike({ argv: [process.execPath, '-e', ANDROID_MAIN, dir, String(windowMs + 500), HELPER], windowMs });
    expect(await env.mainExit).toMatchObject({ pid: env.mainPid, code: 0 });
    const helper = Number(readFileSync(join(dir, 'helper.pid'), 'utf8'));
    const atExit = ref(await pidFile(join(dir, 'at-exit.pid')));
    expect(env.presentAtExit()).toEqual(expect.arrayContaining([helper, atExit.pid]));

    const closedAt = await env.windowClosed;
    const early = await pidFile(join(dir, 'early.pid'));
    const earlySpawnedAt = Number(readFileSync(join(dir, 'early.pid'), 'utf8').split(' ')[1]);
    const kill = env.killed.find((k) => k.pid === early);
    expect(kill).toBeDefined();
    expect(kill!.afterExitMs).toBeGreaterThanOrEqual(450);
    expect(kill!.afterExitMs).toBeLessThan(windowMs);
    await waitFor(() => processRef(early) === undefined || processState(early) === 'Z', 'the early child to be dead');

    const late = ref(await pidFile(join(dir, 'late.pid')));
    const lateSpawnedAt = Number(readFileSync(join(dir, 'late.pid'), 'utf8').split(' ')[1]);
    expect(lateSpawnedAt).toBeGreaterThan(closedAt);
    expect(isRunning(late)).toBe(true);
    expect(isRunning(atExit)).toBe(true);
    expect(env.killed.map((k) => k.pid)).toEqual([early]);
    expect(env.cgroup.procs()).toEqual(expect.arrayContaining([atExit.pid, late.pid]));

    await env.stop();
    expect(isRunning(atExit)).toBe(false);
    expect(isRunning(late)).toBe(false);
    expect(existsSync(env.cgroup.path)).toBe(false);
    timings.push(
      `android-like: a child spawned ${earlySpawnedAt - (await env.mainExit).at} ms after the exit was SIGKILLed ${kill!.at - earlySpawnedAt} ms after spawn() was called, ${kill!.cmdline.startsWith('sleep') ? 'after its exec of sleep' : 'before its exec (still a fork of the helper)'}`,
    );
  });
});

describe.skipIf(!cgroups.ok || !pidns.ok)('teardown', () => {
  it('kills every process and removes every cgroup a test leaves running', async () => {
    const dir = tempDir('outlast-harness-');
    const unit = await startSystemdEmulation({ argv: ['sh', '-c', DETACH_THEN_EXIT, 'main', dir] });
    const android = await startAndroidLike({ argv: ['sleep', '60'] });
    const ns = await startPidNamespace({ argv: ['sleep', '60'] });
    const survivors = [ref(unit.mainPid()!), ref(android.mainPid), ref(ns.pid1)];
    const paths = [unit.cgroup.path, android.cgroup.path];

    await teardownKillWindows();
    expect(survivors.filter(isRunning)).toEqual([]);
    expect(paths.filter((path) => existsSync(path))).toEqual([]);
    expect(await ns.exited).toMatchObject({ signal: 'SIGKILL' });
  });
});
