/**
 * The journal scan of `outlast doctor`: how often systemd SIGKILLed the unit
 * in the last 30 days. This is the failure that went unnoticed for weeks in
 * the field: a stop that never finished, SIGKILL after TimeoutStopSec, an
 * automatic restart, and a health check that looked fine throughout.
 */
import type { CommandRunner } from '../../platform/systemctl-runner.ts';

/** How many lines of one kind, and the timestamp of the newest. */
export interface JournalCount {
  count: number;
  /** As journalctl printed it (short-iso), e.g. 2025-03-10T09:03:50+0000. */
  last?: string;
}

/** The counts, over what journalctl printed. */
export interface JournalCounts {
  /** `Main process exited, code=killed, status=9/KILL`: SIGKILL, by systemd, the OOM killer or anyone. */
  sigkill: JournalCount;
  /** `State 'stop-sigterm' timed out. Killing.`: a stop that overran TimeoutStopSec. */
  stopTimeout: JournalCount;
}

/** A scan, or why there is none. */
export type JournalScan =
  | ({ ok: true; unit: string; scope: 'system' | 'user'; since: string; complete: boolean } & JournalCounts)
  | { ok: false; unit: string; scope: 'system' | 'user'; reason: string };

/** How far back the scan looks, in journalctl's words. */
export const JOURNAL_SINCE = '30 days ago';

// `<timestamp> <host> systemd[<pid>]: <unit>: <message>`; only the service
// manager's own lines count, so a service that logs these words is not misread.
const LINE = /^(\S+) \S+ systemd\[\d+\]: (.*)$/;

/** Counts the kill lines in `journalctl -o short-iso` output. Lines come oldest first. */
export function parseJournal(text: string): JournalCounts {
  const counts: JournalCounts = { sigkill: { count: 0 }, stopTimeout: { count: 0 } };
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (match === null) continue;
    const [, at = '', message = ''] = match;
    if (/[Mm]ain process exited, code=killed, status=9\/KILL/.test(message)) bump(counts.sigkill, at);
    // systemd < 236 wrote `foo.service stop-sigterm timed out. Killing.`
    else if (/(State 'stop-sigterm'|\.\w+ stop-sigterm) timed out\. Killing\./.test(message)) bump(counts.stopTimeout, at);
  }
  return counts;
}

function bump(count: JournalCount, at: string): void {
  count.count += 1;
  count.last = at;
}

/**
 * Runs `journalctl [--user] -u <unit> --since "30 days ago" -o short-iso
 * --no-pager` within `timeoutMs`. A journalctl cut off at the deadline still
 * counts what it printed, marked incomplete. Never rejects.
 */
export async function scanJournal(unit: string, scope: 'system' | 'user', run: CommandRunner, timeoutMs = 700): Promise<JournalScan> {
  const args = [...(scope === 'user' ? ['--user'] : []), '-u', unit, '--since', JOURNAL_SINCE, '-o', 'short-iso', '--no-pager'];
  const outcome = await run(args, timeoutMs);
  const base = { unit, scope };
  switch (outcome.kind) {
    case 'timed-out':
      if (outcome.stdout === undefined) return { ok: false, ...base, reason: `journalctl printed nothing within ${timeoutMs} ms` };
      return { ok: true, ...base, since: JOURNAL_SINCE, complete: false, ...parseJournal(outcome.stdout) };
    case 'failed':
      return { ok: false, ...base, reason: outcome.errno === 'ENOENT' ? 'no journalctl on this machine' : `journalctl could not run: ${outcome.message}` };
    case 'exited':
      if (outcome.exitCode !== 0) {
        const why = outcome.stderr.trim() || outcome.stdout.trim();
        return { ok: false, ...base, reason: `journalctl exited with ${outcome.exitCode}${why === '' ? '' : `: ${why}`}` };
      }
      // journalctl exits 0 with no journal at all (no journald, or a volatile one that was never written).
      if (outcome.stderr.includes('No journal files were found')) return { ok: false, ...base, reason: 'no journal files were found (is journald running?)' };
      return { ok: true, ...base, since: JOURNAL_SINCE, complete: true, ...parseJournal(outcome.stdout) };
  }
}
