import { describe, expect, it } from 'vitest';
import { detectPlatform } from '../../platform/index.ts';
import { loadSnapshot } from './fixtures.ts';

describe('conflicting platform facts', () => {
  it('Termux under PRoot wins over container markers in the guest rootfs', () => {
    const snapshot = loadSnapshot('termux-proot');
    snapshot.paths.dockerenv = true; // e.g. a udocker run of an image committed by docker
    const platform = detectPlatform(snapshot);
    expect(platform.kind).toBe('termux');
    expect(platform.termux?.proot).toBe(true);
    expect(platform.container).toEqual({ runtime: 'docker', pid1: false, hasInit: false });
    expect(platform.conflicts).toEqual([expect.stringMatching(/^termux over container \(docker\): Android kills Termux processes/)]);
  });

  it("Termux's env in a container makes it termux but keeps the container facts", () => {
    const snapshot = loadSnapshot('docker-v2');
    snapshot.env = { ...snapshot.env, PREFIX: '/data/data/com.termux/files/usr', TERMUX_VERSION: '0.118.1' };
    const platform = detectPlatform(snapshot);
    expect(platform.kind).toBe('termux');
    expect(platform.termux).toEqual({ proot: false, prefix: '/data/data/com.termux/files/usr', termuxVersion: '0.118.1' });
    expect(platform.container).toEqual({ runtime: 'docker', pid1: false, hasInit: true, initName: 'docker-init' });
    expect(platform.conflicts).toEqual([expect.stringMatching(/^termux over container \(docker\): .*Termux env was copied in$/)]);
  });

  it('a systemd unit inside a container is systemd, with the container as a fact', () => {
    // podman --systemd=always: systemd is the container's PID 1 and starts us
    // as a unit; its TimeoutStopSec and cgroup kill end our stop.
    const snapshot = loadSnapshot('podman');
    snapshot.env = { ...snapshot.env, INVOCATION_ID: '3b9f0c1d2e4a4f6b8c0d2e4f6a8b0c1d' };
    snapshot.proc.selfCgroup = '0::/system.slice/outlast-demo.service\n';
    snapshot.proc.pid1Comm = 'systemd';
    const platform = detectPlatform(snapshot);
    expect(platform.kind).toBe('systemd');
    expect(platform.container).toEqual({ runtime: 'podman', pid1: false, hasInit: true, initName: 'systemd' });
    expect(platform.systemd).toEqual({ scope: 'system', unit: 'outlast-demo.service', invocationId: '3b9f0c1d2e4a4f6b8c0d2e4f6a8b0c1d' });
    expect(platform.conflicts).toEqual([expect.stringMatching(/^systemd over container \(podman\): INVOCATION_ID and a \.service cgroup: /)]);
    expect(platform.evidence).toContainEqual(expect.stringMatching(/^systemd over container: .*the container markers stay as facts$/));
  });

  it('systemd traces without a unit run (no INVOCATION_ID) still lose to the container', () => {
    const snapshot = loadSnapshot('podman');
    snapshot.proc.selfCgroup = '0::/system.slice/outlast-demo.service\n';
    const platform = detectPlatform(snapshot);
    expect(platform.kind).toBe('container');
    expect(platform.conflicts).toEqual([
      'container over systemd (outlast-demo.service): the runtime owns the container, so its rules bind before the inner systemd unit',
    ]);
  });

  it('systemd traces under Termux lose to Termux', () => {
    const snapshot = loadSnapshot('termux-proot');
    snapshot.env = { ...snapshot.env, INVOCATION_ID: '3b9f0c1d2e4a4f6b8c0d2e4f6a8b0c1d' };
    const platform = detectPlatform(snapshot);
    expect(platform.kind).toBe('termux');
    expect(platform.systemd).toEqual({ scope: 'system', unit: null, invocationId: '3b9f0c1d2e4a4f6b8c0d2e4f6a8b0c1d' });
    expect(platform.conflicts).toEqual([expect.stringMatching(/^termux over systemd: no systemd manages processes on Android/)]);
  });

  it('reports one conflict per losing kind, in precedence order', () => {
    const snapshot = loadSnapshot('termux-proot');
    snapshot.paths.dockerenv = true;
    snapshot.env = { ...snapshot.env, NOTIFY_SOCKET: '/run/systemd/notify' };
    const platform = detectPlatform(snapshot);
    expect(platform.kind).toBe('termux');
    expect(platform.conflicts.map((line) => line.split(':')[0])).toEqual(['termux over container (docker)', 'termux over systemd']);
  });

  it('podman wins over a /.dockerenv baked into the image', () => {
    const snapshot = loadSnapshot('podman');
    snapshot.paths.dockerenv = true;
    const platform = detectPlatform(snapshot);
    expect(platform.container?.runtime).toBe('podman');
    expect(platform.conflicts).toEqual([
      'container runtime podman over docker: podman marks its containers at start, while /.dockerenv can be baked into an image',
    ]);
  });

  it('Kubernetes wins over the Docker runtime it schedules onto', () => {
    const snapshot = loadSnapshot('kubernetes');
    snapshot.paths.dockerenv = true; // dockershim-era nodes
    const platform = detectPlatform(snapshot);
    expect(platform.container?.runtime).toBe('kubernetes');
    expect(platform.conflicts).toEqual([
      'container runtime kubernetes over docker: Kubernetes runs pods on a container runtime and decides their restarts',
    ]);
  });

  it('a named runtime wins over a bare container= value', () => {
    const snapshot = loadSnapshot('docker-v2');
    snapshot.env = { container: 'oci' };
    const platform = detectPlatform(snapshot);
    expect(platform.container?.runtime).toBe('docker');
    expect(platform.conflicts).toEqual(['container runtime docker over unknown: a named runtime beats an unnamed one']);
  });
});
