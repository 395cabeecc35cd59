/**
 * The outcome reports against the fake Host: what a report holds and how it
 * is signed, the retry with backoff on virtual time, the bounded queue on
 * disk (oldest dropped), and the queue a previous run left sent at start.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../supervisor/events.ts';
import type { HttpRequest } from '../../supervisor/host/host.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';
import { Teardown } from '../../supervisor/teardown.ts';
import type { Operation } from '../../supervisor/update/journal.ts';
import { ReportSender, signReport } from '../../supervisor/update/report-sender.ts';
import { readReportSecret, reportQueuePath, startReports } from '../../supervisor/update/reports.ts';
import { createFakeHost, flush, type FakeHost } from '../support/fake-host.ts';

const QUEUE = reportQueuePath('/state');

function operation(id: string, state: Operation['state'] = 'committed'): Operation {
  return {
    id,
    kind: 'apply',
    from: '1.0.0',
    to: '1.1.0',
    state,
    phase: 'done',
    phases: [{ name: 'lock', ms: 1 }, { name: 'fetch', ms: 20 }],
    startedAt: '2026-12-03T00:00:00.000Z',
    endedAt: '2026-12-03T00:00:05.000Z',
    ...(state === 'committed' ? {} : { error: { code: 'HEALTH_GATE_FAILED' as const, message: 'sick' } }),
    switched: true,
  };
}

/** A fake host whose network answers with `statuses` in turn (then 200), recording each request. */
function receiving(host: FakeHost, statuses: number[]): HttpRequest[] {
  const got: HttpRequest[] = [];
  (host.net as { httpRequest: (r: HttpRequest) => Promise<{ status: number; body: string }> }).httpRequest = async (request) => {
    got.push(request);
    const status = statuses.shift() ?? 200;
    if (status === 0) throw new Error('ECONNREFUSED');
    return { status, body: '' };
  };
  return got;
}

function sender(host: FakeHost, maxQueued = 5): { sender: ReportSender; sink: ReturnType<typeof memorySink> } {
  const sink = memorySink();
  const updater = { operation: async (id: string) => operation(id, id.startsWith('bad') ? 'rolled-back' : 'committed'), deviceId: async () => 'dev-1' };
  const s = new ReportSender({
    host,
    config: { url: 'http://127.0.0.1:9/reports', secretFile: '/secret', maxQueued },
    secret: 's3cret',
    name: 'app',
    queuePath: QUEUE,
    updater,
    logger: createLogger({ level: 'debug', sink, pid: 1 }),
  });
  return { sender: s, sink };
}

