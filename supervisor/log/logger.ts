/**
 * The supervisor's logger: one JSON object per line (pino's line format:
 * `level` as pino's number, `time` in ISO 8601, `pid`, the base fields, the
 * call's fields, `msg`), and on a terminal the same lines in a short human
 * form (pretty.ts). It is the project's own rather than pino: pino and its
 * helpers were the last packages an idle supervisor kept resident, and a
 * supervisor writes a few lines a minute, synchronously, to a sink that
 * never throws.
 */
import type { LogLevel } from '../config/schema.ts';
import { prettyLine } from './pretty.ts';
import { safeJson, unwritable } from './safe-json.ts';
import type { Sink } from './safe-sink.ts';
import { isoTime } from '../iso-time.ts';

/** One level's method: `logger.info({ pid }, 'started')` or `logger.info('started')`. */
export interface LogFn {
  (fields: object, msg?: string): void;
  (msg: string): void;
}

/** The supervisor's logger. */
export interface Logger {
  /** The configured level; calls below it write nothing. */
  readonly level: LogLevel;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
}

/** pino's numbers for the levels, which log readers key on. */
export const LEVEL_NUMBERS: Readonly<Record<Exclude<LogLevel, 'silent'>, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level: LogLevel;
  sink: Sink;
  /** The pid on every line: the Host's (`host.pid`), so a fake Host's logs name its fake pid. */
  pid: number;
  /** Human-readable output on `sink` (a terminal); the file still gets JSON. */
  pretty?: boolean | undefined;
  /** Fields on every line, e.g. the service name. */
  base?: Record<string, unknown>;
  /** A second destination that always gets the JSON lines, pretty terminal or not: the log file. */
  file?: Sink | undefined;
  /** The wall clock of `time` (the Host's); Date.now when missing. */
  now?: (() => number) | undefined;
}

/** Creates the supervisor logger writing to `sink` (and to `file`). */
export function createLogger(options: LoggerOptions): Logger {
  const threshold = options.level === 'silent' ? Infinity : LEVEL_NUMBERS[options.level];
  const base = { pid: options.pid, ...options.base };
  const now = options.now ?? Date.now;
  const { sink, file } = options;
  const pretty = options.pretty === true;
  const method = (level: Exclude<LogLevel, 'silent'>): LogFn => {
    const number = LEVEL_NUMBERS[level];
    if (number < threshold) return () => undefined;
    return (first: object | string, msg?: string) => {
      const fields = typeof first === 'string' ? {} : first;
      const text = typeof first === 'string' ? first : msg;
      let line: string;
      let shown: string;
      try {
        const record = { level: number, time: isoTime(now()), ...base, ...fields, ...(text === undefined ? {} : { msg: text }) };
        line = `${safeJson(record)}\n`;
        shown = pretty ? prettyLine(record) : line;
      } catch (err) {
        // A getter that throws, met while copying the fields.
        line = `${unwritable(err)}\n`;
        shown = line;
      }
      sink.write(shown);
      file?.write(line);
    };
  };
  return {
    level: options.level,
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
  };
}
