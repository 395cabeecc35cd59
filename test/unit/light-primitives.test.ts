// The crypto- and ICU-free primitives an idle supervisor runs on: the ISO
// timestamps (supervisor/iso-time.ts), the bearer comparison
// (supervisor/api/auth.ts) and the Host's random bytes
// (supervisor/host/random.ts). Each is checked against the Node API it
// stands in for.
import { describe, expect, it } from 'vitest';
import { bearerMatches, sameSecret } from '../../supervisor/api/auth.ts';
import { randomBytesSync } from '../../supervisor/host/random.ts';
import { isoTime } from '../../supervisor/iso-time.ts';

describe('isoTime', () => {
  it('writes what toISOString writes, across eras, leap days and millisecond edges', () => {
    const times = [0, 1, 999, 1_000, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(1969, 11, 31, 23, 59, 59, 1), Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10_000, 0, 1), Date.UTC(-1, 5, 6, 7, 8, 9, 10), -8.64e15, 8.64e15, 1796378400123];
    for (let i = 0; i < 500; i++) times.push(Math.floor((i * 7_919_993_311_001) % 8.64e15) * (i % 2 === 0 ? 1 : -1));
    for (const ms of times) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('refuses an invalid time as toISOString does', () => {
    for (const ms of [Number.NaN, 8.64e15 + 1, Number.POSITIVE_INFINITY]) {
      expect(() => new Date(ms).toISOString()).toThrow(RangeError);
      expect(() => isoTime(ms)).toThrow(RangeError);
    }
  });
});

describe('sameSecret and bearerMatches', () => {
  it('accepts only the same secret: not a prefix, an extension, a one-character change, or an empty one', () => {
    const token = 'Qm9vdHN0cmFwLXRva2VuLTEyMzQ1Njc4OTBhYmNkZWY';
    expect(sameSecret(token, token)).toBe(true);
    expect(sameSecret(token.slice(0, -1), token)).toBe(false);
    expect(sameSecret(`${token}x`, token)).toBe(false);
    expect(sameSecret('', token)).toBe(false);
    expect(sameSecret(token, '')).toBe(false);
    expect(sameSecret('', '')).toBe(true);
    for (let i = 0; i < token.length; i++) {
      const changed = `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
      expect(sameSecret(changed, token), `changed at ${i}`).toBe(false);
    }
    // A code unit past the BMP, and a NUL, compare as themselves.
    expect(sameSecret('a\u0000', 'a')).toBe(false);
    expect(sameSecret('😀', '😀')).toBe(true);
    expect(sameSecret('😀', '😁')).toBe(false);
  });

  it('reads the token from an Authorization header, case-insensitive scheme, trailing space allowed', () => {
    expect(bearerMatches('Bearer abc', 'abc')).toBe(true);
    expect(bearerMatches('bearer abc  ', 'abc')).toBe(true);
    expect(bearerMatches('Bearer abd', 'abc')).toBe(false);
    expect(bearerMatches('Basic abc', 'abc')).toBe(false);
    expect(bearerMatches('Bearer abc def', 'abc')).toBe(false);
    expect(bearerMatches(undefined, 'abc')).toBe(false);
  });
});

describe('randomBytesSync', () => {
  it('gives the length asked for, different every time', () => {
    expect(randomBytesSync(0)).toHaveLength(0);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytesSync(16);
      expect(bytes).toHaveLength(16);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(200);
    // A read larger than one page still comes back whole, and is not all zeros.
    const big = randomBytesSync(1 << 16);
    expect(big).toHaveLength(1 << 16);
    expect(new Set(big).size).toBe(256);
  });
});