describe('ReportSender', () => {
  it('posts the report, signed over the timestamp and the body', async () => {
    const host = createFakeHost();
    const got = receiving(host, []);
    const { sender: s } = sender(host);
    s.start();
    await s.report('bad1');
    await flush();
    expect(got).toHaveLength(1);
    const [request] = got;
    const body = JSON.parse(request!.body!) as Record<string, unknown>;
    expect(body).toEqual({
      id: 'bad1',
      kind: 'apply',
      device: 'dev-1',
      name: 'app',
      from: '1.0.0',
      to: '1.1.0',
      result: 'rolled-back',
      errorCode: 'HEALTH_GATE_FAILED',
      phases: [{ name: 'lock', ms: 1 }, { name: 'fetch', ms: 20 }],
      at: '2026-12-03T00:00:05.000Z',
    });
    const ts = request!.headers!['x-outlast-timestamp']!;
    expect(Number(ts)).toBe(Math.floor(host.clock.now() / 1000));
    expect(request!.headers!['x-outlast-signature']).toBe(`sha256=${createHmac('sha256', 's3cret').update(`${ts}.${request!.body!}`).digest('hex')}`);
    expect(host.files.has(QUEUE)).toBe(false);
    await s.stop();
  });

  it('retries with backoff and keeps the report on disk until the receiver takes it', async () => {
    const host = createFakeHost();
    const got = receiving(host, [0, 503]);
    const { sender: s, sink } = sender(host);
    s.start();
    await s.report('u1');
    await flush();
    expect(got).toHaveLength(1);
    expect(JSON.parse(host.files.get(QUEUE)!.data)).toMatchObject({ reports: [{ id: 'u1' }] });
    expect(host.files.get(QUEUE)!.mode).toBe(0o600);
    await host.advance(1000);
    expect(got).toHaveLength(1);
    await host.advance(600);
    expect(got).toHaveLength(2);
    await host.advance(3000);
    expect(got).toHaveLength(3);
    expect(host.files.has(QUEUE)).toBe(false);
    expect(sink.text()).toContain('retrying with backoff');
    await s.stop();
  });

  it('journals every failed attempt next to its report, shows it in its state, and a next run picks it up', async () => {
    const host = createFakeHost();
    receiving(host, [0, 503, 0]);
    const { sender: s } = sender(host);
    expect(s.state()).toEqual({ queued: 0, oldest: null, lastSentAt: null });
    s.start();
    await s.report('u1');
    await flush();
    const first = host.clock.now();
    expect(s.state()).toEqual({ queued: 1, oldest: { id: 'u1', attempts: 1, lastError: 'ECONNREFUSED', lastAttemptAt: new Date(first).toISOString() }, lastSentAt: null });
    await host.advance(2000);
    expect(s.state().oldest).toMatchObject({ id: 'u1', attempts: 2, lastError: 'HTTP 503' });
    expect(JSON.parse(host.files.get(QUEUE)!.data)).toMatchObject({ reports: [{ id: 'u1' }], delivery: { u1: { attempts: 2, lastError: 'HTTP 503' } } });
    await s.stop();

    // The next run reads the journal with the queue, and counts on from it.
    const next = sender(host).sender;
    next.start();
    await flush();
    expect(next.state().oldest).toMatchObject({ id: 'u1', attempts: 3, lastError: 'ECONNREFUSED' });
    await host.advance(2000);
    // Taken: the queue file and its journal are gone, and the state says when.
    expect(host.files.has(QUEUE)).toBe(false);
    const retriedFrom = host.clock.now() - 2000;
    const state = next.state();
    expect(state).toMatchObject({ queued: 0, oldest: null });
    expect(Date.parse(state.lastSentAt!)).toBeGreaterThan(retriedFrom);
    expect(Date.parse(state.lastSentAt!)).toBeLessThanOrEqual(host.clock.now());
    await next.stop();
  });

  it('keeps at most maxQueued reports, dropping the oldest with a log line', async () => {
    const host = createFakeHost();
    receiving(host, Array.from({ length: 50 }, () => 0));
    const { sender: s, sink } = sender(host, 3);
    s.start();
    for (const id of ['u1', 'u2', 'u3', 'u4', 'u5']) await s.report(id);
    await flush();
    const queued = (JSON.parse(host.files.get(QUEUE)!.data) as { reports: Array<{ id: string }> }).reports.map((r) => r.id);
    expect(queued).toEqual(['u3', 'u4', 'u5']);
    expect(sink.text()).toContain('the oldest reports were dropped unsent');
    await s.stop();
  });

  it('sends what a previous run left queued', async () => {
    const host = createFakeHost();
    host.files.set(QUEUE, { data: JSON.stringify({ reports: [{ id: 'old', result: 'committed' }] }), mode: 0o600 });
    const got = receiving(host, []);
    const secret = '/secret';
    host.files.set(secret, { data: ' s3cret \n', mode: 0o600 });
    const teardown = new Teardown();
    const events = new EventBus(() => host.clock.now());
    const logger = createLogger({ level: 'silent', sink: memorySink(), pid: 1 });
    const updater = { operation: async (id: string) => operation(id), deviceId: async () => 'dev-1' };
    await startReports(host, { url: 'http://127.0.0.1:9/r', secretFile: secret, maxQueued: 10 }, { name: 'app', stateDir: '/state', updater, events, teardown, logger });
    await flush();
    expect(got.map((r) => (JSON.parse(r.body!) as { id: string }).id)).toEqual(['old']);
    events.emit('update', { id: 'u9', state: 'committed', phase: 'done', from: '1.0.0', to: '1.1.0' });
    await flush();
    expect(got.map((r) => (JSON.parse(r.body!) as { id: string }).id)).toEqual(['old', 'u9']);
    expect(got[1]!.headers!['x-outlast-signature']).toBe(signReport('s3cret', got[1]!.body!, Number(got[1]!.headers!['x-outlast-timestamp']))['x-outlast-signature']);
    await teardown.atExit();
  });

  it('refuses a missing or empty secret file as a config error', async () => {
    const host = createFakeHost();
    await expect(readReportSecret(host.fs, '/nope')).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('updates.report.secretFile') as string });
    host.files.set('/empty', { data: ' \n', mode: 0o600 });
    await expect(readReportSecret(host.fs, '/empty')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
