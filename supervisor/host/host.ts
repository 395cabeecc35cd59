/**
 * The Host: every side effect outlast performs, as one object of functions.
 * Core logic takes a Host, or a narrow `Pick` of it; the CLI binds the real
 * one (node-host.ts) at the edge, and unit tests hand in a fake. An eslint
 * rule (no-restricted-imports) keeps node:fs, node:child_process, node:net
 * and execa out of every module but the few adapters it allow-lists.
 */
import type { Readable, Writable } from 'node:stream';
import type { Platform } from '../../platform/platform.ts';

/** How a child process ended. */
export type ChildExit =
  | { kind: 'exited'; code: number }
  | { kind: 'signaled'; signal: NodeJS.Signals }
  /**
   * The command could not be started at all (ENOENT, EACCES…); `message` is
   * one line naming what could not run and why, without the errno beside it.
   */
  | { kind: 'spawn-failed'; errno: string; message: string };

/** Options for {@link Host.spawn}. */
export interface SpawnOptions {
  cwd: string;
  /** The complete environment of the child; nothing is inherited implicitly. */
  env: Record<string, string>;
  /** Start the child as the leader of a new process group (and session). */
  detached: boolean;
  /**
   * 'ignore' gives the child /dev/null for output (a helper that outlives us
   * must not hold our pipes); descriptors of ours (from `fifos.openForChild`)
   * become its stdout and stderr, and the handle's streams are then null.
   */
  stdio?: 'pipe' | 'ignore' | { stdout: number; stderr: number };
  /** 'pipe' gives the child a pipe to read as its stdin ({@link ChildHandle.stdin}); /dev/null otherwise. */
  stdin?: 'pipe';
  /** Open descriptors of ours that become the child's fd 3, 4, … (sockets handed over the systemd way). */
  passFds?: readonly number[];
}

/** A running child, as the core sees it. */
export interface ChildHandle {
  /** Undefined when the spawn failed before a process existed. */
  readonly pid: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** The child's stdin, with `stdin: 'pipe'` only. */
  readonly stdin?: Writable | null;
  /** Settles exactly once, when the process is gone (or never started). */
  readonly exited: Promise<ChildExit>;
}

/** What {@link HostFs.lstat} says about a path (links are not followed). */
export interface FileInfo {
  kind: 'file' | 'directory' | 'symlink' | 'socket' | 'other';
  size: number;
  /** Permission bits. */
  mode: number;
  uid: number;
  /** The inode: a new number at the same path means the file was replaced (rotated). */
  ino: number;
}

