import { describe, expect, it } from 'vitest';
import { probeContainer } from '../../platform/index.ts';
import type { PlatformSnapshot } from '../../platform/index.ts';
import { loadSnapshot } from './fixtures.ts';

/** A plain host (the bare-shell fixture) with some facts changed. */
function host(change: (snapshot: PlatformSnapshot) => void): PlatformSnapshot {
  const snapshot = loadSnapshot('bare-shell');
  change(snapshot);
  return snapshot;
}

describe('probeContainer', () => {
  it('does not fire on a plain host', () => {
    expect(probeContainer(loadSnapshot('bare-shell'))).toEqual({ evidence: [], conflicts: [] });
  });

  it('treats PID 1 with no runtime marker as a container of unknown runtime', () => {
    const snapshot = host((s) => {
      s.pid = 1;
      s.ppid = 0;
      s.proc.pid1Comm = 'node';
    });
    const finding = probeContainer(snapshot);
    expect(finding.facts).toEqual({ runtime: 'unknown', pid1: true, hasInit: false });
    expect(finding.evidence).toEqual(['we are PID 1', 'no init above us: we must reap orphans and handle signals']);
  });

  it('lets mountinfo decide Docker on cgroup v2 without /.dockerenv', () => {
    const snapshot = loadSnapshot('docker-v2');
    snapshot.paths.dockerenv = false;
    expect(snapshot.proc.selfCgroup).toBe('0::/\n');
    expect(probeContainer(snapshot).facts?.runtime).toBe('docker');
  });

  it('reads the systemd cgroup driver form docker-<id>.scope', () => {
    const id = 'c'.repeat(64);
    const snapshot = host((s) => {
      s.proc.selfCgroup = `1:name=systemd:/system.slice/docker-${id}.scope\n0::/\n`;
    });
    const finding = probeContainer(snapshot);
    expect(finding.facts?.runtime).toBe('docker');
    expect(finding.evidence).toContain(`/proc/self/cgroup shows docker-${id}.scope`);
  });

  it('is not fooled by a path that merely contains "docker"', () => {
    const snapshot = host((s) => {
      s.proc.selfMountinfo += '90 29 252:0 /home/me/docker/data /srv/data rw,relatime - ext4 /dev/sda1 rw\n';
    });
    expect(probeContainer(snapshot).facts).toBeUndefined();
  });

  it.each([
    ['container=lxc', { container: 'lxc' }, '0::/\n', 'lxc'],
    ['an LXC 4 payload cgroup', {}, '0::/lxc.payload.web/system.slice/outlast.service\n', 'lxc'],
    ['a libpod scope', {}, `0::/machine.slice/libpod-${'d'.repeat(64)}.scope/container\n`, 'podman'],
    ['container=systemd-nspawn', { container: 'systemd-nspawn' }, '0::/\n', 'unknown'],
  ])('detects %s', (_name, env: Record<string, string>, cgroup, runtime) => {
    const snapshot = host((s) => {
      s.env = env;
      s.proc.selfCgroup = cgroup;
    });
    expect(probeContainer(snapshot).facts?.runtime).toBe(runtime);
  });

  it('sees a nested PID namespace in NSpid', () => {
    const snapshot = host((s) => {
      s.status.nspid = [48213, 7];
    });
    expect(probeContainer(snapshot)).toMatchObject({
      facts: { runtime: 'unknown', pid1: false },
      evidence: ['NSpid 48213 7: we are in a nested PID namespace', 'PID 1 is systemd, an init that reaps orphans'],
    });
  });

  it('sees a host PID in /proc/1/sched (older kernels)', () => {
    const snapshot = host((s) => {
      s.proc.pid1Sched = 'bash (30412, #threads: 1)';
    });
    expect(probeContainer(snapshot).evidence).toContain('/proc/1/sched shows PID 1 as host PID 30412');
  });

  it.each(['tini', 'dumb-init', 'docker-init', 'catatonit', 's6-svscan', 'runit', 'systemd', 'init'])(
    'knows %s as an init',
    (comm) => {
      const snapshot = loadSnapshot('docker-v2');
      snapshot.proc.pid1Comm = comm;
      expect(probeContainer(snapshot).facts).toMatchObject({ hasInit: true, initName: comm });
    },
  );

  it('has no init when PID 1 is an app or is not visible', () => {
    const app = loadSnapshot('docker-v2');
    app.proc.pid1Comm = 'bash';
    expect(probeContainer(app).facts?.hasInit).toBe(false);
    expect(probeContainer(app).evidence).toContain('PID 1 is bash, not a known init');
    const hidden = loadSnapshot('docker-v2');
    delete hidden.proc.pid1Comm;
    expect(probeContainer(hidden).facts?.hasInit).toBe(false);
    expect(probeContainer(hidden).evidence).toContain('PID 1 is not visible');
  });

  it('never counts PID 1 itself as having an init, even if its comm is one', () => {
    const snapshot = loadSnapshot('docker-v1');
    snapshot.proc.pid1Comm = 'tini';
    expect(probeContainer(snapshot).facts).toEqual({ runtime: 'docker', pid1: true, hasInit: false });
  });
});
