// The tool runner (systemctl, journalctl, systemd-notify) and the git runner,
// driven by the fake Host: the commands they start, and how each deadline
// ends the process, with no real process or timer involved.
import type { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { hostRunner } from '../../platform/systemctl-runner.ts';
import { OutlastError } from '../../supervisor/errors.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';
import { createSystemdNotifier } from '../../supervisor/notify/sd-notify.ts';
import { hostGit, KILL_GRACE_MS } from '../../supervisor/update/sources/git-run.ts';
import { createFakeHost, flush, type FakeChild, type FakeHost } from '../support/fake-host.ts';

// The fake's children print through PassThroughs: the test writes what the program would.
const stdoutOf = (child: FakeChild): PassThrough => child.stdout as PassThrough;
const stderrOf = (child: FakeChild): PassThrough => child.stderr as PassThrough;

function onlyChild(host: FakeHost): FakeChild {
  expect(host.children).toHaveLength(1);
  return host.children[0]!;
}

describe('hostRunner', () => {
  it('runs the tool in its own group with LC_ALL=C and the caller env, and returns its output', async () => {
    const host = createFakeHost({ PATH: '/usr/bin', XDG_RUNTIME_DIR: '/run/user/1000' });
    const outcome = hostRunner(host, 'systemctl')(['--user', 'show', 'x.service'], 5000);
    await flush();
    const child = onlyChild(host);
    expect(child.file).toBe('systemctl');
    expect(child.args).toEqual(['--user', 'show', 'x.service']);
    expect(child.options).toMatchObject({ cwd: '/srv', detached: true, env: { PATH: '/usr/bin', XDG_RUNTIME_DIR: '/run/user/1000', LC_ALL: 'C' } });
    stdoutOf(child).write('LoadState=loaded\nKillMode=mixed\n');
    stderrOf(child).write('warning\n');
    child.exit({ kind: 'exited', code: 3 });
    expect(await outcome).toEqual({ kind: 'exited', exitCode: 3, stdout: 'LoadState=loaded\nKillMode=mixed', stderr: 'warning' });
    expect(host.signals).toEqual([]);
  });

  it('SIGKILLs the whole group at the deadline and keeps what was printed', async () => {
    const host = createFakeHost();
    const outcome = hostRunner(host, 'journalctl')(['-u', 'x'], 300);
    await flush();
    const child = onlyChild(host);
    stdoutOf(child).write('line one\n');
    await host.advance(299);
    expect(host.signals).toEqual([]);
    await host.advance(1);
    expect(host.signals).toEqual([{ target: 'group', id: child.pid, signal: 'SIGKILL' }]);
    child.exit({ kind: 'signaled', signal: 'SIGKILL' });
    expect(await outcome).toEqual({ kind: 'timed-out', stdout: 'line one\n' });
  });

  it('answers shortly after the deadline even when nothing ever exits', async () => {
    const host = createFakeHost();
    let settled: unknown;
    void hostRunner(host, 'systemctl')(['show', 'x'], 200).then((o) => (settled = o));
    await host.advance(200);
    expect(settled).toBeUndefined();
    await host.advance(100);
    expect(settled).toEqual({ kind: 'timed-out' });
  });

  it('reports a tool that cannot start with its errno', async () => {
    const host = createFakeHost();
    host.failNextSpawn('ENOENT');
    expect(await hostRunner(host, 'systemctl')(['show', 'x'], 5000)).toMatchObject({ kind: 'failed', errno: 'ENOENT' });
  });
});

describe('createSystemdNotifier', () => {
  it('runs systemd-notify through the Host, which inherits NOTIFY_SOCKET', async () => {
    const host = createFakeHost({ NOTIFY_SOCKET: '/run/systemd/notify' });
    const notifier = createSystemdNotifier(host, createLogger({ level: 'silent', sink: memorySink(), pid: host.pid }));
    const sent = notifier.ready('up');
    await flush();
    const child = onlyChild(host);
    expect(child.file).toBe('systemd-notify');
    expect(child.args).toEqual(['READY=1', 'STATUS=up']);
    expect(child.options.env).toMatchObject({ NOTIFY_SOCKET: '/run/systemd/notify' });
    child.exit({ kind: 'exited', code: 0 });
    await sent;
  });

  it('starts nothing without NOTIFY_SOCKET', async () => {
    const host = createFakeHost();
    await createSystemdNotifier(host, createLogger({ level: 'silent', sink: memorySink(), pid: host.pid })).ready('up');
    expect(host.children).toEqual([]);
  });
});

describe('hostGit', () => {
  it('runs git without a terminal prompt and returns stdout', async () => {
    const host = createFakeHost({ HOME: '/home/u' });
    const out = hostGit(host)(['ls-remote', '--tags', '--', '/repo'], { signal: new AbortController().signal, timeoutMs: 1000 });
    await flush();
    const child = onlyChild(host);
    expect([child.file, ...child.args]).toEqual(['git', 'ls-remote', '--tags', '--', '/repo']);
    expect(child.options).toMatchObject({ detached: false, env: { HOME: '/home/u', GIT_TERMINAL_PROMPT: '0' } });
    stdoutOf(child).write('abc\trefs/tags/v1.0.0\n');
    child.exit({ kind: 'exited', code: 0 });
    expect(await out).toBe('abc\trefs/tags/v1.0.0');
  });

  it("names the subcommand and git's last stderr line when it fails", async () => {
    const host = createFakeHost();
    const out = hostGit(host)(['-C', '/x', 'fetch', '--', 'u'], { signal: new AbortController().signal, timeoutMs: 1000 }).catch((e: unknown) => e);
    await flush();
    const child = onlyChild(host);
    stderrOf(child).write('hint: x\nfatal: no such ref\n');
    child.exit({ kind: 'exited', code: 128 });
    const err = (await out) as OutlastError;
    expect(err).toBeInstanceOf(OutlastError);
    expect(err.code).toBe('SOURCE_UNAVAILABLE');
    expect(err.message).toBe('git fetch failed: fatal: no such ref');
  });

  it('sends SIGTERM at the timeout, SIGKILL after the grace, and reports TIMEOUT', async () => {
    const host = createFakeHost();
    const out = hostGit(host)(['ls-remote', '--tags', '--', 'git://x/r'], { signal: new AbortController().signal, timeoutMs: 300 }).catch((e: unknown) => e);
    await flush();
    const child = onlyChild(host);
    await host.advance(300);
    expect(host.signals).toEqual([{ target: 'pid', id: child.pid, signal: 'SIGTERM' }]);
    await host.advance(KILL_GRACE_MS);
    expect(host.signals.at(-1)).toEqual({ target: 'pid', id: child.pid, signal: 'SIGKILL' });
    child.exit({ kind: 'signaled', signal: 'SIGKILL' });
    const err = (await out) as OutlastError;
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toBe('git ls-remote timed out after 300 ms');
  });

  it("stops git on the caller's abort and rejects with its reason, sending no SIGKILL once git is gone", async () => {
    const host = createFakeHost();
    const abort = new AbortController();
    const out = hostGit(host)(['init', '--quiet', '/x'], { signal: abort.signal, timeoutMs: 10_000 }).catch((e: unknown) => e);
    await flush();
    const child = onlyChild(host);
    const reason = new Error('stopping');
    abort.abort(reason);
    expect(host.signals).toEqual([{ target: 'pid', id: child.pid, signal: 'SIGTERM' }]);
    child.exit({ kind: 'signaled', signal: 'SIGTERM' });
    expect(await out).toBe(reason);
    await host.advance(KILL_GRACE_MS + 10_000);
    expect(host.signals).toHaveLength(1);
  });
});
