/**
 * A smoke run of `npm run bench`'s code, so CI exercises it: the outlast
 * side of crash repair (2 kills) and of start-up (3 spawns each, timed by
 * the bench itself, not hyperfine). No peers, no installs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFeed } from '../../bench/app.ts';
import { outlastPeer } from '../../bench/peers/outlast.ts';
import { crashRepair } from '../../bench/scenarios/crash-repair.ts';
import { startUp } from '../../bench/scenarios/start-up.ts';
import { Scope } from '../../bench/support/scope.ts';

describe('bench smoke', () => {
  const scope = new Scope();
  let work = '';
  let feed = '';

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'outlast-bench-smoke-'));
    scope.defer(() => rmSync(work, { recursive: true, force: true }));
    feed = await buildFeed(join(work, 'feed'), ['1.0.0']);
  });
  afterAll(() => scope.closeAll());

  it('crash repair: outlast brings a SIGKILLed service back, and the row has a median', async () => {
    const result = await crashRepair([outlastPeer()], { runs: 1, kills: 2, spacingMs: 1100, work, feed }, scope);
    expect(result.id).toBe('crash-repair');
    const [row] = result.rows;
    expect(row).toMatchObject({ name: 'outlast', base: true });
    expect(row!.median.repairMs).toBeGreaterThan(0);
    expect(row!.samples).toHaveLength(1);
    expect((row!.samples[0] as { kills: number[] }).kills).toHaveLength(2);
  });

  it('start-up: outlast --version and outlast status against a running supervisor, with the node floor', async () => {
    const result = await startUp([outlastPeer()], { spawns: 3, hyperfine: undefined, work, feed }, scope);
    const byName = Object.fromEntries(result.rows.map((r) => [r.name, r]));
    expect(Object.keys(byName).sort()).toEqual(['node -e 0 (floor)', 'outlast --version', 'outlast status']);
    for (const row of result.rows) expect(row.median.ms).toBeGreaterThan(0);
    expect(byName['node -e 0 (floor)']!.ratio?.values.ms).toBeGreaterThan(0);
  });
});
