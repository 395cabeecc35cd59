/**
 * The extractors every extraction test runs against: the Node extractor, and
 * the GNU tar fast path where the machine has a GNU tar (said once when not).
 */
import { extractSafely, type ExtractOptions } from '../../supervisor/update/extract.ts';
import { findGnuTar, type Untar } from '../../supervisor/update/gnu-tar.ts';
import { nodeHost } from '../support/node-host.ts';

const gnu = await findGnuTar(nodeHost);
if (gnu === undefined) console.warn('no GNU tar on PATH: the GNU tar fast path of extraction is not tested here');

/** One way to extract: `extract` is extractSafely bound to it. */
export interface Extractor {
  name: string;
  untar: Untar | undefined;
  extract: (tarball: string, dest: string, options?: ExtractOptions) => Promise<void>;
}

function extractor(name: string, untar: Untar | undefined): Extractor {
  return { name, untar, extract: (tarball, dest, options = {}) => extractSafely(nodeHost.fs, tarball, dest, { ...options, untar }) };
}

/** The Node extractor, then GNU tar's when there is one. */
export const EXTRACTORS: Extractor[] = [extractor('node extractor', undefined), ...(gnu === undefined ? [] : [extractor(gnu.name, gnu)])];

/** The GNU tar of this machine, if any. */
export const GNU_TAR = gnu;
