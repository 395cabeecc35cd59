/**
 * Fails the test run when a test leaves a process or a temp file behind.
 *
 * setup() gives the run an id and a temp dir of its own, /tmp/outlast-run-<id>,
 * through OUTLAST_TEST_RUN and TMPDIR: every worker, and every process a test
 * starts, inherits both (os.tmpdir() reads TMPDIR), so what the run leaves is
 * told apart from what other runs on the machine are doing. teardown() looks
 * for processes whose environment carries the id and for anything left in the
 * dir, prints it, kills those processes, removes the dir, and throws.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The variable that marks the run's processes. */
export const RUN_VAR = 'OUTLAST_TEST_RUN';

// Workers and their last children may still be exiting when teardown starts.
const GRACE_MS = 5000;

/** Pids (other than ours) whose environment has `RUN_VAR=id`. */
export function processesOfRun(id: string): number[] {
  const marker = `${RUN_VAR}=${id}`;
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(marker)) pids.push(Number(name));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

function describeProcess(pid: number): string {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()}`;
  } catch {
    return `${pid} (gone)`;
  }
}

// Node's own compile cache (module.enableCompileCache() in bin/outlast.js
// puts it under os.tmpdir()): a cache, not a test's leftover.
const NOT_LEFTOVERS = new Set(['node-compile-cache']);

/** Everything under `dir` but caches, as paths relative to it, at most `limit`. */
function leftovers(dir: string, limit = 20): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((path) => !NOT_LEFTOVERS.has(path.split('/')[0] ?? ''))
      .slice(0, limit);
  } catch {
    return [];
  }
}

/** vitest globalSetup: marks the run, and returns the check that runs after it. */
export function setup(): () => Promise<void> {
  const id = randomBytes(4).toString('hex');
  const dir = join('/tmp', `outlast-run-${id}`);
  mkdirSync(dir, { mode: 0o700 });
  const previousTmp = process.env.TMPDIR;
  process.env[RUN_VAR] = id;
  process.env.TMPDIR = dir;
  return async () => {
    const deadline = Date.now() + GRACE_MS;
    let pids = processesOfRun(id);
    while (pids.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      pids = processesOfRun(id);
    }
    const procs = pids.map(describeProcess);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    const files = leftovers(dir);
    rmSync(dir, { recursive: true, force: true });
    if (previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmp;
    if (procs.length === 0 && files.length === 0) return;
    const report = [
      ...(procs.length === 0 ? [] : [`processes left running (killed now):`, ...procs.map((line) => `  ${line}`)]),
      ...(files.length === 0 ? [] : [`left in ${dir} (removed now):`, ...files.map((line) => `  ${line}`)]),
    ].join('\n');
    console.error(`tests left things behind:\n${report}`);
    // vitest reports an error thrown here but keeps its own exit code.
    process.exitCode = 1;
    throw new Error(`tests left things behind:\n${report}`);
  };
}
