/**
 * `updates.auto`: updates that run themselves. A check on a timer (every
 * `checkEvery`, stretched by a random part of `jitter`); with `apply`, a
 * newer allowed version is applied, but only inside the maintenance window
 * and through the same path as `POST /updates/apply` (its lock, its busy
 * gate, its health gate). Every answer that means "not now" (outside the
 * window, another update holds the lock, the service stayed busy) waits for
 * a later check; nothing is forced, so a version marked bad stays skipped.
 *
 * One loop owns the schedule; the Updater owns everything it starts.
 */
import { toOutlastError, type ErrorCode } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import type { CheckResult } from './check.ts';
import type { AutoUpdateConfig } from './config.ts';
import type { Updater } from './updater.ts';
import { inWindow, nextOpening, parseWindow, windowLengthMs, type MaintenanceWindow } from './window.ts';
import { isoTime } from '../iso-time.ts';

/** What a scheduled check found, and what came of it. */
export type AutoOutcome =
  /** Nothing newer that may be installed (a version marked bad is named in `markedBad`). */
  | 'up-to-date'
  /** A newer version; `apply` is off, so it is only reported. */
  | 'available'
  /** A newer version, outside the window: the next check comes when the window opens. */
  | 'outside-window'
  /** An apply started: `operation` says which. */
  | 'applying'
  /** Another update holds the lock, or the service stayed busy: the next check tries again. */
  | 'deferred'
  /** The check or the apply failed (`error`): the next check tries again. */
  | 'failed';

/** One scheduled check, for `GET /status` (`updates.auto.lastCheck`) and the `update_check` event. */
export interface AutoCheck {
  checkedAt: string;
  outcome: AutoOutcome;
  current: string | null;
  latest: string | null;
  available: boolean;
  markedBad?: CheckResult['markedBad'];
  /** Where this device stands in the staged rollout of the newest version (`included: false`: not yet for this device). */
  rollout?: CheckResult['rollout'];
  operation?: { id: string; from: string | null; to: string };
  error?: { code: ErrorCode; message: string };
  /** When the next check is due. */
  nextCheckAt: string;
}

/** `updates.auto` in `GET /status`. */
export interface AutoStatus {
  apply: boolean;
  window: string | null;
  timezone: string;
  lastCheck: AutoCheck | null;
  nextCheckAt: string | null;
}

/** What the scheduler needs. */
export interface AutoUpdaterDeps {
  host: Pick<Host, 'clock' | 'random'>;
  config: AutoUpdateConfig;
  updater: Pick<Updater, 'check' | 'apply'>;
  events: EventBus;
  logger: Logger;
}

// The longest single sleep: the wall clock is looked at again after it, so
// a device that slept (the monotonic clock stands still in suspend) or a
// clock that was set does not push a check or a window far off.
const MAX_SLEEP_MS = 10 * 60_000;

/** Answers that mean "not now", not "broken". */
const DEFERRED: ReadonlySet<ErrorCode> = new Set(['UPDATE_IN_PROGRESS', 'RESTART_BLOCKED', 'NOT_IN_ROLLOUT']);

/** The schedule of one supervisor's automatic checks and applies. */
export class AutoUpdater {
  readonly #deps: AutoUpdaterDeps;
  readonly #window: MaintenanceWindow | undefined;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #last: AutoCheck | undefined;
  #nextAt: number | undefined;

  constructor(deps: AutoUpdaterDeps) {
    this.#deps = deps;
    const window = deps.config.window === undefined ? undefined : parseWindow(deps.config.window);
    // The schema has already refused a bad window.
    this.#window = window === undefined || 'error' in window ? undefined : window;
  }

