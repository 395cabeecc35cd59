// doctor under a real `systemd --user` manager whose cgroup is not named
// `user@UID.service` (a nested manager, a distro with its own slice layout):
// the cgroup path then suggests a system unit, the system manager cannot read
// it, and doctor must find it in the user manager to check TimeoutStopSec.
// Skips, with the reason printed, where the harness cannot run.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../supervisor/doctor/diagnose.ts';
import { startSystemdUser, systemdUserSkipReason, type SystemdUser } from '../harness/systemd-user.ts';
import { BIN } from '../support/supervisor.ts';

const REPO_NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const NODE = existsSync(REPO_NODE) ? REPO_NODE : process.execPath;

const skip = systemdUserSkipReason();
if (skip !== undefined) console.warn(`skipping the nested systemd --user doctor test: ${skip}`);

describe.skipIf(skip !== undefined)('doctor under a systemd --user manager outside user@UID.service', () => {
  let sdu: SystemdUser;

  beforeAll(async () => {
    sdu = await startSystemdUser({ cgroupName: 'nested-manager' });
  });

  afterAll(async () => {
    await sdu?.stop();
  });

  it('reads the unit from the user manager after the system one fails, and warns about TimeoutStopSec', async () => {
    const config = join(sdu.tmp, 'outlast.json');
    writeFileSync(config, JSON.stringify({ name: 'x', stateDir: join(sdu.tmp, 'state'), service: { command: ['true'], stopTimeoutMs: 20_000 } }));
    const result = await sdu.exec([
      'systemd-run', '--user', '--wait', '--pipe', '--quiet', '--unit=x',
      '-p', 'TimeoutStopSec=40',
      NODE, BIN, 'doctor', '--json', '--config', config,
    ]);
    const report = JSON.parse(result.stdout) as DoctorReport;
    // The path alone says system: nothing in it names a user manager.
    expect(report.platform.systemd).toMatchObject({ unit: 'x.service', scope: 'system' });
    expect(report.unit).toMatchObject({
      name: 'x.service',
      scope: 'user',
      scopeFallback: { guessed: 'system' },
      properties: { timeoutStop: { us: 40_000_000 } },
    });
    const codes = report.warnings.map((w) => w.code);
    expect(codes).toContain('STOP_TIMEOUT_TOO_SHORT');
    expect(codes).not.toContain('UNIT_UNREADABLE');
  });
});
