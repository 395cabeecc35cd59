import { describe, expect, it } from 'vitest';
import { readPlatformSnapshot } from '../../platform/index.ts';
import type { SelfFacts, SnapshotIo } from '../../platform/index.ts';

const SELF: SelfFacts = {
  env: { PREFIX: '/data/data/com.termux/files/usr', TERMUX_VERSION: '0.118.1', AWS_SECRET_ACCESS_KEY: 'hunter2', PATH: '/usr/bin' },
  pid: 7,
  ppid: 1,
  execve: true,
  uname: { release: '6.1.0', machine: 'aarch64' },
  node: 'v24.1.0',
};

function status(name: string, ppid: number, extra = ''): string {
  return `Name:\t${name}\nUmask:\t0022\nState:\tS (sleeping)\nPPid:\t${ppid}\nTracerPid:\t0\n${extra}`;
}

/** An io over an in-memory file system. */
function fakeIo(files: Record<string, string>, dirs: string[] = []): SnapshotIo {
  return {
    readFile: (path) => files[path],
    exists: (path) => path in files || dirs.includes(path),
  };
}

describe('readPlatformSnapshot', () => {
  it('captures files, status fields, ancestors and markers', () => {
    const io = fakeIo(
      {
        '/proc/self/status': 'Name:\tnode\nPPid:\t40\nTracerPid:\t39\nNSpid:\t5012\t7\n',
        '/proc/self/cgroup': '0::/\n',
        '/proc/1/sched': 'tini (1, #threads: 1)\n-------\nse.exec_start : 1.0\n',
        '/proc/1/comm': 'tini\n',
        '/proc/39/comm': 'proot\n',
        '/proc/40/status': status('bash', 39),
        '/proc/39/status': status('proot', 1),
        '/proc/1/status': status('tini', 0),
        '/.dockerenv': '',
        '/system/build.prop': '# begin build properties\nro.build.version.sdk=33\nro.build.version.release=13\n',
      },
      ['/var/run/secrets/kubernetes.io/serviceaccount'],
    );
    expect(readPlatformSnapshot(io, SELF)).toEqual({
      env: { PREFIX: '/data/data/com.termux/files/usr', TERMUX_VERSION: '0.118.1' },
      pid: 7,
      ppid: 1,
      proc: { selfCgroup: '0::/\n', pid1Sched: 'tini (1, #threads: 1)', pid1Comm: 'tini' },
      status: { ppid: 40, nspid: [5012, 7], tracerPid: 39 },
      tracerComm: 'proot',
      ancestors: [
        { pid: 40, comm: 'bash' },
        { pid: 39, comm: 'proot' },
        { pid: 1, comm: 'tini' },
      ],
      paths: { dockerenv: true, containerenv: false, kubernetesServiceAccount: true, buildProp: true },
      buildProp: { release: '13', sdk: '33' },
      execve: true,
      uname: { release: '6.1.0', machine: 'aarch64' },
      node: 'v24.1.0',
    });
  });

  it('keeps no environment variable a probe does not read', () => {
    const env = readPlatformSnapshot(fakeIo({}), SELF).env;
    expect(Object.keys(env)).toEqual(['PREFIX', 'TERMUX_VERSION']);
  });

  it('records unreadable files as undefined', () => {
    const snapshot = readPlatformSnapshot(fakeIo({}, ['/system/build.prop']), SELF);
    expect(snapshot.proc).toEqual({});
    expect(snapshot.status).toEqual({});
    expect(snapshot.paths.buildProp).toBe(true);
    expect(snapshot.buildProp).toBeUndefined();
    // Starts from process.ppid when /proc/self/status is unreadable, and stops at the first unreadable parent.
    expect(snapshot.ancestors).toEqual([{ pid: 1 }]);
  });

  it('never throws, even when the io does', () => {
    const io: SnapshotIo = {
      readFile: () => {
        throw new Error('EIO');
      },
      exists: () => {
        throw new Error('EIO');
      },
    };
    const snapshot = readPlatformSnapshot(io, SELF);
    expect(snapshot.proc).toEqual({});
    expect(Object.values(snapshot.paths)).toEqual([false, false, false, false]);
  });

  it('bounds the walk up the process tree', () => {
    // A pathological /proc where a process is its own parent.
    const snapshot = readPlatformSnapshot(fakeIo({ '/proc/self/status': 'PPid:\t9\n', '/proc/9/status': status('loop', 9) }), SELF);
    expect(snapshot.ancestors).toHaveLength(16);
  });

  it('reads this machine into plain JSON', () => {
    const snapshot = readPlatformSnapshot();
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(snapshot.pid).toBe(process.pid);
    expect(snapshot.node).toBe(process.version);
  });
});
