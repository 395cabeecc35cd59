/**
 * Which release to install, as a pure function of what the source offers,
 * what runs now, and what the caller asked for. Semver decides; the rules
 * that protect a running service (no silent downgrade, no known-bad version)
 * are explicit and overridable only with `force`.
 */
import { semver } from './semver.ts';
import { OutlastError } from '../errors.ts';
import { FORCE_HINT } from './force-hint.ts';
import type { RolloutVerdict } from './rollout.ts';

/** What the caller asked for. */
export interface SelectionRequest {
  /** An exact version; when missing, the highest that satisfies `range`. */
  version?: string | undefined;
  force?: boolean | undefined;
  /**
   * Hold a named version to the staged rollout too (the scheduled updater
   * names the version its check found). A person naming a version, or
   * forcing, is not held: that is the way to put one device in early.
   */
  rollout?: boolean | undefined;
}

/** The policy from config. */
export interface SelectionPolicy {
  range: string;
  prerelease: boolean;
}

/** The outcome: a version to install, or the news that we are up to date. */
export type Selection = { kind: 'install'; version: string } | { kind: 'up-to-date'; version: string };

/** Normalises `v1.2.3` to `1.2.3`; undefined for anything that is not semver. */
export function cleanVersion(text: string): string | undefined {
  return semver.valid(semver.clean(text) ?? text) ?? undefined;
}

/** The highest offered version that the policy allows, skipping bad ones. */
export function latestAllowed(offered: readonly string[], policy: SelectionPolicy, bad: ReadonlySet<string>): string | undefined {
  const candidates = offered.filter((v) => !bad.has(v) && semver.satisfies(v, policy.range, { includePrerelease: policy.prerelease }));
  return semver.rsort([...candidates])[0];
}

/**
 * Decides what to install. Throws BAD_REQUEST for a malformed version,
 * VERSION_NOT_FOUND for one the source does not offer, and VERSION_MARKED_BAD,
 * VERSION_OUT_OF_RANGE and DOWNGRADE_REFUSED unless forced. `held` are the
 * versions whose staged rollout this device is not in (rollout.ts): the
 * automatic choice passes over them, and a named one with `rollout` set is
 * NOT_IN_ROLLOUT.
 */
export function selectVersion(
  offered: readonly string[],
  current: string | undefined,
  request: SelectionRequest,
  policy: SelectionPolicy,
  bad: ReadonlyMap<string, string>,
  held: ReadonlyMap<string, RolloutVerdict> = new Map(),
): Selection {
  const force = request.force === true;
  if (request.version === undefined) {
    const latest = latestAllowed(offered, policy, new Set([...bad.keys(), ...(force ? [] : held.keys())]));
    if (latest === undefined) {
      throw new OutlastError('VERSION_NOT_FOUND', `no release satisfies range "${policy.range}"${policy.prerelease ? '' : ' (prereleases excluded)'}`);
    }
    if (current !== undefined && semver.lte(latest, current)) return { kind: 'up-to-date', version: current };
    return { kind: 'install', version: latest };
  }
  const wanted = cleanVersion(request.version);
  if (wanted === undefined) throw new OutlastError('BAD_REQUEST', `"${request.version}" is not a semver version`);
  if (!offered.includes(wanted)) {
    throw new OutlastError('VERSION_NOT_FOUND', `version ${wanted} is not offered by the update source`, { details: { version: wanted } });
  }
  const reason = bad.get(wanted);
  if (reason !== undefined && !force) {
    throw new OutlastError('VERSION_MARKED_BAD', `version ${wanted} was rolled back before (${reason}); to try it again, apply it ${FORCE_HINT}`, {
      details: { version: wanted, reason },
    });
  }
  const out = held.get(wanted);
  if (out !== undefined && request.rollout === true && !force) {
    throw new OutlastError('NOT_IN_ROLLOUT', `version ${wanted} is rolled out to ${out.percent}% of devices, and this one (bucket ${out.bucket}) is not among them yet`, {
      details: { ...out },
    });
  }
  if (current !== undefined && wanted === current && !force) return { kind: 'up-to-date', version: current };
  // A named version is held to the range too: the range is the operator's
  // promise about what may run, and a client naming 99.0.0 must not break
  // it silently. Prereleases count as in range here: the prerelease flag
  // governs the automatic choice, and naming one is opting in.
  if (!force && !semver.satisfies(wanted, policy.range, { includePrerelease: true })) {
    throw new OutlastError('VERSION_OUT_OF_RANGE', `version ${wanted} is outside updates.range "${policy.range}"; to install it anyway, apply it ${FORCE_HINT}`, {
      details: { version: wanted, range: policy.range },
    });
  }
  if (current !== undefined && semver.lt(wanted, current) && !force) {
    throw new OutlastError('DOWNGRADE_REFUSED', `${wanted} is older than the running ${current}; to downgrade, apply it ${FORCE_HINT}`, {
      details: { from: current, to: wanted },
    });
  }
  return { kind: 'install', version: wanted };
}
