/**
 * Runs short-lived system tools (systemctl, journalctl, systemd-notify) with
 * a hard timeout, through the Host's spawn, group kill and clock. Kept apart
 * so the parsing around each tool is tested with a fake runner, and the
 * runner itself with the fake Host.
 */
import type { ChildExit, Host } from '../supervisor/host/host.ts';

/** How one run ended. */
export type CommandOutcome =
  | { kind: 'exited'; exitCode: number; stdout: string; stderr: string }
  /** Killed at the deadline; `stdout` holds what it printed before, when anything. */
  | { kind: 'timed-out'; stdout?: string }
  /** Could not start (errno ENOENT, EACCES…), or was killed by someone else. */
  | { kind: 'failed'; errno?: string; message: string };

/** Runs the tool with `args`; resolves within about timeoutMs, never rejects. */
export type CommandRunner = (args: readonly string[], timeoutMs: number) => Promise<CommandOutcome>;

/** How one systemctl run ended. */
export type SystemctlOutcome = CommandOutcome;
/** Runs systemctl with `args`; resolves within about timeoutMs, never rejects. */
export type SystemctlRunner = CommandRunner;

/** What a runner needs of the Host. */
export type RunnerHost = Pick<Host, 'spawn' | 'killGroup' | 'clock' | 'env' | 'cwd'>;

// Between the SIGKILL at the deadline and giving up on the pipes: a process
// that escaped the group (setsid) may hold stdout open, and we must not wait on it.
const PIPE_GRACE_MS = 100;

/** Hands on the text a stream carries; resolves when it ends (at once for none). */
export function collect(stream: NodeJS.ReadableStream | null, onText: (text: string) => void): Promise<void> {
  if (stream === null) return Promise.resolve();
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => onText(chunk));
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

/** The variables of `env` that are set (a child's environment has no unset ones). */
export function definedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const set: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) set[name] = value;
  return set;
}

/** Output as execa returned it: without one final newline. */
function stripFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/**
 * A runner that spawns `file` through the Host, with the caller's
 * environment and LC_ALL=C (English `Key=Value` output and messages, whatever
 * the user's locale). The tool runs in a process group of its own, and at
 * the deadline the whole group is SIGKILLed: a systemctl stuck on a dead bus
 * may ignore SIGTERM, and a wrapper script's children (`sh` → `sleep`) would
 * otherwise keep the pipes, and so the caller, waiting. The answer comes at
 * the deadline even if something still holds the pipes.
 */
export function hostRunner(host: RunnerHost, file: string): CommandRunner {
  return async (args, timeoutMs) => {
    const env = { ...definedEnv(host.env), LC_ALL: 'C' };
    const child = host.spawn(file, args, { cwd: host.cwd, env, detached: true });
    let stdout = '';
    let stderr = '';
    // Exit and both pipes closed: a tool's output is complete only then.
    const finished: Promise<ChildExit> = Promise.all([
      child.exited,
      collect(child.stdout, (text) => (stdout += text)),
      collect(child.stderr, (text) => (stderr += text)),
    ]).then(([exit]) => exit);
    const stopClock = new AbortController();
    let timedOut = false;
    const deadline = host.clock.sleep(timeoutMs, stopClock.signal).then(
      async () => {
        timedOut = true;
        if (child.pid !== undefined) host.killGroup(child.pid, 'SIGKILL');
        // The exit normally follows at once; this covers pipes held open by
        // a process that escaped the group.
        await Promise.race([finished, host.clock.sleep(PIPE_GRACE_MS)]);
        return 'timed-out' as const;
      },
      () => 'finished' as const,
    );
    const first = await Promise.race([finished.then(() => 'finished' as const), deadline]);
    stopClock.abort();
    // The kill at the deadline ends the tool, so its exit may still come first.
    if (first === 'timed-out' || timedOut) return { kind: 'timed-out', ...(stdout === '' ? {} : { stdout }) };
    const exit = await finished;
    switch (exit.kind) {
      case 'exited':
        return { kind: 'exited', exitCode: exit.code, stdout: stripFinalNewline(stdout), stderr: stripFinalNewline(stderr) };
      case 'signaled':
        return { kind: 'failed', message: `${file} was killed by ${exit.signal}` };
      case 'spawn-failed':
        return { kind: 'failed', errno: exit.errno, message: exit.message };
    }
  };
}
