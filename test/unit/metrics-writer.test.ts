/**
 * The Prometheus text exposition writer (format 0.0.4) against the format's
 * rules, line by line: HELP and TYPE, label escaping, histogram buckets.
 */
import { describe, expect, it } from 'vitest';
import { CONTENT_TYPE, escapeHelp, escapeLabelValue, formatValue, writeExposition, type MetricFamily } from '../../supervisor/metrics/exposition.ts';
import { Histogram } from '../../supervisor/metrics/histogram.ts';

describe('writeExposition', () => {
  it('writes HELP and TYPE before the samples of each family, every line ending in a newline', () => {
    const text = writeExposition([
      { name: 'a_total', help: 'Things.', type: 'counter', samples: [{ value: 3 }] },
      { name: 'b', help: 'Level.', type: 'gauge', samples: [{ labels: { kind: 'x' }, value: 1.5 }, { labels: { kind: 'y' }, value: 0 }] },
    ]);
    expect(text).toBe(['# HELP a_total Things.', '# TYPE a_total counter', 'a_total 3', '# HELP b Level.', '# TYPE b gauge', 'b{kind="x"} 1.5', 'b{kind="y"} 0', ''].join('\n'));
  });

  it('writes a family with no samples as its HELP and TYPE lines only', () => {
    expect(writeExposition([{ name: 'c', help: 'None yet.', type: 'gauge', samples: [] }])).toBe('# HELP c None yet.\n# TYPE c gauge\n');
    expect(writeExposition([])).toBe('');
  });

  it('escapes backslash, double quote and newline in label values, in that form', () => {
    const value = 'a\\b "c"\nd';
    expect(escapeLabelValue(value)).toBe('a\\\\b \\"c\\"\\nd');
    const text = writeExposition([{ name: 'm', help: 'h', type: 'gauge', samples: [{ labels: { path: value, other: 'plain' }, value: 1 }] }]);
    expect(text.split('\n')[2]).toBe('m{path="a\\\\b \\"c\\"\\nd",other="plain"} 1');
    // The escaped line stays one line.
    expect(text.split('\n')).toHaveLength(4);
  });

  it('escapes backslash and newline in HELP, and leaves a double quote alone there', () => {
    expect(escapeHelp('one\\two\n"three"')).toBe('one\\\\two\\n"three"');
    expect(writeExposition([{ name: 'm', help: 'x\ny', type: 'counter', samples: [] }]).split('\n')[0]).toBe('# HELP m x\\ny');
  });

  it('spells infinities and NaN the format way', () => {
    expect([Infinity, -Infinity, NaN, 0, -2, 0.25, 1e21].map(formatValue)).toEqual(['+Inf', '-Inf', 'NaN', '0', '-2', '0.25', '1e+21']);
  });

  it('writes a histogram as cumulative buckets by le, then +Inf, _sum and _count', () => {
    const histogram = new Histogram([0.1, 1, 2.5]);
    for (const value of [0.05, 0.1, 0.7, 3, 9]) histogram.observe(value);
    const text = writeExposition([{ name: 'd_seconds', help: 'Durations.', type: 'histogram', samples: [{ labels: { phase: 'fetch' }, ...histogram }] }]);
    expect(text).toBe(
      [
        '# HELP d_seconds Durations.',
        '# TYPE d_seconds histogram',
        // 0.1 counts in le="0.1": the bound is inclusive.
        'd_seconds_bucket{phase="fetch",le="0.1"} 2',
        'd_seconds_bucket{phase="fetch",le="1"} 3',
        'd_seconds_bucket{phase="fetch",le="2.5"} 3',
        'd_seconds_bucket{phase="fetch",le="+Inf"} 5',
        'd_seconds_sum{phase="fetch"} 12.85',
        'd_seconds_count{phase="fetch"} 5',
        '',
      ].join('\n'),
    );
  });

  it('writes an unlabelled histogram with le as its only label, and an empty one with zeros', () => {
    const text = writeExposition([{ name: 'e', help: 'h', type: 'histogram', samples: [new Histogram([1])] }]);
    expect(text.split('\n').slice(2)).toEqual(['e_bucket{le="1"} 0', 'e_bucket{le="+Inf"} 0', 'e_sum 0', 'e_count 0', '']);
  });

  it('refuses names the format cannot carry, a reserved le label, and a family written twice', () => {
    const gauge = (name: string, labels?: Record<string, string>): MetricFamily => ({ name, help: 'h', type: 'gauge', samples: [labels === undefined ? { value: 1 } : { labels, value: 1 }] });
    expect(() => writeExposition([gauge('1bad')])).toThrow(/invalid metric name/);
    expect(() => writeExposition([gauge('ok', { 'bad-name': 'x' })])).toThrow(/invalid label name/);
    expect(() => writeExposition([gauge('ok', { __reserved: 'x' })])).toThrow(/invalid label name/);
    expect(() => writeExposition([gauge('ok'), gauge('ok')])).toThrow(/written twice/);
    expect(() => writeExposition([{ name: 'h', help: 'h', type: 'histogram', samples: [{ labels: { le: '1' }, ...new Histogram([1]) }] }])).toThrow(/reserved/);
    expect(() => writeExposition([{ name: 'h', help: 'h', type: 'histogram', samples: [{ bounds: [1, 2], counts: [0, 0], sum: 0, count: 0 }] }])).toThrow(/counts for 2 bounds/);
  });

  it('names the 0.0.4 content type', () => {
    expect(CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});
