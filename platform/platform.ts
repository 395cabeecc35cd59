/**
 * What platform detection answers: the winning `kind`, the facts of every
 * probe that fired, and the evidence and conflicts behind the choice.
 */

/** The platform kinds, in precedence order, except that a systemd unit beats a container (see detect.ts for why). */
export type PlatformKind = 'termux' | 'container' | 'systemd' | 'bare';

/** The container runtime; `unknown` when only a PID namespace gives us away. */
export type ContainerRuntime = 'docker' | 'podman' | 'kubernetes' | 'lxc' | 'unknown';

/** Facts from the container probe. */
export interface ContainerFacts {
  runtime: ContainerRuntime;
  /** We are PID 1: we must keep our PID, reap orphans and handle signals ourselves. */
  pid1: boolean;
  /** PID 1 is a known init (tini, dumb-init, …) that reaps orphans and forwards signals. */
  hasInit: boolean;
  /** PID 1's comm, when hasInit. */
  initName?: string;
}

/** Facts from the systemd probe. */
export interface SystemdFacts {
  /** `user` when a per-user manager (user@UID.service) runs us. */
  scope: 'system' | 'user';
  /** The unit whose cgroup we are in, e.g. `foo.service`; null when the path does not say. */
  unit: string | null;
  /** $INVOCATION_ID: systemd's id of this run of the unit. */
  invocationId?: string;
}

/**
 * The Android cgroup of our app process: the cpuset class (Android's
 * scheduling group, which tracks whether the app is in front) or, when no
 * class is visible, the per-app `uid_<uid>/pid_<pid>` group.
 */
export type AndroidCgroup = 'top-app' | 'foreground' | 'background' | 'system-background' | 'restricted' | 'uid-pid';

/** Facts from the Termux probe. */
export interface TermuxFacts {
  /** `ro.build.version.release`, when /system/build.prop is readable. */
  androidVersion?: string;
  androidCgroup?: AndroidCgroup;
  /** We run under PRoot (proot-distro, udocker, termux-chroot…). */
  proot: boolean;
  /** $PREFIX, when it is a Termux prefix. */
  prefix?: string;
  /** $TERMUX_VERSION, the Termux app's version. */
  termuxVersion?: string;
}

/** The detected platform. */
export interface Platform {
  kind: PlatformKind;
  /** Why: one line per fact that fired, prefixed with its probe. */
  evidence: string[];
  /** Where probes disagreed: which side won and why. */
  conflicts: string[];
  /** Facts of every probe that fired, including probes that lost to a higher kind. */
  container?: ContainerFacts;
  systemd?: SystemdFacts;
  termux?: TermuxFacts;
  /** Whether `process.execve` is available for an in-place re-exec. */
  execve: boolean;
  /** The Node.js version, e.g. "v24.1.0". */
  node: string;
}

/** What one probe found: facts when it fired, and the evidence for them. */
export interface Finding<F> {
  /** Present exactly when the probe fired. */
  facts?: F;
  evidence: string[];
  /** Disagreements the probe settled itself, e.g. two container runtimes. */
  conflicts: string[];
}
