/**
 * Durations in the config: the parser, its errors as a config load words
 * them, and the rule that every time key takes the same forms (checked over
 * the generated JSON Schema, so a new `…Ms` key without it fails here).
 */
import { describe, expect, it } from 'vitest';
import { DURATION_HINT, DURATION_PATTERN, parseDuration } from '../../supervisor/config/duration.ts';
import { configJsonSchema } from '../../supervisor/config/json-schema.ts';
import { parseConfig } from '../../supervisor/config/load.ts';
import { OutlastError } from '../../supervisor/errors.ts';

function problems(input: unknown): string[] {
  try {
    parseConfig(input, '/srv', 'test');
  } catch (err) {
    if (err instanceof OutlastError && err.code === 'CONFIG_INVALID') return (err.details as { problems: string[] }).problems;
    throw err;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('parseDuration', () => {
  it('reads milliseconds and strings with units', () => {
    const cases: Array<[number | string, number]> = [
      [0, 0],
      [500, 500],
      ['500', 500],
      [' 750 ', 750],
      ['500ms', 500],
      ['30s', 30_000],
      ['1.5s', 1500],
      ['5m', 300_000],
      ['6h', 21_600_000],
      ['1d', 86_400_000],
      ['1h30m', 5_400_000],
      ['1h 30m 15s', 5_415_000],
      ['0.1h', 360_000],
    ];
    for (const [input, ms] of cases) expect(parseDuration(input), JSON.stringify(input)).toEqual({ ms });
  });

  it('says what is wrong with anything else', () => {
    const hint = 'must be a duration such as 500, "30s" or "5m"';
    const cases: Array<[number | string, string]> = [
      ['5 parsecs', hint],
      ['', hint],
      ['m', hint],
      ['-5s', hint],
      ['1h-30m', hint],
      ['5min', hint],
      [-1, 'must be 0 or more'],
      [1.5, 'must be a whole number of milliseconds'],
      ['0.5ms', 'must be a whole number of milliseconds'],
      [Number.NaN, hint],
    ];
    for (const [input, error] of cases) expect(parseDuration(input), JSON.stringify(input)).toEqual({ error });
  });

  it('reads a string as a duration exactly when its JSON Schema pattern matches it', () => {
    const pattern = new RegExp(DURATION_PATTERN);
    for (const text of ['500', '30s', '1h30m', '1h 30m', ' 2d ', '1.5s', '0.5ms', '5 parsecs', '', '5min', '-1s', 's5']) {
      const parsed = parseDuration(text);
      expect(pattern.test(text), text).toBe(!('error' in parsed) || parsed.error !== DURATION_HINT);
    }
  });
});

describe('durations in the config', () => {
  it('fills a key given with units with its milliseconds, and numbers still work', () => {
    const config = parseConfig(
      {
        service: { command: ['a'], stopTimeoutMs: '30s', health: { intervalMs: '1m', readyTimeoutMs: 45_000 }, restart: { backoff: { maxMs: '1h30m' } } },
        updates: { source: { type: 'git', url: '/repo', timeoutMs: '2m' }, healthGate: { stableForMs: '10s' }, checkTtlMs: '0s' },
        selfRestart: { delayMs: '15s' },
      },
      '/srv',
      'test',
    );
    expect(config.service).toMatchObject({ stopTimeoutMs: 30_000, health: { intervalMs: 60_000, readyTimeoutMs: 45_000 }, restart: { backoff: { maxMs: 5_400_000 } } });
    expect(config.updates).toMatchObject({ source: { timeoutMs: 120_000 }, healthGate: { stableForMs: 10_000 }, checkTtlMs: 0 });
    expect(config.selfRestart.delayMs).toBe(15_000);
  });

  it('names the key and the bad value', () => {
    expect(problems({ service: { command: ['a'], stopTimeoutMs: '5 parsecs' } })).toEqual(['"service.stopTimeoutMs" must be a duration such as 500, "30s" or "5m" (got "5 parsecs")']);
    expect(problems({ service: { command: ['a'], health: { intervalMs: '0s' } } })).toEqual(['"service.health.intervalMs" must be at least 1 ms (got "0s")']);
    expect(problems({ service: { command: ['a'], stopTimeoutMs: -5 } })).toEqual(['"service.stopTimeoutMs" must be 0 or more (got -5)']);
    expect(problems({ service: { command: ['a'], stopTimeoutMs: 2.5 } })).toEqual(['"service.stopTimeoutMs" must be a whole number of milliseconds (got 2.5)']);
    expect(problems({ service: { command: ['a'], stopTimeoutMs: true } })).toEqual(['"service.stopTimeoutMs" must be a duration such as 500, "30s" or "5m" (got true)']);
  });

  it('every …Ms key of the JSON Schema takes a whole number or a duration string', () => {
    const found: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const schema = node as { properties?: Record<string, unknown>; anyOf?: unknown[]; oneOf?: unknown[] };
      for (const [key, value] of Object.entries(schema.properties ?? {})) {
        const at = path === '' ? key : `${path}.${key}`;
        if (key.endsWith('Ms')) {
          found.push(at);
          const branches = (value as { anyOf?: Array<{ type: string; pattern?: string }> }).anyOf;
          expect(branches?.map((b) => b.type), at).toEqual(['integer', 'string']);
          expect(branches?.[1]?.pattern, at).toBe(DURATION_PATTERN);
        }
        walk(value, at);
      }
      for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) walk(branch, path);
    };
    walk(configJsonSchema(), '');
    // The walk reached the nested blocks: the service's, the updates', the sources'.
    expect(found).toEqual(expect.arrayContaining(['service.stopTimeoutMs', 'service.restart.backoff.maxMs', 'updates.healthGate.stableForMs', 'updates.source.timeoutMs', 'service.busy.pollMs', 'selfRestart.delayMs']));
  });
});
