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
import semver from 'semver';
import { z } from 'zod';
import { formatIssues } from '../../config/load.ts';
import { OutlastError } from '../../errors.ts';
import { MAX_MINISIG_BYTES } from '../minisign.ts';
import { rolloutSchema } from '../rollout.ts';
import { findRelease, sortReleases, type ReleaseEntry } from './source.ts';

const manifestEntrySchema = z.looseObject({
  version: z.string().refine((v) => semver.valid(v) === v, { error: 'must be a semver version such as 1.2.3 (no "v")' }),
  url: z.string().min(1),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, { error: 'must be 64 hex digits' })
    .transform((s) => s.toLowerCase()),
  size: z.number().int().nonnegative(),
  signature: z.string().min(1).optional(),
  minisig: z.string().min(1).max(MAX_MINISIG_BYTES).optional(),
  rollout: rolloutSchema.optional(),
});

/** The manifest file. */
export const manifestSchema = z
  .looseObject({
    serial: z.number().int().nonnegative().optional(),
    /** When a signed edition stops being believed (ISO 8601 with a zone): a feed frozen on it is then refused. */
    expires: z.iso.datetime({ offset: true }).optional(),
    versions: z.array(manifestEntrySchema),
  })
  .superRefine((manifest, ctx) => {
    const seen = new Set<string>();
    manifest.versions.forEach((entry, index) => {
      if (seen.has(entry.version)) ctx.addIssue({ code: 'custom', path: ['versions', index, 'version'], message: 'is listed twice' });
      seen.add(entry.version);
    });
  });

/** A parsed manifest. */
export type Manifest = z.output<typeof manifestSchema>;

/** A release as a manifest describes it: everything needed to verify it is there. */
export type ManifestEntry = Manifest['versions'][number];

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
  const result = manifestSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => formatIssues([issue], raw).map((line) => `${versionNamed(raw, issue.path)}${line}`));
    throw new OutlastError('SOURCE_UNAVAILABLE', `invalid manifest at ${where}: ${problems.join('; ')}`, { details: { where, problems } });
  }
  return result.data;
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
