// Against a real `systemd --user` manager (test/harness/systemd-user.ts):
// detection from inside a unit, and the generated unit installed, started,
// inspected and stopped for real. Skips, with the reason printed, where the
// harness cannot run (not root, no systemd).
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform, SystemdUnitProperties } from '../../platform/index.ts';
import type { DoctorReport } from '../../supervisor/doctor/diagnose.ts';
import { startSystemdUser, systemdUserSkipReason, type SystemdUser } from '../harness/systemd-user.ts';
import { freePort } from '../support/net.ts';
import { BIN, cleanup, SVC, tempDir } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

const PRINT_UNIT = fileURLToPath(new URL('../fixtures/platform/print-unit.ts', import.meta.url));
// The repo's Node runs .ts files, even when vitest was started by an older system node.
const REPO_NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const NODE = existsSync(REPO_NODE) ? REPO_NODE : process.execPath;

const skip = systemdUserSkipReason();
if (skip !== undefined) console.warn(`skipping the systemd --user live tests: ${skip}`);

/** `systemctl --user show` as a map. */
async function show(sdu: SystemdUser, unit: string, properties: string[]): Promise<Map<string, string>> {
  const { stdout } = await sdu.exec(['systemctl', '--user', 'show', unit, '-p', properties.join(',')]);
  return new Map(stdout.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

async function healthStatus(url: string): Promise<number | undefined> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).status;
  } catch {
    return undefined;
  }
}

