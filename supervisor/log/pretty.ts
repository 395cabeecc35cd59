/**
 * A log line as a person at a terminal reads it:
 *
 *     13:05:09.412 INFO  (app): outlast supervisor started
 *         apiUrl: "http://127.0.0.1:7070"
 *
 * The time (local, to the millisecond), the level in its color, the name,
 * the message, then each other field on a line of its own. Colors only:
 * the caller decides that the sink is a terminal.
 */
import { safeJson } from './safe-json.ts';

const NAMES: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[34m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[41m'],
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

const two = (n: number): string => String(n).padStart(2, '0');

/** `record` (a logger's line before JSON) as text, ending in a newline. */
export function prettyLine(record: { level: number; time: string; msg?: string; name?: unknown; pid?: unknown } & Record<string, unknown>): string {
  const { level, time, msg, name, ...fields } = record;
  // The pid is the supervisor's own, the same on every line: left out, as a terminal shows one run.
  const rest = Object.entries(fields).filter(([key]) => key !== 'pid');
  const at = new Date(time);
  const clock = `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}.${String(at.getMilliseconds()).padStart(3, '0')}`;
  const [label, color] = NAMES[level] ?? [String(level), ''];
  const who = typeof name === 'string' ? ` (${name})` : '';
  const lines = [`${DIM}${clock}${RESET} ${color}${label}${RESET}${who}: ${msg ?? ''}`];
  for (const [key, value] of rest) {
    const shown = key === 'err' && typeof value === 'object' && value !== null && typeof (value as { stack?: unknown }).stack === 'string' ? (value as { stack: string }).stack.replace(/\n/g, '\n        ') : safeJson({ v: value }).slice(5, -1);
    lines.push(`    ${key}: ${shown}`);
  }
  return `${lines.join('\n')}\n`;
}
