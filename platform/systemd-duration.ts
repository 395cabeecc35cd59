/**
 * systemd time spans as `systemctl show` prints the `…USec` properties:
 * `1min 30s`, `500ms`, `infinity`, or a bare number of microseconds. Parsing
 * either yields the exact value or says why not; it never guesses.
 */

/** A parsed time span. */
export type SystemdDuration = { ok: true; us: number } | { ok: true; infinite: true };

/** A parsed time span, or why the text is not one. */
export type SystemdDurationResult = SystemdDuration | { ok: false; reason: string };

const SECOND = 1_000_000n;
const MINUTE = 60n * SECOND;
const HOUR = 60n * MINUTE;
const DAY = 24n * HOUR;
// systemd's month and year are 1/12 and 365.25 days' worth of a Julian year.
const MONTH = 2_629_800n * SECOND;
const YEAR = 31_557_600n * SECOND;

// The units of systemd.time(7). Case matters: `m` is minutes, `M` months.
const UNITS = new Map<string, bigint>([
  ...['usec', 'us', 'µs', 'μs'].map((name) => [name, 1n] as const),
  ...['msec', 'ms'].map((name) => [name, 1000n] as const),
  ...['seconds', 'second', 'sec', 's'].map((name) => [name, SECOND] as const),
  ...['minutes', 'minute', 'min', 'm'].map((name) => [name, MINUTE] as const),
  ...['hours', 'hour', 'hr', 'h'].map((name) => [name, HOUR] as const),
  ...['days', 'day', 'd'].map((name) => [name, DAY] as const),
  ...['weeks', 'week', 'w'].map((name) => [name, 7n * DAY] as const),
  ...['months', 'month', 'M'].map((name) => [name, MONTH] as const),
  ...['years', 'year', 'y'].map((name) => [name, YEAR] as const),
]);

// systemd's USEC_INFINITY (UINT64_MAX): what a raw property holds for "infinity".
const USEC_INFINITY = 2n ** 64n - 1n;
const TERM = /^(\d+)(?:\.(\d+))?\s*([^\d\s.]*)\s*/u;

/**
 * Parses a `…USec` property value. Unlike in unit files, where a bare number
 * means seconds, a bare number here is microseconds, as D-Bus carries it.
 */
export function parseSystemdDuration(text: string): SystemdDurationResult {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'empty time span' };
  if (trimmed === 'infinity') return { ok: true, infinite: true };
  if (/^\d+$/.test(trimmed)) {
    const us = BigInt(trimmed);
    return us === USEC_INFINITY ? { ok: true, infinite: true } : exact(us, text);
  }
  let total = 0n;
  let rest = trimmed;
  while (rest !== '') {
    const term = TERM.exec(rest);
    if (term === null) return { ok: false, reason: `"${text}": expected a number at "${rest}"` };
    const [matched, whole = '', fraction = '', unitName = ''] = term;
    if (unitName === '') return { ok: false, reason: `"${text}": "${matched.trim()}" has no unit` };
    const unit = UNITS.get(unitName);
    if (unit === undefined) return { ok: false, reason: `"${text}": unknown unit "${unitName}"` };
    // Exact integer arithmetic: 1.5h must be 5400000000 µs, not a float near it.
    total += BigInt(whole) * unit + (BigInt(`0${fraction}`) * unit) / 10n ** BigInt(fraction.length);
    rest = rest.slice(matched.length);
  }
  return exact(total, text);
}

function exact(us: bigint, text: string): SystemdDurationResult {
  if (us > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { ok: false, reason: `"${text}" is too large to represent exactly in microseconds` };
  }
  return { ok: true, us: Number(us) };
}
