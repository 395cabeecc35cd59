/**
 * Sockets the supervisor owns and hands to each child the systemd way
 * (sd_listen_fds): fd 3 onwards, LISTEN_FDS, LISTEN_FDNAMES, and LISTEN_PID
 * equal to the child's own pid. Because the sockets outlive every child, a
 * new child can start accepting before the old one stops: no connection is
 * refused during a restart or an update.
 */
import type { Host } from '../host/host.ts';

/** One socket to own, from `service.listen`. */
export interface ListenSpec {
  host: string;
  port: number;
  name?: string | undefined;
}

/** The open sockets. */
export interface Listeners {
  fds: number[];
  names: string[];
  close(): void;
  /**
   * Makes the sockets listen (once; later calls wait for the first). Bound
   * beside an adopted child's own sockets (SO_REUSEPORT), ours must not
   * listen while nobody accepts on them: the kernel would queue a share of
   * the connections there. So they listen only before the next child starts.
   */
  activate(): Promise<void>;
}

/** How to open them: `reusePort` where a re-executed supervisor must bind them again beside its adopted child; `listen: false` to leave them bound only, until {@link Listeners.activate}. */
export interface ListenOptions {
  reusePort?: boolean;
  listen?: boolean;
}

/** The first inherited descriptor, as sd_listen_fds defines it. */
export const LISTEN_FDS_START = 3;

/**
 * The tiny exec shim: LISTEN_PID must be the pid of the process that reads
 * it, which only the child knows. `sh` sets it to its own pid, then execs
 * the service, which keeps that pid.
 */
const SHIM = 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"';

/**
 * Binds every socket, then makes them listen through a one-shot helper
 * (a child calls listen() on its copies and exits), so the sockets are
 * listening before the first service starts, as systemd hands them over,
 * while this process never polls or accepts on them.
 */
export async function openListeners(host: Host, specs: readonly ListenSpec[], options: ListenOptions = {}): Promise<Listeners> {
  const bound: Array<{ fd: number; close(): void }> = [];
  try {
    for (const spec of specs) bound.push(host.net.bindTcp(spec.host, spec.port, { reusePort: options.reusePort === true }));
    const fds = bound.map((b) => b.fd);
    let listening: Promise<void> | undefined;
    const activate = (): Promise<void> => (listening ??= listen(host, fds));
    if (options.listen !== false) await activate();
    // LISTEN_FDNAMES is colon-separated: a name may not contain ':'.
    const names = specs.map((s) => s.name ?? `${s.host}_${s.port}`.replace(/[^A-Za-z0-9_.-]/g, '_'));
    return { fds, names, close: () => bound.forEach((b) => b.close()), activate };
  } catch (err) {
    for (const b of bound) b.close();
    throw err;
  }
}

async function listen(host: Host, fds: number[]): Promise<void> {
  // Each server lets go of the loop once it listens, so the helper ends by
  // itself (code 0) when the last one does; the sockets stay listening.
  const script = `const net = require('node:net');
for (let i = 0; i < ${fds.length}; i++) { const s = net.createServer(); s.listen({ fd: ${LISTEN_FDS_START} + i, backlog: 511 }, () => s.unref()); }`;
  const helper = host.spawn(host.invocation.execPath, ['-e', script], { cwd: '/', env: {}, detached: true, stdio: 'ignore', passFds: fds });
  const exit = await helper.exited;
  if (exit.kind !== 'exited' || exit.code !== 0) throw new Error(`the socket activation helper ${exit.kind === 'exited' ? `exited with ${exit.code}` : exit.kind}`);
}

/** How to spawn `file args` so that it receives the sockets. */
export function withListeners(listeners: Listeners, file: string, args: readonly string[]): { file: string; args: string[]; env: Record<string, string>; passFds: number[] } {
  const count = String(listeners.fds.length);
  return {
    file: 'sh',
    args: ['-c', SHIM, 'outlast-listen', file, ...args],
    env: { LISTEN_FDS: count, LISTEN_FDNAMES: listeners.names.join(':'), OUTLAST_LISTEN_FDS: count },
    passFds: listeners.fds,
  };
}
