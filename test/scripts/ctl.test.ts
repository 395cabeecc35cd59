/**
 * scripts/ctl.sh against real processes, under every POSIX shell installed
 * (sh, dash, and mksh / busybox sh where present): idempotent start, hung
 * services reported as such, stop budgets and SIGKILL escalation, stale and
 * recycled pids left alone, status exit codes, and a launch that survives
 * the hangup of the session that started it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanup, tempDir } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';
import {
  baseEnv,
  CTL,
  health,
  HEALTH_SERVICE,
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
} from '../fixtures/scripts/harness.ts';

beforeEach(newTag);
afterEach(async () => {
  await killTagged();
  await cleanup();
});

const SHELLS = shells();
const has = (bin: string): boolean => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const missingShells = ['dash', 'mksh', 'busybox'].filter((bin) => !has(bin));
if (missingShells.length > 0) console.log(`ctl.sh and watchdog-loop.sh are not run under ${missingShells.join(', ')}: not installed`);
// checkbashisms comes with Debian's devscripts (.ci/run installs it).
const noCheckbashisms = has('checkbashisms') ? undefined : 'checkbashisms is not installed (apt-get install devscripts)';
if (noCheckbashisms !== undefined) console.log(`skipping "checkbashisms finds nothing": ${noCheckbashisms}`);

describe('the scripts are POSIX sh', () => {
  const syntaxCheckers = ['dash', 'mksh', 'bash', 'sh'].filter(has);

  it.each(syntaxCheckers)('%s -n accepts both scripts', (bin) => {
    for (const script of [CTL, WATCHDOG]) {
      const result = spawnSync(bin, ['-n', script], { encoding: 'utf8' });
      expect(result.stderr, `${bin} -n ${script}`).toBe('');
      expect(result.status).toBe(0);
    }
  });

  it.skipIf(noCheckbashisms !== undefined)('checkbashisms finds nothing', () => {
    const result = spawnSync('checkbashisms', ['--posix', '--extra', CTL, WATCHDOG], { encoding: 'utf8' });
    expect(result.stderr + result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});

describe.each(SHELLS)('ctl.sh under $name', (shell) => {
  const ctl = (setup: ServiceSetup, args: string[], env: Record<string, string> = {}) => runScript(shell, CTL, args, { ...setup.env, ...env });
  const start = (setup: ServiceSetup, extra: string[] = [], env: Record<string, string> = {}) => ctl(setup, ['start', '--wait', '10', ...extra, ...setup.command], env);

  it('starts a healthy service, records pid and start time, and a second start is a no-op', async () => {
    const setup = await serviceSetup(shell);
    const first = await start(setup);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const pid = pidIn(first.stdout);
    expect(first.stdout).toMatch(/healthy after \d+\.\d\d s: HTTP 200/);
    expect(pidfilePid(setup)).toBe(pid);
    // The state file holds "pid starttime", starttime being field 22 of /proc/<pid>/stat.
    expect(readFileSync(setup.state, 'utf8').trim()).toBe(`${pid} ${procStat(pid)!.starttime}`);
    expect(await health(setup.url)).toEqual({ status: 200, body: `ok ${pid}\n` });
    expect(readFileSync(setup.log, 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ctl\.sh: starting: /m);

    const again = await start(setup);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^already running \\(pid ${pid}\\)`));
    expect(pidfilePid(setup)).toBe(pid);
    expect(readFileSync(setup.log, 'utf8').match(/health-service listening/g)).toHaveLength(1);
  });

  it('reports a running but hung service on start (exit 1) instead of calling it healthy', async () => {
    const setup = await serviceSetup(shell);
    const pid = pidIn((await start(setup)).stdout);
    writeFileSync(setup.hangFile, '');
    const res = await ctl(setup, ['start', '--health-timeout', '1', ...setup.command]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(new RegExp(`^running but unhealthy \\(pid ${pid}\\): no answer within 1 s \\(timed out\\)`));
    // The hard timeout bounds the check; nothing was restarted.
    expect(res.ms).toBeLessThan(5000);
    expect(running(pid)).toBe(true);
    expect(pidfilePid(setup)).toBe(pid);
  });

  it('stops within the budget on SIGTERM and removes pidfile and state', async () => {
    const setup = await serviceSetup(shell);
    const pid = pidIn((await start(setup)).stdout);
    const res = await ctl(setup, ['stop', '--stop-timeout', '5']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^stopped \\(pid ${pid}\\) after \\d+\\.\\d\\d s: exited on SIGTERM$`, 'm'));
    expect(res.ms).toBeLessThan(3000);
    expect(running(pid)).toBe(false);
    expect(existsSync(setup.pidfile)).toBe(false);
    expect(existsSync(setup.state)).toBe(false);
    const again = await ctl(setup, ['stop']);
    expect(again).toMatchObject({ code: 0, stdout: 'not running\n' });
  });

  it('escalates to SIGKILL when the service ignores SIGTERM past the stop budget', async () => {
    const setup = await serviceSetup(shell, { IGNORE_TERM: '1' });
    const pid = pidIn((await start(setup)).stdout);
    const res = await ctl(setup, ['stop', '--stop-timeout', '1']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`pid ${pid} still running 1 s after SIGTERM: sending SIGKILL`);
    const elapsed = /after (\d+\.\d\d) s: escalated to SIGKILL/.exec(res.stdout);
    expect(elapsed, res.stdout).not.toBeNull();
    expect(Number(elapsed![1])).toBeGreaterThanOrEqual(1);
    expect(res.ms).toBeLessThan(4000);
    expect(running(pid)).toBe(false);
    // SIGTERM was delivered first, and ignored.
    expect(readFileSync(setup.log, 'utf8')).toContain('health-service ignoring SIGTERM');
  });

  it('never signals a recycled pid: a live unrelated process with another start time is left alone', async () => {
    const setup = await serviceSetup(shell);
    const bystander = spawn('sleep', ['300'], { env: baseEnv(), stdio: 'ignore' });
    const pid = bystander.pid!;
    await waitFor(() => procStat(pid)?.starttime, 'the bystander to run');
    writeFileSync(setup.pidfile, `${pid}\n`);
    writeFileSync(setup.state, `${pid} 1\n`); // our "service" started at tick 1: not this process

    const status = await ctl(setup, ['status']);
    expect(status.code).toBe(3);
    expect(status.stdout).toContain(`not running (stale pidfile: pid ${pid} now belongs to another process`);

    const stop = await ctl(setup, ['stop', '--stop-timeout', '1']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain('removed stale pidfile');
    expect(stop.stdout).toContain('nothing was signalled');
    expect(running(pid)).toBe(true);
    expect(bystander.exitCode).toBeNull();
    expect(existsSync(setup.pidfile)).toBe(false);
    expect(existsSync(setup.state)).toBe(false);

    // A pidfile without a state file cannot be checked either: not signalled.
    writeFileSync(setup.pidfile, `${pid}\n`);
    const bare = await ctl(setup, ['stop']);
    expect(bare.stdout).toContain('without a state file');
    expect(running(pid)).toBe(true);
  });

  it('replaces a stale pidfile of a dead pid on start', async () => {
    const setup = await serviceSetup(shell);
    const gone = spawn('true', [], { env: baseEnv(), stdio: 'ignore' });
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(setup.pidfile, `${gone.pid}\n`);
    writeFileSync(setup.state, `${gone.pid} 12345\n`);
    const res = await start(setup);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`removed stale pidfile: pid ${gone.pid} is dead; nothing was signalled`);
    const pid = pidIn(res.stdout);
    expect(pid).not.toBe(gone.pid);
    expect(pidfilePid(setup)).toBe(pid);
  });

  it('status: 3 when not running, 0 with pid and a growing uptime, 1 when hung, 4 with no HTTP client', async () => {
    const setup = await serviceSetup(shell);
    const before = await ctl(setup, ['status']);
    expect(before).toMatchObject({ code: 3, stdout: 'not running\n' });

    const startedAt = performance.now();
    const pid = pidIn((await start(setup)).stdout);
    const status = await waitFor(async () => {
      const res = await ctl(setup, ['status']);
      return /^uptime: [1-9]\d* s/m.test(res.stdout) ? res : undefined;
    }, 'an uptime of a second or more');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^pid: ${pid}\\nuptime: \\d+ s \\(00:00:\\d\\d\\)\\nhealth: ok: HTTP 200 from ${setup.url}\\n$`));
    const uptime = Number(/uptime: (\d+) s/.exec(status.stdout)![1]);
    expect(uptime).toBeLessThanOrEqual(Math.ceil((performance.now() - startedAt) / 1000) + 1);

    const wget = await ctl(setup, ['status'], { OUTLAST_HTTP_CLIENT: 'wget' });
    expect(wget.code, wget.stdout).toBe(0);

    writeFileSync(setup.hangFile, '');
    for (const client of ['curl', 'wget']) {
      const hung = await ctl(setup, ['status', '--health-timeout', '1'], { OUTLAST_HTTP_CLIENT: client });
      expect(hung.code, `${client}: ${hung.stdout}`).toBe(1);
      expect(hung.stdout).toMatch(/^health: FAILING: .*timed out/m);
      expect(hung.ms).toBeLessThan(5000);
    }
    const unknown = await ctl(setup, ['status'], { OUTLAST_HTTP_CLIENT: 'none' });
    expect(unknown.code).toBe(4);
    expect(unknown.stdout).toContain('health: unknown: no http client');

    await ctl(setup, ['stop']);
    const after = await ctl(setup, ['status']);
    expect(after.code).toBe(3);
    expect(after.stdout).toMatch(/^not running \(stopped with ctl\.sh stop at \d{4}-\d\d-\d\dT/);
  });

  it('reads /proc/<pid>/stat right when the command name holds spaces and parentheses', async () => {
    const setup = await serviceSetup(shell);
    // comm is the executable's name: "sl) R (x y" would shift every field
    // for a parser that splits on spaces or cuts at the first ')'.
    const odd = join(tempDir('outlast-comm-'), 'sl) R (x y');
    symlinkSync(spawnSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).stdout.trim(), odd);
    const res = await ctl(setup, ['start', '--', odd, '300'], { OUTLAST_HEALTH_URL: '' });
    expect(res.code, res.stderr).toBe(0);
    const pid = pidIn(res.stdout);
    expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toContain('(sl) R (x y)');
    expect(readFileSync(setup.state, 'utf8').trim()).toBe(`${pid} ${procStat(pid)!.starttime}`);
    const status = await ctl(setup, ['status'], { OUTLAST_HEALTH_URL: '' });
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toContain(`pid: ${pid}`);
    expect(status.stdout).toContain('health: not checked (no health URL)');
    const stop = await ctl(setup, ['stop']);
    expect(stop.stdout).toContain('exited on SIGTERM');
    expect(running(pid)).toBe(false);
  });

  it('launches out of the caller session: a SIGHUP to every process of that session leaves the service up', async () => {
    const setup = await serviceSetup(shell);
    // The launching shell leads a session of its own (detached: setsid), as
    // a terminal's login shell does; it runs ctl.sh start, then waits.
    const script = '$OUTLAST_SH "$1" start --wait 10 -- "$2" "$3" && echo launched && exec sleep 300';
    const launcher = startScript(shell, '-c', [script, 'launcher', CTL, process.execPath, HEALTH_SERVICE], setup.env, { detached: true });
    await waitFor(() => launcher.output().includes('launched'), 'ctl.sh start in the launching session');
    const session = launcher.proc.pid!;
    const pid = pidfilePid(setup)!;
    expect(procStat(session)!.sid).toBe(session);
    expect(procStat(pid)!.sid).not.toBe(session);
    expect(procStat(pid)!.sid).toBe(pid);

    // What a hangup does to a session: SIGHUP to each of its processes.
    const members = readdirSync('/proc').filter((name) => /^\d+$/.test(name) && procStat(Number(name))?.sid === session);
    expect(members.length).toBeGreaterThan(0);
    for (const member of members) process.kill(Number(member), 'SIGHUP');
    await launcher.exited;
    await waitFor(() => members.every((member) => procStat(Number(member)) === undefined), 'the session to die of SIGHUP');

    expect(running(pid)).toBe(true);
    expect(await health(setup.url)).toEqual({ status: 200, body: `ok ${pid}\n` });
  });

  it('restart gives a new healthy pid; logs prints the tail of the log', async () => {
    const setup = await serviceSetup(shell);
    const first = pidIn((await start(setup)).stdout);
    const res = await ctl(setup, ['restart', '--wait', '10', ...setup.command]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^stopped \\(pid ${first}\\) .*\\nstarted \\(pid \\d+\\)\\nhealthy after`));
    const second = pidIn(res.stdout);
    expect(second).not.toBe(first);
    expect(running(first)).toBe(false);
    expect(await health(setup.url)).toEqual({ status: 200, body: `ok ${second}\n` });

    // A restart is no explicit stop: the watchdog may start it again.
    expect(existsSync(`${setup.state}.stopped`)).toBe(false);

    const logs = await ctl(setup, ['logs', '-n', '2']);
    expect(logs.code).toBe(0);
    expect(logs.stdout.split('\n')).toHaveLength(3);
    expect(logs.stdout).toContain(`health-service listening ${setup.port} pid ${second}\n`);
  });

  it('serialises concurrent starts: exactly one launches', async () => {
    const setup = await serviceSetup(shell);
    const [a, b] = await Promise.all([start(setup), start(setup)]);
    const outputs = [a, b].map((r) => r.stdout);
    expect(outputs.filter((o) => o.startsWith('started (pid'))).toHaveLength(1);
    expect(outputs.filter((o) => o.startsWith('already running (pid'))).toHaveLength(1);
    expect(a.code + b.code).toBe(0);
    expect(readFileSync(setup.log, 'utf8').match(/health-service listening/g)).toHaveLength(1);
  });

  it('fails a --wait start whose service dies, and refuses a second instance on a URL already served', async () => {
    const setup = await serviceSetup(shell);
    const dies = await ctl(setup, ['start', '--wait', '10', '--', process.execPath, '-e', 'console.log("bye"); process.exit(3)']);
    expect(dies.code).toBe(1);
    expect(dies.stderr).toMatch(/exited (at once|while starting); the end of .*svc\.log:\n(.*\n)*bye/);
    expect(existsSync(setup.pidfile)).toBe(false);

    const pid = pidIn((await start(setup)).stdout);
    const other = { ...setup.env, OUTLAST_CTL_PIDFILE: join(setup.dir, 'other.pid') };
    const second = await runScript(shell, CTL, ['start', ...setup.command], other);
    expect(second.code).toBe(1);
    expect(second.stdout).toContain(`not starting: ${setup.url} already answers (HTTP 200), but no process started by ctl.sh runs`);
    expect(existsSync(join(setup.dir, 'other.pid'))).toBe(false);
    expect(await health(setup.url)).toEqual({ status: 200, body: `ok ${pid}\n` });
  });

  it('creates the directory of the log, and fails fast when the lock cannot be created', async () => {
    const setup = await serviceSetup(shell);
    const log = join(setup.dir, 'logs/supervisor.log');
    const started = await start(setup, ['--log', log]);
    expect(started.code, started.stderr).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain('health-service listening');

    const res = await ctl(setup, ['start', ...setup.command], { OUTLAST_CTL_PIDFILE: join(setup.dir, 'missing/svc.pid') });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('cannot create the lock');
    expect(res.ms).toBeLessThan(3000);
  });

  it('takes the command from OUTLAST_CTL_CMD as a shell command line', async () => {
    const setup = await serviceSetup(shell);
    const res = await ctl(setup, ['start', '--wait', '10'], { OUTLAST_CTL_CMD: `'${process.execPath}' '${setup.command[2]}'` });
    expect(res.code, res.stderr).toBe(0);
    const pid = pidIn(res.stdout);
    // exec all the way down: the recorded pid is the service itself.
    expect(await health(setup.url)).toEqual({ status: 200, body: `ok ${pid}\n` });
  });

  it('rejects usage errors with exit 2 and a message', async () => {
    const setup = await serviceSetup(shell);
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['status'], { OUTLAST_CTL_PIDFILE: '' }, /no pidfile: give --pidfile FILE or set OUTLAST_CTL_PIDFILE/],
      [[], {}, /no command/],
      [['frobnicate'], {}, /unknown command: frobnicate/],
      [['status', '--bogus'], {}, /unknown option: --bogus/],
      [['stop', '--stop-timeout', 'soon'], {}, /--stop-timeout must be a whole number of seconds, not 'soon'/],
      [['start'], {}, /nothing to start/],
      [['start', '--wait', '5', ...setup.command], { OUTLAST_HEALTH_URL: '' }, /--wait needs a health URL/],
    ];
    for (const [args, env, message] of cases) {
      const res = await ctl(setup, args, env);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(message);
    }
    const missing = await ctl(setup, ['start', '--', '/no/such/command']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("cannot run '/no/such/command'");
  });
});
