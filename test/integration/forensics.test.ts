/**
 * Shutdown forensics against real processes: the snapshot line on a real
 * SIGTERM, the phases with `sinceStopMs`, the detached diagnostic and its
 * own deadline, `outlast stop` as a planned stop, and `service_shutdown` on
 * a live `/events` stream.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeHost } from '../../supervisor/host/node-host.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cleanup, killLater, ROOT, startCli, supervisorInfo, tempDir, token, type RunningCli } from '../support/supervisor.ts';
import { alive, waitFor } from '../support/wait.ts';

afterEach(cleanup);

const SVC = ['--', process.execPath, 'test/fixtures/services/svc.mjs'];

/** Gone, or a zombie: it has exited, and only its (new) parent's wait is missing. */
function gone(pid: number): boolean {
  if (!alive(pid)) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Field 6 (session) of /proc/<pid>/stat. */
function sessionOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

/** Runs the CLI without blocking this process (it must keep reaping the supervisor). */
function outlast(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => proc.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** Follows `/events` through the real Host's event-stream client; resolves once subscribed. */
async function followEvents(cli: RunningCli): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
  const { apiUrl } = await supervisorInfo(cli);
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  const host = createNodeHost(() => {
    throw new Error('tests never exit through the Host');
  });
  const close = await host.net.eventStream(`${apiUrl}/events`, { authorization: `Bearer ${token(cli.stateDir)}` }, (type, data) => {
    events.push({ type, data: JSON.parse(data) as Record<string, unknown> });
  });
  streams.push(close);
  return events;
}

const streams: Array<() => void> = [];
afterEach(() => {
  for (const close of streams.splice(0)) close();
});

function snapshotLines(cli: RunningCli): Array<Record<string, unknown> & { snapshot: Record<string, unknown> }> {
  return cli.logs().filter((l) => l.snapshot !== undefined) as Array<Record<string, unknown> & { snapshot: Record<string, unknown> }>;
}

describe('an unplanned SIGTERM', () => {
  it('is logged once with the snapshot, every phase carries sinceStopMs, and /events says service_shutdown', async () => {
    const cli = startCli(['run', '--stop-timeout', '4000', '--api-port', '0', ...SVC], { env: { DRAIN_MS: '150' } });
    await waitFor(() => cli.stdout().includes('svc ready'), 'svc ready line');
    const events = await followEvents(cli);
    cli.proc.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);

    const lines = snapshotLines(cli);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({ msg: 'unplanned stop (received SIGTERM)', stop: 'unplanned', reason: 'received SIGTERM', sinceStopMs: 0 });
    expect(line!.snapshot).toMatchObject({
      signal: 'SIGTERM',
      pid: cli.proc.pid,
      ppid: process.pid,
      parent: { name: readFileSync('/proc/self/comm', 'utf8').trim(), cmdline: expect.any(String) as unknown },
      underSystemd: (process.env.INVOCATION_ID ?? '') !== '',
      loadavg1m: expect.any(Number) as unknown,
      plannedStop: { present: false },
      tookMs: expect.any(Number) as unknown,
    });
    expect(line!.snapshot).toHaveProperty('unit');
    console.log(`snapshot in a real supervisor on SIGTERM: ${String(line!.snapshot.tookMs)} ms`);

    const phases = ['unplanned stop', 'stop requested', 'stop: SIGTERM sent', 'stop: child exited', 'stop: cleanup', 'bye'];
    const found = phases.map((p) => cli.logs().find((l) => String(l.msg).startsWith(p)));
    expect(found.every((l) => typeof l?.sinceStopMs === 'number')).toBe(true);
    const since = found.map((l) => l!.sinceStopMs as number);
    expect([...since].sort((a, b) => a - b)).toEqual(since);
    expect(since[3]).toBeGreaterThanOrEqual(100);

    await waitFor(() => events.find((e) => e.type === 'service_shutdown'), 'service_shutdown on /events', 5000);
    expect(events.find((e) => e.type === 'service_shutdown')?.data).toMatchObject({ drainMs: 4000, reason: 'received SIGTERM', planned: false, signal: 'SIGTERM' });
    // The bus keeps forwarding the service's own events as well.
    expect(events.some((e) => e.type === 'service_stopping')).toBe(true);
  });

  it('starts a detached diagnostic that writes ps and loadavg, and that ends by itself', async () => {
    const cli = startCli(['run', '--api-port', '0', ...SVC]);
    await waitFor(() => cli.stdout().includes('svc ready'), 'svc ready line');
    cli.proc.kill('SIGTERM');
    await cli.exited;
    const started = cli.logs().find((l) => l.msg === 'shutdown diagnostic started');
    expect(started).toMatchObject({ diagPid: expect.any(Number) as unknown, log: join(cli.stateDir, 'logs', 'shutdown-diag.log') });
    killLater(started!.diagPid as number);
    const log = await waitFor(() => {
      const text = existsSync(started!.log as string) && readFileSync(started!.log as string, 'utf8');
      return text !== false && text.includes('=== end ===') ? text : undefined;
    }, 'the diagnostic log', 5000);
    expect(log).toContain(`=== outlast shutdown diagnostic: SIGTERM to pid ${cli.proc.pid}`);
    expect(log).toMatch(/--- ps \(process tree\) ---\n[\s\S]*PID[\s\S]*--- \/proc\/loadavg ---\n\d+\.\d+ \d+\.\d+ \d+\.\d+ /);
    expect(log).toContain('--- dmesg (last 20) ---');
    expect(log).toContain('--- journalctl (last 50) ---');
    await waitFor(() => gone(started!.diagPid as number), 'the diagnostic gone', 5000);
  });

  it('never holds up the stop: a step that ignores SIGTERM is killed, with its whole session, at the deadline', async () => {
    // A `dmesg` that ignores SIGTERM and hangs: `timeout 1` cannot end it, only the diagnostic's own deadline can.
    const bin = tempDir('outlast-fake-bin-');
    const hung = join(bin, 'hung.pid');
    writeFileSync(join(bin, 'dmesg'), `#!/bin/sh\ntrap '' TERM\nsleep 30 &\necho "$$ $!" > ${hung}\nwait\n`);
    chmodSync(join(bin, 'dmesg'), 0o755);
    const cli = startCli(['run', '--api-port', '0', ...SVC], { env: { PATH: `${bin}:${process.env.PATH ?? ''}` } });
    await waitFor(() => cli.stdout().includes('svc ready'), 'svc ready line');
    cli.proc.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
    const diagPid = cli.logs().find((l) => l.msg === 'shutdown diagnostic started')?.diagPid as number;
    killLater(diagPid);
    const pids = (await waitFor(() => existsSync(hung) && readFileSync(hung, 'utf8').trim(), 'the hung dmesg', 5000)).split(' ').map(Number);
    pids.forEach(killLater);
    // The supervisor is gone; the diagnostic, in its own session, still runs.
    expect(gone(diagPid)).toBe(false);
    expect(sessionOf(diagPid)).toBe(diagPid);
    await waitFor(() => gone(diagPid) && pids.every(gone), 'the diagnostic and everything it started gone', 6000);
    const log = readFileSync(join(cli.stateDir, 'logs', 'shutdown-diag.log'), 'utf8');
    expect(log).toContain('--- /proc/loadavg ---');
    expect(log).toContain('=== deadline: killed at 3 s ===');
  });
});