  /**
   * Starts the loop: the first check after a random part of `jitter` (at
   * once without jitter), so a fleet restarted together does not ask at
   * once, and a supervisor restarted more often than `checkEvery` still
   * checks. Its timers never keep the process alive on their own.
   */
  start(): void {
    if (this.#loop !== undefined || this.#abort.signal.aborted) return;
    // Once the supervisor begins to stop, no apply may start: it would
    // restart the service in the middle of its drain.
    const off = this.#deps.events.subscribe((event) => {
      if (event.type === 'service_shutdown') this.stop();
    });
    this.#abort.signal.addEventListener('abort', off, { once: true });
    this.#loop = this.#run(this.#deps.host.random() * this.#deps.config.jitter);
  }

  /**
   * Stops the loop at once, without waiting for a check in flight (that
   * one still reports, but starts no apply); an apply already started goes
   * on, as one started by a request would (the Updater owns it).
   */
  stop(): void {
    this.#abort.abort();
  }

  /** Resolves once the loop has ended (after stop). */
  get stopped(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /** The schedule, the last check, and when the next one is due. */
  status(): AutoStatus {
    const { config } = this.#deps;
    return {
      apply: config.apply,
      window: config.window ?? null,
      timezone: config.timezone,
      lastCheck: this.#last ?? null,
      nextCheckAt: this.#nextAt === undefined || this.#abort.signal.aborted ? null : iso(this.#nextAt),
    };
  }

  async #run(firstWaitMs: number): Promise<void> {
    const { host, logger } = this.#deps;
    const { signal } = this.#abort;
    let waitMs = firstWaitMs;
    while (!signal.aborted) {
      this.#nextAt = host.clock.now() + waitMs;
      try {
        await this.#sleep(waitMs, signal);
      } catch {
        return;
      }
      try {
        waitMs = await this.#tick(signal);
      } catch (err) {
        // #tick reports its own failures; this is a bug, and the schedule goes on.
        logger.error({ err }, 'auto-update: the scheduled check failed unexpectedly');
        waitMs = this.#regularWait();
      }
    }
  }

  /** One scheduled check, and the apply it may start; returns the wait until the next one. */
  async #tick(signal: AbortSignal): Promise<number> {
    const { host, config, updater } = this.#deps;
    const checkedAt = host.clock.now();
    let found: CheckResult;
    try {
      found = await updater.check(true);
    } catch (err) {
      return this.#report({ checkedAt, outcome: 'failed', current: null, latest: null, available: false, error: brief(err) }, this.#regularWait());
    }
    const seen = {
      checkedAt,
      current: found.current,
      latest: found.latest,
      available: found.available,
      ...(found.markedBad === undefined ? {} : { markedBad: found.markedBad }),
      ...(found.rollout === undefined ? {} : { rollout: found.rollout }),
    };
    if (!found.available || found.latest === null) return this.#report({ ...seen, outcome: 'up-to-date' }, this.#regularWait());
    if (!config.apply) return this.#report({ ...seen, outcome: 'available' }, this.#regularWait());
    const now = host.clock.now();
    if (this.#window !== undefined && !inWindow(this.#window, now, config.timezone)) {
      return this.#report({ ...seen, outcome: 'outside-window' }, this.#untilWindow(this.#window, now));
    }
    if (signal.aborted) return 0;
    try {
      // The version this check found, never forced: the selection's rules
      // (range, no downgrade, a version marked bad) hold as for a request,
      // and so does the staged rollout (a percent lowered since the check).
      const started = await updater.apply({ version: found.latest, rollout: true });
      if ('upToDate' in started) return this.#report({ ...seen, outcome: 'up-to-date', available: false }, this.#regularWait());
      return this.#report({ ...seen, outcome: 'applying', operation: started }, this.#regularWait());
    } catch (err) {
      const error = brief(err);
      return this.#report({ ...seen, outcome: DEFERRED.has(error.code) ? 'deferred' : 'failed', error }, this.#regularWait());
    }
  }

  /** Records, announces and logs a check; returns `waitMs`. */
  #report(check: Omit<AutoCheck, 'nextCheckAt' | 'checkedAt'> & { checkedAt: number }, waitMs: number): number {
    const { host, events, logger } = this.#deps;
    const full: AutoCheck = { ...check, checkedAt: iso(check.checkedAt), nextCheckAt: iso(host.clock.now() + waitMs) };
    this.#last = full;
    events.emit('update_check', full);
    const fields = { outcome: full.outcome, current: full.current, latest: full.latest, nextCheckAt: full.nextCheckAt, ...(full.operation === undefined ? {} : { id: full.operation.id }), ...(full.error === undefined ? {} : { error: full.error }) };
    if (full.outcome === 'failed') logger.warn(fields, 'auto-update: scheduled check failed');
    else if (full.outcome === 'up-to-date') logger.debug(fields, 'auto-update: up to date');
    else logger.info(fields, `auto-update: ${MESSAGES[full.outcome]}`);
    return waitMs;
  }

  /** checkEvery, plus a random part of jitter. */
  #regularWait(): number {
    const { host, config } = this.#deps;
    return config.checkEvery + host.random() * config.jitter;
  }

  /**
   * An update is waiting for the window: check again when it opens (plus a
   * random part of jitter, kept within the first half of the window so the
   * check still lands inside it), unless the regular check comes first.
   */
  #untilWindow(window: MaintenanceWindow, now: number): number {
    const { host, config } = this.#deps;
    const spread = host.random() * Math.min(config.jitter, windowLengthMs(window) / 2);
    return Math.min(this.#regularWait(), nextOpening(window, now, config.timezone) - now + spread);
  }

  /** Sleeps `ms`, in slices that look at both clocks; rejects when aborted. */
  async #sleep(ms: number, signal: AbortSignal): Promise<void> {
    const { clock } = this.#deps.host;
    const [wallDue, monoDue] = [clock.now() + ms, clock.monotonic() + ms];
    for (;;) {
      const left = Math.min(wallDue - clock.now(), monoDue - clock.monotonic());
      if (left <= 0) return;
      await clock.sleep(Math.min(left, MAX_SLEEP_MS), signal, { ref: false });
    }
  }
}

const MESSAGES: Record<Exclude<AutoOutcome, 'up-to-date' | 'failed'>, string> = {
  available: 'a newer version is available (apply is off: reported only)',
  'outside-window': 'a newer version waits for the maintenance window',
  applying: 'applying a newer version',
  deferred: 'not now: the next check tries again',
};

function brief(err: unknown): { code: ErrorCode; message: string } {
  const error = toOutlastError(err);
  return { code: error.code, message: error.message };
}

function iso(ms: number): string {
  return isoTime(ms);
}
