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
}

/** Creates the supervisor logger writing to `sink`. */
export function createLogger(options: LoggerOptions): Logger {
  const base = { pid: options.pid, ...options.base };
  if (options.pretty !== undefined) {
    const stream = options.pretty({
      destination: sinkStream(options.sink),
      sync: true,
      colorize: true,
      ignore: 'pid,hostname',
      translateTime: 'HH:MM:ss.l',
    });
    return pino({ level: options.level, base }, stream);
  }
  return pino({ level: options.level, base, timestamp: pino.stdTimeFunctions.isoTime }, {
    write: (line: string) => options.sink.write(line),
  });
}
