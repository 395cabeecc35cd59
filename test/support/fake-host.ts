/**
 * A fake Host for unit tests of pure logic: virtual time, scripted children,
 * an in-memory file system, and a record of every signal sent.
 */
import { PassThrough } from 'node:stream';
import type { Platform } from '../../platform/platform.ts';
import type { ChildExit, ChildHandle, ConnectionEnds, Host, SpawnOptions } from '../../supervisor/host/host.ts';
import { spawnFailureReason } from '../../supervisor/host/spawn-failure.ts';

interface Sleeper {
  at: number;
  resolve: () => void;
}

/** A child the test controls. */
export interface FakeChild extends ChildHandle {
  file: string;
  args: readonly string[];
  options: SpawnOptions;
  exit(exit: ChildExit): void;
}

/** The fake host, with handles for the test. */
export interface FakeHost extends Host {
  children: FakeChild[];
  signals: Array<{ target: 'pid' | 'group'; id: number; signal: NodeJS.Signals | 0 }>;
  files: Map<string, { data: string; mode: number }>;
  links: Map<string, string>;
  /** Directories made with mkdir (files imply their parents too). */
  dirs: Set<string>;
  /** What readPlatform answers; a bare machine unless the test sets it. */
  platform: Platform;
  /** Moves virtual time forward, waking sleepers in order. */
  advance(ms: number): Promise<void>;
  /** Makes the next spawn fail as if exec returned this errno. */
  failNextSpawn(errno: string): void;
  /** Pids (or group ids) that `kill(…, 0)` reports alive. */
  living: Set<number>;
  /** What memory() answers as the resident set size, in bytes. */
  rss: number;
  /** The one HTTP server of the fake network: httpGet connects with `ends` (its `check` sees them), then gets `status`. Unset: no network. */
  httpServer: { ends: ConnectionEnds; status: number } | undefined;
}

