import { describe, expect, it } from 'vitest';
import { detectPlatform, probeTermux } from '../../platform/index.ts';
import type { PlatformSnapshot } from '../../platform/index.ts';
import { loadSnapshot } from './fixtures.ts';

/** A plain host (the bare-shell fixture) with some facts changed. */
function host(change: (snapshot: PlatformSnapshot) => void): PlatformSnapshot {
  const snapshot = loadSnapshot('bare-shell');
  change(snapshot);
  return snapshot;
}

describe('probeTermux', () => {
  it('does not fire for PRoot on a desktop', () => {
    const snapshot = host((s) => {
      s.env = { PROOT_TMP_DIR: '/tmp' };
      s.status.tracerPid = 2199;
      s.tracerComm = 'proot';
    });
    expect(probeTermux(snapshot).facts).toBeUndefined();
    expect(detectPlatform(snapshot).kind).toBe('bare');
  });

  it('does not take any PREFIX for Termux', () => {
    const snapshot = host((s) => {
      s.env = { PREFIX: '/usr/local' };
    });
    expect(probeTermux(snapshot).facts).toBeUndefined();
  });

  it('fires on an Android kernel alone', () => {
    const snapshot = host((s) => {
      s.uname.release = '6.1.25-android14-11-g34fde9ec08a3-ab10675345';
    });
    expect(probeTermux(snapshot)).toEqual({
      facts: { proot: false },
      evidence: ['Android kernel 6.1.25-android14-11-g34fde9ec08a3-ab10675345'],
      conflicts: [],
    });
  });

  it.each([
    ['a background app', '3:cpuset:/background\n0::/uid_10234/pid_5678\n', 'background'],
    ['a foreground service', '3:cpuset:/foreground\n', 'foreground'],
    ['Android 11 cpuacct groups', '2:cpuacct:/uid_10234/pid_5678\n1:cpuset:/top-app\n', 'top-app'],
    ['only uid_/pid_', '2:cpuacct:/uid_10234/pid_5678\n', 'uid-pid'],
  ])('reads the cgroup of %s', (_name, cgroup, expected) => {
    const snapshot = host((s) => {
      s.proc.selfCgroup = cgroup;
    });
    expect(probeTermux(snapshot).facts?.androidCgroup).toBe(expected);
  });

  it('sees PRoot through an ancestor when the tracer is hidden', () => {
    const snapshot = loadSnapshot('termux-android12-top-app');
    snapshot.ancestors = [{ pid: 14001, comm: 'proot' }, ...snapshot.ancestors];
    const finding = probeTermux(snapshot);
    expect(finding.facts?.proot).toBe(true);
    expect(finding.evidence).toContain('proot is an ancestor (PID 14001)');
  });
});
