/**
 * A smoke run of `npm run bench`'s code, so CI exercises it: the outlast
 * side of crash repair (2 kills) and of start-up (3 spawns each, timed by
 * the bench itself, not hyperfine), and a 1 s idle window of outlast next to
 * the bare-Node floor, read into the table of targets. From the checkout: no
 * peers, no installs, no timings asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFeed } from '../../bench/app.ts';
import { FLOOR_NAME, floorPeer } from '../../bench/peers/floor.ts';
import { outlastPeer } from '../../bench/peers/outlast.ts';
import { targets } from '../../bench/report/targets.ts';
import { crashRepair } from '../../bench/scenarios/crash-repair.ts';
import { idleCost } from '../../bench/scenarios/idle-cost.ts';
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
    expect(row).toMatchObject({ name: 'outlast (checkout)', base: true });
    expect(row!.median.repairMs).toBeGreaterThan(0);
    expect(row!.samples).toHaveLength(1);
    expect((row!.samples[0] as { kills: number[] }).kills).toHaveLength(2);
  });

  it('start-up: outlast --version and outlast status against a running supervisor, with the node floor', async () => {
    const result = await startUp([outlastPeer()], { spawns: 3, hyperfine: undefined, work, feed }, scope);
    const byName = Object.fromEntries(result.rows.map((r) => [r.name, r]));
    expect(Object.keys(byName).sort()).toEqual(['node -e 0 (floor)', 'outlast --version (checkout)', 'outlast status (checkout)']);
    for (const row of result.rows) expect(row.median.ms).toBeGreaterThan(0);
    expect(byName['node -e 0 (floor)']!.ratio?.values.ms).toBeGreaterThan(0);
  });

  it('idle cost: outlast and the floor measured in one window; the targets name what was not measured', async () => {
    const result = await idleCost([outlastPeer(), floorPeer()], { runs: 1, idleS: 1, settleMs: 0, work, feed }, scope);
    const [outlast, floor] = result.rows;
    expect(outlast).toMatchObject({ name: 'outlast (checkout)', base: true });
    expect(floor!.name).toBe(FLOOR_NAME);
    expect(floor!.median.rssMB).toBeGreaterThan(0);
    // The installed form was not measured here, and PM2 is not running: nothing may PASS.
    const rows = targets([result]);
    expect(rows).toHaveLength(8);
    expect(new Set(rows.map((r) => r.result))).toEqual(new Set(['not measured']));
  });
});
