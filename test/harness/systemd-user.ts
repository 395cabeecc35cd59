/**
 * A real `systemd --user` manager for tests, booted inside its own PID and
 * mount namespace on a machine whose PID 1 is not systemd:
 *
 *   1. `unshare --pid --fork --mount-proc` (private mounts) runs a small sh as
 *      the namespace's PID 1.
 *   2. That sh mounts a tmpfs on /run/systemd (the host's stays untouched) and
 *      creates /run/systemd/system, which is how systemd tools tell a booted
 *      systemd (sd_booted).
 *   3. It moves itself into fresh cgroups we created, named `user@<uid>.service`
 *      as a real user manager's are, under both the cgroup v2 hierarchy and the
 *      v1 `name=systemd` one (hybrid hosts); systemd --user then manages that
 *      subtree.
 *   4. `systemd --user` runs with XDG_RUNTIME_DIR and XDG_CONFIG_HOME in a temp
 *      dir, so its sockets and unit files are ours alone.
 *
 * `exec` runs a command inside the namespaces (nsenter) with that env, so
 * `systemctl --user` and `systemd-run --user` talk to this manager for real.
 * `stop` tears down every process and removes the cgroups and the temp dir.
 * Only processes this harness started are ever signalled.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';

/** What a command run inside the namespace returned. */
export interface ExecResult {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

/** A running manager. */
export interface SystemdUser {
  /** Runs `cmd` inside the namespaces, with the manager's XDG_RUNTIME_DIR and bus. */
  exec(cmd: readonly string[], options?: { timeoutMs?: number; env?: Record<string, string> }): Promise<ExecResult>;
  /** The dir for user unit files ($XDG_CONFIG_HOME/systemd/user); run `systemctl --user daemon-reload` after writing. */
  unitDir: string;
  /** $XDG_RUNTIME_DIR of the manager. */
  runtimeDir: string;
  /** A scratch dir, removed at stop. */
  tmp: string;
  /** The host pid of the namespace's PID 1 (our sh). */
  initPid: number;
  /** Stops the manager, every process in the namespace, and removes what was created. */
  stop(): Promise<void>;
}

const SYSTEMD_BINARIES = ['/lib/systemd/systemd', '/usr/lib/systemd/systemd'];
const TOOLS = ['unshare', 'nsenter', 'setpriv', 'systemctl', 'systemd-run'];

// The namespace's PID 1. `wait` keeps it (and so the namespace) alive for as
// long as the manager runs; when it exits the kernel kills the namespace.
const INIT_SCRIPT = `set -eu
mount -t tmpfs -o mode=755 tmpfs /run/systemd
mkdir /run/systemd/system
for dir in $OUTLAST_SDU_CGROUPS; do echo 0 > "$dir/cgroup.procs"; done
"$OUTLAST_SDU_SYSTEMD" --user --log-target=console --log-level=warning &
wait $!
`;

function systemdBinary(): string | undefined {
  return SYSTEMD_BINARIES.find((path) => existsSync(path));
}

function cgroupRoots(): string[] {
  // Hybrid hosts: v2 under unified/, v1 name=systemd under systemd/. Pure v2: the root itself.
  if (existsSync('/sys/fs/cgroup/unified/cgroup.procs')) {
    return ['/sys/fs/cgroup/unified', ...(existsSync('/sys/fs/cgroup/systemd/cgroup.procs') ? ['/sys/fs/cgroup/systemd'] : [])];
  }
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : [];
}

/** Why the harness cannot run here, or undefined when it can. */
export function systemdUserSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: moving into a fresh cgroup and mounting need root';
  if (systemdBinary() === undefined) return `systemd is not installed (no ${SYSTEMD_BINARIES.join(' or ')})`;
  const missing = TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length > 0) return `missing tools: ${missing.join(', ')}`;
  if (cgroupRoots().length === 0) return 'no writable cgroup v2 hierarchy under /sys/fs/cgroup';
  return undefined;
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`systemd-user harness: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function exited(proc: ChildProcess): boolean {
  return proc.exitCode !== null || proc.signalCode !== null;
}

/** Removes a cgroup tree bottom-up; a cgroup still being emptied by the kernel is retried. */
async function removeCgroup(path: string, timeoutMs = 10_000): Promise<void> {
  const removeTree = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeTree(join(dir, entry.name));
    rmdirSync(dir);
  };
  await until(
    () => {
      if (!existsSync(path)) return true;
      try {
        removeTree(path);
        return true;
      } catch {
        return undefined;
      }
    },
    `cgroup ${path} to be empty`,
    timeoutMs,
  );
}

/** Options for {@link startSystemdUser}. */
export interface SystemdUserOptions {
  /**
   * The manager's own cgroup, below the harness's dir: `user@<uid>.service`
   * (the default) as a real user manager's, or another name to stand for a
   * nested manager or a distro whose layout does not say `user@`.
   */
  cgroupName?: string;
}

/** Boots a systemd --user manager; call `stop()` when done (also after a failed test). */
export async function startSystemdUser(options: SystemdUserOptions = {}): Promise<SystemdUser> {
  const reason = systemdUserSkipReason();
  if (reason !== undefined) throw new Error(`systemd-user harness cannot run: ${reason}`);
  const tmp = mkdtempSync(join(tmpdir(), 'outlast-sdu-'));
  const runtimeDir = join(tmp, 'runtime');
  const configHome = join(tmp, 'config');
  const unitDir = join(configHome, 'systemd', 'user');
  mkdirSync(runtimeDir, { mode: 0o700 });
  mkdirSync(unitDir, { recursive: true });
  // Named like a real user manager's cgroup, so platform detection sees a user unit.
  const groupName = `${basename(tmp)}/${options.cgroupName ?? `user@${process.getuid?.() ?? 0}.service`}`;
  const cgroups = cgroupRoots().map((root) => join(root, groupName));
  for (const dir of cgroups) mkdirSync(dir, { recursive: true });
  const env = { XDG_RUNTIME_DIR: runtimeDir, XDG_CONFIG_HOME: configHome, DBUS_SESSION_BUS_ADDRESS: `unix:path=${runtimeDir}/bus` };
  let log = '';
  // setpriv --pdeathsig: if this test process dies, unshare gets SIGKILL, and
  // --kill-child passes that on to the namespace's PID 1, which ends it all.
  const unshare = spawn(
    'setpriv',
    ['--pdeathsig', 'KILL', 'unshare', '--pid', '--fork', '--mount-proc', '--propagation', 'private', '--kill-child=SIGKILL', 'sh', '-c', INIT_SCRIPT],
    {
      env: { ...process.env, ...env, OUTLAST_SDU_CGROUPS: cgroups.join(' '), OUTLAST_SDU_SYSTEMD: systemdBinary() ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  unshare.stdout.on('data', (d: Buffer) => (log += d.toString()));
  unshare.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const unshareExit = new Promise<void>((resolve) => unshare.once('exit', () => resolve()));
  const cleanupAll = async (): Promise<void> => {
    if (!exited(unshare)) unshare.kill('SIGKILL');
    await Promise.race([unshareExit, new Promise((r) => setTimeout(r, 5000))]);
    for (const dir of cgroups) await removeCgroup(join(dir, '..'));
    rmSync(tmp, { recursive: true, force: true });
  };

  let initPid: number;
  try {
    // unshare --fork: the namespace's PID 1 is unshare's only child.
    initPid = await until(
      () => {
        if (exited(unshare)) throw new Error(`unshare exited early: ${log}`);
        const children = readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').trim();
        return children === '' ? undefined : Number(children.split(' ')[0]);
      },
      'the namespace init',
      10_000,
    );
  } catch (err) {
    await cleanupAll();
    throw err;
  }

  const exec: SystemdUser['exec'] = async (cmd, options = {}) => {
    const result = await execa('nsenter', ['-t', String(initPid), '-p', '-m', '--', 'env', ...Object.entries({ ...env, ...options.env }).map(([k, v]) => `${k}=${v}`), ...cmd], {
      reject: false,
      timeout: options.timeoutMs ?? 30_000,
      stdin: 'ignore',
    });
    return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
  };

  try {
    await until(
      async () => {
        if (exited(unshare)) throw new Error(`the manager exited early: ${log}`);
        const { stdout } = await exec(['systemctl', '--user', 'is-system-running'], { timeoutMs: 5000 });
        return ['running', 'degraded'].includes(stdout.trim()) ? true : undefined;
      },
      'systemd --user to be running',
      20_000,
    );
  } catch (err) {
    await cleanupAll();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (!exited(unshare)) {
        // A clean exit first: the manager stops its units (and their cgroups) itself.
        await exec(['systemctl', '--user', 'exit'], { timeoutMs: 5000 });
        await Promise.race([unshareExit, new Promise((r) => setTimeout(r, 10_000))]);
      }
      // Whatever is left: SIGKILL to unshare reaches the namespace's PID 1
      // (--kill-child), and PID 1's death kills everything in the namespace.
      await cleanupAll();
    })());

  return { exec, unitDir, runtimeDir, tmp, initPid, stop };
}
