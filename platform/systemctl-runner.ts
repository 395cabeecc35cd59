/**
 * Runs short-lived system tools (systemctl, journalctl, systemd-notify) with
 * a hard timeout, bound to execa. Kept apart so the parsing around each tool
 * is tested with a fake runner.
 */
import { execa } from 'execa';

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

// Between the SIGKILL at the deadline and giving up on the pipes: a process
// that escaped the group (setsid) may hold stdout open, and we must not wait on it.
const PIPE_GRACE_MS = 100;

/**
 * A runner that spawns `file` through execa. The tool runs in a process group
 * of its own, and at the deadline the whole group is SIGKILLed: a systemctl
 * stuck on a dead bus may ignore SIGTERM, and a wrapper script's children
 * (`sh` → `sleep`) would otherwise keep the pipes, and so the caller, waiting.
 * The answer comes at the deadline even if something still holds the pipes.
 */
export function execaRunner(file: string): CommandRunner {
  return (args, timeoutMs) =>
    new Promise<CommandOutcome>((resolve) => {
      let stdout = '';
      let timedOut = false;
      let settled = false;
      const settle = (outcome: CommandOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(outcome);
      };
      const timedOutOutcome = (): CommandOutcome => ({ kind: 'timed-out', ...(stdout === '' ? {} : { stdout }) });
      const proc = execa(file, args, {
        detached: true,
        reject: false,
        stdin: 'ignore',
        // English `Key=Value` output and messages, whatever the user's locale.
        env: { LC_ALL: 'C' },
      });
      proc.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      const deadline = setTimeout(() => {
        timedOut = true;
        killGroup(proc.pid);
        // The exit below normally settles first; this covers pipes held open
        // by a process that escaped the group.
        setTimeout(() => settle(timedOutOutcome()), PIPE_GRACE_MS);
      }, timeoutMs);
      void proc.then((result) => {
        if (timedOut) return settle(timedOutOutcome());
        if (result.isTerminated) return settle({ kind: 'failed', message: `${file} was killed by ${result.signal ?? 'a signal'}` });
        if (result.exitCode !== undefined) {
          return settle({ kind: 'exited', exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) });
        }
        return settle({
          kind: 'failed',
          ...(typeof result.code === 'string' ? { errno: result.code } : {}),
          message: result.shortMessage ?? result.message ?? `${file} failed`,
        });
      });
    });
}

/** A runner for systemctl (or a stand-in at `file`). */
export function execaSystemctl(file = 'systemctl'): SystemctlRunner {
  return execaRunner(file);
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
