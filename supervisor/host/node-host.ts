/**
 * The real Host, bound to Node's process, file system, network and execa.
 * This is the only module of the core that touches those directly.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, appendFile, chmod, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, basename, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import lockfile from 'proper-lockfile';
import { nodeSnapshotIo } from '../../platform/snapshot-reader.ts';
import type { ChildExit, ChildHandle, Host, HostFs, HostLocks, HttpRequest, SpawnOptions } from './host.ts';

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
  const exited: Promise<ChildExit> = proc.then((result): ChildExit => {
    if (result.signal !== undefined) return { kind: 'signaled', signal: result.signal };
    if (result.exitCode !== undefined) return { kind: 'exited', code: result.exitCode };
    const errno = typeof result.code === 'string' ? result.code : 'UNKNOWN';
    return { kind: 'spawn-failed', errno, message: result.shortMessage ?? errno };
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

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}


const nodeFs: HostFs = {
  readFile: (path) => readFile(path, 'utf8'),
  // The same non-blocking read platform detection uses: a FIFO cannot stall a signal handler.
  readSync: (path) => nodeSnapshotIo.readFile(path),
  async writeFileAtomic(path, data, mode = 0o644) {
    // Write-then-rename keeps readers from ever seeing a half-written file; the
    // fsyncs make the rename survive a power cut, not only a crash.
    const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await open(tmp, 'w', mode);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await fsyncDir(dirname(path));
  },
  async mkdir(path, mode = 0o755) {
    await mkdir(path, { recursive: true, mode });
  },
  async rm(path) {
    await rm(path, { force: true, recursive: true });
  },
  async exists(path) {
    try {
      await access(path, fsConstants.F_OK);
      return true;
    } catch {
      return false;
    }
  },
  async mode(path) {
    try {
      return (await stat(path)).mode & 0o7777;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  symlink: (target, path) => symlink(target, path),
  async readlink(path) {
    try {
      return await readlink(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EINVAL') return undefined;
      throw err;
    }
  },
  rename: (from, to) => rename(from, to),
  async readdir(path) {
    try {
      return await readdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  },
  async writeDurable(path, data) {
    const handle = await open(path, 'wx', 0o644);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  append: (path, data) => appendFile(path, data),
  fsyncDir,
  async lstat(path) {
    try {
      const facts = await lstat(path);
      const kind = facts.isSymbolicLink() ? 'symlink' : facts.isDirectory() ? 'dir' : facts.isFile() ? 'file' : 'other';
      return { kind, mode: facts.mode & 0o7777, uid: facts.uid, size: facts.size, ino: facts.ino };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  chmod: (path, mode) => chmod(path, mode),
  async readRange(path, start, length) {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      return buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  },
};

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

interface TcpBinding {
  TCP: new (type: number) => { bind(host: string, port: number): number; bind6(host: string, port: number, flags: number): number; fd: number; close(): void };
  constants: { SERVER: number };
}

/**
 * A bound, not listening, TCP socket. Node's net.Server would listen and
 * accept in this process (libuv polls every listening handle), stealing
 * connections meant for the children, so the socket is made with the raw
 * tcp_wrap binding: bind only. Children call listen() on their copy; the
 * socket then stays listening while we hold it, and connections that arrive
 * between two children wait in the backlog instead of being refused.
 */
function bindTcp(host: string, port: number): { fd: number; close(): void } {
  const { TCP, constants: tcp } = (process as unknown as { binding(name: string): TcpBinding }).binding('tcp_wrap');
  const handle = new TCP(tcp.SERVER);
  const err = host.includes(':') ? handle.bind6(host, port, 0) : handle.bind(host, port);
  if (err !== 0) {
    handle.close();
    const code = err === -98 ? 'EADDRINUSE' : err === -13 ? 'EACCES' : err === -99 ? 'EADDRNOTAVAIL' : `errno ${err}`;
    throw Object.assign(new Error(`cannot bind ${host}:${port}: ${code}`), { code });
  }
  return { fd: handle.fd, close: () => handle.close() };
}

async function httpRequest(request: HttpRequest): Promise<{ status: number; body: string }> {
  const res = await fetch(request.url, {
    method: request.method,
    headers: request.headers ?? {},
    body: request.body ?? null,
    signal: AbortSignal.timeout(request.timeoutMs),
    redirect: 'manual',
  });
  return { status: res.status, body: await res.text() };
}

async function eventStream(url: string, headers: Record<string, string>, onEvent: (event: string, data: string) => void): Promise<() => void> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  if (res.status !== 200 || res.body === null) {
    abort.abort();
    throw new Error(`event stream answered HTTP ${res.status}`);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) onEvent(event, data.join('\n'));
      }
    }
  })();
  return () => abort.abort();
}

async function httpGet(url: string, timeoutMs: number): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  // Drain the body so the keep-alive socket is released, not leaked.
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
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
    clock: {
      now: () => Date.now(),
      monotonic: () => performance.now(),
      sleep: (ms, signal) => delay(ms, undefined, signal === undefined ? undefined : { signal }),
    },
    net: { httpRequest, httpGet, tcpConnect, eventStream, bindTcp },
    env: process.env,
    pid: process.pid,
    ppid: process.ppid,
    uid: process.getuid?.(),
    cwd: process.cwd(),
    invocation: { execPath: process.execPath, execArgv: [...process.execArgv], argv: process.argv.slice(1) },
    random: Math.random,
    randomToken: (bytes) => randomBytes(bytes).toString('base64url'),
    execve: bindExecve(),
    exit,
  };
}
