/**
 * Runs `systemctl` for the properties reader, bound to execa. Kept apart so
 * the parsing in systemd-properties.ts is tested with a fake runner.
 */
import { execa } from 'execa';

/** How one systemctl run ended. */
export type SystemctlOutcome =
  | { kind: 'exited'; exitCode: number; stdout: string; stderr: string }
  | { kind: 'timed-out' }
  /** Could not start (errno ENOENT, EACCES…), or was killed by someone else. */
  | { kind: 'failed'; errno?: string; message: string };

/** Runs systemctl with `args`; resolves within about timeoutMs, never rejects. */
export type SystemctlRunner = (args: readonly string[], timeoutMs: number) => Promise<SystemctlOutcome>;

// A systemctl stuck on a dead bus may ignore SIGTERM; SIGKILL follows after this.
const FORCE_KILL_AFTER_MS = 500;

/** A runner that spawns `file` (systemctl by default) through execa. */
export function execaSystemctl(file = 'systemctl'): SystemctlRunner {
  return async (args, timeoutMs) => {
    const result = await execa(file, args, {
      timeout: timeoutMs,
      forceKillAfterDelay: FORCE_KILL_AFTER_MS,
      reject: false,
      stdin: 'ignore',
      // English `Key=Value` output and messages, whatever the user's locale.
      env: { LC_ALL: 'C' },
    });
    if (result.timedOut) return { kind: 'timed-out' };
    if (result.exitCode !== undefined) {
      return { kind: 'exited', exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
    }
    return {
      kind: 'failed',
      ...(typeof result.code === 'string' ? { errno: result.code } : {}),
      message: result.shortMessage ?? result.message ?? 'systemctl failed',
    };
  };
}
