import { describe, expect, it } from 'vitest';
import { parseSystemdDuration } from '../../platform/index.ts';

const S = 1_000_000;

describe('parseSystemdDuration', () => {
  it.each([
    ['1min 30s', 90 * S],
    ['90s', 90 * S],
    ['500ms', 500_000],
    ['2h', 7200 * S],
    ['1h 2min 3s', 3723 * S],
    ['90000000', 90 * S],
    ['0', 0],
    ['250us', 250],
    ['250usec', 250],
    ['250µs', 250],
    ['3msec', 3000],
    ['5sec', 5 * S],
    ['5 s', 5 * S],
    ['2seconds', 2 * S],
    ['1min', 60 * S],
    ['15m', 900 * S],
    ['1hr', 3600 * S],
    ['1d', 86_400 * S],
    ['2 days', 172_800 * S],
    ['1w', 604_800 * S],
    ['1M', 2_629_800 * S],
    ['1y', 31_557_600 * S],
    ['55s500ms', 55.5 * S],
    ['300ms20s 5day', 20.3 * S + 5 * 86_400 * S],
    ['1.5h', 5400 * S],
    ['2.5s', 2.5 * S],
    ['  1min 30s\n', 90 * S],
  ])('%j is %i µs', (text, us) => {
    expect(parseSystemdDuration(text)).toEqual({ ok: true, us });
  });

  it.each(['infinity', ' infinity ', '18446744073709551615'])('%j is infinite', (text) => {
    expect(parseSystemdDuration(text)).toEqual({ ok: true, infinite: true });
  });

  it.each([
    ['', 'empty time span'],
    ['   ', 'empty time span'],
    ['1min 30', '"1min 30": "30" has no unit'],
    ['1.5', '"1.5": "1.5" has no unit'],
    ['5 parsecs', '"5 parsecs": unknown unit "parsecs"'],
    ['5constructor', '"5constructor": unknown unit "constructor"'],
    ['-5s', '"-5s": expected a number at "-5s"'],
    ['abc', '"abc": expected a number at "abc"'],
    ['1min,30s', '"1min,30s": unknown unit "min,"'],
    ['Infinity', '"Infinity": expected a number at "Infinity"'],
    ['9007199254740992', '"9007199254740992" is too large to represent exactly in microseconds'],
    ['300000y', '"300000y" is too large to represent exactly in microseconds'],
  ])('%j fails: %s', (text, reason) => {
    expect(parseSystemdDuration(text)).toEqual({ ok: false, reason });
  });
});
