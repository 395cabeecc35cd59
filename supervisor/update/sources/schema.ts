/**
 * The config schema of an update source, for the config module to embed as
 * `updates.source`. Validated once, fully defaulted.
 */
import { z } from 'zod';
import { duration } from '../../config/duration.ts';
import { isPublicKey } from '../signing.ts';

const timeoutMs = duration(1);

const publicKey = z
  .string()
  .refine(isPublicKey, { error: 'must be an ed25519 public key, as PEM or as 32 bytes of base64' })
  .optional();

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
  /** When set, every release must carry a valid signature by this key. */
  publicKey,
  retries: z.number().int().min(0).max(10).default(3),
  timeoutMs: timeoutMs.default(30_000),
});

const dirSource = z.strictObject({
  type: z.literal('dir'),
  /** The folder holding manifest.json and the tarballs. */
  path: z.string().min(1),
  publicKey,
});

/** Where updates come from: a git repository, an http manifest, or a local folder. */
export const sourceSchema = z.discriminatedUnion('type', [gitSource, httpSource, dirSource]);

/** A source config as written. */
export type SourceConfigInput = z.input<typeof sourceSchema>;
/** A validated source config, defaults filled in. */
export type SourceConfig = z.output<typeof sourceSchema>;