/** A file being written, chunk by chunk. */
export interface WritableFile {
  /** Resolves once the chunk is handed to the kernel. */
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** The file-system calls the core needs. All paths are absolute. */
export interface HostFs {
  readFile(path: string): Promise<string>;
  /**
   * Reads a small file synchronously (opened non-blocking, so a FIFO cannot
   * stall it): /proc entries and markers for a signal handler's snapshot,
   * where awaiting would let the stop begin before the facts are taken.
   * Undefined when the file is missing or unreadable; never throws.
   */
  readSync(path: string): string | undefined;
  /** Writes via a temp file, fsync, rename, and fsync of the directory. */
  writeFileAtomic(path: string, data: string, mode?: number): Promise<void>;
  mkdir(path: string, mode?: number): Promise<void>;
  rm(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Permission bits of an existing file, or undefined when it is missing. */
  mode(path: string): Promise<number | undefined>;
  /** Creates a symlink at `path` pointing to `target` (relative targets stay relative). */
  symlink(target: string, path: string): Promise<void>;
  /** The target of a symlink, or undefined when `path` is missing or not a link. */
  readlink(path: string): Promise<string | undefined>;
  /** Renames atomically within one file system (replaces `to`). */
  rename(from: string, to: string): Promise<void>;
  /** Entry names of a directory; empty when it is missing. */
  readdir(path: string): Promise<string[]>;
  /** Entry names of a directory with what each is (links not followed), in one call; empty when it is missing. */
  readdirKinds(path: string): Promise<Array<{ name: string; kind: FileInfo['kind'] }>>;
  /**
   * Creates `path` (never replacing one) with `data` and fsyncs that one
   * file: cheaper than writeFileAtomic where a torn file may be skipped.
   */
  writeDurable(path: string, data: string): Promise<void>;
  /** Appends to a file, creating it. */
  append(path: string, data: string): Promise<void>;
  /** Makes a directory's entries (renames, new links) durable. */
  fsyncDir(path: string): Promise<void>;
  /** The type and size of `path` itself, or undefined when it is missing. */
  lstat(path: string): Promise<FileInfo | undefined>;
  /** Sets permission bits. */
  chmod(path: string, mode: number): Promise<void>;
  /** Sets the modification (and access) time, in ms since the epoch. */
  setMtime(path: string, mtimeMs: number): Promise<void>;
  /** Creates a hard link at `path` to the existing file `existing`. */
  link(existing: string, path: string): Promise<void>;
  /**
   * Streams a file's bytes, from byte `start` (0 by default) on. At most
   * `limit` bytes are read when given; an aborted `signal` ends the stream
   * with its reason. Errors (a missing file included) surface from the
   * iteration.
   */
  openRead(path: string, options?: { start?: number; limit?: number; signal?: AbortSignal }): AsyncIterable<Uint8Array>;
  /** Creates `path` with `mode`, failing with EEXIST when something is there. */
  createFile(path: string, mode: number): Promise<WritableFile>;
  /** Reads `length` bytes from byte `start` on (fewer at the end of the file), as UTF-8. */
  readRange(path: string, start: number, length: number): Promise<string>;
}

/** Wall and monotonic time, and waiting. */
export interface HostClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  monotonic(): number;
  /**
   * Resolves after `ms`, or rejects with the signal's reason when aborted.
   * With `ref: false` the wait does not keep the process alive by itself
   * (a background schedule's timer): when nothing else is left, the process
   * ends and the promise never settles.
   */
  sleep(ms: number, signal?: AbortSignal, options?: { ref?: boolean }): Promise<void>;
}

/** An HTTP request made by a client command. */
export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/** The two ends of a TCP connection, as its client sees them. */
export interface ConnectionEnds {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** What a probe does with its connection once it is open, before anything is sent on it. */
export interface ProbeOptions {
  /** Looks at the open connection; when it rejects, the connection is closed and the probe fails with its error. */
  check?: (ends: ConnectionEnds) => Promise<void>;
}

/** Network calls used by probes and by the CLI client. */
export interface HostNet {
  /** Sends a request and reads the whole answer; rejects on a network error or timeout. */
  httpRequest(request: HttpRequest): Promise<{ status: number; body: string }>;
  /** GET `url`; resolves with the status, rejects on a network error or timeout (`check` included). */
  httpGet(url: string, timeoutMs: number, options?: ProbeOptions): Promise<number>;
  /**
   * Follows a server-sent-events stream; `onEvent` gets each event's name and
   * data. Resolves once the stream is open; the returned function closes it.
   */
  eventStream(url: string, headers: Record<string, string>, onEvent: (event: string, data: string) => void): Promise<() => void>;
  /**
   * Binds a TCP socket to host:port WITHOUT listening on it in this process,
   * so it can be handed to children that listen and accept; we never accept
   * on it ourselves. Returns its descriptor and how to close it. With
   * `reusePort` (SO_REUSEPORT) another socket with the flag may bind the
   * same port while this one listens: how a re-executed supervisor owns the
   * port again beside the child it adopted.
   */
  bindTcp(host: string, port: number, options?: { reusePort?: boolean }): { fd: number; close(): void };
  /** Resolves when a TCP connection to host:port opens (and passes `check`) within the timeout. */
  tcpConnect(host: string, port: number, timeoutMs: number, options?: ProbeOptions): Promise<void>;
  /**
   * Listens on a unix STREAM socket at `path` (which must not exist). Each
   * accepted connection is handed to `onConnection`; errors of a connection
   * or of a later accept are dropped. Resolves once it accepts connections.
   */
  listenUnix(path: string, options: { maxConnections: number }, onConnection: (connection: UnixConnection) => void): Promise<UnixServer>;
  /** Whether something accepts connections on the unix socket at `path`. */
  unixAccepts(path: string): Promise<boolean>;
}

/** One accepted unix-socket connection, read as UTF-8 text. */
export interface UnixConnection {
  onData(listener: (text: string) => void): void;
  destroy(): void;
}

/** A listening unix socket. */
export interface UnixServer {
  /** Stops listening and drops open connections; the socket file stays. */
  close(): Promise<void>;
}

/**
 * Named pipes for a child's stdout and stderr that outlive this process
 * image: unlike a pipe, whose read end is gone at an execve (libuv opens
 * every descriptor close-on-exec), a FIFO can be opened again by path.
 */
export interface HostFifos {
  /** Creates a FIFO at `path` (mode 0600), synchronously; throws when something is there. */
  make(path: string): void;
  /**
   * Opens the FIFO read-write for a child's output: the child then holds a
   * reader itself, so its writes never meet EPIPE while no supervisor reads
   * (they buffer, then block). Returns the descriptor to spawn with; close
   * our copy once the child has it.
   */
  openForChild(path: string): { fd: number; close(): void };
  /**
   * Reads the FIFO (opened O_RDONLY|O_NONBLOCK, so it never waits for a
   * writer). The stream ends once every writer is gone: the child and its
   * group have exited.
   */
  read(path: string): Readable;
}

/** Cross-process file locks: a lock dir whose mtime is kept fresh (node-locks.ts, proper-lockfile's format). */
export interface HostLocks {
  /**
   * Takes the lock on `path` without waiting. Rejects with code ELOCKED when
   * another live process holds it; a lock whose holder stopped refreshing it
   * for `staleMs` is taken over. Resolves with the release function.
   */
  acquire(path: string, options: { staleMs: number; onCompromised: (err: Error) => void }): Promise<() => Promise<void>>;
  /** Removes a lock left by a process known to be dead. */
  breakLock(path: string): Promise<void>;
}

/** Every side effect, in one place. */
export interface Host {
  spawn(file: string, args: readonly string[], options: SpawnOptions): ChildHandle;
  /** Sends a signal to one process. False when it no longer exists. */
  kill(pid: number, signal: NodeJS.Signals | 0): boolean;
  /** Sends a signal to a whole process group. False when the group is empty. */
  killGroup(pgid: number, signal: NodeJS.Signals | 0): boolean;
  /** Subscribes to a signal delivered to this process; returns the unsubscribe. */
  onSignal(signal: NodeJS.Signals, handler: (signal: NodeJS.Signals) => void): () => void;
  readonly fs: HostFs;
  readonly locks: HostLocks;
  readonly fifos: HostFifos;
  readonly clock: HostClock;
  readonly net: HostNet;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly pid: number;
  readonly ppid: number;
  /** Our user id; undefined where the platform has none. */
  readonly uid: number | undefined;
  readonly cwd: string;
  /** How this process was started: the executable, its flags, and its arguments (argv[1] on). */
  readonly invocation: { execPath: string; execArgv: readonly string[]; argv: readonly string[] };
  /** The runtime's facts: Node's version (e.g. "v24.1.0") and the OS (process.platform). */
  readonly runtime: { nodeVersion: string; os: NodeJS.Platform };
  /** Detects the platform this process runs on (platform/read-platform.ts). Never throws. */
  readPlatform(): Platform;
  /** This process's memory: `rss`, its resident set size in bytes (for `/metrics`). */
  memory(): { rss: number };
  /** A uniform number in [0, 1): jitter and tokens take randomness from here. */
  random(): number;
  randomToken(bytes: number): string;
  /**
   * Replaces this process image, keeping the PID (process.execve, Node >=
   * 22.15). Undefined where the runtime lacks it. `args` includes argv[0].
   */
  readonly execve: ((file: string, args: readonly string[], env: Record<string, string>) => never) | undefined;
  /** Ends this process. Only the CLI entry may call it. */
  exit(code: number): never;
}
