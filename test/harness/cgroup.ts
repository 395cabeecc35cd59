/**
 * Fresh cgroup v2 groups for the kill-window harnesses: create one, move a pid
 * in, list it, kill it whole with `cgroup.kill`, wait for it to empty, remove
 * it.
 *
 * Every group is named `outlast-test-<our pid>-<label>-<n>` and recorded in a
 * module registry, so `removeAllCgroups()` (from an afterEach/afterAll) tears
 * down whatever a failed test left behind. If this process dies without
 * running its hooks, a guard process kills and removes each group it had.
 *
 * Only processes a harness placed in a group (and their descendants) are ever
 * in it, so `cgroup.kill` only reaches processes the tests started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Whether cgroup harnesses can run here, and where the v2 hierarchy is; when not, `reason` says why. */
export type CgroupAvailability = { ok: true; root: string } | { ok: false; reason: string };

/** A cgroup this process created. */
export interface Cgroup {
  /** The group's directory, e.g. /sys/fs/cgroup/unified/outlast-test-123-env-1. */
  readonly path: string;
  /** Its cgroup.procs file: writing a pid there moves that process in. */
  readonly procsFile: string;
  /** The pids in the group now (in this group only, not its descendants). */
  procs(): number[];
  /** Moves `pid` (the whole process, all its threads) into the group. */
  add(pid: number): void;
  /** Whether any process is in the group or a descendant (cgroup.events `populated`). */
  populated(): boolean;
  /** SIGKILLs every process in the group and its descendants; returns the pids listed just before. */
  kill(): number[];
  /** Resolves once the group is empty; rejects after `timeoutMs`. */
  waitEmpty(timeoutMs?: number): Promise<void>;
  /** Kills what is left, waits for the group to empty and removes it (idempotent). */
  remove(): Promise<void>;
}

const PREFIX = 'outlast-test-';
// Where a v2 hierarchy may be mounted: hybrid hosts (this VM) first, pure v2 second.
const CANDIDATE_ROOTS = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'];
// cgroup.events flips to "populated 0" within a few ms of the last exit; poll it tightly.
const POLL_MS = 2;

// Run by the guard (see guard()): waits for "done" or end-of-file, and on
// end-of-file kills, drains and removes the group, child groups first.
const GUARD_SCRIPT = `read -r line
[ "$line" = done ] && exit 0
[ -d "$1" ] || exit 0
echo 1 > "$1/cgroup.kill"
n=0
while [ $n -lt 1000 ] && grep -q '^populated 1' "$1/cgroup.events"; do sleep 0.01; n=$((n + 1)); done
find "$1" -depth -type d -exec rmdir {} +
`;

const live = new Map<string, Cgroup>();
let counter = 0;
let availability: CgroupAvailability | undefined;

/** The mount point of the cgroup v2 hierarchy, read from /proc/self/mountinfo. */
function cgroup2Root(): string | undefined {
  const mounts = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined || !right.startsWith('cgroup2 ')) continue;
    const mountPoint = left.split(' ')[4];
    if (mountPoint !== undefined) mounts.add(mountPoint);
  }
  return CANDIDATE_ROOTS.find((root) => mounts.has(root));
}

/** Decides once whether cgroup v2 harnesses can run: root, a v2 mount, and a kernel with cgroup.kill. */
export function cgroupV2Available(): CgroupAvailability {
  return (availability ??= probe());
}

function probe(): CgroupAvailability {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root: creating cgroups and moving processes into them needs root' };
  const root = cgroup2Root();
  if (root === undefined) return { ok: false, reason: `no cgroup v2 hierarchy mounted at ${CANDIDATE_ROOTS.join(' or ')}` };
  // cgroup.kill only exists in non-root groups, so the probe needs a group of its own.
  const dir = join(root, `${PREFIX}probe-${process.pid}`);
  try {
    mkdirSync(dir);
  } catch (err) {
    return { ok: false, reason: `cannot create a cgroup under ${root}: ${(err as Error).message}` };
  }
  try {
    if (!existsSync(join(dir, 'cgroup.kill'))) return { ok: false, reason: `${root} has no cgroup.kill (needs Linux 5.14 or later)` };
    if (!existsSync(join(dir, 'cgroup.events'))) return { ok: false, reason: `${root} has no cgroup.events` };
    return { ok: true, root };
  } finally {
    rmdirSync(dir);
  }
}

/**
 * Guards one group against this process dying before its hooks run (a
 * crashed or killed vitest worker runs no afterEach and no exit handler).
 * A small sh in its own session holds the read end of a pipe from us: `done`
 * on it means the group was removed; end-of-file without it means we died,
 * and the guard kills the group and removes it.
 */
function guard(path: string): ChildProcess {
  const guardian = spawn('sh', ['-c', GUARD_SCRIPT, 'outlast-cgroup-guard', path], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  // The guard must never keep the test process alive, nor fail it by going away early.
  guardian.unref();
  guardian.stdin?.on('error', () => undefined);
  return guardian;
}

/** Removes a group and its descendant groups, deepest first; throws EBUSY while any is populated. */
function removeTree(path: string): void {
  if (!existsSync(path)) return;
  for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isDirectory()) removeTree(join(path, entry.name));
  rmdirSync(path);
}

function readPids(file: string): number[] {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text === '' ? [] : text.split('\n').map(Number);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Creates a fresh, empty group; `label` only makes its name readable. */
export function createCgroup(label = 'env'): Cgroup {
  const available = cgroupV2Available();
  if (!available.ok) throw new Error(`cgroup harness cannot run: ${available.reason}`);
  const name = `${PREFIX}${process.pid}-${label.replace(/[^a-z0-9-]/gi, '_')}-${++counter}`;
  const path = join(available.root, name);
  mkdirSync(path);
  const guardian = guard(path);
  const procsFile = join(path, 'cgroup.procs');
  let removing: Promise<void> | undefined;

  const group: Cgroup = {
    path,
    procsFile,
    procs: () => readPids(procsFile),
    add(pid) {
      writeFileSync(procsFile, String(pid));
    },
    populated() {
      try {
        return /^populated 1$/m.test(readFileSync(join(path, 'cgroup.events'), 'utf8'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
    },
    kill() {
      const pids = group.procs();
      if (existsSync(path)) writeFileSync(join(path, 'cgroup.kill'), '1');
      return pids;
    },
    async waitEmpty(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (group.populated()) {
        if (Date.now() > deadline) throw new Error(`cgroup ${path} still holds ${group.procs().join(', ')} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
    remove() {
      removing ??= (async () => {
        if (existsSync(path)) {
          if (group.populated()) group.kill();
          await group.waitEmpty();
          removeTree(path);
        }
        live.delete(path);
        guardian.stdin?.end('done\n');
      })().catch((err: unknown) => {
        // Let a later call (the afterEach sweep) try again.
        removing = undefined;
        throw err;
      });
      return removing;
    },
  };
  live.set(path, group);
  return group;
}

/** The paths of groups created and not yet removed. */
export function liveCgroups(): string[] {
  return [...live.keys()];
}

/** Kills and removes every group this process created; throws (after trying them all) if any resisted. */
export async function removeAllCgroups(): Promise<void> {
  const results = await Promise.allSettled([...live.values()].map((group) => group.remove()));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  if (failures.length > 0) throw new AggregateError(failures, `could not remove ${failures.length} test cgroup(s)`);
}
