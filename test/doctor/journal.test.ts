// The journal scan: parsing realistic `journalctl -o short-iso` output, and
// what scanJournal makes of each way journalctl can end.
import { describe, expect, it } from 'vitest';
import type { CommandOutcome, CommandRunner } from '../../platform/index.ts';
import { parseJournal, scanJournal } from '../../supervisor/doctor/journal.ts';

// A user unit whose graceful stop never finished (a WebSocket ping loop kept
// server.close() waiting), SIGKILLed by systemd on two daily restarts, plus an
// OOM kill, as systemd 252 logs them. The service's own line quoting
// "status=9/KILL" must not count.
const DEAD_CHAT = `-- Boot 5e1c9f0d6c0a4a3b9e1f2a7d8c6b5a41 --
2026-03-08T09:03:01+0000 pi systemd[812]: Stopping dead-chat.service - DEAD//CHAT...
2026-03-08T09:03:01+0000 pi node[4242]: [chat] Shutting down
2026-03-08T09:04:31+0000 pi systemd[812]: dead-chat.service: State 'stop-sigterm' timed out. Killing.
2026-03-08T09:04:31+0000 pi systemd[812]: dead-chat.service: Killing process 4242 (node) with signal SIGKILL.
2026-03-08T09:04:31+0000 pi systemd[812]: dead-chat.service: Main process exited, code=killed, status=9/KILL
2026-03-08T09:04:31+0000 pi systemd[812]: dead-chat.service: Failed with result 'timeout'.
2026-03-08T09:04:31+0000 pi systemd[812]: Stopped dead-chat.service - DEAD//CHAT.
2026-03-08T09:04:31+0000 pi systemd[812]: dead-chat.service: Consumed 1min 2.114s CPU time.
2026-03-08T09:04:32+0000 pi systemd[812]: Started dead-chat.service - DEAD//CHAT.
2026-03-09T09:03:48+0000 pi systemd[812]: Stopping dead-chat.service - DEAD//CHAT...
2026-03-09T09:05:18+0000 pi systemd[812]: dead-chat.service: State 'stop-sigterm' timed out. Killing.
2026-03-09T09:05:18+0000 pi systemd[812]: dead-chat.service: Killing process 5101 (node) with signal SIGKILL.
2026-03-09T09:05:18+0000 pi systemd[812]: dead-chat.service: Main process exited, code=killed, status=9/KILL
2026-03-09T09:05:18+0000 pi systemd[812]: dead-chat.service: Failed with result 'timeout'.
2026-03-09T09:05:19+0000 pi systemd[812]: Started dead-chat.service - DEAD//CHAT.
2026-03-10T11:20:00+0000 pi node[5388]: [chat] user typed "status=9/KILL" and State 'stop-sigterm' timed out. Killing.
2026-03-10T14:00:07+0000 pi systemd[812]: dead-chat.service: A process of this unit has been killed by the OOM killer.
2026-03-10T14:00:07+0000 pi systemd[812]: dead-chat.service: Main process exited, code=killed, status=9/KILL
2026-03-10T14:00:07+0000 pi systemd[812]: dead-chat.service: Failed with result 'oom-kill'.
`;

// The same events from an older systemd (CentOS 7, systemd 219), and a clean
// stop from a newer one with an RFC 3339 offset.
const OLDER_AND_NEWER = `2025-11-02T03:00:01+0100 c7 systemd[1]: Stopping API...
2025-11-02T03:01:31+0100 c7 systemd[1]: api.service stop-sigterm timed out. Killing.
2025-11-02T03:01:31+0100 c7 systemd[1]: api.service: main process exited, code=killed, status=9/KILL
2026-01-05T10:00:00+00:00 deb systemd[1]: Stopping api.service - API...
2026-01-05T10:00:01+00:00 deb systemd[1]: api.service: Deactivated successfully.
`;

function runner(outcome: CommandOutcome): CommandRunner & { calls: Array<readonly string[]> } {
  const calls: Array<readonly string[]> = [];
  return Object.assign(async (args: readonly string[]) => {
    calls.push(args);
    return outcome;
  }, { calls });
}

describe('parseJournal', () => {
  it('counts SIGKILLed main processes and stop timeouts from systemd, with the last time of each', () => {
    expect(parseJournal(DEAD_CHAT)).toEqual({
      sigkill: { count: 3, last: '2026-03-10T14:00:07+0000' },
      stopTimeout: { count: 2, last: '2026-03-09T09:05:18+0000' },
    });
  });

  it("reads older systemd's wording too", () => {
    expect(parseJournal(OLDER_AND_NEWER)).toEqual({
      sigkill: { count: 1, last: '2025-11-02T03:01:31+0100' },
      stopTimeout: { count: 1, last: '2025-11-02T03:01:31+0100' },
    });
  });

  it('counts nothing in a quiet journal', () => {
    expect(parseJournal('-- No entries --\n')).toEqual({ sigkill: { count: 0 }, stopTimeout: { count: 0 } });
  });
});

describe('scanJournal', () => {
  it('runs journalctl for the unit over 30 days, --user for a user unit', async () => {
    const run = runner({ kind: 'exited', exitCode: 0, stdout: DEAD_CHAT, stderr: '' });
    const scan = await scanJournal('dead-chat.service', 'user', run, 700);
    expect(run.calls).toEqual([['--user', '-u', 'dead-chat.service', '--since', '30 days ago', '-o', 'short-iso', '--no-pager']]);
    expect(scan).toMatchObject({ ok: true, complete: true, since: '30 days ago', sigkill: { count: 3 }, stopTimeout: { count: 2 } });
  });

  it('counts what a journalctl cut off at the deadline printed, marked incomplete', async () => {
    const scan = await scanJournal('api.service', 'system', runner({ kind: 'timed-out', stdout: OLDER_AND_NEWER.split('\n').slice(0, 3).join('\n') }));
    expect(scan).toMatchObject({ ok: true, complete: false, sigkill: { count: 1 }, stopTimeout: { count: 1 } });
  });

  it.each([
    [{ kind: 'timed-out' } as const, 'journalctl printed nothing within 700 ms'],
    [{ kind: 'failed', errno: 'ENOENT', message: 'spawn journalctl ENOENT' } as const, 'no journalctl on this machine'],
    [{ kind: 'exited', exitCode: 1, stdout: '', stderr: 'Failed to add filter for units: No data available' } as const, 'journalctl exited with 1: Failed to add filter for units: No data available'],
    [{ kind: 'exited', exitCode: 0, stdout: '-- No entries --', stderr: 'No journal files were found.' } as const, 'no journal files were found (is journald running?)'],
  ])('says why there is no scan: %j', async (outcome, reason) => {
    expect(await scanJournal('api.service', 'system', runner(outcome), 700)).toEqual({ ok: false, unit: 'api.service', scope: 'system', reason });
  });
});
