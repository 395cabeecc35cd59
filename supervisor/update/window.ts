/**
 * Maintenance windows: "HH:MM-HH:MM" on the clock of a time zone ("local",
 * "UTC" or an IANA name such as "Europe/Berlin"), which may wrap midnight
 * ("22:00-04:00"). Pure functions of an instant; the caller brings the
 * clock.
 */

const DAY_MINUTES = 24 * 60;
const MINUTE_MS = 60_000;

/** A parsed window: minutes of the day, `end` exclusive (1440 for "24:00"); `start > end` wraps midnight. */
export interface MaintenanceWindow {
  start: number;
  end: number;
}

/** What `updates.auto.window` is told when it is not a window. */
export const WINDOW_HINT = 'must be "HH:MM-HH:MM" on a 24-hour clock, such as "02:00-05:00" or "22:00-04:00"';

/** What `updates.auto.timezone` is told when it is not a zone. */
export const TIMEZONE_HINT = 'must be "local", "UTC" or an IANA time zone such as "Europe/Berlin"';

/** Parses "HH:MM-HH:MM", or says what is wrong with it. */
export function parseWindow(text: string): MaintenanceWindow | { error: string } {
  const match = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(text);
  if (match === null) return { error: WINDOW_HINT };
  const [start, end] = [minutes(match[1]!, match[2]!, false), minutes(match[3]!, match[4]!, true)];
  for (const [value, written] of [[start, `${match[1]}:${match[2]}`], [end, `${match[3]}:${match[4]}`]] as const) {
    if (value === undefined) return { error: `has ${written}, which is no time of day (hours 00-23, minutes 00-59; "24:00" only as the end)` };
  }
  if (start === end) return { error: 'starts and ends at the same minute; leave the window out to allow any time of day' };
  return { start: start!, end: end! };
}

function minutes(hours: string, mins: string, isEnd: boolean): number | undefined {
  const [h, m] = [Number(hours), Number(mins)];
  if (isEnd && h === 24 && m === 0) return DAY_MINUTES;
  return h <= 23 && m <= 59 ? h * 60 + m : undefined;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let found = formatters.get(zone);
  if (found === undefined) {
    found = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
    formatters.set(zone, found);
  }
  return found;
}

/** Whether `zone` is "local", "UTC" or a zone this runtime's Intl knows. */
export function isTimeZone(zone: string): boolean {
  if (zone === 'local' || zone === 'UTC') return true;
  try {
    formatter(zone);
    return true;
  } catch {
    // RangeError: an unknown zone (or a runtime built without its data).
    return false;
  }
}

/**
 * The minute of the day (0-1439) that the clocks of `zone` show at `at`
 * (ms since the epoch). "local" is this process's zone (TZ).
 */
export function minuteOfDay(at: number, zone: string): number {
  const date = new Date(at);
  if (zone === 'local') return date.getHours() * 60 + date.getMinutes();
  if (zone === 'UTC') return date.getUTCHours() * 60 + date.getUTCMinutes();
  let hour = 0;
  let minute = 0;
  for (const part of formatter(zone).formatToParts(date)) {
    if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return hour * 60 + minute;
}

/** Whether the clock reading `minute` is inside `window`. */
function contains(window: MaintenanceWindow, minute: number): boolean {
  return window.start < window.end ? minute >= window.start && minute < window.end : minute >= window.start || minute < window.end;
}

/** Whether `at` falls inside `window` on the clocks of `zone`. */
export function inWindow(window: MaintenanceWindow, at: number, zone: string): boolean {
  return contains(window, minuteOfDay(at, zone));
}

/** The window's length on a day without a clock change, in ms. */
export function windowLengthMs(window: MaintenanceWindow): number {
  return ((window.end - window.start + DAY_MINUTES) % DAY_MINUTES || DAY_MINUTES) * MINUTE_MS;
}

// A zone's offset moves by at most this much within a couple of days
// (daylight saving: 1 h; 2 h in a few historic zones).
const MAX_SHIFT_MINUTES = 120;

/**
 * The first instant at or after `at` that is inside `window` (`at` itself
 * when it is), on a whole minute. A day whose clocks skip the window's start
 * (spring forward at 02:00 with a window from 02:30) opens at the first
 * minute the clocks show inside it; a day that repeats an hour may open twice.
 */
export function nextOpening(window: MaintenanceWindow, at: number, zone: string): number {
  if (inWindow(window, at, zone)) return at;
  let t = Math.ceil(at / MINUTE_MS) * MINUTE_MS;
  // Three days of minutes bound the walk; a real zone opens within two.
  for (let steps = 0; steps < 3 * DAY_MINUTES; steps++) {
    const minute = minuteOfDay(t, zone);
    if (contains(window, minute)) return t;
    // Big jumps on the zone's clock, never past an opening: between here and
    // the landing the offset can move by at most MAX_SHIFT_MINUTES either
    // way, so the jump stops that much short of the start, and is only taken
    // once the clocks are that far past the end (a repeated hour could bring
    // them back into the window). The last stretch goes minute by minute.
    const ahead = (window.start - minute + DAY_MINUTES) % DAY_MINUTES;
    const sinceEnd = (minute - (window.end % DAY_MINUTES) + DAY_MINUTES) % DAY_MINUTES;
    const jump = sinceEnd >= MAX_SHIFT_MINUTES ? ahead - MAX_SHIFT_MINUTES : 1;
    t += Math.max(1, jump) * MINUTE_MS;
  }
  return t;
}
