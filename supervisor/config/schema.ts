/**
 * The configuration schema. A config is validated once, here, into a fully
 * defaulted and typed object; nothing downstream re-checks or re-defaults.
 */
import { z } from 'zod';
import { busySchema, updatesSchema } from '../update/config.ts';
import { selfRestartSchema } from '../restart/config.ts';
import { duration } from './duration.ts';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The values `service.stopSignal` accepts: what the service may be asked to stop with. */
export const SERVICE_STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const;

// Every time key takes whole milliseconds or a string with units ("30s").
const ms = duration();
const positiveMs = duration(1);
const port = z.number().int().min(0).max(65535);

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

const tcpCheck = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.min(1),
});

const healthSchema = z
  .strictObject({
    /** Ready and healthy when a GET answers 2xx/3xx. */
    url: httpUrl.optional(),
    /** Ready and healthy when a TCP connection opens. */
    tcp: tcpCheck.optional(),
    intervalMs: positiveMs.default(5000),
    timeoutMs: positiveMs.default(2000),
    /** Consecutive failed checks after which a running child is restarted. */
    failureThreshold: z.number().int().min(1).default(3),
    /** How long a fresh child has to become ready. */
    readyTimeoutMs: positiveMs.default(30_000),
    /**
     * Ready when the service says so: READY=1 on the unix socket named in
     * OUTLAST_NOTIFY_SOCKET (`ready()` of outlast/shutdown). A url or tcp
     * probe, if set, then only checks health.
     */
    notify: z.boolean().default(false),
  })
  .refine((h) => h.url === undefined || h.tcp === undefined, {
    error: 'set either health.url or health.tcp, not both',
  });

const backoffSchema = z.strictObject({
  initialMs: ms.default(500),
  maxMs: ms.default(30_000),
  factor: z.number().min(1).default(2),
  /** Fraction of each delay that is randomised (0 = none, 0.5 = ±50 %). */
  jitter: z.number().min(0).max(1).default(0.2),
});

const restartSchema = z.strictObject({
  /** always: respawn on any exit; on-failure: not after exit 0; never: exit with the child. */
  policy: z.enum(['always', 'on-failure', 'never']).default('always'),
  backoff: backoffSchema.prefault({}),
  /** A crash after a run this long restarts at once and does not count toward maxCrashes. */
  stableAfterMs: ms.default(1000),
  /** A run this long also forgets the fast crashes still counted in the window. */
  resetAfterMs: ms.default(30_000),
  /** This many fast crashes (runs under stableAfterMs) within windowMs put the service in `errored`. */
  maxCrashes: z.number().int().min(1).default(5),
  windowMs: positiveMs.default(60_000),
});

const serviceSchema = z.strictObject({
  command: z.array(z.string().min(1)).min(1, { error: 'needs at least the program to run' }),
  cwd: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).default({}),
  /** Pass the supervisor's own environment to the child, under `env`. */
  inheritEnv: z.boolean().default(true),
  health: healthSchema.prefault({}),
  stopSignal: z.enum(SERVICE_STOP_SIGNALS).default('SIGTERM'),
  /** The drain budget: time between the stop signal and SIGKILL to the group. */
  stopTimeoutMs: ms.default(10_000),
  restart: restartSchema.prefault({}),
  /** Asked before an update restarts the service: {busy: n}, 0 = safe. */
  busy: busySchema.optional(),
  /**
   * Sockets the supervisor owns and hands to the service (fd 3 on,
   * LISTEN_FDS): restarts and updates then start the new child, wait until it
   * is ready, and only then stop the old one.
   */
  listen: z
    .array(
      z.strictObject({
        port: port.min(1),
        host: z.string().min(1).default('127.0.0.1'),
        name: z.string().regex(/^[A-Za-z0-9_.-]{1,255}$/, { error: 'must be letters, digits, "_", "." or "-"' }).optional(),
      }),
    )
    .min(1)
    .optional(),
});

const apiSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port; supervisor.json says which. */
  port: port.default(7070),
  /** Largest accepted request body, in bytes. */
  bodyLimit: z.number().int().positive().default(64 * 1024),
});

/** The default size at which a bare supervisor's `logs/outlast.log` is rotated: 10 MiB. */
export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;

/**
 * `<stateDir>/logs/outlast.log`, which a bare supervisor (no systemd unit,
 * no runit on Termux) writes besides stdout/stderr, and `outlast logs` reads.
 */
/** `log`: the level, and the rotation of a bare supervisor's log file. */
const logSchema = z.strictObject({
  level: z.enum(LOG_LEVELS).default('info'),
  /** The size at which the file is renamed to outlast.log.1 and a new one begun. */
  maxBytes: z
    .number({ error: 'must be a number of bytes' })
    .int({ error: 'must be a whole number of bytes' })
    // Below a kilobyte, every supervisor line would begin a new file.
    .min(1024, { error: 'must be at least 1024 bytes' })
    .default(DEFAULT_LOG_MAX_BYTES),
  /** How many rotated files (outlast.log.1 … .N) are kept; 0 keeps none. */
  keep: z.number({ error: 'must be a number of files' }).int({ error: 'must be a whole number of files' }).min(0, { error: 'must be 0 or more' }).max(100, { error: 'must be at most 100' }).default(3),
});

/** The whole config file. */
export const configSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'must be letters, digits, ".", "_" or "-"' })
    .optional(),
  /** An editor's pointer to the JSON Schema (schema/outlast.schema.json); ignored by outlast. */
  $schema: z.string().optional(),
  stateDir: z.string().min(1).default('.outlast'),
  log: logSchema.prefault({}),
  service: serviceSchema,
  api: apiSchema.prefault({}),
  /** How the supervisor restarts itself: `auto` follows the platform (see `outlast doctor`). */
  selfRestart: selfRestartSchema.prefault({}),
  /** Deprecated spelling of `selfRestart`; parseConfig moves it there with a warning. */
  restart: selfRestartSchema.optional(),
  /** Self-updates; when set, the service runs in `<stateDir>/current`. */
  updates: updatesSchema.optional(),
});

/** A config as written: optional fields may be missing. */
export type ConfigInput = z.input<typeof configSchema>;
/** A validated config, every default filled in (the deprecated `restart` already moved to `selfRestart`). */
export type Config = Omit<z.output<typeof configSchema>, 'restart'> & {
  name: string;
  /** Deprecated keys the config used, one line each, for a warning at start-up. */
  deprecations?: readonly string[];
};
/** The service part of a validated config. */
export type ServiceConfig = Config['service'];
/** The restart policy part of a validated config. */
export type RestartConfig = ServiceConfig['restart'];
/** The health part of a validated config. */
export type HealthConfig = ServiceConfig['health'];
/** Log levels accepted by `log.level` and `--log-level`. */
export type LogLevel = (typeof LOG_LEVELS)[number];
