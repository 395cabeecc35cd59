/**
 * The control API over real HTTP on loopback: auth, error shapes, and the
 * client commands that talk to it.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api, BIN, cleanup, ROOT, serviceStatus, startCli, supervisorInfo, tempDir, type RunningCli } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

let cli: RunningCli;

beforeEach(async () => {
  cli = startCli(['run', '--api-port', '0', '--', process.execPath, 'test/fixtures/services/svc.mjs']);
  await waitFor(async () => (await serviceStatus(cli)).state === 'ready', 'service ready');
});
afterEach(cleanup);

const json = { 'content-type': 'application/json' };

function outlast(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('auth', () => {
  it('serves /health without a token', async () => {
    const res = await api(cli, 'GET', '/health', { auth: false });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'ok', service: { state: 'ready' } });
  });

  it('answers 401 without a token or with a wrong one, 200 with the right one', async () => {
    const missing = await api(cli, 'GET', '/status', { auth: false });
    expect(missing.status).toBe(401);
    expect(missing.json).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    const wrong = await api(cli, 'GET', '/status', { auth: false, headers: { authorization: 'Bearer not-the-token' } });
    expect(wrong.status).toBe(401);
    const right = await api(cli, 'GET', '/status');
    expect(right.status).toBe(200);
    expect(right.json).toMatchObject({
      supervisor: { pid: cli.proc.pid, version: expect.any(String) as unknown },
      service: { state: 'ready', restarts: 0 },
    });
  });

  it('keeps the token owner-only in the state dir', () => {
    expect(statSync(join(cli.stateDir, 'token')).mode & 0o777).toBe(0o600);
  });
});

describe('bad requests', () => {
  it('answers malformed JSON with 400 in the error shape', async () => {
    const res = await api(cli, 'POST', '/restart', { body: '{"target":', headers: json });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'BAD_REQUEST', message: expect.any(String) as unknown } });
  });

  it('answers an oversized body with 413', async () => {
    const res = await api(cli, 'POST', '/restart', { body: JSON.stringify({ target: 'x'.repeat(200_000) }), headers: json });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('answers an unknown route with 404 and a bad target with 400', async () => {
    const unknown = await api(cli, 'GET', '/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const target = await api(cli, 'POST', '/restart', { body: '{"target":"everything"}', headers: json });
    expect(target.status).toBe(400);
    expect(target.json).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    const extra = await api(cli, 'POST', '/restart', { body: '{"target":"service","now":true}', headers: json });
    expect(extra.status).toBe(400);
  });

  it('keeps serving after all of that', async () => {
    await api(cli, 'POST', '/restart', { body: '[[[', headers: json });
    const res = await api(cli, 'GET', '/status');
    expect(res.status).toBe(200);
  });
});

describe('restart', () => {
  it('POST /restart restarts the child gracefully and answers 202', async () => {
    const before = await serviceStatus(cli);
    const res = await api(cli, 'POST', '/restart', { body: '{"target":"service"}', headers: json });
    expect(res.status).toBe(202);
    const after = await waitFor(async () => {
      const s = await serviceStatus(cli);
      return s.state === 'ready' && s.pid !== before.pid ? s : undefined;
    }, 'restarted child');
    expect(after.restarts).toBe(1);
  });
});

describe('client commands', () => {
  it('outlast status prints the state, and --json the API answer', async () => {
    const text = outlast(['status', '--state-dir', cli.stateDir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/service\s+svc: ready, pid \d+/);
    const asJson = outlast(['status', '--json', '--state-dir', cli.stateDir]);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ service: { state: 'ready' } });
  });

  it('outlast restart restarts the service', async () => {
    const res = outlast(['restart', '--state-dir', cli.stateDir]);
    expect(res.code).toBe(0);
    await waitFor(async () => (await serviceStatus(cli)).restarts === 1, 'one restart');
  });

  it('outlast status says clearly when nothing runs', () => {
    const res = outlast(['status', '--state-dir', tempDir()]);
    expect(res.code).toBe(69);
    expect(res.stderr).toMatch(/no running outlast supervisor/);
    const asJson = outlast(['status', '--json', '--state-dir', tempDir()]);
    // A script reads stdout: the error is there as JSON, the human line on stderr.
    expect(JSON.parse(asJson.stdout) as unknown).toMatchObject({ error: { code: 'NOT_RUNNING', message: expect.stringMatching(/no running outlast supervisor/) as unknown } });
    expect(asJson.stderr).toMatch(/^outlast: no running outlast supervisor/);
  });

  it('supervisor.json names the process and the API it listens on', async () => {
    const info = await supervisorInfo(cli);
    expect(info.pid).toBe(cli.proc.pid);
    expect(info.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
