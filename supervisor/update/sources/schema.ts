/**
 * The config schema of an update source, for the config module to embed as
 * `updates.source`. Validated once, fully defaulted.
 */
import { z } from 'zod';
import { duration } from '../../config/duration.ts';
import { isMinisignKey } from '../minisign.ts';
import { isPublicKey } from '../signing.ts';

const timeoutMs = duration(1);

const publicKey = z
  .string()
  .refine(isPublicKey, { error: 'must be an ed25519 public key, as PEM or as 32 bytes of base64' })
  .optional();

const minisignKey = z
  .string()
  .refine(isMinisignKey, { error: 'must be a minisign public key: the "RW…" line that minisign -G prints, or the whole minisign.pub' })
  .optional();

const requireSignedManifest = z.boolean().default(false);

/** The keys of the http and dir sources that say how releases and the manifest are proven. */
const trust = {
  /** When set, every release must carry a valid signature by this key. */
  publicKey,
  /** When set, every release must carry a valid minisign signature by this key. */
  minisignKey,
  /** Refuse a manifest that is not signed by every configured key. */
  requireSignedManifest,
};

/** requireSignedManifest without a key could never be satisfied: said at config time, not at the first check. */
function keyForManifest(source: { publicKey?: string | undefined; minisignKey?: string | undefined; requireSignedManifest: boolean }, ctx: z.RefinementCtx): void {
  if (source.requireSignedManifest && source.publicKey === undefined && source.minisignKey === undefined) {
    ctx.addIssue({ code: 'custom', path: ['requireSignedManifest'], message: 'needs publicKey or minisignKey: the key the manifest is signed with' });
  }
}

const gitSource = z.strictObject({
  type: z.literal('git'),
  /** A repository URL or a local path. */
  url: z.string().min(1),
  timeoutMs: timeoutMs.default(120_000),
});

const httpSource = z.strictObject({
  type: z.literal('http'),
  /** The manifest's URL; tarball urls in it may be relative to it. */
  manifest: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  ...trust,
  retries: z.number().int().min(0).max(10).default(3),
  timeoutMs: timeoutMs.default(30_000),
}).superRefine(keyForManifest);

const dirSource = z.strictObject({
  type: z.literal('dir'),
  /** The folder holding manifest.json and the tarballs. */
  path: z.string().min(1),
  ...trust,
}).superRefine(keyForManifest);

/** Where updates come from: a git repository, an http manifest, or a local folder. */
export const sourceSchema = z.discriminatedUnion('type', [gitSource, httpSource, dirSource]);

/** A source config as written. */
export type SourceConfigInput = z.input<typeof sourceSchema>;
/** A validated source config, defaults filled in. */
export type SourceConfig = z.output<typeof sourceSchema>;
