/**
 * A fleet on loopback: 20 real supervisors updating from one http feed that
 * `outlast release serve` serves, reporting to the example receiver
 * (examples/report-receiver.mjs) as a real process. The rollout percent is
 * raised from 0 to 50 to 100 by republishing the manifest, then a broken
 * release goes to 30 %. Who updates, who rolls back, and what the receiver
 * got are checked against the bucket formula over each device's id. The
 * service is a shell script around `sleep`, so twenty of them cost little.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { rolloutBucket } from '../../supervisor/update/rollout.ts';
import { packRelease } from '../../supervisor/update/pack.ts';
import { nodeHost } from '../support/node-host.ts';
import { apply, JSON_BODY, runOutlast } from '../support/update-supervisor.ts';
import { api, cleanup, onCleanup, ROOT, startCli, tempDir, type RunningCli } from '../support/supervisor.ts';
import { alive, waitFor } from '../support/wait.ts';

afterEach(cleanup);

const DEVICES = 20;
/** Devices 0..15 have their id in config; the last four generate one into their state dir. */
const CONFIGURED = 16;

interface Report {
  id: string;
  device: string;
  from: string | null;
  to: string;
  result: string;
  errorCode: string | null;
  phases: Array<{ name: string; ms: number }>;
}

/** Packs a release whose service is `script` (sh) into `feed`. */
async function publish(feed: string, version: string, script: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'outlast-release-'));
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'tiny', version, private: true }));
    writeFileSync(join(dir, 'run.sh'), script);
    await packRelease(nodeHost.fs, { dir, version, feed, name: 'tiny', force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Republishes the manifest with `version`'s rollout set, atomically (the server may be reading it). */
function setRollout(feed: string, version: string, rollout: { percent: number; salt: string }): void {
  const path = join(feed, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as { versions: Array<{ version: string; rollout?: unknown }> };
  for (const entry of manifest.versions) if (entry.version === version) entry.rollout = rollout;
  writeFileSync(`${path}.tmp`, JSON.stringify(manifest));
  renameSync(`${path}.tmp`, path);
}

/** A line of output that `proc` prints matching `pattern`, as its first group. */
function lineOf(read: () => string, pattern: RegExp, what: string): Promise<string> {
  return waitFor(() => pattern.exec(read())?.[1], what, 10_000);
}

it('rolls out to exactly the devices in the rollout, rolls back a broken release on its devices, and reports every outcome signed', async () => {
  const feed = tempDir('outlast-feed-');
  await publish(feed, '1.0.0', 'exec sleep 600\n');

  const serve = startCli(['release', 'serve', feed, '--port', '0', '--json']);
  const feedUrl = await lineOf(() => serve.stdout(), /"url": "(http:[^"]+)"/, 'the feed server to listen');

  const secretDir = tempDir('outlast-secret-');
  const secretFile = join(secretDir, 'report.secret');
  writeFileSync(secretFile, 'fleet-secret-0123456789\n', { mode: 0o600 });
  const receiver = spawn(process.execPath, [join(ROOT, 'examples/report-receiver.mjs')], { env: { ...process.env, SECRET_FILE: secretFile, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let received = '';
  receiver.stdout.on('data', (d: Buffer) => (received += d.toString()));
  onCleanup(async () => {
    if (receiver.exitCode === null) receiver.kill('SIGKILL');
    await waitFor(() => receiver.pid === undefined || !alive(receiver.pid), 'the receiver to end');
  });
  const receiverUrl = await lineOf(() => received, /listening on (http:\S+)/, 'the receiver to listen');
  const reports = (): Report[] => [...received.matchAll(/^report (.*)$/gm)].map((m) => JSON.parse(m[1]!) as Report);

  // Twenty supervisors, started together (staggered waves are no faster: start-up is CPU).
  const fleet: RunningCli[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const dir = tempDir('outlast-dev-');
    const config = join(dir, 'outlast.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: `dev${i}`,
        service: { command: ['/bin/sh', 'run.sh'], stopTimeoutMs: 1000 },
        api: { port: 0 },
        updates: {
          source: { type: 'http', manifest: `${feedUrl}/manifest.json` },
          healthGate: { timeoutMs: 3000, stableForMs: 1500 },
          checkTtlMs: 0,
          ...(i < CONFIGURED ? { deviceId: `fleet-${i}` } : {}),
          report: { url: `${receiverUrl}/reports`, secretFile },
        },
      }),
    );
    fleet.push(startCli(['run', '--config', config], { stateDir: join(dir, 'state') }));
  }
  await waitFor(() => reports().length === DEVICES, 'every first install to be reported', 60_000);
  // Every first install reported, each device once; the generated ids are in the state dirs (0600).
  const ids = fleet.map((cli, i) => (i < CONFIGURED ? `fleet-${i}` : readFileSync(join(cli.stateDir, 'device-id'), 'utf8').trim()));
  for (const cli of fleet.slice(CONFIGURED)) expect(await nodeHost.fs.mode(join(cli.stateDir, 'device-id'))).toBe(0o600);
  expect(reports().map((r) => [r.device, r.from, r.to, r.result]).sort()).toEqual(ids.map((id) => [id, null, '1.0.0', 'committed']).sort());

  const checkAll = (): Promise<Array<Record<string, unknown>>> => Promise.all(fleet.map(async (cli) => (await api(cli, 'GET', '/updates/check?force=1')).json));
  const applyAll = (): Promise<Array<Record<string, unknown>>> => Promise.all(fleet.map(async (cli) => (await apply(cli)).json));
  const settled = (count: number, what: string): Promise<unknown> => waitFor(() => reports().length >= count, what, 30_000);

  // 1.1.0 at 0 %: available, not for any device; a plain apply stays put.
  await publish(feed, '1.1.0', 'exec sleep 600\n');
  setRollout(feed, '1.1.0', { percent: 0, salt: 'wave-1' });
  for (const check of await checkAll()) expect(check).toMatchObject({ current: '1.0.0', latest: '1.0.0', available: false, rollout: { version: '1.1.0', percent: 0, included: false } });
  for (const answer of await applyAll()) expect(answer).toMatchObject({ upToDate: true, version: '1.0.0', rollout: { version: '1.1.0', included: false } });
  const notYet = `1.1.0 available, not yet for this device (rollout 0%, salt "wave-1", device fleet-0 in bucket ${rolloutBucket('wave-1', 'fleet-0')}`;
  expect((await runOutlast(['check', '--state-dir', fleet[0]!.stateDir])).stdout).toContain(notYet);
  const plainApply = await runOutlast(['apply', '--state-dir', fleet[0]!.stateDir]);
  expect(plainApply.stdout).toContain('up to date (1.0.0)');
  expect(plainApply.stdout).toContain(notYet);

  // 50 %, set the publisher's way (the salt stays): exactly the devices whose bucket is below 50 take it.
  const raised = await runOutlast(['release', 'rollout', feed, '1.1.0', '--percent', '50']);
  expect(raised.stdout).toContain('1.1.0 in ');
  expect(raised.stdout).toContain('rollout 50% (salt "wave-1")');
  const half = ids.map((id) => rolloutBucket('wave-1', id) < 50);
  expect(half.filter(Boolean).length).toBeGreaterThan(2);
  expect(half.filter((x) => !x).length).toBeGreaterThan(2);
  const asJson = JSON.parse((await runOutlast(['check', '--json', '--state-dir', fleet[1]!.stateDir])).stdout) as { rollout: Record<string, unknown> };
  expect(asJson.rollout).toEqual({ version: '1.1.0', percent: 50, salt: 'wave-1', device: 'fleet-1', bucket: rolloutBucket('wave-1', 'fleet-1'), included: half[1] });
  const answers = await applyAll();
  expect(answers.map((a) => a.to === '1.1.0')).toEqual(half);
  await settled(DEVICES + half.filter(Boolean).length, 'the first half to report');

  // 100 %: the rest follow; those already on 1.1.0 are up to date.
  setRollout(feed, '1.1.0', { percent: 100, salt: 'wave-1' });
  expect((await applyAll()).map((a) => a.to === '1.1.0')).toEqual(half.map((x) => !x));
  await settled(2 * DEVICES, 'the second half to report');

  // A broken release (exits 0.2 s after start) at 30 % of a new draw: its devices roll back by their gate.
  await publish(feed, '1.2.0', 'sleep 0.2\nexit 1\n');
  setRollout(feed, '1.2.0', { percent: 30, salt: 'wave-2' });
  const third = ids.map((id) => rolloutBucket('wave-2', id) < 30);
  expect(third.some(Boolean)).toBe(true);
  expect((await applyAll()).map((a) => a.to === '1.2.0')).toEqual(third);
  await settled(2 * DEVICES + third.filter(Boolean).length, 'the broken release to be reported');
  await waitFor(async () => (await Promise.all(fleet.map(async (cli) => ((await api(cli, 'GET', '/status')).json.service as { version: string }).version))).every((v) => v === '1.1.0'), 'every device on 1.1.0');

  // What the receiver got: exactly these reports, each verified by its signature, none refused.
  const expected = [
    ...ids.map((id) => [id, null, '1.0.0', 'committed', null]),
    ...ids.map((id) => [id, '1.0.0', '1.1.0', 'committed', null]),
    ...ids.filter((_, i) => third[i]).map((id) => [id, '1.1.0', '1.2.0', 'rolled-back', 'HEALTH_GATE_FAILED']),
  ];
  expect(reports().map((r) => [r.device, r.from, r.to, r.result, r.errorCode]).sort()).toEqual(expected.sort());
  expect(reports().filter((r) => r.from !== null).every((r) => r.phases.some((p) => p.name === 'health-gate'))).toBe(true);
  expect(received).not.toContain('refused');
  // The receiver does check: a forged signature and a stale timestamp are refused.
  const forged = JSON.stringify({ id: 'x', device: 'evil', from: '1.0.0', to: '9.9.9', result: 'committed' });
  const post = (headers: Record<string, string>): Promise<number> => fetch(`${receiverUrl}/reports`, { method: 'POST', headers: { ...JSON_BODY, ...headers }, body: forged }).then((r) => r.status);
  expect(await post({ 'x-outlast-timestamp': String(Math.floor(Date.now() / 1000)), 'x-outlast-signature': `sha256=${'0'.repeat(64)}` })).toBe(401);
  expect(await post({ 'x-outlast-timestamp': '1000', 'x-outlast-signature': 'sha256=' })).toBe(401);
  // Nothing left queued on any device.
  for (const cli of fleet) expect(existsSync(join(cli.stateDir, 'reports.json'))).toBe(false);
  // Stopped together: one after the other (the cleanup's way) would take as long as the test.
  for (const cli of fleet) cli.proc.kill('SIGTERM');
  await Promise.all(fleet.map((cli) => cli.exited));
}, 120_000);
