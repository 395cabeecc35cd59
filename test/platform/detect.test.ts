import { describe, expect, it } from 'vitest';
import { detectPlatform } from '../../platform/index.ts';
import type { Platform, PlatformKind } from '../../platform/index.ts';
import { fixtureNames, loadSnapshot } from './fixtures.ts';

interface Case {
  fixture: string;
  kind: PlatformKind;
  facts: Pick<Platform, 'container' | 'systemd' | 'termux'>;
  /** Lines that must be among the evidence. */
  evidence: string[];
  /** The conflicts, exactly; none unless given. */
  conflicts?: string[];
}

const DOCKER_V1_ID = 'a3f1c2d4e5b60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const DOCKER_V2_ID = '6f0c1b2a39485d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e';

const CASES: Case[] = [
  {
    fixture: 'systemd-system-v1',
    kind: 'systemd',
    facts: { systemd: { scope: 'system', unit: 'outlast-demo.service' } },
    evidence: [
      'systemd: cgroup v1 path /system.slice/outlast-demo.service is unit outlast-demo.service',
      'systemd: no INVOCATION_ID: the unit comes from the cgroup path alone',
    ],
  },
  {
    fixture: 'systemd-user-v1',
    kind: 'systemd',
    facts: { systemd: { scope: 'user', unit: 'outlast-demo.service', invocationId: '5c8f3e0b7a2d4c1f9e6b8a0d3c5f7e9a' } },
    evidence: [
      'systemd: INVOCATION_ID=5c8f3e0b7a2d4c1f9e6b8a0d3c5f7e9a',
      'systemd: cgroup v1 path /user.slice/user-1000.slice/user@1000.service/outlast-demo.service is unit outlast-demo.service',
    ],
  },
  {
    fixture: 'systemd-system-v2',
    kind: 'systemd',
    facts: { systemd: { scope: 'system', unit: 'outlast-demo.service', invocationId: '0e2f6a9c41d84b7f8c3a5e1d9b2f4c60' } },
    evidence: [
      'systemd: NOTIFY_SOCKET=/run/systemd/notify',
      'systemd: cgroup v2 path /system.slice/outlast-demo.service is unit outlast-demo.service',
    ],
  },
  {
    fixture: 'systemd-user-v2',
    kind: 'systemd',
    facts: { systemd: { scope: 'user', unit: 'outlast-demo.service', invocationId: '7d1e4b2a9f8c4e6d8a0b3c5e7f9d1a2b' } },
    evidence: [
      'systemd: cgroup v2 path /user.slice/user-1000.slice/user@1000.service/app.slice/outlast-demo.service is unit outlast-demo.service',
    ],
  },
  {
    fixture: 'docker-v1',
    kind: 'container',
    facts: { container: { runtime: 'docker', pid1: true, hasInit: false } },
    evidence: [
      'container: /.dockerenv exists',
      `container: /proc/self/cgroup shows /docker/${DOCKER_V1_ID}`,
      'container: we are PID 1',
    ],
  },
  {
    fixture: 'docker-v2',
    kind: 'container',
    facts: { container: { runtime: 'docker', pid1: false, hasInit: true, initName: 'docker-init' } },
    evidence: [
      'container: /.dockerenv exists',
      `container: /proc/self/mountinfo shows /docker/containers/${DOCKER_V2_ID}/resolv.conf`,
      'container: PID 1 is docker-init, an init that reaps orphans',
    ],
  },
  {
    fixture: 'podman',
    kind: 'container',
    facts: { container: { runtime: 'podman', pid1: false, hasInit: true, initName: 'podman-init' } },
    evidence: ['container: /run/.containerenv exists', 'container: container=podman'],
  },
  {
    fixture: 'kubernetes',
    kind: 'container',
    facts: { container: { runtime: 'kubernetes', pid1: true, hasInit: false } },
    evidence: [
      'container: KUBERNETES_SERVICE_HOST=10.96.0.1',
      'container: /var/run/secrets/kubernetes.io/serviceaccount exists',
      'container: /proc/self/cgroup shows kubepods.slice',
      'container: /proc/self/mountinfo shows /kubelet/pods/8d3f2a1c-5b6e-4f0a-9c1d-2e3f4a5b6c7d/etc-hosts',
    ],
  },
  {
    fixture: 'termux-android12-top-app',
    kind: 'termux',
    facts: {
      termux: {
        androidVersion: '12',
        androidCgroup: 'top-app',
        proot: false,
        prefix: '/data/data/com.termux/files/usr',
        termuxVersion: '0.118.0',
      },
    },
    evidence: [
      'termux: PREFIX=/data/data/com.termux/files/usr',
      'termux: TERMUX_VERSION=0.118.0',
      'termux: Android app cgroup 3:cpuset:/top-app',
      'termux: Android app cgroup 0::/uid_10234/pid_5678',
      'termux: Android kernel 5.10.66-android12-9-00041-gfa9c9074531e-ab7914766',
    ],
  },
  {
    fixture: 'termux-android14-uid-pid',
    kind: 'termux',
    // build.prop exists but is unreadable, so there is no androidVersion.
    facts: { termux: { androidCgroup: 'uid-pid', proot: false, prefix: '/data/data/com.termux/files/usr', termuxVersion: '0.118.1' } },
    evidence: ['termux: /system/build.prop exists', 'termux: Android app cgroup 0::/uid_10234/pid_9876'],
  },
  {
    fixture: 'termux-proot',
    kind: 'termux',
    facts: { termux: { androidVersion: '13', androidCgroup: 'top-app', proot: true } },
    evidence: [
      'termux: ANDROID_ROOT=/system and ANDROID_DATA=/data',
      'termux: traced by proot (TracerPid 14001)',
      'termux: proot is an ancestor (PID 14001)',
      'termux: PRoot variables PROOT_L2S_DIR',
      'termux: PRoot kernel release 6.2.1-PRoot-Distro',
    ],
  },
  {
    fixture: 'bare-shell',
    kind: 'bare',
    facts: {},
    evidence: ['no Termux, container or systemd marker found'],
  },
  {
    // Recorded on the development VM: a Firecracker VM whose image carries
    // /.dockerenv, with an agent (not an init) as PID 1.
    fixture: 'dev-vm-dockerenv',
    kind: 'container',
    facts: { container: { runtime: 'docker', pid1: false, hasInit: false } },
    evidence: ['container: /.dockerenv exists', 'container: PID 1 is process_api, not a known init'],
  },
  {
    // Recorded on the development VM (which has /.dockerenv) inside a
    // `systemd-run --user` unit of test/harness/systemd-user.ts: the unit's
    // manager decides our stop, not a container runtime.
    fixture: 'systemd-user-dockerenv',
    kind: 'systemd',
    facts: {
      systemd: { scope: 'user', unit: 'outlast-demo.service', invocationId: '4ef1a2a682784c07a433bfcd1f88ca9e' },
      container: { runtime: 'docker', pid1: false, hasInit: false },
    },
    evidence: [
      'systemd: INVOCATION_ID=4ef1a2a682784c07a433bfcd1f88ca9e',
      'container: /.dockerenv exists',
      'systemd over container: INVOCATION_ID and a .service cgroup: a systemd manager started this process as a unit, so its stop timeout and cgroup kill are the window that matters; the container markers stay as facts',
    ],
    conflicts: [
      'systemd over container (docker): INVOCATION_ID and a .service cgroup: a systemd manager started this process as a unit, so its stop timeout and cgroup kill are the window that matters; the container markers stay as facts',
    ],
  },
];

