/**
 * The dir source: a local folder holding manifest.json and the tarballs it
 * names, for offline installs and the embedded demo. Verification is the
 * same as over http; only the transport differs.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutlastError } from '../../errors.ts';
import type { ExtractFs } from '../extract.ts';
import { parsePublicKey } from '../signing.ts';
import { completeEntry, MAX_MANIFEST_BYTES, manifestReleases, parseManifest, readManifestText } from './manifest.ts';
import { admit, readFailure, receiveRelease } from './receive.ts';
import type { FetchContext, ReleaseEntry, UpdateSource } from './source.ts';

/** The dir source's config. */
export interface DirSourceConfig {
  /** The folder holding manifest.json. */
  path: string;
  publicKey?: string | undefined;
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

/** Creates the dir source, reading through the Host's `fs`. */
export function createDirSource(config: DirSourceConfig, fs: DirSourceFs): UpdateSource {
  const folder = resolve(config.path);
  const manifestPath = join(folder, 'manifest.json');
  const publicKey = config.publicKey === undefined ? undefined : parsePublicKey(config.publicKey);

  async function list(signal: AbortSignal): Promise<ReleaseEntry[]> {
    signal.throwIfAborted();
    // Bounded like the http source's: one byte past the cap is enough to refuse.
    const chunks = fs.openRead(manifestPath, { signal, limit: MAX_MANIFEST_BYTES + 1 });
    const text = await readManifestText(chunks, manifestPath, (err) => readFailure(err, signal, `reading ${manifestPath}`));
    return manifestReleases(parseManifest(text, manifestPath));
  }

  async function fetchRelease(wanted: ReleaseEntry, dest: string, ctx: FetchContext): Promise<void> {
    const entry = await completeEntry(wanted, () => list(ctx.signal));
    const file = tarballPath(folder, entry.url);
    const limit = admit(entry, ctx, publicKey);
    // Read past the declared size: a file that grew is caught as oversize
    // by the meter rather than silently cut short.
    const body = fs.openRead(file, { signal: ctx.signal, limit: limit + 1 });
    await receiveRelease(fs, body, entry, dest, ctx, limit, `reading ${file}`);
  }

  return { kind: 'dir', list, fetch: fetchRelease };
}
