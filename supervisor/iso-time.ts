/**
 * The ISO 8601 UTC form of a time, as Date.prototype.toISOString writes
 * it, built from the UTC fields. V8's toISOString goes through its local
 * time zone cache, which on first use loads ICU's zone and locale data
 * (about 0.7 MB resident in a supervisor that otherwise never touches
 * ICU); the UTC getters need none of it. Every timestamp outlast writes
 * (logs, journal, markers, events) comes from here.
 */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `ms` since the epoch as `YYYY-MM-DDTHH:mm:ss.sssZ` (a six-digit signed year outside 0–9999, as toISOString); RangeError for an invalid time. */
export function isoTime(ms: number): string {
  const at = new Date(ms);
  const year = at.getUTCFullYear();
  if (Number.isNaN(year)) throw new RangeError(`invalid time value: ${ms}`);
  const y = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 6)}`;
  return `${y}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}T${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}.${pad(at.getUTCMilliseconds(), 3)}Z`;
}
