/**
 * The real Host, bound to Node's process, file system (node-fs.ts), network
 * (node-net.ts), locks (node-locks.ts) and child processes. With those files and the
 * platform's /proc reader, this is the only code of the supervisor that
 * touches them directly; the lint rule in eslint.config.js keeps it so.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { readPlatform } from '../../platform/read-platform.ts';
import type { ChildExit, ChildHandle, Host, SpawnOptions } from './host.ts';
import { nodeFifos } from './node-fifo.ts';
import { nodeFs } from './node-fs.ts';
import { nodeLocks } from './node-locks.ts';
import { nodeNet } from './node-net.ts';
import { randomBytesSync } from './random.ts';
import { spawnFailureReason } from './spawn-failure.ts';

function spawnChild(file: string, args: readonly string[], options: SpawnOptions): ChildHandle {
  const failed = async (err: NodeJS.ErrnoException): Promise<ChildExit> => {
    const errno = typeof err.code === 'string' ? err.code : 'UNKNOWN';
    const cwdExists = errno !== 'ENOENT' || (await stat(options.cwd).then(() => true, () => false));
    return { kind: 'spawn-failed', errno, message: spawnFailureReason({ errno, file, cwd: options.cwd, cwdExists }) };
  };
  const stdio = options.stdio ?? 'pipe';
  const [out, err] = typeof stdio === 'object' ? [stdio.stdout, stdio.stderr] : [stdio, stdio];
  let proc: ChildProcess;
  try {
    proc = spawn(file, [...args], {
      cwd: options.cwd,
      env: options.env,
      detached: options.detached,
      // A background process group that reads the terminal gets SIGTTIN; the
      // service has no use for our stdin anyway. Descriptors past stderr
      // become the child's fd 3, 4, … (sockets handed over the systemd way).
      stdio: [options.stdin ?? 'ignore', out, err, ...(options.passFds ?? [])],
    });
  } catch (err) {
    return { pid: undefined, stdout: null, stderr: null, exited: failed(err as NodeJS.ErrnoException) };
  }
  // Settled by the child's 'exit', not by the end of its output: a crash is
  // known (and the respawn can start) while the last lines still drain.
  const exited = new Promise<ChildExit>((resolve) => {
    proc.once('exit', (code, signal) => resolve(signal !== null ? { kind: 'signaled', signal } : { kind: 'exited', code: code ?? 0 }));
    proc.once('error', (err: NodeJS.ErrnoException) => {
      // After a start, 'error' is about a signal we sent, and 'exit' still comes.
      if (proc.pid === undefined) void failed(err).then(resolve);
    });
  });
  return { pid: proc.pid, stdout: proc.stdout, stderr: proc.stderr, stdin: proc.stdin, exited };
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
    fifos: nodeFifos,
    clock: {
      now: () => Date.now(),
      // Not performance.now(): the `performance` global loads perf_hooks (~0.5 MB resident). Both read CLOCK_MONOTONIC.
      monotonic: () => Number(process.hrtime.bigint()) / 1e6,
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
    // memoryUsage.rss() reads only the RSS (one /proc read), not the heap statistics.
    memory: () => ({ rss: process.memoryUsage.rss() }),
    random: Math.random,
    randomToken: (bytes) => randomBytesSync(bytes).toString('base64url'),
    execve: bindExecve(),
    exit,
  };
}
