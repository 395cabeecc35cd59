/**
 * The supervisor's logger: pino JSON lines by default, pretty on a terminal.
 * Behaviour is chosen once, at construction, so the hot path stays a plain
 * pino call.
 */
import { pino, type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import type { LogLevel } from '../config/schema.ts';
import { sinkStream, type Sink } from './safe-sink.ts';

export type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level: LogLevel;
  sink: Sink;
  /** The pid on every line: the Host's (`host.pid`), so a fake Host's logs name its fake pid. */
  pid: number;
  /**
   * Human-readable output for a terminal: pass pino-pretty's factory. It is
   * handed in rather than imported here so a supervisor logging JSON never
   * loads it (it costs memory for as long as the supervisor lives).
   */
  pretty?: ((options: PrettyOptions) => NodeJS.WritableStream) | undefined;
  /** Fields on every line, e.g. the service name. */
  base?: Record<string, unknown>;
  /** A second destination that always gets the JSON lines, pretty terminal or not: the log file. */
  file?: Sink | undefined;
}

/** Creates the supervisor logger writing to `sink` (and to `file`). */
export function createLogger(options: LoggerOptions): Logger {
  const base = { pid: options.pid, ...options.base };
  const { file } = options;
  // pino formats each line once, as JSON; pino-pretty turns that same line
  // into the terminal's form, so the file keeps JSON even on a terminal.
  const terminal: { write(line: string): unknown } =
    options.pretty === undefined
      ? options.sink
      : options.pretty({
          destination: sinkStream(options.sink),
          sync: true,
          colorize: true,
          ignore: 'pid,hostname',
          translateTime: 'HH:MM:ss.l',
        });
  const write =
    file === undefined
      ? (line: string) => void terminal.write(line)
      : (line: string) => {
          terminal.write(line);
          file.write(line);
        };
  return pino({ level: options.level, base, timestamp: pino.stdTimeFunctions.isoTime }, { write });
}