describe('outlast stop', () => {
  it('is a planned stop: exit 0 even when the drain is cut short, the marker consumed, and why says so', async () => {
    const cli = startCli(['run', '--stop-timeout', '600', '--api-port', '0', ...SVC], { env: { IGNORE_TERM: '1' } });
    await waitFor(() => cli.stdout().includes('svc ready'), 'svc ready line');
    // `why` explains a run from its ready marker on.
    await waitFor(() => readdirSync(join(cli.stateDir, 'markers')).some((name) => name.includes('-ready-')), 'the ready marker');
    const events = await followEvents(cli);
    const stop = await outlast(['stop', '--state-dir', cli.stateDir, '--wait', '--json', '--reason', 'release 1.2.3']);
    expect(stop.code).toBe(0);
    expect(JSON.parse(stop.stdout)).toMatchObject({ accepted: true, planned: true, reason: 'release 1.2.3', pid: cli.proc.pid, drainMs: 600, stopped: true, exitCode: 0 });
    // Unplanned, this child (it ignores SIGTERM) would have made it 137.
    expect((await cli.exited).code).toBe(0);
    expect(cli.logs().some((l) => String(l.msg).startsWith('stop: child force-killed'))).toBe(true);

    const lines = snapshotLines(cli);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'planned stop (release 1.2.3)', stop: 'planned' });
    expect(lines[0]!.snapshot).toMatchObject({ signal: 'SIGTERM', pid: cli.proc.pid, plannedStop: { present: true, forUs: true, expired: false, reason: 'release 1.2.3' } });
    expect(existsSync(join(cli.stateDir, 'planned-stop.json'))).toBe(false);
    expect(events.find((e) => e.type === 'service_shutdown')?.data).toMatchObject({ drainMs: 600, reason: 'planned stop (release 1.2.3)', planned: true });

    const why = await outlast(['why', '--state-dir', cli.stateDir]);
    expect(why.code).toBe(0);
    expect(why.stdout).toContain(`the last run (pid ${cli.proc.pid}) stopped as planned (release 1.2.3)`);
  });

  it('POST /stop needs the token and a well-formed body; without a supervisor, outlast stop exits 69', async () => {
    const cli = startCli(['run', '--api-port', '0', ...SVC]);
    const { apiUrl } = await supervisorInfo(cli);
    expect((await fetch(`${apiUrl}/stop`, { method: 'POST' })).status).toBe(401);
    const bad = await fetch(`${apiUrl}/stop`, { method: 'POST', headers: { authorization: `Bearer ${token(cli.stateDir)}`, 'content-type': 'application/json' }, body: '{"why":"x"}' });
    expect(bad.status).toBe(400);
    expect(alive(cli.proc.pid!)).toBe(true);
    const ok = await fetch(`${apiUrl}/stop`, { method: 'POST', headers: { authorization: `Bearer ${token(cli.stateDir)}` } });
    expect(ok.status).toBe(202);
    expect(await ok.json()).toMatchObject({ accepted: true, planned: true, reason: 'requested through the API' });
    expect((await cli.exited).code).toBe(0);
    const none = await outlast(['stop', '--state-dir', cli.stateDir]);
    expect(none.code).toBe(69);
  });
});
