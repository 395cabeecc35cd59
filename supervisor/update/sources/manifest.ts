/**
 * The release manifest shared by the http and dir sources, and written by
 * `outlast pack`:
 *
 *     {"serial": 42,
 *      "versions": [{"version": "1.2.3", "url": "app-1.2.3.tgz",
 *                    "sha256": "<64 hex>", "size": 1234, "signature": "<base64>",
 *                    "minisig": "untrusted comment: …\n…",
 *                    "rollout": {"percent": 10, "salt": "2026-12"}}]}
 *
 * `url` may be relative to the manifest's own location. `signature` is
 * optional and described in ../signing.ts; `minisig`, the text of a
 * `.minisig` file, in ../minisign.ts; `rollout`, a staged rollout, in
 * ../rollout.ts. `serial` counts the manifest's editions, for the replay
 * check of a signed manifest (manifest-trust.ts).
 * Unknown keys are ignored by the sources and kept by `outlast pack`, so a
 * later format can add fields without breaking older supervisors.
 */
import { semver } from '../semver.ts';
import { problemLine } from '../../config/issue-text.ts';
import { OutlastError } from '../../errors.ts';
import { MAX_MINISIG_BYTES } from '../minisign.ts';
import { rolloutProblems, type Rollout } from '../rollout.ts';
import { findRelease, sortReleases, type ReleaseEntry } from './source.ts';

/** A release as a manifest describes it: everything needed to verify it is there. */
export interface ManifestEntry {
  version: string;
  url: string;
  /** Lower case. */
  sha256: string;
  size: number;
  signature?: string | undefined;
  minisig?: string | undefined;
  rollout?: Rollout | undefined;
  [key: string]: unknown;
}

/** A parsed manifest. */
export interface Manifest {
  serial?: number | undefined;
  /** When a signed edition stops being believed (ISO 8601 with a zone): a feed frozen on it is then refused. */
  expires?: string | undefined;
  versions: ManifestEntry[];
  [key: string]: unknown;
}

/** One problem: where, and what. */
interface Problem {
  path: Array<string | number>;
  message: string;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** ISO 8601 date and time with seconds and a zone (Z or ±hh:mm), as `release pack --expires` writes it. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** Whether `text` is such a date and time, each field in its range (Date.parse would roll 30 February on to March). */
function isDateTime(text: string): boolean {
  const m = DATE_TIME.exec(text);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const zoneOk = m[7] === undefined || (Number(m[7]) <= 23 && Number(m[8]) <= 59);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59 && zoneOk;
}

/** An optional string: absent, or a string of 1..max characters. */
function optionalText(entry: Json, key: string, at: Array<string | number>, max: number, problems: Problem[]): void {
  const value = entry[key];
  if (value === undefined) return;
  if (typeof value !== 'string' || value === '') problems.push({ path: [...at, key], message: 'must be a non-empty string' });
  else if (value.length > max) problems.push({ path: [...at, key], message: `must be at most ${max} characters` });
}

/** The problems of one version's entry at `at` (["versions", i]). */
function entryProblems(entry: unknown, at: Array<string | number>): Problem[] {
  if (!isObject(entry)) return [{ path: at, message: 'must be an object' }];
  const problems: Problem[] = [];
  const { version, url, sha256, size, rollout } = entry;
  if (version === undefined) problems.push({ path: [...at, 'version'], message: 'is required' });
  else if (typeof version !== 'string' || semver.valid(version) !== version) problems.push({ path: [...at, 'version'], message: 'must be a semver version such as 1.2.3 (no "v")' });
  if (url === undefined) problems.push({ path: [...at, 'url'], message: 'is required' });
  else if (typeof url !== 'string' || url === '') problems.push({ path: [...at, 'url'], message: 'must be a non-empty string' });
  if (sha256 === undefined) problems.push({ path: [...at, 'sha256'], message: 'is required' });
  else if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) problems.push({ path: [...at, 'sha256'], message: 'must be 64 hex digits' });
  if (size === undefined) problems.push({ path: [...at, 'size'], message: 'is required' });
  else if (!isCount(size)) problems.push({ path: [...at, 'size'], message: 'must be a whole number of bytes, 0 or more' });
  optionalText(entry, 'signature', at, Number.MAX_SAFE_INTEGER, problems);
  optionalText(entry, 'minisig', at, MAX_MINISIG_BYTES, problems);
  if (rollout !== undefined) {
    for (const p of rolloutProblems(rollout)) problems.push({ path: p.key === undefined ? [...at, 'rollout'] : [...at, 'rollout', p.key], message: p.message });
  }
  return problems;
}

/**
 * The problems of `raw` as a manifest ([] when it is one). Checked by hand:
 * the pipeline stays resident once loaded, and a schema library for these
 * few fields would stay with it. Unknown keys are kept, not refused.
 */
