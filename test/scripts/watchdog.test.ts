/**
 * scripts/watchdog-loop.sh against real processes, under every POSIX shell
 * installed: one instance per lock, stale locks taken over, a killed
 * service started again, a hung one restarted after K unhealthy polls, a
 * service stopped on purpose left down, --daemon in its own session, and a
 * timestamped line for every action. Interval 1 s throughout.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanup, ROOT } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';
import {
  CTL,
  health,
  killTagged,
  newTag,
  pidfilePid,
  pidIn,
  procStat,
  runScript,
  running,
  serviceSetup,
  shells,
  startScript,
  WATCHDOG,
  type ServiceSetup,
  type Shell,
} from '../fixtures/scripts/harness.ts';

beforeEach(newTag);
afterEach(async () => {
  await killTagged();
  await cleanup();
});

const ISO_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ./;

/** Log lines in order; every one must start with an ISO-8601 UTC timestamp. */
function logLines(file: string): string[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
  for (const line of lines) expect(line).toMatch(ISO_LINE);
  return lines;
}

describe.each(shells())('watchdog-loop.sh under $name', (shell: Shell) => {
  /** The watchdog's flags for a service: its log and lock in the service's dir, 1 s polls, the shell under test. */
  const flags = (setup: ServiceSetup, extra: string[] = []) => [
    '--log', join(setup.dir, 'watchdog.log'),
    '--interval', '1',
    '--timeout', '1',
    '--shell', shell.argv.join(' '),
    // The service command reaches ctl.sh start through the pass-through.
    '--ctl-arg', '--', '--ctl-arg', process.execPath, '--ctl-arg', setup.command[2]!,
    ...extra,
  ];
  const watchdogLog = (setup: ServiceSetup) => join(setup.dir, 'watchdog.log');
  const lockPid = (setup: ServiceSetup) => {
    try {
      return Number(readFileSync(join(setup.dir, 'watchdog.log.lock/pid'), 'utf8').split(' ')[0]);
    } catch {
      return undefined;
    }
  };
  const ctlStart = async (setup: ServiceSetup) => {
    const res = await runScript(shell, CTL, ['start', '--wait', '10', ...setup.command], setup.env);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    return pidIn(res.stdout);
  };
  const startLoop = async (setup: ServiceSetup, extra: string[] = []) => {
    const loop = startScript(shell, WATCHDOG, flags(setup, extra), setup.env);
    await waitFor(() => lockPid(setup) === loop.proc.pid, 'the watchdog to hold its lock');
    return loop;
  };

  it('runs one instance per lock: a second exits with a message; SIGTERM ends the first and frees the lock', async () => {
    const setup = await serviceSetup(shell);
    await ctlStart(setup);
    const first = await startLoop(setup);

    const second = await runScript(shell, WATCHDOG, flags(setup), setup.env);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(`watchdog already running (pid ${first.proc.pid}, lock ${join(setup.dir, 'watchdog.log.lock')})\n`);
    expect(logLines(watchdogLog(setup)).filter((line) => line.includes('watchdog started'))).toHaveLength(1);

    first.proc.kill('SIGTERM');
    // The loop sleeps in the background and waits on it, so the signal
    // ends it at once rather than after the interval.
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(join(setup.dir, 'watchdog.log.lock'))).toBe(false);
    expect(logLines(watchdogLog(setup)).at(-1)).toMatch(/watchdog stopping on SIGTERM/);
  });

  it('takes over a stale lock whose holder is dead', async () => {
    const setup = await serviceSetup(shell);
    await ctlStart(setup);
    const lock = join(setup.dir, 'watchdog.log.lock');
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), '999999 1\n');
    const res = await runScript(shell, WATCHDOG, flags(setup, ['--once']), setup.env);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(logLines(watchdogLog(setup)).join('\n')).toContain(`took over a stale lock ${lock} (pid 999999 is gone)`);
    expect(existsSync(lock)).toBe(false);
  });

  it('starts a killed service again with ctl.sh start, and logs it', async () => {
    const setup = await serviceSetup(shell);
    const old = await ctlStart(setup);
    await startLoop(setup);
    process.kill(old, 'SIGKILL');
    const fresh = await waitFor(() => {
      const pid = pidfilePid(setup);
      return pid !== undefined && pid !== old ? pid : undefined;
    }, 'a new service pid', 20_000);
    await waitFor(async () => (await health(setup.url))?.body === `ok ${fresh}\n`, 'the new service to answer');
    // ctl.sh's answer is logged once it returns, a moment after the pidfile changed.
    const lines = await waitFor(() => {
      const all = logLines(watchdogLog(setup));
      return all.some((line) => line.includes('ctl.sh start: exit 0')) ? all : undefined;
    }, 'the logged answer of ctl.sh start');
    const action = lines.findIndex((line) => line.includes('action: ctl.sh start (service down: not running (stale pidfile: pid') && line.includes(`${old} is dead`));
    expect(action, lines.join('\n')).toBeGreaterThan(-1);
    expect(lines.slice(action).join('\n')).toContain(`ctl.sh start: started (pid ${fresh})`);
  });

  it('restarts a hung service with ctl.sh restart after K unhealthy polls in a row', async () => {
    const setup = await serviceSetup(shell);
    const old = await ctlStart(setup);
    await startLoop(setup, ['--unhealthy-polls', '2']);
    writeFileSync(setup.hangFile, '');
    const fresh = await waitFor(() => {
      const pid = pidfilePid(setup);
      return pid !== undefined && pid !== old ? pid : undefined;
    }, 'the restart', 30_000);
    rmSync(setup.hangFile);
    expect(running(old)).toBe(false);
    await waitFor(async () => (await health(setup.url))?.body === `ok ${fresh}\n`, 'the new service to answer');

    const lines = await waitFor(() => {
      const all = logLines(watchdogLog(setup));
      return all.some((line) => line.includes('ctl.sh restart: exit 0')) ? all : undefined;
    }, 'the logged answer of ctl.sh restart');
    const text = lines.join('\n');
    const first = lines.findIndex((line) => /unhealthy \(1\/2\): FAILING: no answer within 1 s \(timed out\)/.test(line));
    const second = lines.findIndex((line) => /unhealthy \(2\/2\): FAILING/.test(line));
    const restart = lines.findIndex((line) => line.includes('action: ctl.sh restart (alive but unhealthy for 2 polls in a row)'));
    expect(first, text).toBeGreaterThan(-1);
    expect(second).toBe(first + 1);
    expect(restart).toBe(second + 1);
    expect(text).toContain(`ctl.sh restart: stopped (pid ${old})`);
    expect(text).toContain(`ctl.sh restart: started (pid ${fresh})`);
    expect(text).not.toContain('action: ctl.sh start');
  });

  it('leaves a service stopped with ctl.sh stop down, and says so once', async () => {
    const setup = await serviceSetup(shell);
    await ctlStart(setup);
    const stop = await runScript(shell, CTL, ['stop'], setup.env);
    expect(stop.code).toBe(0);
    // Count the polls through a --ctl that records each call.
    const calls = join(setup.dir, 'ctl-calls');
    setup.env = { ...setup.env, CTL_CALLS: calls, REAL_CTL: CTL };
    await startLoop(setup, ['--ctl', join(ROOT, 'test/fixtures/scripts/counting-ctl.sh')]);
    await waitFor(() => existsSync(calls) && readFileSync(calls, 'utf8').split('\n').filter((l) => l === 'status').length >= 3, 'three polls');
    const lines = logLines(watchdogLog(setup));
    expect(lines.filter((line) => line.includes('left down: not starting: stopped with ctl.sh stop'))).toHaveLength(1);
    expect(lines.join('\n')).not.toContain('action:');
    expect(pidfilePid(setup)).toBeUndefined();
    // An explicit start ends that: it serves again.
    await ctlStart(setup);
  });

  it('--daemon re-runs itself in a session of its own and returns once it holds the lock', async () => {
    const setup = await serviceSetup(shell);
    await ctlStart(setup);
    const res = await runScript(shell, WATCHDOG, [...flags(setup), '--daemon'], setup.env);
    expect(res.code, res.stderr).toBe(0);
    const pid = pidIn(res.stdout, /^watchdog started \(pid (\d+), log /);
    expect(lockPid(setup)).toBe(pid);
    expect(procStat(pid)!.sid).toBe(pid);
    expect(procStat(pid)!.sid).not.toBe(procStat(process.pid)!.sid);

    const again = await runScript(shell, WATCHDOG, [...flags(setup), '--daemon'], setup.env);
    expect(again.stdout).toMatch(new RegExp(`^watchdog already running \\(pid ${pid},`));

    process.kill(pid, 'SIGTERM');
    await waitFor(() => !running(pid), 'the daemon to exit');
    expect(existsSync(join(setup.dir, 'watchdog.log.lock'))).toBe(false);
    expect(logLines(watchdogLog(setup)).at(-1)).toMatch(/watchdog stopping on SIGTERM/);
  });

  it('rejects bad arguments with exit 2', async () => {
    const setup = await serviceSetup(shell);
    for (const [args, message] of [
      [['--interval', '0', '--lock', join(setup.dir, 'l')], /--interval must be a whole number above 0, not '0'/],
      [['--interval', '1'], /no lock: give --lock DIR/],
      [['--frob'], /unknown argument: --frob/],
      [['--lock', join(setup.dir, 'l'), '--ctl', '/no/such/ctl.sh'], /no ctl script at \/no\/such\/ctl\.sh/],
    ] as const) {
      const res = await runScript(shell, WATCHDOG, [...args], setup.env);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(message);
    }
  });
});
