/**
 * Durations in the config: whole milliseconds as before (`500`), or a
 * string with units (`"30s"`, `"5m"`, `"1h30m"`). One parser, one zod
 * builder, used by every time key, so every key accepts the same forms and
 * fails with the same words.
 */
import { z } from 'zod';

/** What a bad duration is told, after the key's name. */
export const DURATION_HINT = 'must be a duration such as 500, "30s" or "5m"';

const WHOLE_MS = 'must be a whole number of milliseconds';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

// One part is a number and a unit; parts may follow one another, with or
// without spaces. `ms` comes before `m` so "500ms" is not read as 500 m + "s".
const UNIT = '(ms|s|m|h|d)';
const PART = String.raw`\d+(?:\.\d+)?\s*${UNIT}`;

/**
 * The strings a duration accepts, for the JSON Schema: a bare count of
 * milliseconds ("500"), or parts with units ("1h30m", "1h 30m").
 */
export const DURATION_PATTERN = String.raw`^\s*(?:\d+\s*|(?:${PART}\s*)+)$`;

const PART_RE = new RegExp(PART, 'g');
const WHOLE_RE = new RegExp(DURATION_PATTERN);

/**
 * A duration's milliseconds, or why it is not one. Numbers are milliseconds
 * already; strings are "500" or parts with units (ms, s, m, h, d). The
 * result is a whole, non-negative number of milliseconds.
 */
export function parseDuration(value: number | string): { ms: number } | { error: string } {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { error: DURATION_HINT };
    if (!Number.isInteger(value)) return { error: WHOLE_MS };
    if (value < 0) return { error: 'must be 0 or more' };
    return { ms: value };
  }
  if (!WHOLE_RE.test(value)) return { error: DURATION_HINT };
  const text = value.trim();
  if (/^\d+$/.test(text)) return parseDuration(Number(text));
  let total = 0;
  for (const match of text.matchAll(PART_RE)) {
    const [part, unit] = [match[0], match[1] as keyof typeof UNIT_MS];
    total += Number.parseFloat(part) * UNIT_MS[unit];
  }
  // "1.5s" is 1500 ms; "0.5ms" is no whole number of milliseconds. Rounding
  // first absorbs float noise such as 0.1 h → 360000.00000000006.
  const rounded = Math.round(total * 1000) / 1000;
  if (!Number.isInteger(rounded)) return { error: WHOLE_MS };
  if (!Number.isSafeInteger(rounded)) return { error: 'is too long' };
  return { ms: rounded };
}

/**
 * A config duration of at least `min` ms: a number or a string with units on
 * the way in (the JSON Schema shows both), a number of milliseconds out.
 */
export function duration(min = 0) {
  const tooSmall = min === 0 ? 'must be 0 or more' : `must be at least ${min} ms`;
  // zod reports the branch whose type matched (a number's range, a string's
  // pattern) and the union's own error for anything else: a fraction (the
  // integer check ends its branch like a wrong type), true, null, [].
  const other = (issue: { input?: unknown }): string => (typeof issue.input === 'number' && Number.isFinite(issue.input) ? WHOLE_MS : DURATION_HINT);
  return z
    .union([z.number().int().min(min, { error: tooSmall }), z.string().regex(WHOLE_RE, { error: DURATION_HINT })], { error: other })
    .transform((value, ctx) => {
      const parsed = parseDuration(value);
      if ('error' in parsed) {
        ctx.issues.push({ code: 'custom', message: parsed.error, input: value });
        return z.NEVER;
      }
      if (parsed.ms < min) {
        ctx.issues.push({ code: 'custom', message: tooSmall, input: value });
        return z.NEVER;
      }
      return parsed.ms;
    });
}
