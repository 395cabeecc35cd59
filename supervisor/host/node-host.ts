/**
 * The real Host, bound to Node's process, file system (node-fs.ts), network
 * (node-net.ts), execa and proper-lockfile. With those two files and the
 * platform's /proc reader, this is the only code of the supervisor that
 * touches them directly; the lint rule in eslint.config.js keeps it so.
 */
import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import lockfile from 'proper-lockfile';
import { readPlatform } from '../../platform/read-platform.ts';
import type { ChildExit, ChildHandle, Host, HostLocks, SpawnOptions } from './host.ts';
import { nodeFs } from './node-fs.ts';
import { nodeNet } from './node-net.ts';
import { spawnFailureReason } from './spawn-failure.ts';

function spawnChild(file: string, args: readonly string[], options: SpawnOptions): ChildHandle {
  const proc = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    detached: options.detached,
    // A background process group that reads the terminal gets SIGTTIN; the
    // service has no use for our stdin anyway.
    // Descriptors past stderr become the child's fd 3, 4, … (execa passes integers
    // through to child_process at run time; its types only allow them for 0–2).
    stdio: ['ignore', options.stdio ?? 'pipe', options.stdio ?? 'pipe', ...((options.passFds ?? []) as unknown as Array<'pipe'>)],
    buffer: false,
    reject: false,
    // We own the child's lifetime (graceful stop, group kill); execa's exit
    // hook would SIGTERM it behind our back.
    cleanup: false,
  });
  const exited: Promise<ChildExit> = proc.then(async (result): Promise<ChildExit> => {
    if (result.signal !== undefined) return { kind: 'signaled', signal: result.signal };
    if (result.exitCode !== undefined) return { kind: 'exited', code: result.exitCode };
    const errno = typeof result.code === 'string' ? result.code : 'UNKNOWN';
    const cwdExists = errno !== 'ENOENT' || (await stat(options.cwd).then(() => true, () => false));
    return { kind: 'spawn-failed', errno, message: spawnFailureReason({ errno, file, cwd: options.cwd, cwdExists }) };
  });
  return { pid: proc.pid, stdout: proc.stdout, stderr: proc.stderr, exited };
}

function sendSignal(target: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    // EPERM on a probe means the process exists but is not ours.
    if (code === 'EPERM' && signal === 0) return true;
    throw err;
  }
}

const nodeLocks: HostLocks = {
  acquire: (path, options) =>
    lockfile.lock(path, {
      realpath: false,
      stale: options.staleMs,
      // Refresh well inside the stale window so a busy event loop is not mistaken for death.
      update: Math.max(1000, Math.floor(options.staleMs / 3)),
      retries: 0,
      onCompromised: options.onCompromised,
    }),
  breakLock: (path) => rm(`${path}.lock`, { recursive: true, force: true }),
};

function bindExecve(): Host['execve'] {
  const execve = process.execve?.bind(process);
  return execve === undefined ? undefined : (file, args, env) => execve(file, args, env);
}

/**
 * Creates the Host bound to the real machine. `exit` is handed in by the CLI
 * entry, the one place allowed to end the process.
 */
export function createNodeHost(exit: (code: number) => never): Host {
  return {
    spawn: spawnChild,
    kill: (pid, signal) => sendSignal(pid, signal),
    killGroup: (pgid, signal) => sendSignal(-pgid, signal),
    onSignal(signal, handler) {
      const listener = (sig: NodeJS.Signals): void => handler(sig);
      process.on(signal, listener);
      return () => process.off(signal, listener);
    },
    fs: nodeFs,
    locks: nodeLocks,
    clock: {
      now: () => Date.now(),
      monotonic: () => performance.now(),
      sleep: (ms, signal, options) => delay(ms, undefined, { ...(signal === undefined ? {} : { signal }), ...(options?.ref === false ? { ref: false } : {}) }),
    },
    net: nodeNet,
    env: process.env,
    pid: process.pid,
    ppid: process.ppid,
    uid: process.getuid?.(),
    cwd: process.cwd(),
    invocation: { execPath: process.execPath, execArgv: [...process.execArgv], argv: process.argv.slice(1) },
    runtime: { nodeVersion: process.version, os: process.platform },
    readPlatform,
    random: Math.random,
    randomToken: (bytes) => randomBytes(bytes).toString('base64url'),
    execve: bindExecve(),
    exit,
  };
}
