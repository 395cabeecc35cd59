/**
 * Parsing of /proc/<pid>/cgroup, shared by the probes. Each line is
 * `hierarchy-ID:controller-list:path`; cgroup v2 is the single line `0::path`,
 * cgroup v1 has one line per hierarchy, and hybrid hosts have both.
 */
import type { ContainerRuntime } from './platform.ts';

/** One line of a cgroup file. */
export interface CgroupLine {
  id: number;
  /** Empty for the v2 line; e.g. ['cpu', 'cpuacct'] or ['name=systemd'] on v1. */
  controllers: string[];
  path: string;
}

/** The lines of a cgroup file; malformed lines are skipped. */
export function parseCgroup(text: string | undefined): CgroupLine[] {
  const lines: CgroupLine[] = [];
  for (const line of text?.split('\n') ?? []) {
    // The path may itself contain ':', so split on the first two only.
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (match === null) continue;
    const [, id = '', controllers = '', path = ''] = match;
    lines.push({ id: Number(id), controllers: controllers === '' ? [] : controllers.split(','), path });
  }
  return lines;
}

/**
 * The path in the hierarchy systemd tracks units in: the `name=systemd` line
 * on cgroup v1 and hybrid hosts, else the v2 `0::` line. On hybrid hosts the
 * v1 line must win: a container runtime moves its processes in the v1
 * hierarchies only, so a Docker container there shows
 * `0::/system.slice/containerd.service`, which is not our unit.
 */
export function systemdCgroupPath(lines: readonly CgroupLine[]): { path: string; version: 'v1' | 'v2' } | undefined {
  const v1 = lines.find((line) => line.controllers.includes('name=systemd'));
  if (v1 !== undefined) return { path: v1.path, version: 'v1' };
  const v2 = lines.find((line) => line.id === 0 && line.controllers.length === 0);
  return v2 === undefined ? undefined : { path: v2.path, version: 'v2' };
}

/**
 * Container runtimes as they show in cgroup paths (and in the cgroup mount
 * roots of mountinfo) when the container shares the host's cgroup namespace:
 * `/docker/<id>` (cgroupfs driver), `docker-<id>.scope` (systemd driver),
 * `libpod-<id>.scope`, `kubepods…`, `/lxc/<name>` and `/lxc.payload.<name>`.
 */
export const RUNTIME_CGROUP_PATTERNS: ReadonlyArray<{ runtime: Exclude<ContainerRuntime, 'unknown'>; pattern: RegExp }> = [
  { runtime: 'kubernetes', pattern: /kubepods[^\s/]*/ },
  { runtime: 'podman', pattern: /libpod[-_][^\s/]*/ },
  { runtime: 'docker', pattern: /\/docker\/[0-9a-f]{12,64}|docker-[0-9a-f]{64}\.scope/ },
  { runtime: 'lxc', pattern: /\/lxc(?:\.payload)?[./][^\s/]+/ },
];
