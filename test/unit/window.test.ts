/**
 * Maintenance windows: parsing, a window that wraps midnight, and the days
 * whose clocks change (Europe/Berlin springs forward on the last Sunday of
 * March at 02:00 and falls back on the last Sunday of October at 03:00), as
 * an IANA zone and as the process's local zone (TZ).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inWindow, isTimeZone, minuteOfDay, nextOpening, parseWindow, windowLengthMs, type MaintenanceWindow } from '../../supervisor/update/window.ts';

const at = (iso: string): number => Date.parse(iso);
const utc = (ms: number): string => new Date(ms).toISOString();

function window(text: string): MaintenanceWindow {
  const parsed = parseWindow(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

describe('parseWindow', () => {
  it('reads HH:MM-HH:MM into minutes of the day', () => {
    expect(parseWindow('02:00-05:00')).toEqual({ start: 120, end: 300 });
    expect(parseWindow('22:00-04:30')).toEqual({ start: 1320, end: 270 });
    expect(parseWindow(' 9:15 - 17:45 ')).toEqual({ start: 555, end: 1065 });
    expect(parseWindow('00:00-24:00')).toEqual({ start: 0, end: 1440 });
  });

  it('says what is wrong', () => {
    expect(parseWindow('2am-5am')).toEqual({ error: 'must be "HH:MM-HH:MM" on a 24-hour clock, such as "02:00-05:00" or "22:00-04:00"' });
    expect(parseWindow('02:00')).toMatchObject({ error: expect.stringContaining('HH:MM-HH:MM') as string });
    expect(parseWindow('25:00-05:00')).toEqual({ error: 'has 25:00, which is no time of day (hours 00-23, minutes 00-59; "24:00" only as the end)' });
    expect(parseWindow('02:00-05:60')).toMatchObject({ error: expect.stringContaining('has 05:60') as string });
    expect(parseWindow('24:00-05:00')).toMatchObject({ error: expect.stringContaining('has 24:00') as string });
    expect(parseWindow('03:00-03:00')).toEqual({ error: 'starts and ends at the same minute; leave the window out to allow any time of day' });
  });
});

describe('isTimeZone', () => {
  it('knows local, UTC and IANA zones, and nothing else', () => {
    for (const zone of ['local', 'UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata']) expect(isTimeZone(zone), zone).toBe(true);
    for (const zone of ['Mars/Olympus_Mons', 'CEST+1', '', 'local time']) expect(isTimeZone(zone), zone).toBe(false);
  });
});

describe('a window that wraps midnight', () => {
  const night = window('22:00-04:00');

  it('holds the evening and the early morning, and not the day', () => {
    expect(inWindow(night, at('2025-06-01T22:00:00Z'), 'UTC')).toBe(true);
    expect(inWindow(night, at('2025-06-01T23:59:59Z'), 'UTC')).toBe(true);
    expect(inWindow(night, at('2025-06-02T00:00:00Z'), 'UTC')).toBe(true);
    expect(inWindow(night, at('2025-06-02T03:59:59Z'), 'UTC')).toBe(true);
    expect(inWindow(night, at('2025-06-02T04:00:00Z'), 'UTC')).toBe(false);
    expect(inWindow(night, at('2025-06-02T12:00:00Z'), 'UTC')).toBe(false);
    expect(inWindow(night, at('2025-06-02T21:59:00Z'), 'UTC')).toBe(false);
    expect(windowLengthMs(night)).toBe(6 * 3_600_000);
  });

  it('opens next at 22:00, the same day or the next', () => {
    expect(utc(nextOpening(night, at('2025-06-02T12:00:00Z'), 'UTC'))).toBe('2025-06-02T22:00:00.000Z');
    expect(utc(nextOpening(night, at('2025-06-02T04:00:00Z'), 'UTC'))).toBe('2025-06-02T22:00:00.000Z');
    expect(utc(nextOpening(night, at('2025-06-02T21:59:30Z'), 'UTC'))).toBe('2025-06-02T22:00:00.000Z');
    // Already inside: now.
    expect(nextOpening(night, at('2025-06-02T01:23:45Z'), 'UTC')).toBe(at('2025-06-02T01:23:45Z'));
  });

  it('is read on the zone’s clock, not UTC', () => {
    // 22:00 in New York (EDT, UTC-4) is 02:00 UTC.
    expect(utc(nextOpening(night, at('2025-06-02T12:00:00Z'), 'America/New_York'))).toBe('2025-06-03T02:00:00.000Z');
    expect(minuteOfDay(at('2025-06-02T12:00:00Z'), 'Asia/Kolkata')).toBe(17 * 60 + 30);
  });
});

/** The DST cases, for a zone name: 'Europe/Berlin', or 'local' with TZ=Europe/Berlin. */
function berlinDays(zone: string): void {
  const early = window('02:00-05:00');

  it('spring forward (30 March 2025): 02:00 does not exist, the window opens at 03:00 CEST', () => {
    // Saturday noon CET (11:00 UTC); on Sunday 01:59 CET (00:59 UTC) is followed by 03:00 CEST (01:00 UTC).
    const opening = nextOpening(early, at('2025-03-29T11:00:00Z'), zone);
    expect(utc(opening)).toBe('2025-03-30T01:00:00.000Z');
    expect(minuteOfDay(opening, zone)).toBe(3 * 60);
    expect(inWindow(early, at('2025-03-30T00:59:00Z'), zone)).toBe(false);
    // 05:00 CEST is 03:00 UTC: the window lasts 2 hours that night.
    expect(inWindow(early, at('2025-03-30T02:59:00Z'), zone)).toBe(true);
    expect(inWindow(early, at('2025-03-30T03:00:00Z'), zone)).toBe(false);
    // A window inside the skipped hour opens at the first minute after it.
    expect(utc(nextOpening(window('02:30-03:30'), at('2025-03-29T11:00:00Z'), zone))).toBe('2025-03-30T01:00:00.000Z');
    // One wholly inside it does not happen that night: Monday's 02:15 CEST.
    expect(utc(nextOpening(window('02:15-02:45'), at('2025-03-29T11:00:00Z'), zone))).toBe('2025-03-31T00:15:00.000Z');
    // The next night is a plain summer night: 02:00 CEST is 00:00 UTC.
    expect(utc(nextOpening(early, at('2025-03-30T03:00:00Z'), zone))).toBe('2025-03-31T00:00:00.000Z');
  });

  it('fall back (26 October 2025): 02:00-03:00 comes twice, and the window holds both', () => {
    const hour = window('02:00-03:00');
    // 02:00 CEST is 00:00 UTC; at 01:00 UTC the clocks go from 03:00 CEST back to 02:00 CET.
    expect(utc(nextOpening(hour, at('2025-10-25T12:00:00Z'), zone))).toBe('2025-10-26T00:00:00.000Z');
    expect(inWindow(hour, at('2025-10-26T00:30:00Z'), zone)).toBe(true);
    expect(inWindow(hour, at('2025-10-26T01:30:00Z'), zone)).toBe(true);
    expect(inWindow(hour, at('2025-10-26T02:00:00Z'), zone)).toBe(false);
    // After both passes, the next is Monday's 02:00 CET = 01:00 UTC.
    expect(utc(nextOpening(hour, at('2025-10-26T02:00:00Z'), zone))).toBe('2025-10-27T01:00:00.000Z');
    // A window that ends just before the change still opens a second time in the repeated hour.
    const half = window('02:00-02:30');
    expect(inWindow(half, at('2025-10-26T00:40:00Z'), zone)).toBe(false);
    expect(utc(nextOpening(half, at('2025-10-26T00:40:00Z'), zone))).toBe('2025-10-26T01:00:00.000Z');
    // The winter night: 02:00 CET is 01:00 UTC.
    expect(utc(nextOpening(early, at('2025-10-26T12:00:00Z'), zone))).toBe('2025-10-27T01:00:00.000Z');
  });
}

describe('daylight saving in Europe/Berlin, as an IANA zone', () => {
  berlinDays('Europe/Berlin');
});

describe('daylight saving in Europe/Berlin, as the local zone (TZ)', () => {
  const saved = process.env.TZ;
  // Node reloads the zone whenever TZ is assigned (this test file has its own process).
  beforeAll(() => void (process.env.TZ = 'Europe/Berlin'));
  afterAll(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });

  it('runs the process on Berlin time', () => {
    expect(new Date(at('2025-01-15T12:00:00Z')).getHours()).toBe(13);
    expect(new Date(at('2025-07-15T12:00:00Z')).getHours()).toBe(14);
  });
  berlinDays('local');
});
