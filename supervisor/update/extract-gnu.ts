/**
 * The fast path of extraction: GNU tar writes the files, outlast decides
 * what it may write. The tarball is read and gunzipped once, in this process;
 * each chunk of plain tar goes to node-tar's parser first, whose entries are
 * checked as they appear (EntryChecker.add), and only then to `tar -x` on
 * stdin. node-tar emits every entry whose header a chunk completes before
 * write() returns, so tar never reads a header outlast has not accepted: a
 * hostile entry stops the stream before tar sees it, tar is killed, and the
 * staging dir is emptied. The same bytes are never inflated twice.
 *
 * tar extracts into a fresh folder inside the staging dir, taking no owner
 * and no setuid, setgid or sticky bit from the archive (--no-same-owner
 * --no-same-permissions: the mode is masked with 0o777 and the umask, as
 * the Node extractor does, root included). Then:
 * - the whole release is checked as it will be laid out (EntryChecker.finish);
 * - what tar wrote is listed and must be exactly what was checked, name for
 *   name and kind for kind (two parsers reading one archive differently
 *   would show here);
 * - the contents are moved up into the staging dir, with the single top-level
 *   folder stripped as the Node extractor does.
 * GNU tar's own refusals (`..` members, absolute names, links with `..` or
 * absolute targets delayed to the end) stay on underneath.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EntryChecker, unsafe } from './extract-check.ts';
import { judgingParser, plainTar, plainTarOf, unpackedTooLarge, type ExtractFs, type PlannedEntry } from './extract-write.ts';
import type { Untar } from './gnu-tar.ts';

/** Every path of the release as written, and the directories they imply. */
function plannedTree(entries: readonly PlannedEntry[]): Map<string, PlannedEntry['type']> {
  const tree = new Map<string, string>();
  for (const e of entries) {
    for (let i = 1; i < e.parts.length; i++) if (!tree.has(e.parts.slice(0, i).join('/'))) tree.set(e.parts.slice(0, i).join('/'), 'Directory');
    if (e.parts.length > 0) tree.set(e.parts.join('/'), e.type);
  }
  return tree;
}

const KIND_OF: Record<string, string> = { File: 'file', OldFile: 'file', ContiguousFile: 'file', Link: 'file', Directory: 'directory', SymbolicLink: 'symlink' };

/**
 * Lists what tar wrote under `root` and compares it with the checked
 * entries: the same paths, each of the same kind. A release that writes
 * below one of its own symlinks puts files where the listing cannot match
 * them to entries; there the check rests on the entry checks and tar's own.
 */
async function matchTree(fs: ExtractFs, root: string, entries: readonly PlannedEntry[]): Promise<void> {
  const tree = plannedTree(entries);
  const links = [...tree].filter(([, type]) => type === 'SymbolicLink').map(([path]) => `${path}/`);
  if (links.length > 0 && [...tree.keys()].some((path) => links.some((link) => path.startsWith(link)))) return;
  let found = 0;
  const walk = async (dir: string): Promise<void> => {
    const children = await fs.readdirKinds(dir === '' ? root : join(root, dir));
    await Promise.all(children.map(async ({ name, kind }) => {
      const path = dir === '' ? name : `${dir}/${name}`;
      const type = tree.get(path);
      if (type === undefined || KIND_OF[type] !== kind) throw unsafe(path, `tar wrote a ${kind} the archive's entries do not declare${type === undefined ? '' : ` as such (${type})`}`);
      found++;
      if (kind === 'directory') await walk(path);
    }));
  };
  await walk('');
  if (found !== tree.size) throw unsafe(root, `tar wrote ${found} of the ${tree.size} paths the archive declares`);
}

/** Moves the release from `work` (its top-level folder `top` inside, when set) up into `dest`. */
async function moveUp(fs: ExtractFs, work: string, top: string | undefined, dest: string): Promise<void> {
  const from = top === undefined ? work : join(work, top);
  for (const name of await fs.readdir(from)) await fs.rename(join(from, name), join(dest, name));
  await fs.rm(work);
}

/**
 * Extracts `tarball` into `dest` (an existing, empty dir) through `untar`.
 * Same contract as extractSafely, whose fast path this is; the caller
 * empties `dest` on failure.
 */
export async function extractWithTar(fs: ExtractFs, untar: Untar, tarball: string | AsyncIterable<Uint8Array>, dest: string, maxUnpackedBytes: number | undefined): Promise<void> {
  // A name no entry of the release can have at the top: the contents move up beside it.
  const work = join(dest, `.outlast-untar-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(work, 0o700);
  const checker = new EntryChecker(maxUnpackedBytes);
  const { parser, failure, fail } = judgingParser(checker);
  const ended = new Promise<void>((resolve) => {
    parser.on('error', (err: Error) => {
      fail(err);
      resolve();
    });
    parser.on('end', () => resolve());
    parser.on('close', () => resolve());
  });
  const run = untar.start(work);
  try {
    let bytes = 0;
    for await (const chunk of typeof tarball === 'string' ? plainTar(fs, tarball) : plainTarOf(tarball)) {
      bytes += chunk.byteLength;
      if (maxUnpackedBytes !== undefined && bytes > maxUnpackedBytes) throw unpackedTooLarge(maxUnpackedBytes, 'its tar stream is');
      // Checked first: the entries this chunk completes are judged before tar reads a byte of it.
      parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      const refused = failure();
      if (refused !== undefined) throw refused;
      await run.write(chunk);
    }
    parser.end();
    await ended;
    const refusedAtEnd = failure();
    if (refusedAtEnd !== undefined) throw refusedAtEnd;
    await run.end();
  } catch (err) {
    run.stop();
    throw err;
  }
  const { top } = checker.finish();
  await matchTree(fs, work, checker.entries);
  await moveUp(fs, work, top, dest);
}
