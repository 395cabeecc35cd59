/**
 * `outlast --version` and `outlast --help` answer from the entry itself,
 * before the CLI and its dependencies load (start-up is downtime on a phone).
 * The proof: a copy of the entry next to package.json and help.txt alone,
 * with no CLI to load, still answers.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { topLevelHelp } from '../../supervisor/cli/help-text.ts';
import { BIN, cleanup, ROOT, tempDir } from '../support/supervisor.ts';

afterEach(cleanup);

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('outlast --version', () => {
  it('prints the package version with --version and -v', () => {
    for (const flag of ['--version', '-v']) {
      const res = spawnSync(process.execPath, [BIN, flag], { encoding: 'utf8', timeout: 30_000 });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toBe(`${VERSION}\n`);
    }
  });

  it('answers without loading the CLI at all', () => {
    const dir = tempDir('outlast-entry-only-');
    mkdirSync(join(dir, 'bin'));
    copyFileSync(BIN, join(dir, 'bin', 'outlast.js'));
    copyFileSync(join(ROOT, 'bin', 'help.txt'), join(dir, 'bin', 'help.txt'));
    copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    const res = spawnSync(process.execPath, [join(dir, 'bin', 'outlast.js'), '--version'], { encoding: 'utf8', timeout: 30_000 });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toBe(`${VERSION}\n`);
    const help = spawnSync(process.execPath, [join(dir, 'bin', 'outlast.js'), '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: outlast \[options\] \[command\]\n/);
    // Anything else needs the CLI, which is not there.
    expect(spawnSync(process.execPath, [join(dir, 'bin', 'outlast.js'), 'status'], { encoding: 'utf8', timeout: 30_000 }).status).not.toBe(0);
  });

  it("--help and -h print the program's own help, which bin/help.txt must match (npm run help-text writes it)", () => {
    const committed = readFileSync(join(ROOT, 'bin', 'help.txt'), 'utf8');
    expect(committed, 'bin/help.txt is stale: run npm run help-text').toBe(topLevelHelp());
    for (const flag of ['--help', '-h']) {
      const res = spawnSync(process.execPath, [BIN, flag], { encoding: 'utf8', timeout: 30_000 });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toBe(committed);
    }
    // The full CLI's `outlast help` prints the same text.
    const full = spawnSync(process.execPath, [BIN, 'help'], { encoding: 'utf8', timeout: 30_000 });
    expect(full.stdout + full.stderr).toBe(committed);
  });
});
