/**
 * `outlast doctor --json` reports what the running supervisor holds in
 * memory (`resident`, from its `GET /resident`): an idle supervisor without
 * updates keeps no package at all (its config was validated in a child
 * process), and one whose first install ran says the update pipeline loaded
 * and which packages came with it: the lock's and semver, not the config's
 * validator nor the source's tar and crypto (those ran in child processes).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFeed } from '../support/feed.ts';
import { cleanup, startCli, supervisorInfo, tempDir } from '../support/supervisor.ts';
import { runOutlast, startUpdating } from '../support/update-supervisor.ts';

afterEach(cleanup);

interface Resident {
  rssMb: number;
  modules: string[] | null;
  builtins: string[] | null;
  moduleCount: number | null;
  loaded: string[];
}

async function resident(stateDir: string): Promise<Resident> {
  const run = await runOutlast(['doctor', '--json', '--state-dir', stateDir]);
  const report = JSON.parse(run.stdout) as { resident?: Resident };
  expect(report.resident, run.stdout).toBeDefined();
  return report.resident!;
}

describe('outlast doctor --json: resident', () => {
  it('lists no package for an idle supervisor without updates', async () => {
    const dir = tempDir('outlast-resident-');
    const config = join(dir, 'outlast.json');
    writeFileSync(config, JSON.stringify({ name: 'idle', service: { command: ['sleep', '600'], stopTimeoutMs: 1000 }, api: { port: 0 } }));
    const cli = startCli(['run', '--config', config], { stateDir: join(dir, 'state') });
    await supervisorInfo(cli);
    const held = await resident(cli.stateDir);
    expect(held.rssMb).toBeGreaterThan(10);
    expect(held.modules).not.toBeNull();
    // The config is validated in a child process (config/validate-apart.ts): zod never loads here.
    expect(held.modules).toEqual([]);
    expect(held.moduleCount).toBeGreaterThan(20);
    expect(held.loaded).toEqual([]);
    // Random bytes from /dev/urandom, timestamps without ICU, the bearer check without a hash (supervisor/lazy-crypto.ts).
    expect(held.builtins).toEqual(expect.arrayContaining(['child_process', 'http']) as unknown);
    expect(held.builtins).not.toContain('crypto');
    expect(held.builtins).not.toContain('zlib');
    expect(held.builtins).not.toContain('perf_hooks');
  });

  it('says the update pipeline loaded for a first install, and what came with it', async () => {
    const feed = await makeFeed([{ version: '1.0.0' }]);
    const { cli } = await startUpdating({ type: 'dir', path: feed });
    const held = await resident(cli.stateDir);
    // The source listed and fetched in a child process (update/sources/apart.ts): not here.
    expect(held.loaded).toEqual(['update pipeline']);
    // Only semver comes with the Updater: no tar, minipass, zod, pino, or a lock package (host/node-locks.ts).
    expect(held.modules).toEqual(['semver']);
    expect(held.builtins).not.toContain('crypto');
    expect(held.builtins).not.toContain('zlib');
  });

  it('has no resident field when no supervisor runs', async () => {
    const run = await runOutlast(['doctor', '--json', '--state-dir', tempDir('outlast-none-')]);
    expect(JSON.parse(run.stdout)).not.toHaveProperty('resident');
  });
});
