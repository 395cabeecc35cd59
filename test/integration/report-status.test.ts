/**
 * Outcome reports a receiver does not take: a real supervisor reports its
 * first install to a loopback port nobody listens on. Each failed attempt is
 * journaled in the queue file and shown by `GET /status` and `outlast
 * status`; once the example receiver listens on that port, the queued report
 * goes out and the queue, with its journal, is gone.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { makeFeed } from '../support/feed.ts';
import { freePort } from '../support/net.ts';
import { api, cleanup, onCleanup, ROOT, tempDir } from '../support/supervisor.ts';
import { runOutlast, startUpdating } from '../support/update-supervisor.ts';
import { alive, waitFor } from '../support/wait.ts';

afterEach(cleanup);

interface Reports {
  queued: number;
  oldest: { id: string; attempts?: number; lastError?: string; lastAttemptAt?: string } | null;
  lastSentAt: string | null;
}

it('journals failed report deliveries, shows them in the status, and sends the report once the receiver is up', async () => {
  const feed = await makeFeed([{ version: '1.0.0' }]);
  const secretFile = join(tempDir('outlast-secret-'), 'report.secret');
  writeFileSync(secretFile, 'status-secret-0123456789\n', { mode: 0o600 });
  const port = await freePort();
  const { cli } = await startUpdating({ type: 'dir', path: feed }, { updates: { report: { url: `http://127.0.0.1:${port}/reports`, secretFile } } });
  const reports = async (): Promise<Reports> => ((await api(cli, 'GET', '/status')).json.updates as { reports: Reports }).reports;

  // The first install's report is refused twice (2 s, then about 4 s apart): both attempts are journaled.
  const failing = await waitFor(async () => {
    const now = await reports();
    return (now.oldest?.attempts ?? 0) >= 2 ? now : undefined;
  }, 'two failed deliveries', 20_000);
  expect(failing).toMatchObject({ queued: 1, lastSentAt: null, oldest: { lastError: expect.stringContaining('ECONNREFUSED') as string } });
  // The journal on disk follows the count in memory by one write.
  const onDisk = await waitFor(() => {
    const now = JSON.parse(readFileSync(join(cli.stateDir, 'reports.json'), 'utf8')) as { reports: Array<{ id: string }>; delivery: Record<string, { attempts: number } | undefined> };
    return (now.delivery[failing.oldest!.id]?.attempts ?? 0) >= 2 ? now : undefined;
  }, 'two failed deliveries on disk', 5_000);
  expect(onDisk.reports.map((r) => r.id)).toEqual([failing.oldest!.id]);
  const status = await runOutlast(['status', '--state-dir', cli.stateDir]);
  expect(status.stdout).toMatch(/^reports {5}1 waiting for the receiver; \d+ failed attempts?, last at \S+: .*ECONNREFUSED/m);

  // The receiver comes up on that port: the next retry delivers, and nothing stays queued.
  const receiver = spawn(process.execPath, [join(ROOT, 'examples/report-receiver.mjs')], { env: { ...process.env, SECRET_FILE: secretFile, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let received = '';
  receiver.stdout.on('data', (d: Buffer) => (received += d.toString()));
  onCleanup(async () => {
    if (receiver.exitCode === null) receiver.kill('SIGKILL');
    await waitFor(() => receiver.pid === undefined || !alive(receiver.pid), 'the receiver to end');
  });
  await waitFor(() => /^report /m.test(received) || undefined, 'the report to reach the receiver', 30_000);
  expect(received).toContain(`"id":"${failing.oldest!.id}"`);
  const sent = await waitFor(async () => {
    const now = await reports();
    return now.queued === 0 ? now : undefined;
  }, 'the queue to empty', 10_000);
  expect(sent.oldest).toBeNull();
  expect(Date.parse(sent.lastSentAt!)).toBeGreaterThan(Date.parse(failing.oldest!.lastAttemptAt!));
  // The queue's write follows the send: wait for it.
  await waitFor(() => !existsSync(join(cli.stateDir, 'reports.json')), 'the queue file to go', 5_000);
  expect((await runOutlast(['status', '--state-dir', cli.stateDir])).stdout).not.toContain('reports ');
}, 90_000);
