/**
 * Takes a PlatformSnapshot from the real machine. This is the only platform
 * module that touches the file system or `process`; everything after it is a
 * pure function of the snapshot. It never throws and never blocks for long:
 * the reads are a handful of small synchronous /proc reads.
 */
import { closeSync, constants, existsSync, openSync, readFileSync } from 'node:fs';
import { machine, release } from 'node:os';
import { isSnapshotEnv } from './snapshot.ts';
import type { AncestorProcess, BuildProp, PlatformSnapshot, ProcStatus } from './snapshot.ts';

/** The file access the reader needs, bound to node:fs by {@link nodeSnapshotIo}. */
export interface SnapshotIo {
  /** The file's text, or undefined when it is missing or unreadable. */
  readFile(path: string): string | undefined;
  exists(path: string): boolean;
}

/** The facts about this process that do not come from files. */
export interface SelfFacts {
  env: Readonly<Record<string, string | undefined>>;
  pid: number;
  ppid: number;
  execve: boolean;
  uname: { release: string; machine: string };
  node: string;
}

// Deep enough for shell → proot → termux app chains, small enough that a
// pathological /proc cannot keep us walking.
const MAX_ANCESTORS = 16;

/** {@link SnapshotIo} over node:fs. */
export const nodeSnapshotIo: SnapshotIo = {
  readFile(path) {
    let fd: number;
    try {
      // O_NONBLOCK: a FIFO sitting at a probed path must not stall detection
      // waiting for a writer. Regular files and /proc ignore the flag.
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    try {
      return readFileSync(fd, 'utf8');
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  },
  exists: (path) => existsSync(path),
};

/** The facts of the current process. */
export function currentSelf(): SelfFacts {
  return {
    env: process.env,
    pid: process.pid,
    ppid: process.ppid,
    execve: typeof process.execve === 'function',
    uname: { release: release(), machine: machine() },
    node: process.version,
  };
}

/** Reads the snapshot through `io`; an injected io that throws counts as unreadable. */
export function readPlatformSnapshot(io: SnapshotIo = nodeSnapshotIo, self: SelfFacts = currentSelf()): PlatformSnapshot {
  const read = (path: string): string | undefined => attempt(() => io.readFile(path), undefined);
  const exists = (path: string): boolean => attempt(() => io.exists(path), false);
  const status = parseStatus(read('/proc/self/status'));
  const tracerPid = status.tracerPid ?? 0;
  const buildPropExists = exists('/system/build.prop');
  return {
    env: keptEnv(self.env),
    pid: self.pid,
    ppid: self.ppid,
    proc: {
      selfCgroup: read('/proc/self/cgroup'),
      pid1Cgroup: read('/proc/1/cgroup'),
      selfMountinfo: read('/proc/self/mountinfo'),
      pid1Sched: read('/proc/1/sched')?.split('\n')[0],
      pid1Comm: read('/proc/1/comm')?.trim(),
    },
    status,
    tracerComm: tracerPid > 0 ? read(`/proc/${tracerPid}/comm`)?.trim() : undefined,
    // Start from /proc's idea of our parent: in a PID namespace whose /proc
    // is the host's, process.ppid names a different process there.
    ancestors: walkAncestors(status.ppid ?? self.ppid, read),
    paths: {
      dockerenv: exists('/.dockerenv'),
      containerenv: exists('/run/.containerenv'),
      kubernetesServiceAccount: exists('/var/run/secrets/kubernetes.io/serviceaccount'),
      buildProp: buildPropExists,
    },
    buildProp: buildPropExists ? parseBuildProp(read('/system/build.prop')) : undefined,
    execve: self.execve,
    uname: self.uname,
    node: self.node,
  };
}

function attempt<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function keptEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (value !== undefined && isSnapshotEnv(name)) kept[name] = value;
  }
  return kept;
}

/** `Key:\tvalue` lines of a /proc/<pid>/status file. */
function statusFields(text: string | undefined): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text?.split('\n') ?? []) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

function toInt(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

function parseStatus(text: string | undefined): ProcStatus {
  const fields = statusFields(text);
  const nspid = fields.get('NSpid')?.split(/\s+/).map(toInt).filter((pid) => pid !== undefined);
  return {
    ppid: toInt(fields.get('PPid')),
    nspid: nspid?.length ? nspid : undefined,
    tracerPid: toInt(fields.get('TracerPid')),
  };
}

function walkAncestors(start: number, read: (path: string) => string | undefined): AncestorProcess[] {
  const ancestors: AncestorProcess[] = [];
  let pid: number | undefined = start;
  while (pid !== undefined && pid > 0 && ancestors.length < MAX_ANCESTORS) {
    const fields = statusFields(read(`/proc/${pid}/status`));
    ancestors.push({ pid, comm: fields.get('Name') });
    pid = pid === 1 ? undefined : toInt(fields.get('PPid'));
  }
  return ancestors;
}

function parseBuildProp(text: string | undefined): BuildProp | undefined {
  if (text === undefined) return undefined;
  const value = (key: string): string | undefined =>
    text
      .split('\n')
      .find((line) => line.startsWith(`${key}=`))
      ?.slice(key.length + 1)
      .trim();
  return { release: value('ro.build.version.release'), sdk: value('ro.build.version.sdk') };
}
