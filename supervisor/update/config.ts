/**
 * The `updates` and `service.busy` parts of the config schema.
 */
import { semver } from './semver.ts';
import { z } from 'zod';
import { duration } from '../config/duration.ts';
import { DEVICE_ID } from './rollout.ts';
import { sourceSchema } from './sources/schema.ts';
import { isTimeZone, parseWindow, TIMEZONE_HINT } from './window.ts';

const ms = duration();
const positiveMs = duration(1);

/** `updates.auto`: checks on a timer, and applies inside a maintenance window. */
export const autoSchema = z.strictObject({
  /** Time between two checks (at least a second), plus up to `jitter`. */
  checkEvery: duration(1000).default(6 * 3_600_000),
  /** The most each wait is stretched by at random, so a fleet does not ask the source at once. */
  jitter: duration().default(30 * 60_000),
  /** Apply a newer allowed version (inside the window); false only checks and reports. */
  apply: z.boolean().default(false),
  /** "HH:MM-HH:MM", may wrap midnight; any time of day when missing. */
  window: z
    .string()
    .superRefine((text, ctx) => {
      const parsed = parseWindow(text);
      if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
    })
    .optional(),
  /** Whose clock the window is read on: "local" (the process's TZ), "UTC", or an IANA zone. */
  timezone: z.string().default('local').refine(isTimeZone, { error: TIMEZONE_HINT }),
});

/** `updates.report`: a signed JSON report of each update's outcome, POSTed to a fleet's receiver (report-sender.ts). */
export const reportSchema = z.strictObject({
  /** Where each report is POSTed. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  /** A file holding the HMAC-SHA256 secret (its content, trimmed); it must exist and not be empty. */
  secretFile: z.string().min(1),
  /** The most reports kept on disk while the receiver cannot be reached; the oldest go first. */
  maxQueued: z.number().int().min(1).max(10_000).default(200),
});

/** `updates`: where releases come from and how they are proven. */
export const updatesSchema = z.strictObject({
  source: sourceSchema,
  /** Semver range of acceptable versions, e.g. "^1". */
  range: z
    .string()
    .default('*')
    .refine((r) => semver.validRange(r) !== null, { error: 'must be a semver range such as "^1" or ">=1.2 <2"' }),
  prerelease: z.boolean().default(false),
  /** The version to install on first start; the highest allowed one when missing. */
  initialVersion: z.string().optional(),
  install: z.array(z.string().min(1)).min(1).optional(),
  installTimeoutMs: positiveMs.default(300_000),
  preflight: z.array(z.string().min(1)).min(1).optional(),
  preflightTimeoutMs: positiveMs.default(30_000),
  healthGate: z
    .strictObject({ timeoutMs: positiveMs.default(30_000), stableForMs: ms.default(5_000) })
    .prefault({}),
  /** Releases kept on disk (current and previous are never pruned). */
  keep: z.number().int().min(2).default(3),
  /** The largest release accepted, in bytes. */
  maxBytes: z.number().int().positive().default(512 * 1024 * 1024),
  /**
   * The most a release may unpack to, in bytes: its plain tar stream and the
   * files written from it. When missing, 8 × maxBytes (UNPACKED_RATIO in stage.ts).
   */
  maxUnpackedBytes: z.number().int().positive().optional(),
  /** The most the download of a release may take (http source), retries included, in ms. */
  fetchTimeoutMs: positiveMs.default(600_000),
  /**
   * The least average download rate (http source), in bytes per second,
   * over a sliding 30 s window and not before the first 30 s; 0 turns it off.
   */
  minBytesPerSecond: z.number().int().nonnegative().default(1024),
  /**
   * The releases contain the supervisor itself (it runs from
   * `<stateDir>/current/`): an update restarts the supervisor with the
   * platform's strategy, and the new image runs the health gate. Detected
   * when missing.
   */
  selfUpdate: z.boolean().optional(),
  /**
   * What a self-update does with the service once the new supervisor, which
   * adopted the running child across its re-exec (strategy `reexec`), has
   * passed its own gate: `restart` moves the service onto the new release
   * (a handoff with `service.listen`), judged by the health gate as in any
   * update; `keep` leaves the child running the code it was started from
   * until its next restart (releases whose service did not change).
   */
  selfUpdateService: z.enum(['restart', 'keep']).default('restart'),
  /**
   * A release shipped with this install (the app folder of a container
   * image), its version from its package.json. At start it is installed when
   * nothing is, and adopted through the health gate when it is newer than
   * `current`; an older one is ignored (an update already went further).
   */
  bundled: z.string().min(1).optional(),
  /**
   * This device's id for staged rollouts and outcome reports; when missing,
   * one is generated once into `<stateDir>/device-id`.
   */
  deviceId: z.string().regex(DEVICE_ID, { error: 'must be 1 to 128 letters, digits or ._:@- (starting with a letter or digit)' }).optional(),
  /** How long `GET /updates/check` answers from cache. */
  checkTtlMs: ms.default(60_000),
  /** Scheduled checks, and applies inside a maintenance window (auto.ts). */
  auto: autoSchema.optional(),
  /** Outcome reports to a fleet's receiver. */
  report: reportSchema.optional(),
});

/** `service.busy`: the restart-safe gate. */
export const busySchema = z.strictObject({
  /** Answers {busy: n}; 0 means safe to restart. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  maxWaitMs: ms.default(30_000),
  pollMs: positiveMs.default(500),
});

/** A validated `updates` block. */
export type UpdatesConfig = z.output<typeof updatesSchema>;
/** A validated `updates.report` block. */
export type ReportConfig = z.output<typeof reportSchema>;
/** A validated `updates.auto` block. */
export type AutoUpdateConfig = z.output<typeof autoSchema>;
