/**
 * The Termux probe: whether we run inside an Android app (Termux, or a PRoot
 * guest distro under it), from Termux's environment, Android's files, kernel
 * and app cgroups, and PRoot's traces.
 */
import { parseCgroup } from '../cgroup.ts';
import type { AndroidCgroup, Finding, TermuxFacts } from '../platform.ts';
import type { PlatformSnapshot } from '../snapshot.ts';

const TERMUX_PREFIX = '/data/data/com.termux';
const CPUSET_CLASSES: readonly AndroidCgroup[] = ['top-app', 'foreground', 'background', 'system-background', 'restricted'];
// GKI kernels carry the Android release in their version: 5.10.107-android12-9-….
const ANDROID_KERNEL = /-android\d+/;

interface AndroidCgroupLine {
  cgroup: AndroidCgroup;
  line: string;
}

function androidCgroups(text: string | undefined): AndroidCgroupLine[] {
  const found: AndroidCgroupLine[] = [];
  for (const { id, controllers, path } of parseCgroup(text)) {
    const line = `${id}:${controllers.join(',')}:${path}`;
    const cls = CPUSET_CLASSES.find((name) => path === `/${name}` || path.startsWith(`/${name}/`));
    if (cls !== undefined && controllers.includes('cpuset')) found.push({ cgroup: cls, line });
    // Android ≥ 12 puts each app process in uid_<uid>/pid_<pid> (v2; cpuacct on older releases).
    if (/\/uid_\d+\/pid_\d+/.test(path)) found.push({ cgroup: 'uid-pid', line });
  }
  return found;
}

/** Detects Termux/Android; PRoot alone (it runs on desktops too) does not fire it. */
export function probeTermux(snapshot: PlatformSnapshot): Finding<TermuxFacts> {
  const { env, paths, uname } = snapshot;
  const evidence: string[] = [];
  const prefix = env.PREFIX?.startsWith(TERMUX_PREFIX) === true ? env.PREFIX : undefined;
  if (prefix !== undefined) evidence.push(`PREFIX=${prefix}`);
  if (env.TERMUX_VERSION !== undefined) evidence.push(`TERMUX_VERSION=${env.TERMUX_VERSION}`);
  if (env.ANDROID_ROOT !== undefined && env.ANDROID_DATA !== undefined) {
    evidence.push(`ANDROID_ROOT=${env.ANDROID_ROOT} and ANDROID_DATA=${env.ANDROID_DATA}`);
  }
  if (paths.buildProp) evidence.push('/system/build.prop exists');
  if (ANDROID_KERNEL.test(uname.release)) evidence.push(`Android kernel ${uname.release}`);
  const cgroups = androidCgroups(snapshot.proc.selfCgroup);
  evidence.push(...cgroups.map(({ line }) => `Android app cgroup ${line}`));
  if (evidence.length === 0) return { evidence: [], conflicts: [] };
  const proot = prootEvidence(snapshot);
  evidence.push(...proot);
  // The cpuset class says whether the app is in front, which is what decides
  // how soon Android kills it; uid_/pid_ only says it is an app at all.
  const androidCgroup = cgroups.find(({ cgroup }) => cgroup !== 'uid-pid')?.cgroup ?? cgroups[0]?.cgroup;
  const facts: TermuxFacts = { proot: proot.length > 0 };
  if (snapshot.buildProp?.release !== undefined) facts.androidVersion = snapshot.buildProp.release;
  if (androidCgroup !== undefined) facts.androidCgroup = androidCgroup;
  if (prefix !== undefined) facts.prefix = prefix;
  if (env.TERMUX_VERSION !== undefined) facts.termuxVersion = env.TERMUX_VERSION;
  return { facts, evidence, conflicts: [] };
}

function prootEvidence(snapshot: PlatformSnapshot): string[] {
  const evidence: string[] = [];
  if (snapshot.tracerComm === 'proot') evidence.push(`traced by proot (TracerPid ${snapshot.status.tracerPid ?? '?'})`);
  const ancestor = snapshot.ancestors.find(({ comm }) => comm === 'proot');
  if (ancestor !== undefined) evidence.push(`proot is an ancestor (PID ${ancestor.pid})`);
  const vars = Object.keys(snapshot.env).filter((name) => name.startsWith('PROOT_'));
  if (vars.length > 0) evidence.push(`PRoot variables ${vars.join(', ')}`);
  // proot-distro fakes the kernel release, e.g. 6.2.1-PRoot-Distro.
  if (/PRoot/i.test(snapshot.uname.release)) evidence.push(`PRoot kernel release ${snapshot.uname.release}`);
  return evidence;
}
