import { describe, expect, it } from 'vitest';
import { parseSystemdProperties, readSystemdProperties } from '../../platform/index.ts';
import type { SystemctlOutcome, SystemctlRunner } from '../../platform/index.ts';
import { OutlastError } from '../../supervisor/errors.ts';

const SERVICE = [
  'Type=notify',
  'Restart=on-failure',
  'RestartForceExitStatus=75 SIGUSR1',
  'NotifyAccess=main',
  'WatchdogUSec=0',
  'TimeoutStopUSec=1min 30s',
  'KillMode=mixed',
  'LoadState=loaded',
  '',
].join('\n');

/** A runner that records its call and answers with `outcome`. */
function fakeRunner(outcome: SystemctlOutcome): SystemctlRunner & { calls: { args: readonly string[]; timeoutMs: number }[] } {
  const calls: { args: readonly string[]; timeoutMs: number }[] = [];
  const run = async (args: readonly string[], timeoutMs: number): Promise<SystemctlOutcome> => {
    calls.push({ args, timeoutMs });
    return outcome;
  };
  return Object.assign(run, { calls });
}

const exited = (stdout: string, exitCode = 0, stderr = ''): SystemctlOutcome => ({ kind: 'exited', exitCode, stdout, stderr });

describe('parseSystemdProperties', () => {
  it('parses a service', () => {
    expect(parseSystemdProperties(SERVICE)).toEqual({
      ok: true,
      loadState: 'loaded',
      properties: {
        killMode: 'mixed',
        timeoutStop: { ok: true, us: 90_000_000 },
        restart: 'on-failure',
        restartForceExitStatus: { statuses: [75], signals: ['SIGUSR1'] },
        notifyAccess: 'main',
        type: 'notify',
        watchdog: { ok: true, us: 0 },
      },
    });
  });

  it('reads an empty RestartForceExitStatus and an infinite stop timeout', () => {
    const stdout = SERVICE.replace('RestartForceExitStatus=75 SIGUSR1', 'RestartForceExitStatus=').replace(
      'TimeoutStopUSec=1min 30s',
      'TimeoutStopUSec=infinity',
    );
    const parsed = parseSystemdProperties(stdout);
    expect(parsed).toMatchObject({
      ok: true,
      properties: { restartForceExitStatus: { statuses: [], signals: [] }, timeoutStop: { ok: true, infinite: true } },
    });
  });

  it('leaves service-only properties out for a scope', () => {
    expect(parseSystemdProperties('LoadState=loaded\nKillMode=control-group\nTimeoutStopUSec=1min 30s\n')).toEqual({
      ok: true,
      loadState: 'loaded',
      properties: { killMode: 'control-group', timeoutStop: { ok: true, us: 90_000_000 } },
    });
  });

  it.each([
    ['a missing KillMode', SERVICE.replace('KillMode=mixed\n', ''), 'no KillMode in the output'],
    ['an unknown Type', SERVICE.replace('Type=notify', 'Type=fancy'), 'Type=fancy is not one of simple, exec, forking, oneshot, dbus, notify, notify-reload, idle'],
    ['a bad duration', SERVICE.replace('TimeoutStopUSec=1min 30s', 'TimeoutStopUSec=soon'), 'TimeoutStopUSec: "soon": expected a number at "soon"'],
    ['a bad exit status', SERVICE.replace('75 SIGUSR1', '75 300'), 'RestartForceExitStatus: "300" is neither an exit status nor a signal'],
    ['no output at all', '', 'no KillMode in the output'],
  ])('rejects %s', (_name, stdout, reason) => {
    expect(parseSystemdProperties(stdout)).toEqual({ ok: false, reason });
  });
});

describe('readSystemdProperties', () => {
  it('asks systemctl for the properties of a system unit', async () => {
    const run = fakeRunner(exited(SERVICE));
    const properties = await readSystemdProperties('outlast.service', { scope: 'system', run });
    expect(properties.killMode).toBe('mixed');
    expect(run.calls).toEqual([
      {
        args: ['show', 'outlast.service', '-p', 'LoadState,KillMode,TimeoutStopUSec,Restart,RestartForceExitStatus,NotifyAccess,Type,WatchdogUSec'],
        timeoutMs: 5000,
      },
    ]);
  });

  it('passes --user and the timeout for a user unit', async () => {
    const run = fakeRunner(exited(SERVICE));
    await readSystemdProperties('outlast.service', { scope: 'user', timeoutMs: 1200, run });
    expect(run.calls[0]?.args.slice(0, 2)).toEqual(['--user', 'show']);
    expect(run.calls[0]?.timeoutMs).toBe(1200);
  });

  it.each([
    ['a timeout', { kind: 'timed-out' }, 'TIMEOUT', 'systemctl show x.service did not answer within 5000 ms'],
    ['no systemctl', { kind: 'failed', errno: 'ENOENT', message: 'spawn systemctl ENOENT' }, 'NOT_SUPPORTED', 'systemctl could not run: spawn systemctl ENOENT'],
    ['a kill', { kind: 'failed', message: 'killed by SIGKILL' }, 'INTERNAL', 'systemctl could not run: killed by SIGKILL'],
    ['no bus', exited('', 1, 'Failed to connect to bus: Host is down\n'), 'INTERNAL', 'systemctl show x.service exited with 1: Failed to connect to bus: Host is down'],
    ['an unknown unit', exited(SERVICE.replace('LoadState=loaded', 'LoadState=not-found')), 'NOT_FOUND', 'no unit x.service (system)'],
    ['unparsable output', exited('KillMode=mixed\n'), 'INTERNAL', 'systemctl show x.service: no TimeoutStopUSec in the output'],
  ] as const)('throws on %s', async (_name, outcome: SystemctlOutcome, code, message) => {
    const error = await readSystemdProperties('x.service', { scope: 'system', run: fakeRunner(outcome) }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OutlastError);
    expect(error).toMatchObject({ code, message, details: { unit: 'x.service', scope: 'system' } });
  });
});
