// `outlast doctor` when systemctl and journalctl hang for real: stand-in
// scripts on PATH that sleep 30 s (in a child, as a wrapper script would).
// doctor must answer within 2 s and leave none of them running.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../supervisor/doctor/diagnose.ts';
import { main } from '../../supervisor/cli/main.ts';
import { createNodeHost } from '../../supervisor/host/node-host.ts';
import { BIN } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

const REPO_NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));

let dir: string;
let pathWithFakes: string;

// Each stand-in records its own pid and its sleeping child's, so the test can
// check that doctor's timeout ended both.
const HANGING = (name: string): string => `#!/bin/sh
sleep 30 &
echo "$$ $!" >> "${'$'}{OUTLAST_FAKE_PIDS:?}/${name}"
wait
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'outlast-hang-'));
  for (const name of ['systemctl', 'journalctl']) {
    writeFileSync(join(dir, name), HANGING(name));
    chmodSync(join(dir, name), 0o755);
  }
  pathWithFakes = `${dir}:${process.env.PATH ?? ''}`;
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Whether a pid is gone or a zombie waiting for its reaper (it no longer runs). */
function stopped(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') === true;
  } catch {
    return true;
  }
}

describe('outlast doctor with hanging systemctl and journalctl', () => {
  it('answers within 2 s in process, and kills every stand-in it started', async () => {
    const pids = mkdtempSync(join(tmpdir(), 'outlast-hang-pids-'));
    const saved = { PATH: process.env.PATH, OUTLAST_FAKE_PIDS: process.env.OUTLAST_FAKE_PIDS };
    process.env.PATH = pathWithFakes;
    process.env.OUTLAST_FAKE_PIDS = pids;
    let out = '';
    const started = performance.now();
    try {
      const host = createNodeHost(() => {
        throw new Error('exit in a test');
      });
      const code = await main(host, ['doctor', '--json', '--unit', 'app.service', '--user', '--state-dir', join(dir, 'state')], (t) => (out += t), () => undefined);
      expect(code).toBe(0);
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.OUTLAST_FAKE_PIDS === undefined) delete process.env.OUTLAST_FAKE_PIDS;
      else process.env.OUTLAST_FAKE_PIDS = saved.OUTLAST_FAKE_PIDS;
    }
    const ms = performance.now() - started;
    console.log(`doctor (in process) with hanging systemctl/journalctl: ${Math.round(ms)} ms`);
    expect(ms).toBeLessThan(2000);
    const report = JSON.parse(out) as DoctorReport;
    expect(report.warnings.map((w) => w.code)).toContain('UNIT_UNREADABLE');
    expect(report.journal).toMatchObject({ ok: false, reason: 'journalctl printed nothing within 700 ms' });
    // Three stand-ins ran (two systemctl, one journalctl), each with a sleeping child.
    const recorded = ['systemctl', 'journalctl'].flatMap((name) => readFileSync(join(pids, name), 'utf8').split(/\s+/).filter(Boolean).map(Number));
    expect(recorded).toHaveLength(6);
    await waitFor(() => recorded.every(stopped), 'every stand-in and its sleep to be gone', 2000);
    rmSync(pids, { recursive: true, force: true });
  });

  it('answers within 2 s as a CLI process, start-up included', async () => {
    const pids = mkdtempSync(join(tmpdir(), 'outlast-hang-pids-'));
    const started = performance.now();
    const result = await execa(REPO_NODE, [BIN, 'doctor', '--unit', 'app.service', '--state-dir', join(dir, 'state')], {
      env: { PATH: pathWithFakes, OUTLAST_FAKE_PIDS: pids },
      reject: false,
      timeout: 20_000,
    });
    const ms = performance.now() - started;
    console.log(`outlast doctor (CLI) with hanging systemctl/journalctl: ${Math.round(ms)} ms`);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('[UNIT_UNREADABLE]');
    expect(ms).toBeLessThan(2000);
    rmSync(pids, { recursive: true, force: true });
  });
});
