/**
 * The options of gracefulShutdown, and their defaults. Everything is decided
 * here, once, so the drain itself never re-checks a setting.
 */

/** Where the helper logs its phases: `console`, outlast's or pino's logger, anything with these three. */
export interface ShutdownLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Work to do after the connections are gone (close a database, flush a
 * queue). `signal` aborts when the hook's time is up, for hooks that can
 * cancel; a hook that ignores it is abandoned, not awaited.
 */
export type ShutdownHook = (reason: string, signal: AbortSignal) => unknown;

/** Options of {@link gracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** How long requests in flight may take to finish once the stop begins. Default 10000. */
  drainMs?: number;
  /** The signals that start the shutdown. Default SIGTERM and SIGINT; `[]` for programmatic use only. */
  signals?: readonly NodeJS.Signals[];
  /** Run in order after the connections are closed, each within `hookTimeoutMs`. */
  onShutdown?: ShutdownHook | readonly ShutdownHook[];
  /** The time each hook gets. Default 1000. */
  hookTimeoutMs?: number;
  /**
   * The fallback: exit(1) this long after the stop began, whatever is still
   * pending. The timer is unref'd, so it never keeps a finished process
   * alive. Default drainMs + 1000.
   */
  hardExitMs?: number;
  /** Default `console`. */
  logger?: ShutdownLogger;
  /** How the process ends. Default process.exit; tests pass their own. */
  exit?: (code: number) => void;
  /** Where `ready()` finds OUTLAST_NOTIFY_SOCKET. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The options with every default filled in. */
export interface ShutdownSettings {
  drainMs: number;
  signals: readonly NodeJS.Signals[];
  hooks: readonly ShutdownHook[];
  hookTimeoutMs: number;
  hardExitMs: number;
  logger: ShutdownLogger;
  exit: (code: number) => void;
  env: Readonly<Record<string, string | undefined>>;
}

function duration(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`gracefulShutdown: ${name} must be a number of ms >= 0, got ${String(value)}`);
  return value;
}

/** Fills in the defaults; throws a RangeError for a negative or non-finite duration. */
export function resolveOptions(options: GracefulShutdownOptions): ShutdownSettings {
  const drainMs = duration('drainMs', options.drainMs, 10_000);
  const hooks = options.onShutdown === undefined ? [] : typeof options.onShutdown === 'function' ? [options.onShutdown] : [...options.onShutdown];
  return {
    drainMs,
    signals: options.signals ?? ['SIGTERM', 'SIGINT'],
    hooks,
    hookTimeoutMs: duration('hookTimeoutMs', options.hookTimeoutMs, 1000),
    hardExitMs: duration('hardExitMs', options.hardExitMs, drainMs + 1000),
    logger: options.logger ?? console,
    // The service's own exit, by design: this helper is the service's edge.
    // eslint-disable-next-line no-restricted-properties
    exit: options.exit ?? ((code) => process.exit(code)),
    env: options.env ?? process.env,
  };
}
