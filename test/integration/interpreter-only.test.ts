/**
 * `outlast run` keeps its JavaScript in V8's interpreter unless the user
 * chose the tiers: in a real `node` process, a function run hot is
 * optimized without the call and stays interpreted with it (V8's own
 * optimization status, read with --allow-natives-syntax).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keepToInterpreter } from '../../supervisor/cli/interpreter-only.ts';

const MODULE = resolve(import.meta.dirname, '../../supervisor/cli/interpreter-only.ts');

// Bits of %GetOptimizationStatus (V8's OptimizationStatus).
const MAGLEVVED = 1 << 5;
const TURBOFANNED = 1 << 6;
const INTERPRETED = 1 << 7;
const BASELINE = 1 << 15;

function statusOfHotFunction(keep: boolean): number {
  const script = `
    import { keepToInterpreter } from ${JSON.stringify(MODULE)};
    if (${keep}) keepToInterpreter([], undefined);
    function hot(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }
    for (let i = 0; i < 20000; i++) hot(200);
    process.stdout.write(String(%GetOptimizationStatus(hot)));
  `;
  return Number(execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }));
}

describe('keepToInterpreter', () => {
  it('keeps a hot function interpreted, where V8 would compile it', () => {
    const compiled = statusOfHotFunction(false);
    expect(compiled & (MAGLEVVED | TURBOFANNED | BASELINE)).not.toBe(0);
    const kept = statusOfHotFunction(true);
    expect(kept & INTERPRETED).not.toBe(0);
    expect(kept & (MAGLEVVED | TURBOFANNED | BASELINE)).toBe(0);
  });

  it('leaves the tiers to the user who chose them, on the command line or in NODE_OPTIONS', () => {
    expect(keepToInterpreter(['--maglev'], undefined)).toBe(false);
    expect(keepToInterpreter(['--no-turbofan'], undefined)).toBe(false);
    expect(keepToInterpreter([], '--inspect --sparkplug')).toBe(false);
    expect(keepToInterpreter([], '--no_optimize_for_size')).toBe(false);
    expect(keepToInterpreter(['--jitless'], undefined)).toBe(false);
  });
});
