/**
 * The container probe: which runtime we run under, whether we are PID 1, and
 * whether PID 1 is an init that reaps orphans and forwards signals.
 */
import { RUNTIME_CGROUP_PATTERNS } from '../cgroup.ts';
import type { ContainerFacts, ContainerRuntime, Finding } from '../platform.ts';
import type { PlatformSnapshot } from '../snapshot.ts';

interface Marker {
  runtime: ContainerRuntime;
  evidence: string;
}

// comm names of PID 1s that reap orphans and forward signals.
const KNOWN_INITS = new Set([
  'tini',
  'tini-static',
  'dumb-init',
  'docker-init',
  'podman-init',
  'catatonit',
  's6-svscan',
  'runit',
  'systemd',
  'init',
]);

// On cgroup v2 with a private cgroup namespace, /proc/self/cgroup is just
// `0::/`; then the bind mounts a runtime puts into the container (hosts,
// hostname, resolv.conf, the service-account token) still name it.
const MOUNTINFO_PATTERNS = [
  { runtime: 'kubernetes', pattern: /\/kubelet\/pods\/[0-9a-f-]{36}\/\S*/ },
  { runtime: 'podman', pattern: /\/overlay-containers\/[0-9a-f]{64}\/userdata\/\S*/ },
  { runtime: 'docker', pattern: /\/docker\/containers\/[0-9a-f]{64}\/\S*/ },
  ...RUNTIME_CGROUP_PATTERNS,
] as const;

// The runtimes the `container=` variable names (podman and LXC set it; Docker does not).
const ENV_RUNTIMES = new Map<string, ContainerRuntime>([
  ['podman', 'podman'],
  ['lxc', 'lxc'],
  ['docker', 'docker'],
]);

// Most specific first. Kubernetes runs pods on a container runtime, so its
// markers sit on top of that runtime's, and it is Kubernetes that restarts
// us. Podman and LXC write their markers when the container starts, whereas
// /.dockerenv can be baked into an image by `docker commit` and then shows up
// under any runtime. An unnamed runtime (container=systemd-nspawn) says least.
const RUNTIME_PRECEDENCE: readonly ContainerRuntime[] = ['kubernetes', 'podman', 'lxc', 'docker', 'unknown'];
const WHY_WINS: Record<Exclude<ContainerRuntime, 'unknown'>, string> = {
  kubernetes: 'Kubernetes runs pods on a container runtime and decides their restarts',
  podman: 'podman marks its containers at start, while /.dockerenv can be baked into an image',
  lxc: 'LXC marks its containers at start, while /.dockerenv can be baked into an image',
  docker: 'a named runtime beats an unnamed one',
};

/** Detects a container from marker files, env, cgroup paths, mountinfo and PID namespaces. */
export function probeContainer(snapshot: PlatformSnapshot): Finding<ContainerFacts> {
  const markers = runtimeMarkers(snapshot);
  const namespace = pidNamespaceEvidence(snapshot);
  if (markers.length === 0 && namespace.length === 0) return { evidence: [], conflicts: [] };
  // No marker but a PID namespace of our own (unshare, a minimal runtime, or
  // being the machine's init) is still a container for our purposes: PID 1
  // must keep its PID and reap orphans, which is what `container` implies.
  const runtime = RUNTIME_PRECEDENCE.find((r) => markers.some((m) => m.runtime === r)) ?? 'unknown';
  const losers = RUNTIME_PRECEDENCE.filter((r) => r !== runtime && markers.some((m) => m.runtime === r));
  const pid1 = snapshot.pid === 1;
  const init = initEvidence(snapshot, pid1);
  return {
    facts: { runtime, pid1, hasInit: init.name !== undefined, ...(init.name === undefined ? {} : { initName: init.name }) },
    evidence: [...markers.map((m) => m.evidence), ...namespace, init.evidence],
    // `unknown` is last in precedence, so it never wins over another runtime.
    conflicts: runtime === 'unknown' ? [] : losers.map((loser) => `container runtime ${runtime} over ${loser}: ${WHY_WINS[runtime]}`),
  };
}

function runtimeMarkers(snapshot: PlatformSnapshot): Marker[] {
  const markers: Marker[] = [];
  const { paths, env, proc } = snapshot;
  if (paths.dockerenv) markers.push({ runtime: 'docker', evidence: '/.dockerenv exists' });
  if (paths.containerenv) markers.push({ runtime: 'podman', evidence: '/run/.containerenv exists' });
  if (paths.kubernetesServiceAccount) {
    markers.push({ runtime: 'kubernetes', evidence: '/var/run/secrets/kubernetes.io/serviceaccount exists' });
  }
  if (env.KUBERNETES_SERVICE_HOST !== undefined) {
    markers.push({ runtime: 'kubernetes', evidence: `KUBERNETES_SERVICE_HOST=${env.KUBERNETES_SERVICE_HOST}` });
  }
  if (env.container !== undefined && env.container !== '') {
    markers.push({ runtime: ENV_RUNTIMES.get(env.container) ?? 'unknown', evidence: `container=${env.container}` });
  }
  const sources = [
    { name: '/proc/self/cgroup', text: proc.selfCgroup, patterns: RUNTIME_CGROUP_PATTERNS },
    { name: '/proc/1/cgroup', text: proc.pid1Cgroup, patterns: RUNTIME_CGROUP_PATTERNS },
    { name: '/proc/self/mountinfo', text: proc.selfMountinfo, patterns: MOUNTINFO_PATTERNS },
  ];
  for (const { name, text, patterns } of sources) {
    const seen = new Set<ContainerRuntime>();
    for (const { runtime, pattern } of patterns) {
      const match = text === undefined || seen.has(runtime) ? null : pattern.exec(text);
      if (match === null) continue;
      seen.add(runtime);
      markers.push({ runtime, evidence: `${name} shows ${match[0]}` });
    }
  }
  return markers;
}

function pidNamespaceEvidence(snapshot: PlatformSnapshot): string[] {
  const evidence: string[] = [];
  if (snapshot.pid === 1) evidence.push('we are PID 1');
  const nspid = snapshot.status.nspid ?? [];
  if (nspid.length > 1) evidence.push(`NSpid ${nspid.join(' ')}: we are in a nested PID namespace`);
  // Older kernels print the host's PID in /proc/1/sched inside a PID namespace.
  const schedPid = /\((\d+), #threads/.exec(snapshot.proc.pid1Sched ?? '')?.[1];
  if (schedPid !== undefined && schedPid !== '1') evidence.push(`/proc/1/sched shows PID 1 as host PID ${schedPid}`);
  return evidence;
}

function initEvidence(snapshot: PlatformSnapshot, pid1: boolean): { name?: string; evidence: string } {
  const comm = snapshot.proc.pid1Comm;
  if (pid1) return { evidence: 'no init above us: we must reap orphans and handle signals' };
  if (comm === undefined) return { evidence: 'PID 1 is not visible' };
  if (KNOWN_INITS.has(comm)) return { name: comm, evidence: `PID 1 is ${comm}, an init that reaps orphans` };
  return { evidence: `PID 1 is ${comm}, not a known init` };
}
