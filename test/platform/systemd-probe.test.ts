import { describe, expect, it } from 'vitest';
import { probeSystemd, unitFromCgroupPath } from '../../platform/index.ts';
import type { PlatformSnapshot } from '../../platform/index.ts';
import { loadSnapshot } from './fixtures.ts';

const USER = '/user.slice/user-1000.slice/user@1000.service';

describe('unitFromCgroupPath', () => {
  it.each([
    ['/system.slice/foo.service', 'foo.service', 'system'],
    ['/system.slice/foo.service/payload', 'foo.service', 'system'],
    ['/system.slice/system-getty.slice/getty@tty1.service', 'getty@tty1.service', 'system'],
    ['/system.slice/run-u123.service', 'run-u123.service', 'system'],
    ['/system.slice/run-r3f2a9c0e8b7d4c6a9b1e2f3a4b5c6d7e.scope', 'run-r3f2a9c0e8b7d4c6a9b1e2f3a4b5c6d7e.scope', 'system'],
    [`${USER}/foo.service`, 'foo.service', 'user'],
    [`${USER}/app.slice/foo.service`, 'foo.service', 'user'],
    [`${USER}/app.slice/run-p4321-i4322.scope`, 'run-p4321-i4322.scope', 'user'],
    [`${USER}/app.slice/app-org.gnome.Terminal.slice/vte-spawn-5b1c.scope`, 'vte-spawn-5b1c.scope', 'user'],
  ])('%s is %s (%s)', (path, unit, scope) => {
    expect(unitFromCgroupPath(path)).toEqual({ unit, scope });
  });

  it.each([
    ['the root', '/'],
    ['a slice', '/user.slice'],
    ["PID 1's scope", '/init.scope'],
    ["the user manager's own scope", `${USER}/init.scope`],
    ['a login session', '/user.slice/user-1000.slice/session-4.scope'],
    ['a Docker scope seen from inside', `/system.slice/docker-${'a'.repeat(64)}.scope`],
    ['a Docker cgroupfs path', `/docker/${'a'.repeat(64)}`],
    ['a pod scope', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-${'b'.repeat(64)}.scope`],
    ['a podman scope', `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${'c'.repeat(64)}.scope/container`],
  ])('names no unit of ours for %s', (_name, path) => {
    expect(unitFromCgroupPath(path)).toBeUndefined();
  });
});

/** A plain host (the bare-shell fixture) with some facts changed. */
function host(change: (snapshot: PlatformSnapshot) => void): PlatformSnapshot {
  const snapshot = loadSnapshot('bare-shell');
  change(snapshot);
  return snapshot;
}

describe('probeSystemd', () => {
  it('does not fire in a login session', () => {
    expect(probeSystemd(loadSnapshot('bare-shell')).facts).toBeUndefined();
  });

  it('reads the name=systemd line of cgroup v1', () => {
    const snapshot = host((s) => {
      s.proc.selfCgroup = '3:cpu,cpuacct:/system.slice/foo.service\n1:name=systemd:/system.slice/foo.service\n';
    });
    expect(probeSystemd(snapshot).facts).toEqual({ scope: 'system', unit: 'foo.service' });
  });

  it('prefers name=systemd over the unified line on hybrid hosts', () => {
    // A Docker container on a hybrid host: the unified line still shows containerd's unit.
    const snapshot = loadSnapshot('docker-v1');
    expect(snapshot.proc.selfCgroup).toContain('0::/system.slice/containerd.service');
    expect(probeSystemd(snapshot).facts).toBeUndefined();
  });

  it('fires on INVOCATION_ID alone, with no unit', () => {
    const snapshot = host((s) => {
      delete s.proc.selfCgroup;
      s.env = { INVOCATION_ID: 'e4f1' };
    });
    expect(probeSystemd(snapshot)).toEqual({
      facts: { scope: 'system', unit: null, invocationId: 'e4f1' },
      evidence: ['INVOCATION_ID=e4f1'],
      conflicts: [],
    });
  });

  it('tells a user manager by MANAGERPID when the path does not', () => {
    const snapshot = host((s) => {
      s.proc.selfCgroup = '0::/\n';
      s.env = { NOTIFY_SOCKET: '/run/user/1000/systemd/notify', MANAGERPID: '1650' };
    });
    expect(probeSystemd(snapshot)).toMatchObject({
      facts: { scope: 'user', unit: null },
      evidence: ['NOTIFY_SOCKET=/run/user/1000/systemd/notify', 'MANAGERPID=1650: a user manager'],
    });
  });

  it('marks transient units from systemd-run', () => {
    const snapshot = host((s) => {
      s.proc.selfCgroup = '0::/system.slice/run-u123.service\n';
      s.env = { INVOCATION_ID: 'e4f1' };
    });
    const finding = probeSystemd(snapshot);
    expect(finding.facts).toEqual({ scope: 'system', unit: 'run-u123.service', invocationId: 'e4f1' });
    expect(finding.evidence).toContain('run-u123.service is transient (systemd-run): no unit file');
  });

  it('accepts a scope unit', () => {
    const snapshot = host((s) => {
      s.proc.selfCgroup = `0::${USER}/app.slice/run-p4321-i4322.scope\n`;
    });
    expect(probeSystemd(snapshot).facts).toEqual({ scope: 'user', unit: 'run-p4321-i4322.scope' });
  });
});
