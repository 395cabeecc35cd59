/**
 * An HTTP health probe during a socket handoff: the old and the new child
 * both accept on the one listening socket, so a probe's connection may land
 * in the old child. Only an answer from the new child may make it ready:
 * a release whose /health fails must be rolled back, however well the old
 * one answers meanwhile.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFeed, type Behaviour } from '../support/feed.ts';
import { freePort } from '../support/net.ts';
import { api, cleanup, serviceStatus, startCli, tempDir } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

afterEach(cleanup);
const json = { 'content-type': 'application/json' };
type Operation = { state: string; error?: { code: string; message: string } };
const BROKEN = ['2.0.0', '2.0.1', '2.0.2'];
const onLinux = process.platform === 'linux';
if (!onLinux) console.warn('handoff-probe: skipped, telling which child accepted a probe reads /proc/net/tcp (Linux only)');

/** A supervisor on a feed of `releases`, owning `port` and probing it with `health`; `apply` runs an update to its end. */
async function setup(releases: Array<{ version: string; behaviour?: Behaviour }>, health: (port: number) => Record<string, unknown>) {
  const feed = await makeFeed(releases);
  const port = await freePort();
  const dir = tempDir('outlast-handoff-probe-');
  const cfg = join(dir, 'outlast.json');
  // The health loop's first check comes only after intervalMs, well after
  // stableForMs: the readiness probe of the handoff is the one that judges.
  writeFileSync(
    cfg,
    JSON.stringify({
      stateDir: join(dir, 'state'),
      api: { port: 0 },
      service: { command: [process.execPath, 'server.js'], listen: [{ port }], health: { readyTimeoutMs: 3000, intervalMs: 10_000, ...health(port) }, stopTimeoutMs: 3000 },
      updates: { source: { type: 'dir', path: feed }, initialVersion: '1.0.0', healthGate: { timeoutMs: 4000, stableForMs: 300 } },
    }),
  );
  const cli = startCli(['run', '--config', cfg]);
  await waitFor(async () => (await serviceStatus(cli)).state === 'ready', 'ready');
  const apply = async (version: string): Promise<Operation> => {
    const res = await api(cli, 'POST', '/updates/apply', { body: JSON.stringify({ version }), headers: json });
    expect(res.status).toBe(202);
    return waitFor(async () => {
      const op = (await api(cli, 'GET', `/updates/${String(res.json.id)}`)).json as Operation;
      return op.state === 'committed' || op.state === 'rolled-back' || op.state === 'failed' ? op : undefined;
    }, `${version} settled`, 20_000);
  };
  return { cli, port, apply };
}

describe.skipIf(!onLinux)('an http probe during a socket handoff', () => {
  it('counts only the new child: a release answering /health with 500 is rolled back', async () => {
    const releases = [{ version: '1.0.0' }, { version: '1.1.0' }, ...BROKEN.map((version) => ({ version, behaviour: { mode: 'unhealthy' as const } }))];
    const { cli, port, apply } = await setup(releases, (p) => ({ url: `http://127.0.0.1:${p}/health` }));
    // A healthy release still passes: the new child does get probes of its own.
    expect((await apply('1.1.0')).state).toBe('committed');
    // Several times over: the kernel spreads the accepts, so one lucky run proves little.
    // (A version rolled back is marked bad: each round needs its own.)
    const reasons: string[] = [];
    for (const version of BROKEN) {
      const before = (await serviceStatus(cli)).pid;
      const op = await apply(version);
      expect(op).toMatchObject({ state: 'rolled-back', error: { code: 'HANDOFF_FAILED' } });
      reasons.push(op.error?.message ?? '');
      expect(await serviceStatus(cli)).toMatchObject({ state: 'ready', pid: before });
    }
    // The new child's own 500 is what judged it (a round where every probe went to the old child would say so instead).
    expect(reasons.some((reason) => reason.includes('HTTP 500'))).toBe(true);
    const answer = (await (await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })).json()) as { version: string };
    expect(answer.version).toBe('1.1.0');
  });

  it('a TCP probe too: a release that never listens is rolled back, though the kernel completes every connect', async () => {
    const { cli, apply } = await setup([{ version: '1.0.0' }, { version: '1.1.0' }, { version: '2.0.0', behaviour: { mode: 'deaf' } }], (p) => ({ tcp: { port: p } }));
    expect((await apply('1.1.0')).state).toBe('committed');
    const before = (await serviceStatus(cli)).pid;
    // The socket listens whoever holds it, so a connect alone says nothing: only an accept by the new child counts.
    expect(await apply('2.0.0')).toMatchObject({ state: 'rolled-back', error: { code: 'HANDOFF_FAILED' } });
    expect(await serviceStatus(cli)).toMatchObject({ state: 'ready', pid: before });
  });
});