/** Creates a fresh fake host. */
export function createFakeHost(env: Record<string, string> = {}): FakeHost {
  let now = 1_000_000;
  let nextPid = 1000;
  let spawnFailure: string | undefined;
  const sleepers: Sleeper[] = [];
  const host: FakeHost = {
    children: [],
    signals: [],
    files: new Map(),
    links: new Map(),
    dirs: new Set(),
    platform: { kind: 'bare', evidence: [], conflicts: [], execve: false, node: 'v24.0.0' },
    living: new Set(),
    rss: 50 * 1024 * 1024,
    httpServer: undefined,
    spawn(file, args, options) {
      if (spawnFailure !== undefined) {
        const errno = spawnFailure;
        spawnFailure = undefined;
        return { pid: undefined, stdout: null, stderr: null, exited: Promise.resolve({ kind: 'spawn-failed', errno, message: spawnFailureReason({ errno, file, cwd: options.cwd, cwdExists: true }) }) };
      }
      const pid = nextPid++;
      let settle!: (exit: ChildExit) => void;
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const child: FakeChild = {
        pid,
        file,
        args,
        options,
        stdout,
        stderr,
        exited: new Promise((r) => (settle = r)),
        exit(exit) {
          host.living.delete(pid);
          stdout.end();
          stderr.end();
          settle(exit);
        },
      };
      host.living.add(pid);
      host.children.push(child);
      return child;
    },
    kill(pid, signal) {
      host.signals.push({ target: 'pid', id: pid, signal });
      return host.living.has(pid);
    },
    killGroup(pgid, signal) {
      host.signals.push({ target: 'group', id: pgid, signal });
      return host.living.has(pgid);
    },
    onSignal: () => () => undefined,
    fs: {
      async readFile(path) {
        const file = host.files.get(path);
        if (file === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
        return file.data;
      },
      readSync: (path) => host.files.get(path)?.data,
      async writeFileAtomic(path, data, mode = 0o644) {
        host.files.set(path, { data, mode });
      },
      async mkdir(path) {
        host.dirs.add(path);
      },
      async rm(path) {
        // Recursive, like the real one.
        const under = (p: string): boolean => p === path || p.startsWith(`${path}/`);
        for (const map of [host.files, host.links]) for (const key of [...map.keys()]) if (under(key)) map.delete(key);
        for (const dir of [...host.dirs]) if (under(dir)) host.dirs.delete(dir);
      },
      async exists(path) {
        // A dir exists when something is in it (mkdir records nothing).
        const prefix = path.endsWith('/') ? path : `${path}/`;
        return host.files.has(path) || [...host.files.keys(), ...host.links.keys()].some((p) => p.startsWith(prefix));
      },
      async mode(path) {
        return host.files.get(path)?.mode;
      },
      async symlink(target, path) {
        host.links.set(path, target);
      },
      async readlink(path) {
        return host.links.get(path);
      },
      async rename(from, to) {
        const link = host.links.get(from);
        if (link !== undefined) {
          host.links.delete(from);
          host.links.set(to, link);
          return;
        }
        const file = host.files.get(from);
        if (file !== undefined) {
          host.files.delete(from);
          host.files.set(to, file);
          return;
        }
        // A directory: everything under it moves.
        const prefix = `${from}/`;
        let moved = host.dirs.delete(from);
        if (moved) host.dirs.add(to);
        for (const map of [host.files, host.links] as Array<Map<string, unknown>>) {
          for (const [key, value] of [...map]) {
            if (!key.startsWith(prefix)) continue;
            map.delete(key);
            map.set(`${to}/${key.slice(prefix.length)}`, value);
            moved = true;
          }
        }
        if (!moved) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' });
      },
      async readdir(path) {
        const prefix = path.endsWith('/') ? path : `${path}/`;
        const names = [...host.files.keys(), ...host.links.keys(), ...host.dirs].filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length).split('/')[0]!);
        return [...new Set(names)];
      },
      async readdirKinds(path) {
        const names = await host.fs.readdir(path);
        return Promise.all(names.map(async (name) => ({ name, kind: (await host.fs.lstat(`${path}/${name}`))?.kind ?? 'other' })));
      },
      async writeDurable(path, data) {
        if (host.files.has(path)) throw Object.assign(new Error(`EEXIST: ${path}`), { code: 'EEXIST' });
        host.files.set(path, { data, mode: 0o644 });
      },
      async append(path, data) {
        const file = host.files.get(path);
        host.files.set(path, { data: (file?.data ?? '') + data, mode: file?.mode ?? 0o644 });
      },
      async fsyncDir() {},
      async lstat(path) {
        const file = host.files.get(path);
        if (file !== undefined) return { kind: 'file', size: Buffer.byteLength(file.data), mode: file.mode, uid: 1000, ino: 1 };
        if (host.links.has(path)) return { kind: 'symlink', size: 0, mode: 0o777, uid: 1000, ino: 0 };
        const prefix = `${path}/`;
        if (host.dirs.has(path) || [...host.files.keys(), ...host.links.keys()].some((p) => p.startsWith(prefix))) return { kind: 'directory', size: 0, mode: 0o755, uid: 1000, ino: 2 };
        return undefined;
      },
      async chmod(path, mode) {
        const file = host.files.get(path);
        if (file !== undefined) file.mode = mode;
      },
      async setMtime() {},
      async link(existing, path) {
        const file = host.files.get(existing);
        if (file === undefined) throw Object.assign(new Error(`ENOENT: ${existing}`), { code: 'ENOENT' });
        host.files.set(path, { ...file });
      },
      async *openRead(path, options = {}) {
        const file = host.files.get(path);
        if (file === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
        options.signal?.throwIfAborted();
        const bytes = Buffer.from(file.data, 'latin1').subarray(options.start ?? 0);
        yield options.limit === undefined ? bytes : bytes.subarray(0, options.limit);
      },
      async createFile(path, mode) {
        if (host.files.has(path) || host.links.has(path)) throw Object.assign(new Error(`EEXIST: ${path}`), { code: 'EEXIST' });
        const chunks: Buffer[] = [];
        host.files.set(path, { data: '', mode });
        return {
          async write(chunk) {
            chunks.push(Buffer.from(chunk));
          },
          async close() {
            host.files.set(path, { data: Buffer.concat(chunks).toString('latin1'), mode });
          },
        };
      },
      async readRange(path, start, length) {
        const file = host.files.get(path);
        if (file === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
        return Buffer.from(file.data).subarray(start, start + length).toString('utf8');
      },
    },
    locks: {
      async acquire(path) {
        if (host.files.has(`${path}.lock`)) throw Object.assign(new Error('Lock file is already being held'), { code: 'ELOCKED' });
        host.files.set(`${path}.lock`, { data: '', mode: 0o755 });
        return async () => void host.files.delete(`${path}.lock`);
      },
      async breakLock(path) {
        host.files.delete(`${path}.lock`);
      },
    },
    clock: {
      now: () => now,
      monotonic: () => now,
      sleep(ms, signal) {
        return new Promise((resolve, reject) => {
          if (signal?.aborted) return reject(signal.reason as Error);
          const sleeper = { at: now + ms, resolve };
          sleepers.push(sleeper);
          signal?.addEventListener(
            'abort',
            () => {
              // A sleeper that already woke is gone from the list: nothing to remove.
              const at = sleepers.indexOf(sleeper);
              if (at >= 0) sleepers.splice(at, 1);
              reject(signal.reason as Error);
            },
            { once: true },
          );
        });
      },
    },
    fifos: {
      make: () => {
        throw new Error('no FIFOs in unit tests');
      },
      openForChild: () => {
        throw new Error('no FIFOs in unit tests');
      },
      read: () => {
        throw new Error('no FIFOs in unit tests');
      },
    },
    net: {
      httpRequest: () => Promise.reject(new Error('no network in unit tests')),
      async httpGet(_url, _timeoutMs, options) {
        const server = host.httpServer;
        if (server === undefined) throw new Error('no network in unit tests');
        await options?.check?.(server.ends);
        return server.status;
      },
      tcpConnect: () => Promise.reject(new Error('no network in unit tests')),
      eventStream: () => Promise.reject(new Error('no network in unit tests')),
      bindTcp: () => {
        throw new Error('no network in unit tests');
      },
      listenUnix: () => Promise.reject(new Error('no network in unit tests')),
      unixAccepts: () => Promise.reject(new Error('no network in unit tests')),
    },
    env,
    pid: 42,
    ppid: 1,
    uid: 1000,
    cwd: '/srv',
    invocation: { execPath: '/usr/bin/node', execArgv: [], argv: ['/opt/outlast/bin/outlast.js', 'run'] },
    runtime: { nodeVersion: 'v24.0.0', os: 'linux' },
    readPlatform: () => host.platform,
    memory: () => ({ rss: host.rss }),
    random: () => 0.5,
    randomToken: (bytes) => 't'.repeat(bytes),
    execve: undefined,
    exit(code): never {
      throw new Error(`exit(${code}) called in a unit test`);
    },
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        await flush();
        sleepers.sort((a, b) => a.at - b.at);
        const next = sleepers[0];
        if (next === undefined || next.at > target) break;
        sleepers.shift();
        now = next.at;
        next.resolve();
      }
      now = target;
      await flush();
    },
    failNextSpawn(errno) {
      spawnFailure = errno;
    },
  };
  return host;
}

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** Makes `host`'s children end when signalled, as a well-behaved service does (a stop then completes). */
export function politeChildren(host: FakeHost): FakeHost {
  for (const key of ['kill', 'killGroup'] as const) {
    const send = host[key].bind(host);
    host[key] = (pid, signal) => {
      const alive = send(pid, signal);
      const child = host.children.find((c) => c.pid === pid);
      if (alive && signal !== 0 && child !== undefined) queueMicrotask(() => child.exit({ kind: 'signaled', signal }));
      return alive;
    };
  }
  return host;
}
