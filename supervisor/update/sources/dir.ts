/**
 * The dir source: a local folder holding manifest.json and the tarballs it
 * names, for offline installs and the embedded demo. Verification is the
 * same as over http; only the transport differs. Signatures are files next
 * to what they sign: `<tarball>.minisig`, `manifest.json.minisig`,
 * `manifest.json.sig`.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutlastError } from '../../errors.ts';
import type { ExtractFs } from '../extract.ts';
import { MAX_MINISIG_BYTES } from '../minisign.ts';
import { completeEntry, MAX_MANIFEST_BYTES, manifestReleases, parseManifest, readBounded, readManifestBytes } from './manifest.ts';
import { sourceTrust, type TrustOptions } from './manifest-trust.ts';
import { admit, readFailure, receiveRelease, signatureTooLarge } from './receive.ts';
import type { FetchContext, ReleaseEntry, UpdateSource } from './source.ts';

/** The dir source's config. */
export interface DirSourceConfig {
  /** The folder holding manifest.json. */
  path: string;
  publicKey?: string | undefined;
  minisignKey?: string | undefined;
  requireSignedManifest?: boolean | undefined;
}

/** What the dir source needs of the Host's file system. */
export type DirSourceFs = ExtractFs;

/** The local file a manifest url names: relative to the folder, or a file: URL. */
function tarballPath(folder: string, url: string): string {
  if (url.startsWith('file:')) return fileURLToPath(url);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) {
    throw new OutlastError('SOURCE_UNAVAILABLE', `a dir source reads local files only, not "${url}"`, { details: { url } });
  }
  return resolve(folder, url);
}

/** Creates the dir source, reading through the Host's `fs`; `options` keep its manifest serials. */
export function createDirSource(config: DirSourceConfig, fs: DirSourceFs, options: TrustOptions): UpdateSource {
  const folder = resolve(config.path);
  const manifestPath = join(folder, 'manifest.json');
  const { keys, trust } = sourceTrust(config, folder, options);

  /** A signature file, undefined when there is none. */
  async function readSignature(path: string, signal: AbortSignal): Promise<Buffer | undefined> {
    let data: Buffer | undefined;
    try {
      data = await readBounded(fs.openRead(path, { signal, limit: MAX_MINISIG_BYTES + 1 }), MAX_MINISIG_BYTES, (err) => err);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined;
      throw readFailure(err, signal, `reading ${path}`);
    }
    if (data === undefined) throw signatureTooLarge(path);
    return data;
  }

  async function list(signal: AbortSignal): Promise<ReleaseEntry[]> {
    signal.throwIfAborted();
    // Bounded like the http source's: one byte past the cap is enough to refuse.
    const chunks = fs.openRead(manifestPath, { signal, limit: MAX_MANIFEST_BYTES + 1 });
    const bytes = await readManifestBytes(chunks, manifestPath, (err) => readFailure(err, signal, `reading ${manifestPath}`));
    const manifest = parseManifest(bytes.toString('utf8'), manifestPath);
    await trust(bytes, manifest, manifestPath, (suffix) => readSignature(manifestPath + suffix, signal));
    return manifestReleases(manifest);
  }

  async function fetchRelease(wanted: ReleaseEntry, dest: string, ctx: FetchContext): Promise<void> {
    const entry = await completeEntry(wanted, () => list(ctx.signal));
    const file = tarballPath(folder, entry.url);
    const admission = await admit(entry, ctx, keys, () => readSignature(`${file}.minisig`, ctx.signal));
    // Read past the declared size: a file that grew is caught as oversize
    // by the meter rather than silently cut short.
    const body = fs.openRead(file, { signal: ctx.signal, limit: admission.limit + 1 });
    await receiveRelease(fs, body, entry, dest, ctx, admission, `reading ${file}`);
  }

  return { kind: 'dir', list, fetch: fetchRelease };
}
