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
import type { Writable } from 'node:stream';
import { diskError, OutlastError } from '../errors.ts';
import type { ChildExit, Host, HostFs } from '../host/host.ts';
import { EntryChecker, unsafe } from './extract-check.ts';
import { judgingParser, plainTar, plainTarOf, unpackedTooLarge, type ExtractFs, type PlannedEntry } from './extract-write.ts';

/** A tar that extracts plain tar read from stdin into a directory. */
export interface Untar {
  /** What runs, for messages ("GNU tar 1.34"). */
  readonly name: string;
  start(dir: string): UntarRun;
}

/** One running extraction. */
export interface UntarRun {
  /** Resolves once tar has taken the chunk (backpressure), or at once when tar is gone. */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends tar's input and waits for it; rejects with tar's complaint when it failed. */
  end(): Promise<void>;
  /** Kills tar (after a refusal); idempotent. */
  stop(): void;
}

/** The oldest GNU tar trusted here: delayed dangerous links and --no-overwrite-dir are much older. */
const MIN_VERSION = [1, 26];

/**
 * GNU tar's flags: extract from stdin into `dir`, owners and setuid/setgid
 * bits never taken from the archive, and a directory already there (the
 * fresh folder itself) kept as it is.
 */
function tarArgs(dir: string): string[] {
  return ['-x', '-f', '-', '-C', dir, '--no-same-owner', '--no-same-permissions', '--no-overwrite-dir', '--warning=no-timestamp', '--warning=no-unknown-keyword'];
}

function exitText(exit: ChildExit, stderr: string): string {
  const how = exit.kind === 'exited' ? `exit code ${exit.code}` : exit.kind === 'signaled' ? `signal ${exit.signal}` : exit.message;
  const said = stderr.trim().split('\n').slice(0, 3).join('; ');
  return said === '' ? how : `${how}: ${said}`;
}

/** What GNU tar says (strerror's words) for the disk errnos that are the machine's, not the archive's. */
const TAR_DISK_ERRORS: ReadonlyArray<[string, string]> = [
  ['No space left on device', 'ENOSPC'],
  ['Disk quota exceeded', 'EDQUOT'],
  ['Read-only file system', 'EROFS'],
];

/** NO_SPACE or READ_ONLY when tar's complaint is a full or read-only disk. */
function diskErrorIn(stderr: string): OutlastError | undefined {
  const errno = TAR_DISK_ERRORS.find(([words]) => stderr.includes(words))?.[1];
  return errno === undefined ? undefined : diskError({ code: errno, syscall: 'write' });
}

/** An {@link Untar} over the program `file` (a GNU tar). */
export function gnuTar(host: Pick<Host, 'spawn' | 'kill'>, file: string, env: Record<string, string>, name: string): Untar {
  return {
    name,
    start(dir) {
      const child = host.spawn(file, tarArgs(dir), { cwd: dir, env, detached: false, stdio: 'pipe', stdin: 'pipe' });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => void (stderr.length < 4096 && (stderr += d.toString())));
      child.stdout?.resume();
      const input = child.stdin as Writable;
      // tar stops reading at the archive's end marker and may exit before the
      // input ends (zeros after it: a bomb's padding). The rest is still read
      // and checked here, for the size limit; its end() tells how tar did.
      let gone = false;
      input.on('error', () => (gone = true));
      const exited = child.exited.then((exit) => {
        gone = true;
        return exit;
      });
      return {
        async write(chunk) {
          if (gone || input.write(chunk)) return;
          await new Promise<void>((resolve) => {
            input.once('drain', resolve);
            void exited.then(() => resolve());
          });
        },
        async end() {
          input.end();
          const exit = await exited;
          if (exit.kind !== 'exited' || exit.code !== 0) {
            // The disk's fault, not the archive's: the same codes as a write of ours would get.
            const disk = diskErrorIn(stderr);
            if (disk !== undefined) throw disk;
            throw new OutlastError('ARCHIVE_INVALID', `release tarball could not be extracted by ${name} (${exitText(exit, stderr)})`, { details: { reason: 'tar-failed' } });
          }
        },
        stop() {
          input.destroy();
          if (child.pid !== undefined) host.kill(child.pid, 'SIGKILL');
        },
      };
    },
  };
}

const probes = new WeakMap<object, Promise<Untar | undefined>>();

/**
 * The GNU tar on the Host's PATH, or undefined (busybox or BSD tar, none at
 * all, or one too old): extraction then takes the Node path. Asked once per
 * Host; a failed probe is never an error.
 */
export function findGnuTar(host: Pick<Host, 'spawn' | 'kill' | 'env'> & { fs: Pick<HostFs, 'exists'> }): Promise<Untar | undefined> {
  const known = probes.get(host);
  if (known !== undefined) return known;
  const probe = (async () => {
    const env = { PATH: host.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };
    // Looked up on PATH through the Host's files first: only a tar that is
    // there is ever run, by its full path.
    let file: string | undefined;
    for (const dir of env.PATH.split(':').filter((d) => d.startsWith('/'))) {
      if (await host.fs.exists(join(dir, 'tar'))) {
        file = join(dir, 'tar');
        break;
      }
    }
    if (file === undefined) return undefined;
    const child = host.spawn(file, ['--version'], { cwd: '/', env, detached: false, stdio: 'pipe' });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.resume();
    const exit = await child.exited;
    const match = /^tar \(GNU tar\) (\d+)\.(\d+)/.exec(out);
    if (exit.kind !== 'exited' || exit.code !== 0 || match === null) return undefined;
    const [major, minor] = [Number(match[1]), Number(match[2])];
    if (major < MIN_VERSION[0]! || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]!)) return undefined;
    return gnuTar(host, file, env, `GNU tar ${major}.${minor}`);
  })().catch(() => undefined);
  probes.set(host, probe);
  return probe;
}

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
