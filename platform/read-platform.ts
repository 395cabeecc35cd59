/**
 * The one-call entries: read a machine's snapshot and detect its platform,
 * for this process or for another one (the running supervisor, as `outlast
 * doctor` sees it from a shell).
 */
import { detectPlatform } from './detect.ts';
import type { Platform } from './platform.ts';
import { currentSelf, nodeSnapshotIo, readPlatformSnapshot } from './snapshot-reader.ts';
import type { SnapshotIo } from './snapshot-reader.ts';

/** Detects the platform of the running process. Never throws. */
export function readPlatform(): Platform {
  return detectPlatform(readPlatformSnapshot());
}

/**
 * Detects the platform of process `pid` from its /proc entries: its cgroup,
 * mountinfo, status, ancestors and environment. Its Node version and
 * `process.execve` cannot be read from outside, so they are this process's.
 * An unreadable environ (another user's process) leaves the env empty; the
 * cgroup path still names a systemd unit. Never throws.
 */
export function readPlatformOf(pid: number, io: SnapshotIo = nodeSnapshotIo): Platform {
  const dir = `/proc/${pid}/`;
  const pidIo: SnapshotIo = {
    readFile: (path) => io.readFile(path.startsWith('/proc/self/') ? `${dir}${path.slice('/proc/self/'.length)}` : path),
    exists: (path) => io.exists(path),
  };
  const env: Record<string, string> = {};
  let environ: string | undefined;
  try {
    environ = io.readFile(`${dir}environ`);
  } catch {
    environ = undefined;
  }
  for (const entry of environ?.split('\0') ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  // ppid 0: the reader takes the parent from the process's own status file.
  return detectPlatform(readPlatformSnapshot(pidIo, { ...currentSelf(), env, pid, ppid: 0 }));
}
