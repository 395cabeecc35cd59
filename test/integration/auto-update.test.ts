/**
 * `updates.auto` end to end: a real supervisor on a dir feed of real
 * tarballs, checking every second inside a window that covers now, applies
 * 1.1.0 by itself, commits it, and says so in `GET /status`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeFeed } from '../support/feed.ts';
import { api, cleanup } from '../support/supervisor.ts';
import { lockReleased, runOutlast, serviceVersion, startUpdating, store } from '../support/update-supervisor.ts';
import { waitFor } from '../support/wait.ts';

afterEach(cleanup);

/** "HH:MM-HH:MM" in UTC from a few minutes ago to two hours on (wrapping midnight when it must). */
function windowAroundNow(): string {
  const now = new Date();
  const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
  const hhmm = (m: number): string => {
    const wrapped = (m + 1440) % 1440;
    return `${String(Math.floor(wrapped / 60)).padStart(2, '0')}:${String(wrapped % 60).padStart(2, '0')}`;
  };
  return `${hhmm(minute - 5)}-${hhmm(minute + 120)}`;
}

describe('updates.auto', () => {
  it('applies 1.1.0 from a dir feed on its own, inside the window, and commits', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0' }]);
    const window = windowAroundNow();
    const { cli, port } = await startUpdating({ type: 'dir', path: feed }, { updates: { auto: { checkEvery: '1s', jitter: 0, apply: true, window, timezone: 'UTC' } } });
    await waitFor(async () => (await serviceVersion(port)) === '1.1.0', '1.1.0 serving', 20_000);
    const status = await waitFor(async () => {
      const { json } = await api(cli, 'GET', '/status');
      return (json.lastUpdate as { state?: string } | null)?.state === 'committed' ? json : undefined;
    }, 'the automatic update to commit', 20_000);
    expect(status).toMatchObject({ lastUpdate: { from: '1.0.0', to: '1.1.0', state: 'committed' }, updates: { auto: { apply: true, window, timezone: 'UTC' } } });
    await lockReleased(cli.stateDir);
    expect(store(cli.stateDir)).toMatchObject({ current: 'releases/1.1.0', previous: 'releases/1.0.0' });
    // The checks go on, find nothing newer, and say when the next is due.
    const auto = await waitFor(async () => {
      const { json } = await api(cli, 'GET', '/status');
      const found = (json.updates as { auto: { lastCheck: { outcome: string; current: string } | null; nextCheckAt: string | null } }).auto;
      return found.lastCheck?.outcome === 'up-to-date' && found.lastCheck.current === '1.1.0' ? found : undefined;
    }, 'a check after the update', 10_000);
    expect(Date.parse(auto.nextCheckAt!)).toBeGreaterThan(Date.now() - 5000);
    const text = await runOutlast(['status', '--state-dir', cli.stateDir]);
    expect(text.stdout).toMatch(new RegExp(`^auto-update applies in ${window} \\(UTC\\); last check up-to-date \\(latest 1\\.1\\.0\\) at \\S+; next at \\S+$`, 'm'));
    expect(cli.stderr()).not.toMatch(/auto-update: scheduled check failed/);
  });
});
