/**
 * Runs git for the git source, through the Host: never prompting for
 * credentials, bounded by a timeout (SIGTERM, then SIGKILL after a grace)
 * and by the caller's abort signal.
 */
import { collect, definedEnv } from '../../../platform/systemctl-runner.ts';
import { OutlastError } from '../../errors.ts';
import type { ChildExit, Host } from '../../host/host.ts';

/** Runs git with `args`; resolves with stdout. The seam tests and callers can replace. */
export type GitRunner = (args: readonly string[], options: { signal: AbortSignal; timeoutMs: number }) => Promise<string>;

/** What running git needs of the Host. */
export type GitRunnerHost = Pick<Host, 'spawn' | 'kill' | 'clock' | 'env' | 'cwd'>;

/** The subcommands the source runs, to name the one that failed. */
const GIT_COMMANDS = new Set(['ls-remote', 'init', 'fetch', 'checkout']);

/** After a timeout's (or an abort's) SIGTERM, git gets this long before SIGKILL. */
export const KILL_GRACE_MS = 2000;

// How long a killed git's pipes are waited on before its output is taken as it is.
const PIPE_GRACE_MS = 100;

/** How a failed run is described when git printed nothing on stderr. */
function describe(exit: ChildExit, args: readonly string[]): string {
  const line = ['git', ...args].join(' ');
  switch (exit.kind) {
    case 'exited':
      return `Command failed with exit code ${exit.code}: ${line}`;
    case 'signaled':
      return `Command was killed with ${exit.signal}: ${line}`;
    case 'spawn-failed':
      return exit.message;
  }
}

/** The real runner: git spawned through `host`, with the caller's environment and GIT_TERMINAL_PROMPT=0. */
export function hostGit(host: GitRunnerHost): GitRunner {
  return async (args, { signal, timeoutMs }) => {
    signal.throwIfAborted();
    const env = { ...definedEnv(host.env), GIT_TERMINAL_PROMPT: '0' };
    const child = host.spawn('git', args, { cwd: host.cwd, env, detached: false });
    let stdout = '';
    let stderr = '';
    const output = Promise.all([collect(child.stdout, (t) => (stdout += t)), collect(child.stderr, (t) => (stderr += t))]);
    // Cancels the timers once git is gone: a late SIGKILL could hit a reused pid.
    const gone = new AbortController();
    let terminating = false;
    let timedOut = false;
    const terminate = (): void => {
      if (terminating || child.pid === undefined) return;
      terminating = true;
      const pid = child.pid;
      host.kill(pid, 'SIGTERM');
      host.clock.sleep(KILL_GRACE_MS, gone.signal).then(() => host.kill(pid, 'SIGKILL'), () => undefined);
    };
    host.clock.sleep(timeoutMs, gone.signal).then(() => {
      timedOut = true;
      terminate();
    }, () => undefined);
    signal.addEventListener('abort', terminate, { once: true });
    let exit: ChildExit;
    try {
      exit = await child.exited;
    } finally {
      gone.abort();
      signal.removeEventListener('abort', terminate);
    }
    // A killed git's helpers (ssh, git-remote-http) may still hold the
    // pipes: after a kill, what was printed so far is enough.
    await (terminating ? Promise.race([output, host.clock.sleep(PIPE_GRACE_MS)]) : output);
    if (signal.aborted) throw signal.reason;
    if (exit.kind === 'exited' && exit.code === 0 && !timedOut) return stdout.replace(/\r?\n$/, '');
    const command = `git ${args.find((a) => GIT_COMMANDS.has(a)) ?? args[0] ?? ''}`;
    const cause = new Error(describe(exit, args));
    if (timedOut) throw new OutlastError('TIMEOUT', `${command} timed out after ${timeoutMs} ms`, { cause });
    const last = stderr.trim().split('\n').at(-1);
    throw new OutlastError('SOURCE_UNAVAILABLE', `${command} failed: ${last || cause.message}`, { cause });
  };
}
