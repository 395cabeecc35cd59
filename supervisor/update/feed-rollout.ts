/**
 * Publisher tooling: `outlast release rollout FEED VERSION --percent N`
 * sets a version's staged rollout in the feed's manifest.json (rollout.ts
 * says who is in), as a new edition: the next serial, and with a key the
 * manifest signed again. The entry's own signature does not cover the
 * rollout (signing.ts), so it stays valid.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import { nextExpiry, readFeed, readKey, writeEdition, type Edition, type PackFs } from './pack.ts';
import { rolloutProblems, type Rollout } from './rollout.ts';
import { cleanVersion } from './selection.ts';

/** What to set. */
export interface RolloutOptions {
  feed: string;
  version: string;
  percent: number;
  /** When missing: the salt the version has, else the version itself (each version draws its own sample). */
  salt?: string | undefined;
  keyPath?: string | undefined;
  /** The new edition's `expires` (an ISO time), or `never`; required when the manifest has one (as for pack). */
  expires?: string | undefined;
}

/** The edition written, and the rollout it holds. */
export type RolloutResult = Edition & { manifest: string; version: string; rollout: Rollout };

/** Sets `version`'s rollout in FEED/manifest.json; VERSION_NOT_FOUND when the feed lacks it, BAD_REQUEST for a bad percent or salt. */
export async function setFeedRollout(fs: PackFs, options: RolloutOptions): Promise<RolloutResult> {
  const manifestPath = join(options.feed, 'manifest.json');
  const version = cleanVersion(options.version);
  if (version === undefined) throw new OutlastError('BAD_REQUEST', `"${options.version}" is not a semver version (such as 1.2.3)`);
  const privateKeyPem = options.keyPath === undefined ? undefined : await readKey(fs, options.keyPath);
  const manifest = await readFeed(fs, manifestPath);
  const expires = nextExpiry(manifestPath, manifest, options.expires);
  const at = manifest.versions.findIndex((e) => e.version === version);
  const entry = manifest.versions[at];
  if (entry === undefined) throw new OutlastError('VERSION_NOT_FOUND', `version ${version} is not in ${manifestPath}; add it first with outlast release pack`, { details: { version } });
  const rollout: Rollout = { percent: options.percent, salt: options.salt ?? entry.rollout?.salt ?? version };
  const problems = rolloutProblems(rollout);
  if (problems.length > 0) throw new OutlastError('BAD_REQUEST', problems.map((p) => `${p.key === 'percent' ? '--percent' : '--salt'} ${p.message}`).join('; '));
  const next = { ...manifest, versions: manifest.versions.with(at, { ...entry, rollout }) };
  delete next.expires;
  if (expires !== undefined) next.expires = expires;
  const edition = await writeEdition(fs, manifestPath, next, privateKeyPem);
  return { ...edition, manifest: manifestPath, version, rollout };
}
