/**
 * `GET /updates/check`: the running version against the best one the source
 * offers, cached for `checkTtlMs` and single-flight, so a page that polls
 * cannot turn into a stream of requests to the source.
 */
import { semver } from './semver.ts';
import { OutlastError } from '../errors.ts';
import { readBadVersions } from './bad-versions.ts';
import type { UpdateContext } from './context.ts';
import { heldBack, rolloutVerdict, type RolloutVerdict } from './rollout.ts';
import { latestAllowed } from './selection.ts';
import type { ReleaseEntry } from './sources/source.ts';
import { isoTime } from '../iso-time.ts';

/** What `GET /updates/check` answers. */
export interface CheckResult {
  current: string | null;
  latest: string | null;
  available: boolean;
  checkedAt: string;
  /**
   * A newer version the source offers that is skipped because it was rolled
   * back before (by its gate, or by request), with why; applying it needs force.
   */
  markedBad?: { version: string; reason: string };
  /**
   * The newest version this device could take (in range, not marked bad)
   * is in a staged rollout: where this device stands in it. When it is not
   * `included`, that version is available, not yet for this device, and
   * `latest` is the newest one it takes now.
   */
  rollout?: RolloutVerdict;
}

const LIST_TIMEOUT_MS = 60_000;

/** Every release the source offers; a source failure that is not already coded is SOURCE_UNAVAILABLE. */
export async function listReleases(ctx: Pick<UpdateContext, 'source'>): Promise<ReleaseEntry[]> {
  try {
    return await ctx.source.list(AbortSignal.timeout(LIST_TIMEOUT_MS));
  } catch (err) {
    if (err instanceof OutlastError) throw err;
    throw new OutlastError('SOURCE_UNAVAILABLE', `cannot list releases: ${(err as Error).message}`, { cause: err });
  }
}

/** The cached, single-flight check. */
export class ReleaseCheck {
  readonly #ctx: UpdateContext;
  #last: { at: number; result: CheckResult } | undefined;
  #running: Promise<CheckResult> | undefined;

  constructor(ctx: UpdateContext) {
    this.#ctx = ctx;
  }

  /** The cached answer while fresh (unless `force`), else a new one; concurrent callers share one. */
  check(force: boolean): Promise<CheckResult> {
    const { host, config } = this.#ctx;
    if (!force && this.#last !== undefined && host.clock.monotonic() - this.#last.at < config.checkTtlMs) return Promise.resolve(this.#last.result);
    this.#running ??= this.#ask().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** The last answer, however old, without asking the source; undefined before the first check. */
  get last(): CheckResult | undefined {
    return this.#last?.result;
  }

  async #ask(): Promise<CheckResult> {
    const { host, config, stateDir, store } = this.#ctx;
    const entries = await listReleases(this.#ctx);
    const offered = entries.map((e) => e.version);
    const bad = await readBadVersions(host, stateDir);
    const held = await heldBack(this.#ctx.device, entries);
    const latest = latestAllowed(offered, config, new Set([...bad.keys(), ...held.keys()])) ?? null;
    const current = store.current ?? null;
    const newer = (v: string | null | undefined): v is string => v !== null && v !== undefined && (current === null || semver.gt(v, current));
    const result: CheckResult = { current, latest, available: newer(latest), checkedAt: isoTime(host.clock.now()) };
    const best = latestAllowed(offered, config, new Set());
    const reason = best === undefined ? undefined : bad.get(best);
    if (newer(best) && reason !== undefined) result.markedBad = { version: best, reason };
    const staged = latestAllowed(offered, config, new Set(bad.keys()));
    const rollout = entries.find((e) => e.version === staged)?.rollout;
    if (newer(staged) && rollout !== undefined) result.rollout = held.get(staged) ?? rolloutVerdict(staged, rollout, await this.#ctx.device.id());
    this.#last = { at: host.clock.monotonic(), result };
    return result;
  }
}
