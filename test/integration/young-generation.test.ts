/**
 * `outlast run` caps V8's young generation unless the user sized it: a real
 * `node` process whose nursery would grow (objects surviving scavenges)
 * shows the difference in the new space's committed size.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capYoungGeneration } from '../../supervisor/cli/young-generation.ts';

const MODULE = resolve(import.meta.dirname, '../../supervisor/cli/young-generation.ts');

/**
 * The new space's committed size (KB) after a churn that V8 answers by
 * growing the nursery: short-lived objects plus a steady trickle that
 * survives a scavenge or two.
 */
function newSpaceKbAfterChurn(cap: boolean): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { capYoungGeneration } from ${JSON.stringify(MODULE)};
    if (${cap}) capYoungGeneration(process.execArgv, process.env.NODE_OPTIONS);
    let live = [];
    let sink;
    for (let i = 0; i < 3000000; i++) {
      sink = { i, s: 'x' + i };
      if (i % 8 === 0) live.push(sink);
      if (live.length > 20000) live = [];
    }
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(Math.round(space.space_size / 1024)));
  `;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }));
}

describe('capYoungGeneration', () => {
  it('keeps the new space at its starting size where V8 would grow it', () => {
    const uncapped = newSpaceKbAfterChurn(false);
    const capped = newSpaceKbAfterChurn(true);
    expect(uncapped).toBeGreaterThan(capped);
  });

  it('leaves the young generation to the user who sized it, on the command line or in NODE_OPTIONS', () => {
    expect(capYoungGeneration(['--max-semi-space-size=8'], undefined)).toBe(false);
    expect(capYoungGeneration(['--max_semi_space_size', '8'], undefined)).toBe(false);
    expect(capYoungGeneration([], '--inspect --min-semi-space-size=4')).toBe(false);
    expect(capYoungGeneration([], '--semi-space-growth-factor=2')).toBe(false);
  });
});