function manifestProblems(raw: unknown): Problem[] {
  if (!isObject(raw)) return [{ path: [], message: 'must be a JSON object {"versions": [...]}' }];
  const problems: Problem[] = [];
  if (raw.serial !== undefined && !isCount(raw.serial)) problems.push({ path: ['serial'], message: 'must be a whole number, 0 or more' });
  if (raw.expires !== undefined && (typeof raw.expires !== 'string' || !isDateTime(raw.expires))) {
    problems.push({ path: ['expires'], message: 'must be an ISO 8601 date and time with a zone, such as 2027-01-31T00:00:00Z' });
  }
  if (raw.versions === undefined) return [...problems, { path: ['versions'], message: 'is required' }];
  if (!Array.isArray(raw.versions)) return [...problems, { path: ['versions'], message: 'must be an array' }];
  const seen = new Set<string>();
  raw.versions.forEach((entry: unknown, index) => {
    const found = entryProblems(entry, ['versions', index]);
    problems.push(...found);
    if (found.length > 0) return;
    const { version } = entry as ManifestEntry;
    if (seen.has(version)) problems.push({ path: ['versions', index, 'version'], message: 'is listed twice' });
    seen.add(version);
  });
  return problems;
}

/** A manifest larger than this is refused rather than held in memory (http and dir alike). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * The bytes of `chunks`, or undefined as soon as they pass `limit`: memory
 * stays bounded whatever the file or server holds. A failed read is passed
 * to `onReadError`, which returns what to throw.
 */
export async function readBounded(chunks: AsyncIterable<Uint8Array>, limit: number, onReadError: (err: unknown) => unknown): Promise<Buffer | undefined> {
  const kept: Uint8Array[] = [];
  let bytes = 0;
  try {
    for await (const chunk of chunks) {
      bytes += chunk.byteLength;
      // Leaving the loop ends the read (it cancels the body, closes the file).
      if (bytes > limit) return undefined;
      kept.push(chunk);
    }
  } catch (err) {
    throw onReadError(err);
  }
  return Buffer.concat(kept);
}

/**
 * The bytes of a manifest read from `where` as `chunks` (kept as bytes: a
 * manifest signature covers them exactly), refusing with SOURCE_UNAVAILABLE
 * one above MAX_MANIFEST_BYTES as soon as the count passes it. A failed
 * read is passed to `onReadError`.
 */
export async function readManifestBytes(chunks: AsyncIterable<Uint8Array>, where: string, onReadError: (err: unknown) => unknown): Promise<Buffer> {
  const data = await readBounded(chunks, MAX_MANIFEST_BYTES, onReadError);
  if (data === undefined) {
    throw new OutlastError('SOURCE_UNAVAILABLE', `manifest at ${where} is larger than ${MAX_MANIFEST_BYTES} bytes`, { details: { where, limit: MAX_MANIFEST_BYTES } });
  }
  return data;
}

/** Parses manifest text read from `where`; SOURCE_UNAVAILABLE naming each problem otherwise. */
export function parseManifest(text: string, where: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new OutlastError('SOURCE_UNAVAILABLE', `invalid manifest at ${where}: not JSON (${(err as Error).message})`, { cause: err });
  }
  const found = manifestProblems(raw);
  if (found.length > 0) {
    const problems = found.map((p) => `${versionNamed(raw, p.path)}${problemLine(p.path, p.message, raw)}`);
    throw new OutlastError('SOURCE_UNAVAILABLE', `invalid manifest at ${where}: ${problems.join('; ')}`, { details: { where, problems } });
  }
  const manifest = raw as Manifest;
  return { ...manifest, versions: manifest.versions.map((entry) => ({ ...entry, sha256: entry.sha256.toLowerCase() })) };
}

/** "version 1.2.0: " for a problem inside that version's entry, so a publisher finds it in a long manifest. */
function versionNamed(raw: unknown, path: readonly PropertyKey[]): string {
  if (path[0] !== 'versions' || typeof path[1] !== 'number' || path.length < 3) return '';
  const entry = (raw as { versions: unknown[] }).versions[path[1]];
  const version = typeof entry === 'object' && entry !== null ? (entry as { version?: unknown }).version : undefined;
  return typeof version === 'string' ? `version ${version}: ` : '';
}

/** The manifest's releases as source entries, lowest version first. */
export function manifestReleases(manifest: Manifest): ReleaseEntry[] {
  return sortReleases(
    manifest.versions.map(({ version, url, sha256, size, signature, minisig, rollout }) => ({
      version,
      url,
      sha256,
      size,
      ...(signature === undefined ? {} : { signature }),
      ...(minisig === undefined ? {} : { minisig }),
      ...(rollout === undefined ? {} : { rollout }),
    })),
  );
}

/**
 * The complete manifest entry for `entry`: as given when it carries url,
 * sha256 and size, else looked up by version (VERSION_NOT_FOUND when absent).
 */
export async function completeEntry(entry: ReleaseEntry, list: () => Promise<ReleaseEntry[]>): Promise<ManifestEntry> {
  const full = entry.url !== undefined && entry.sha256 !== undefined && entry.size !== undefined ? entry : findRelease(await list(), entry.version);
  const { version, url, sha256, size, signature, minisig } = full;
  if (url === undefined || sha256 === undefined || size === undefined) {
    throw new OutlastError('SOURCE_UNAVAILABLE', `release ${version} has no url, sha256 or size to verify it by`, { details: { version } });
  }
  return { version, url, sha256: sha256.toLowerCase(), size, ...(signature === undefined ? {} : { signature }), ...(minisig === undefined ? {} : { minisig }) };
}
