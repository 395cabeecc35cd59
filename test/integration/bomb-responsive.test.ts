/**
 * A decompression bomb offered as an update: while the supervisor inflates
 * it, /health and the control API keep answering, each within a second (the
 * functional bound a watchdog or a load balancer holds us to), and the apply
 * ends with TOO_LARGE, no staging left behind and the update lock free.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFeed } from '../support/feed.ts';
import { api, cleanup, supervisorInfo, token } from '../support/supervisor.ts';
import { apply, finalState, lockReleased, serviceVersion, startUpdating, store } from '../support/update-supervisor.ts';
import { waitFor } from '../support/wait.ts';
import { tarHeader } from '../update/helpers.ts';

afterEach(cleanup);

const MiB = 1024 * 1024;
/** What the bomb inflates to: four tar entries of zeros, each below the limit on its own. */
const BOMB_BYTES = 200 * MiB;
const BOMB_FILES = 4;
/** Below the bomb, so the apply must inflate most of it before it is refused (no single header gives it away). */
const LIMIT = 160 * MiB;
/** The acceptance bound of one answer while an apply runs. */
const BOUND_MS = 1000;

/** Writes `<feed>/bomb-<version>.tgz` by streaming (200 MiB never sit in memory) and lists it in the manifest. */
async function addBomb(feed: string, version: string): Promise<number> {
  const file = join(feed, `bomb-${version}.tgz`);
  const zeros = Buffer.alloc(MiB);
  const body = (function* () {
    for (let i = 0; i < BOMB_FILES; i++) {
      yield tarHeader({ path: i === 0 ? 'server.js' : `zeros-${i}.bin` }, BOMB_BYTES / BOMB_FILES);
      for (let left = BOMB_BYTES / BOMB_FILES; left > 0; left -= MiB) yield zeros;
    }
    yield Buffer.alloc(1024);
  })();
  await pipeline(Readable.from(body), createGzip({ level: 9 }), createWriteStream(file));
  const size = statSync(file).size;
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  const manifestPath = join(feed, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { versions: unknown[] };
  manifest.versions.push({ version, url: `bomb-${version}.tgz`, sha256, size });
  writeFileSync(manifestPath, JSON.stringify(manifest));
  return size;
}

/** One timed answer; a request that takes longer than twice the bound is cut off and counts as its full wait. */
async function timed(url: string, headers: Record<string, string> = {}): Promise<{ ms: number; status: number }> {
  const started = performance.now();
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(2 * BOUND_MS) });
    await res.arrayBuffer();
    return { ms: performance.now() - started, status: res.status };
  } catch {
    return { ms: performance.now() - started, status: 0 };
  }
}

describe('a decompression bomb as an update', () => {
  it('keeps /health and the API answering within 1 s while it is inflated, then fails with TOO_LARGE and leaves nothing behind', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0' }]);
    const compressed = await addBomb(feed, '2.0.0');
    expect(compressed).toBeLessThan(BOMB_BYTES / 500);
    const { cli, port } = await startUpdating({ type: 'dir', path: feed }, { updates: { maxUnpackedBytes: LIMIT } });
    const { apiUrl } = await supervisorInfo(cli);
    const auth = { authorization: `Bearer ${token(cli.stateDir)}` };
    // The service answers on its port a moment before the supervisor's probe calls it ready.
    await waitFor(async () => (await timed(`${apiUrl}/health`)).status === 200, 'the supervisor to report the service ready');

    let settled = false;
    const applying = apply(cli, { version: '2.0.0' }).finally(() => (settled = true));
    // Polled on a 100 ms beat without waiting for the previous answer, so an
    // answer held up by a blocked event loop cannot slow the polling down.
    const answers: Array<Promise<{ what: string; ms: number; status: number }>> = [];
    while (!settled) {
      answers.push(timed(`${apiUrl}/health`).then((a) => ({ what: 'health', ...a })));
      answers.push(timed(`${apiUrl}/status`, auth).then((a) => ({ what: 'status', ...a })));
      await new Promise((r) => setTimeout(r, 100));
    }
    const refused = await applying;
    const polled = await Promise.all(answers);

    // Inflating 160 MiB takes well over one beat: the polling overlapped it.
    expect(polled.length).toBeGreaterThanOrEqual(4);
    const slow = polled.filter((a) => a.status !== 200 || a.ms > BOUND_MS);
    expect(slow, `slowest of ${polled.length} answers: ${Math.round(Math.max(...polled.map((a) => a.ms)))} ms`).toEqual([]);
    expect(refused.status, JSON.stringify(refused.json)).toBe(422);
    expect(refused.json).toMatchObject({ error: { code: 'TOO_LARGE', details: { limit: LIMIT } } });

    await lockReleased(cli.stateDir);
    const status = await api(cli, 'GET', '/status');
    expect(status.json).toMatchObject({ lastUpdate: { state: 'failed', to: '2.0.0', error: { code: 'TOO_LARGE' } } });
    expect(store(cli.stateDir)).toEqual({ releases: ['1.0.0'], current: 'releases/1.0.0', previous: null });
    expect(await serviceVersion(port)).toBe('1.0.0');

    // The lock is free: the next apply is accepted and commits.
    const next = await apply(cli, { version: '1.1.0' });
    expect(next.status, JSON.stringify(next.json)).toBe(202);
    expect((await finalState(cli, next.json.id as string)).state).toBe('committed');
    expect(await serviceVersion(port)).toBe('1.1.0');
  });
});