describe.skipIf(skip !== undefined)('under a real systemd --user', () => {
  let sdu: SystemdUser;

  beforeAll(async () => {
    sdu = await startSystemdUser();
  });

  afterAll(async () => {
    await sdu?.stop();
    await cleanup();
  });

  it('detection inside a systemd-run unit names the unit and reads its real KillMode and TimeoutStopUSec', async () => {
    const result = await sdu.exec([
      'systemd-run', '--user', '--wait', '--pipe', '--quiet', '--unit=outlast-probe',
      '-p', 'KillMode=mixed', '-p', 'TimeoutStopSec=1min 17s',
      NODE, PRINT_UNIT,
    ]);
    expect(result.stderr).toBe('');
    const { platform, properties } = JSON.parse(result.stdout) as { platform: Platform; properties: SystemdUnitProperties };
    expect(platform.systemd).toMatchObject({ scope: 'user', unit: 'outlast-probe.service' });
    expect(platform.evidence).toEqual(expect.arrayContaining([expect.stringMatching(/^systemd: cgroup v[12] path \/.*\/user@\d+\.service\/app\.slice\/outlast-probe\.service is unit outlast-probe\.service$/)]));
    expect(properties).toMatchObject({ killMode: 'mixed', timeoutStop: { ok: true, us: 77_000_000 } });
  });

  it('runs the generated unit: start returns after READY=1, the properties are aligned, stop is within budget', async () => {
    const port = await freePort();
    const dir = tempDir('outlast-sdu-unit-');
    const config = join(dir, 'outlast.json');
    const stopTimeoutMs = 4000;
    const listenDelayMs = 1500;
    writeFileSync(
      config,
      JSON.stringify({
        name: 'outlast-live',
        stateDir: join(dir, 'state'),
        api: { port: 0 },
        service: {
          command: [process.execPath, SVC],
          env: { PORT: String(port), LISTEN_DELAY_MS: String(listenDelayMs), DRAIN_MS: '200' },
          health: { url: `http://127.0.0.1:${port}/health`, intervalMs: 500 },
          stopTimeoutMs,
        },
      }),
    );
    const install = await execa(NODE, [BIN, 'install', 'systemd', '--user', '--node', NODE, '--config', config, '--output', sdu.unitDir], { reject: false });
    expect(install.exitCode, install.stderr).toBe(0);
    // Logs to a file: this namespace has no journald. A drop-in, so the generated file is what runs.
    mkdirSync(join(sdu.unitDir, 'outlast-live.service.d'));
    writeFileSync(join(sdu.unitDir, 'outlast-live.service.d', 'log.conf'), `[Service]\nStandardOutput=append:${join(dir, 'out.log')}\nStandardError=append:${join(dir, 'out.log')}\n`);
    await sdu.exec(['systemctl', '--user', 'daemon-reload']);

    const started = performance.now();
    const start = await sdu.exec(['systemctl', '--user', 'start', 'outlast-live.service'], { timeoutMs: 60_000 });
    const startMs = performance.now() - started;
    expect(start.code, start.stderr).toBe(0);
    // Type=notify: start returned only once outlast said READY=1, i.e. after the slow listen.
    expect(startMs).toBeGreaterThanOrEqual(listenDelayMs);
    expect(await healthStatus(`http://127.0.0.1:${port}/health`)).toBe(200);
    const running = await show(sdu, 'outlast-live.service', ['ActiveState', 'SubState', 'StatusText', 'MainPID']);
    expect(running.get('ActiveState')).toBe('active');
    expect(running.get('StatusText')).toMatch(/^ready: service pid \d+$/);

    const props = await show(sdu, 'outlast-live.service', [
      'Type', 'NotifyAccess', 'KillMode', 'TimeoutStopUSec', 'Restart', 'RestartForceExitStatus', 'SuccessExitStatus', 'ExecStart', 'WorkingDirectory',
    ]);
    expect(Object.fromEntries(props)).toMatchObject({
      Type: 'notify',
      NotifyAccess: 'all',
      KillMode: 'mixed',
      // stopTimeoutMs + 30 s
      TimeoutStopUSec: '34s',
      Restart: 'always',
      RestartForceExitStatus: '75',
      SuccessExitStatus: '75',
      WorkingDirectory: dir,
    });
    // An absolute node (no PATH lookup in a unit), this checkout's entry, the absolute config.
    expect(props.get('ExecStart')).toContain(`argv[]=/`);
    expect(props.get('ExecStart')).toMatch(new RegExp(`argv\\[\\]=/\\S*node ${BIN} run --config ${config} ;`));

    // doctor, from a shell in the same namespaces, finds the supervisor's unit and has nothing to warn about it.
    const doctorStarted = performance.now();
    const doctor = await sdu.exec([NODE, BIN, 'doctor', '--json', '--config', config]);
    const doctorMs = performance.now() - doctorStarted;
    expect(doctor.code, doctor.stderr).toBe(0);
    const report = JSON.parse(doctor.stdout) as DoctorReport;
    expect(report.subject).toMatchObject({ kind: 'supervisor', pid: Number(running.get('MainPID')) });
    expect(report.unit).toMatchObject({ name: 'outlast-live.service', scope: 'user', properties: { killMode: 'mixed', timeoutStop: { us: 34_000_000 } } });
    expect(report.strategy.name).toBe('reexec');
    const codes = report.warnings.map((w) => w.code);
    expect(codes).not.toContain('STOP_TIMEOUT_TOO_SHORT');
    expect(codes).not.toContain('STALE_UNIT_FILE');
    expect(codes).not.toContain('UNIT_UNREADABLE');
    console.log(`systemd --user: start ${Math.round(startMs)} ms (listen delay ${listenDelayMs} ms), doctor ${Math.round(doctorMs)} ms`);

    const stopping = performance.now();
    const stop = await sdu.exec(['systemctl', '--user', 'stop', 'outlast-live.service'], { timeoutMs: 60_000 });
    const stopMs = performance.now() - stopping;
    expect(stop.code, stop.stderr).toBe(0);
    expect(stopMs).toBeLessThan(stopTimeoutMs);
    const after = await show(sdu, 'outlast-live.service', ['ActiveState', 'Result']);
    expect(Object.fromEntries(after)).toMatchObject({ ActiveState: 'inactive', Result: 'success' });
    await waitFor(async () => (await healthStatus(`http://127.0.0.1:${port}/health`)) === undefined, 'the service to be gone', 5000);
    console.log(`systemd --user: stop ${Math.round(stopMs)} ms (budget ${stopTimeoutMs} ms)`);
  });
  it('a duplicate start on the same state dir fails once with exit 80 and is never restarted', async () => {
    const port = await freePort();
    const dir = tempDir('outlast-sdu-dup-');
    const config = join(dir, 'outlast.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'outlast-dup',
        stateDir: join(dir, 'state'),
        api: { port: 0 },
        service: { command: [process.execPath, SVC], env: { PORT: String(port) }, health: { url: `http://127.0.0.1:${port}/health`, intervalMs: 500 } },
      }),
    );
    const install = await execa(NODE, [BIN, 'install', 'systemd', '--user', '--node', NODE, '--config', config, '--output', sdu.unitDir], { reject: false });
    expect(install.exitCode, install.stderr).toBe(0);
    // The same generated unit under a second name: a second start of the same install.
    copyFileSync(join(sdu.unitDir, 'outlast-dup.service'), join(sdu.unitDir, 'outlast-dup-again.service'));
    for (const unit of ['outlast-dup', 'outlast-dup-again']) {
      mkdirSync(join(sdu.unitDir, `${unit}.service.d`));
      writeFileSync(join(sdu.unitDir, `${unit}.service.d`, 'log.conf'), `[Service]\nStandardOutput=append:${join(dir, `${unit}.log`)}\nStandardError=append:${join(dir, `${unit}.log`)}\n`);
    }
    await sdu.exec(['systemctl', '--user', 'daemon-reload']);
    const first = await sdu.exec(['systemctl', '--user', 'start', 'outlast-dup.service'], { timeoutMs: 60_000 });
    expect(first.code, first.stderr).toBe(0);

    const second = await sdu.exec(['systemctl', '--user', 'start', 'outlast-dup-again.service'], { timeoutMs: 60_000 });
    expect(second.code).not.toBe(0);
    await waitFor(async () => (await show(sdu, 'outlast-dup-again.service', ['ActiveState'])).get('ActiveState') === 'failed', 'the duplicate to end failed', 10_000);
    // Restart=always with RestartSec=1 would have restarted it by now, were 80 not under RestartPreventExitStatus=.
    const deadline = performance.now() + 3000;
    while (performance.now() < deadline) {
      const props = await show(sdu, 'outlast-dup-again.service', ['ActiveState', 'NRestarts', 'ExecMainStatus', 'RestartPreventExitStatus']);
      expect(Object.fromEntries(props)).toMatchObject({ ActiveState: 'failed', NRestarts: '0', ExecMainStatus: '80', RestartPreventExitStatus: '80' });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // The first one serves on, untouched.
    expect((await show(sdu, 'outlast-dup.service', ['ActiveState'])).get('ActiveState')).toBe('active');
    expect(await healthStatus(`http://127.0.0.1:${port}/health`)).toBe(200);
    const stop = await sdu.exec(['systemctl', '--user', 'stop', 'outlast-dup.service'], { timeoutMs: 60_000 });
    expect(stop.code, stop.stderr).toBe(0);
  });
});
