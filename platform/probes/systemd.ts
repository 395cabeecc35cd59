/**
 * The systemd probe: whether a service manager started us, as which unit, and
 * whether it is the system manager or a user's (user@UID.service).
 */
import { parseCgroup, RUNTIME_CGROUP_PATTERNS, systemdCgroupPath } from '../cgroup.ts';
import type { Finding, SystemdFacts } from '../platform.ts';
import type { PlatformSnapshot } from '../snapshot.ts';

/** The unit a cgroup path puts us in, and whose manager runs it. */
export interface CgroupUnit {
  unit: string;
  scope: 'system' | 'user';
}

/**
 * The unit in a systemd cgroup path: its last `.service` or `.scope`
 * component, e.g. `foo.service` in `/system.slice/foo.service/payload`.
 * Undefined for paths that name no service of ours: the root, PID 1's
 * `init.scope`, a login `session-N.scope`, or a container runtime's scope.
 */
export function unitFromCgroupPath(path: string): CgroupUnit | undefined {
  // On cgroup v1 a container sees the host's path (`docker-<id>.scope`,
  // `kubepods…/cri-containerd-<id>.scope`): the runtime's unit, not ours.
  if (RUNTIME_CGROUP_PATTERNS.some(({ pattern }) => pattern.test(path))) return undefined;
  const parts = path.split('/').filter((part) => part !== '');
  const index = parts.findLastIndex((part) => part.endsWith('.service') || part.endsWith('.scope'));
  const unit = parts[index];
  if (unit === undefined || unit === 'init.scope' || /^session-.+\.scope$/.test(unit)) return undefined;
  // Everything below user@UID.service belongs to that user's manager.
  const user = parts.slice(0, index).some((part) => /^user@\d+\.service$/.test(part));
  return { unit, scope: user ? 'user' : 'system' };
}

/** Detects systemd from $INVOCATION_ID, $NOTIFY_SOCKET and the unit in our cgroup path. */
export function probeSystemd(snapshot: PlatformSnapshot): Finding<SystemdFacts> {
  const { env } = snapshot;
  const cgroup = systemdCgroupPath(parseCgroup(snapshot.proc.selfCgroup));
  const fromPath = cgroup === undefined ? undefined : unitFromCgroupPath(cgroup.path);
  const evidence: string[] = [];
  if (env.INVOCATION_ID !== undefined) evidence.push(`INVOCATION_ID=${env.INVOCATION_ID}`);
  if (env.NOTIFY_SOCKET !== undefined) evidence.push(`NOTIFY_SOCKET=${env.NOTIFY_SOCKET}`);
  if (evidence.length === 0 && fromPath === undefined) return { evidence: [], conflicts: [] };
  if (cgroup !== undefined && fromPath !== undefined) {
    evidence.push(`cgroup ${cgroup.version} path ${cgroup.path} is unit ${fromPath.unit}`);
    // systemd < 232 sets no INVOCATION_ID; without one we may also be a
    // grandchild that the unit's main process started with a clean
    // environment (a cron job in cron.service), not the unit's main process.
    if (env.INVOCATION_ID === undefined) evidence.push('no INVOCATION_ID: the unit comes from the cgroup path alone');
    if (fromPath.unit.startsWith('run-')) evidence.push(`${fromPath.unit} is transient (systemd-run): no unit file`);
  }
  // Without a path, MANAGERPID tells a user manager apart: only user managers set it.
  const scope = fromPath?.scope ?? (env.MANAGERPID === undefined ? 'system' : 'user');
  if (fromPath === undefined && env.MANAGERPID !== undefined) evidence.push(`MANAGERPID=${env.MANAGERPID}: a user manager`);
  return {
    facts: {
      scope,
      unit: fromPath?.unit ?? null,
      ...(env.INVOCATION_ID === undefined ? {} : { invocationId: env.INVOCATION_ID }),
    },
    evidence,
    conflicts: [],
  };
}
