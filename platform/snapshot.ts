/**
 * The platform snapshot: every fact detection looks at, captured once from the
 * machine as a plain JSON-serialisable object. Probes are pure functions over
 * it, so a snapshot recorded on a phone, in a pod or under systemd replays
 * exactly in a unit test. A file or field that could not be read is absent
 * (undefined), never an empty string.
 */

/** One process on the way from our parent up towards PID 1. */
export interface AncestorProcess {
  pid: number;
  /** The `Name:` of /proc/<pid>/status, i.e. its comm; absent when unreadable. */
  comm?: string;
}

/** Fields of /proc/self/status, in the PID namespace of the /proc mount. */
export interface ProcStatus {
  ppid?: number;
  /** Our PID in each nested PID namespace, outermost first (Linux ≥ 4.1). */
  nspid?: number[];
  /** The PID of a process tracing us (ptrace); 0 when none. */
  tracerPid?: number;
}

/** The Android version from /system/build.prop, when the file is readable. */
export interface BuildProp {
  /** `ro.build.version.release`, e.g. "12". */
  release?: string;
  /** `ro.build.version.sdk`, e.g. "31". */
  sdk?: string;
}

/** Everything platform detection needs, as read from one machine. */
export interface PlatformSnapshot {
  /** Only the variables detection reads (see isSnapshotEnv), never the whole environment. */
  env: Record<string, string>;
  /** Our PID and parent PID as the process sees them (its own PID namespace). */
  pid: number;
  ppid: number;
  /** Raw contents of the /proc files detection parses. */
  proc: {
    selfCgroup?: string;
    pid1Cgroup?: string;
    selfMountinfo?: string;
    /** Only the header line, e.g. `systemd (1, #threads: 1)`; the rest is scheduler noise. */
    pid1Sched?: string;
    /** Trimmed, e.g. `tini`. */
    pid1Comm?: string;
  };
  status: ProcStatus;
  /** comm of the TracerPid process, when we are traced and it is readable. */
  tracerComm?: string;
  /** Parent, grandparent, … as far as /proc lets us walk (bounded). */
  ancestors: AncestorProcess[];
  /** Whether each marker path exists. */
  paths: {
    dockerenv: boolean;
    containerenv: boolean;
    kubernetesServiceAccount: boolean;
    buildProp: boolean;
  };
  buildProp?: BuildProp;
  /** Whether `process.execve` is a function (Node ≥ 22.15 on POSIX). */
  execve: boolean;
  /** os.release() and os.machine(). */
  uname: { release: string; machine: string };
  /** process.version, e.g. "v24.1.0". */
  node: string;
}

// Exact names, and prefixes ending in `_`. A snapshot is meant to be recorded
// and committed as a fixture, so it must not carry tokens or passwords from
// the environment: only what a probe reads is kept.
const SNAPSHOT_ENV: readonly string[] = [
  'PREFIX',
  'TERMUX_',
  'ANDROID_ROOT',
  'ANDROID_DATA',
  'PROOT_',
  'INVOCATION_ID',
  'NOTIFY_SOCKET',
  'JOURNAL_STREAM',
  'MANAGERPID',
  'SYSTEMD_EXEC_PID',
  'KUBERNETES_SERVICE_HOST',
  'container',
];

/** Whether a snapshot keeps the environment variable `name`. */
export function isSnapshotEnv(name: string): boolean {
  return SNAPSHOT_ENV.some((kept) => (kept.endsWith('_') ? name.startsWith(kept) : name === kept));
}
