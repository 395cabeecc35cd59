import { describe, expect, it } from 'vitest';
import { spawnFailureReason } from '../../supervisor/host/spawn-failure.ts';
import { describeExit, exitCodeFor } from '../../supervisor/service/exit-code.ts';
import { stopExitCode } from '../../supervisor/signals.ts';

describe('exitCodeFor (tini conventions)', () => {
  it('passes a code through', () => expect(exitCodeFor({ kind: 'exited', code: 3 })).toBe(3));
  it('maps signals to 128+N', () => {
    expect(exitCodeFor({ kind: 'signaled', signal: 'SIGKILL' })).toBe(137);
    expect(exitCodeFor({ kind: 'signaled', signal: 'SIGTERM' })).toBe(143);
    expect(exitCodeFor({ kind: 'signaled', signal: 'SIGINT' })).toBe(130);
  });
  it('maps a missing command to 127 and anything else unrunnable to 126', () => {
    expect(exitCodeFor({ kind: 'spawn-failed', errno: 'ENOENT', message: '' })).toBe(127);
    expect(exitCodeFor({ kind: 'spawn-failed', errno: 'EACCES', message: '' })).toBe(126);
  });
  it('describes each ending', () => {
    expect(describeExit({ kind: 'signaled', signal: 'SIGKILL' })).toBe('killed by SIGKILL');
    expect(describeExit({ kind: 'exited', code: 0 })).toBe('exited with code 0');
  });
});

describe('spawnFailureReason', () => {
  const base = { file: 'python', cwd: '/srv/app', cwdExists: true };
  it('tells a name missing on PATH from a missing path, and blames a missing cwd first', () => {
    expect(spawnFailureReason({ ...base, errno: 'ENOENT' })).toBe('python: not found on PATH');
    expect(spawnFailureReason({ ...base, errno: 'ENOENT', file: '/opt/app/bin/server' })).toBe('/opt/app/bin/server: no such file');
    expect(spawnFailureReason({ ...base, errno: 'ENOENT', cwdExists: false })).toBe('the working directory /srv/app does not exist');
  });
  it('says the rest in the words of the system, on one line, without repeating the errno', () => {
    expect(spawnFailureReason({ ...base, errno: 'EACCES' })).toBe('python: permission denied (not executable, or a directory)');
    expect(spawnFailureReason({ ...base, errno: 'ENOEXEC' })).toBe('python: exec format error');
    const described = describeExit({ kind: 'spawn-failed', errno: 'ENOENT', message: spawnFailureReason({ ...base, errno: 'ENOENT' }) });
    expect(described).toBe('could not be started (ENOENT): python: not found on PATH');
  });
});

describe('stopExitCode', () => {
  it('is 0 for a child that stopped within budget, by exit or by the stop signal', () => {
    expect(stopExitCode({ kind: 'exited', code: 0 }, 'SIGTERM', false)).toBe(0);
    expect(stopExitCode({ kind: 'signaled', signal: 'SIGTERM' }, 'SIGTERM', false)).toBe(0);
    expect(stopExitCode(undefined, 'SIGTERM', false)).toBe(0);
  });
  it("is the child's code when it failed or had to be killed", () => {
    expect(stopExitCode({ kind: 'exited', code: 2 }, 'SIGTERM', false)).toBe(2);
    expect(stopExitCode({ kind: 'signaled', signal: 'SIGKILL' }, 'SIGTERM', true)).toBe(137);
  });
});