describe('detectPlatform on recorded snapshots', () => {
  it.each(CASES)('$fixture is $kind', ({ fixture, kind, facts, evidence, conflicts = [] }) => {
    const platform = detectPlatform(loadSnapshot(fixture));
    expect(platform.kind).toBe(kind);
    expect({ container: platform.container, systemd: platform.systemd, termux: platform.termux }).toEqual(facts);
    expect(platform.evidence).toEqual(expect.arrayContaining(evidence));
    expect(platform.conflicts).toEqual(conflicts);
  });

  it('has a case for every fixture', () => {
    expect(CASES.map((c) => c.fixture).sort()).toEqual(fixtureNames());
  });

  it.each(fixtureNames())('%s is a complete snapshot', (name) => {
    const snapshot = loadSnapshot(name);
    expect(Object.keys(snapshot.paths).sort()).toEqual(['buildProp', 'containerenv', 'dockerenv', 'kubernetesServiceAccount']);
    const { env, pid, ppid, proc, status, ancestors, execve, uname, node } = snapshot;
    expect([env, proc, status, uname].map((value) => typeof value)).toEqual(['object', 'object', 'object', 'object']);
    expect([pid, ppid].map(Number.isInteger)).toEqual([true, true]);
    expect(Array.isArray(ancestors)).toBe(true);
    expect(typeof execve).toBe('boolean');
    expect([typeof uname.release, typeof uname.machine]).toEqual(['string', 'string']);
    expect(node).toMatch(/^v\d+\./);
  });

  it('reports execve and the Node version from the snapshot', () => {
    const snapshot = { ...loadSnapshot('bare-shell'), execve: false, node: 'v22.14.0' };
    expect(detectPlatform(snapshot)).toMatchObject({ execve: false, node: 'v22.14.0' });
  });

  it('never throws, even on a malformed snapshot', () => {
    const broken = { ...loadSnapshot('bare-shell'), paths: undefined } as unknown as Parameters<typeof detectPlatform>[0];
    const platform = detectPlatform(broken);
    expect(platform.kind).toBe('bare');
    expect(platform.evidence[0]).toMatch(/^detection failed on a malformed snapshot: /);
  });
});
