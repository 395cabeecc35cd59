/**
 * Docker's PID-1 semantics, for real: the command runs as PID 1 of a new PID
 * namespace (`unshare --pid --fork --mount-proc`), and when PID 1 exits the
 * kernel SIGKILLs everything else in the namespace, `setsid` or not. This is
 * field failure 3.
 *
 * Process tree, host side:
 *
 *   test (node) ─ setpriv --pdeathsig KILL ─exec→ unshare ── PID 1 (the command)
 *
 * `--kill-child=SIGKILL` makes unshare's child die with unshare, and the
 * death signal makes unshare die with the test process, so a crashed test
 * run still takes its namespace down. `--mount-proc` (which implies a private
 * mount namespace) gives the namespace its own /proc, so `ps` and
 * /proc/<pid> inside name namespace pids.
 *
 * The kernel also applies PID-1 signal rules to the command: signals it has
 * no handler for are dropped when sent from inside the namespace, and from
 * outside only SIGKILL/SIGSTOP get through without a handler.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { execa } from 'execa';
import { allPids, childrenOf, cmdline, hasTool, type Availability, type Command, type ExitRecord } from './proc.ts';
import { onTeardown } from './teardown.ts';

/** A process in the namespace, with both of its pids. */
export interface NamespaceProcess {
  hostPid: number;
  nsPid: number;
  cmdline: string;
}

/** What a command run inside the namespace returned. */
export interface ExecResult {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

/** A running namespace. */
export interface PidNamespace {
  /** Host pid of unshare, PID 1's parent. */
  unsharePid: number;
  /** Host pid of the namespace's PID 1 (the command). */
  pid1: number;
  /** The namespace's id, as /proc/<pid>/ns/pid names it (`pid:[…]`). */
  nsId: string;
  /**
   * Settles when PID 1 has exited, as unshare reports it. When it settles the
   * namespace is already empty: the exiting PID 1 waits in the kernel until
   * every other member is reaped.
   */
  exited: Promise<ExitRecord>;
  /** The namespace's processes now, PID 1 included while it runs. */
  processes(): NamespaceProcess[];
  /**
   * Runs `argv` inside the namespace (`nsenter -t <pid1> -p -m`) and waits for
   * it. A background process it leaves must not hold stdout/stderr open, or
   * this waits for it too: redirect its stdio.
   */
  exec(argv: readonly string[], options?: { timeoutMs?: number; env?: Record<string, string> }): Promise<ExecResult>;
  /** Everything PID 1 (and unshare) wrote to stdout and stderr. */
  output(): string;
  /** Kills PID 1, hence the whole namespace, and waits for unshare to exit. */
  stop(): Promise<void>;
}

const TOOLS = ['unshare', 'nsenter', 'setpriv'];
// util-linux 2.38 unshare re-raises the child's fatal signal on itself, which
// cannot work for SIGKILL: it prints this and exits 1 instead.
const UNSHARE_SIGKILL = 'sigprocmask unblock failed';

let availability: Availability | undefined;

/** Decides once whether PID namespaces can be made here: root, the util-linux tools, and a working unshare. */
export function pidNamespaceAvailable(): Availability {
  return (availability ??= probe());
}

function probe(): Availability {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root: unshare --pid needs root' };
  const missing = TOOLS.filter((tool) => !hasTool(tool));
  if (missing.length > 0) return { ok: false, reason: `missing tools: ${missing.join(', ')}` };
  const help = spawnText('unshare', ['--help']);
  if (!help.includes('--kill-child')) return { ok: false, reason: 'unshare has no --kill-child (needs util-linux 2.32 or later)' };
  const trial = spawnText('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', 'sh', '-c', 'echo $$']);
  if (trial.trim() !== '1') return { ok: false, reason: `unshare --pid --fork --mount-proc does not work here: ${trial.trim()}` };
  return { ok: true };
}

function spawnText(file: string, args: string[]): string {
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: 5000 });
  return result.error === undefined ? `${result.stdout}${result.stderr}` : result.error.message;
}

function nsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** The innermost pid of a host pid (last NSpid column). */
function innermostPid(pid: number): number | undefined {
  try {
    const line = /^NSpid:\s+(.+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return line === undefined ? undefined : Number(line.trim().split(/\s+/).at(-1));
  } catch {
    return undefined;
  }
}

/** Starts `command` as PID 1 of a new PID namespace; resolves once PID 1 runs the command. Needs pidNamespaceAvailable(). */
export async function startPidNamespace(command: Command): Promise<PidNamespace> {
  const available = pidNamespaceAvailable();
  if (!available.ok) throw new Error(`pid-namespace harness cannot run: ${available.reason}`);
  if (command.argv.length === 0) throw new Error('startPidNamespace: empty argv');
  const unshare = spawn('setpriv', ['--pdeathsig', 'KILL', 'unshare', '--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', '--', ...command.argv], {
    cwd: command.cwd,
    env: { ...process.env, ...command.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  unshare.stdout.on('data', (d: Buffer) => (output += d.toString()));
  unshare.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const unsharePid = unshare.pid;
  if (unsharePid === undefined) {
    const err = await new Promise<Error>((resolve) => unshare.once('error', resolve));
    throw new Error(`cannot start unshare: ${err.message}`);
  }
  let pid1: number | undefined;
  let nsId: string | undefined;
  let ended = false;
  const exited = new Promise<ExitRecord>((resolve) =>
    unshare.once('exit', (code, signal) => {
      const at = Date.now();
      // 'close' (all output read) follows 'exit'; unshare's SIGKILL note may still be in the pipe.
      const settle = (): void => {
        ended = true;
        const killed = code === 1 && output.includes(UNSHARE_SIGKILL);
        resolve({ pid: pid1 ?? unsharePid, code: killed ? null : code, signal: killed ? 'SIGKILL' : signal, at });
      };
      if (unshare.stdout.readableEnded && unshare.stderr.readableEnded) settle();
      else unshare.once('close', settle);
    }),
  );

  const stop = async (): Promise<void> => {
    unregister();
    if (!ended && unshare.exitCode === null && unshare.signalCode === null) {
      try {
        // SIGKILL reaches PID 1 from outside even without a handler, and its death empties the namespace.
        // The namespace check makes sure the pid was not recycled.
        if (pid1 !== undefined && nsOf(pid1) === nsId) process.kill(pid1, 'SIGKILL');
        else unshare.kill('SIGKILL');
      } catch {
        // PID 1 exited meanwhile: unshare follows on its own
      }
    }
    if (!(await Promise.race([exited.then(() => true), delayed(5000, false)]))) {
      unshare.kill('SIGKILL');
      await exited;
    }
  };
  const unregister = onTeardown(stop);

  // unshare --fork: PID 1 is unshare's only child (setpriv execs unshare, so the pid is the same).
  // It is born in the new namespace, but it mounts the namespace's /proc only
  // after the fork, then execs the command: until that exec, an nsenter'ed
  // process would still see the host's /proc. So PID 1 counts as up once its
  // command line is no longer unshare's.
  const ourNs = nsOf(process.pid);
  const deadline = Date.now() + 10_000;
  while (pid1 === undefined || nsId === undefined) {
    const child = childrenOf(unsharePid)[0];
    const childNs = child === undefined ? undefined : nsOf(child);
    // Read each time: once it has a child, unshare (not setpriv) is what runs under its pid.
    const execed = child !== undefined && ![cmdline(unsharePid), ''].includes(cmdline(child));
    if (child !== undefined && execed && childNs !== undefined && childNs !== ourNs && innermostPid(child) === 1) {
      pid1 = child;
      nsId = childNs;
      break;
    }
    if (unshare.exitCode !== null || unshare.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`no PID 1 appeared under unshare (pid ${unsharePid}): ${output.trim()}`);
    }
    await delayed(1, undefined);
  }
  const namespaceId = nsId;
  const hostPid1 = pid1;

  return {
    unsharePid,
    pid1: hostPid1,
    nsId: namespaceId,
    exited,
    processes() {
      const members: NamespaceProcess[] = [];
      for (const pid of allPids()) {
        if (nsOf(pid) !== namespaceId) continue;
        const nsPid = innermostPid(pid);
        if (nsPid !== undefined) members.push({ hostPid: pid, nsPid, cmdline: cmdline(pid) });
      }
      return members;
    },
    async exec(argv, options = {}) {
      const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
      const result = await execa('nsenter', ['-t', String(hostPid1), '-p', '-m', '--', ...(env.length > 0 ? ['env', ...env] : []), ...argv], {
        reject: false,
        timeout: options.timeoutMs ?? 30_000,
        stdin: 'ignore',
      });
      return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    output: () => output,
    stop,
  };
}

function delayed<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}
