/**
 * The byte side of extract.ts: feeding a tarball from the Host into node-tar's
 * parser, and pass two, which writes the planned entries through the Host's
 * file capability (node-tar parses; it never touches the disk itself).
 */
import { join } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import type { HostFs, WritableFile } from '../host/host.ts';

/**
 * What extraction needs of the Host: read the tarball, create files,
 * directories and links, set mtimes, and empty the staging dir again.
 */
export type ExtractFs = Pick<HostFs, 'openRead' | 'createFile' | 'mkdir' | 'symlink' | 'link' | 'setMtime' | 'rm' | 'readdir'>;

/** One entry as pass one checked it, with its path relative to the release root. */
export interface PlannedEntry {
  raw: string;
  type: string;
  linkpath: string | undefined;
  size: number;
  parts: string[];
  /** For a hardlink: the target, relative to the release root. */
  linkParts?: string[];
}

/** A step of pass two; they run strictly one after the other. */
type Step = () => Promise<void>;

/**
 * Streams `tarball` into `parser`. After each chunk the steps its entries
 * queued run to the end before the next chunk is read, so writes keep the
 * tarball's order and at most one chunk's worth of data waits in memory.
 * Rejects with the parser's error (strict mode) or the first failed step.
 */
export async function feed(fs: Pick<HostFs, 'openRead'>, tarball: string, parser: Parser, steps: Step[] = []): Promise<void> {
  let failure: Error | undefined;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  parser.on('error', (err: Error) => {
    failure ??= err;
    done();
  });
  parser.on('end', () => done());
  parser.on('close', () => done());
  const drain = async (): Promise<void> => {
    for (let step = steps.shift(); step !== undefined; step = steps.shift()) await step();
  };
  for await (const chunk of fs.openRead(tarball)) {
    parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (failure !== undefined) throw failure;
    await drain();
  }
  parser.end();
  await finished;
  if (failure !== undefined) throw failure;
  await drain();
}

/**
 * Pass two: writes exactly the planned entries under `dest` (an empty
 * directory), each under its checked path, with no setuid, setgid or sticky
 * bit and no owner from the archive. Throws the first failure; a tarball
 * that no longer matches the plan fails with `changed`.
 */
export async function writeEntries(fs: ExtractFs, tarball: string, dest: string, entries: readonly PlannedEntry[], changed: (entry: string) => Error): Promise<void> {
  let index = 0;
  let failure: Error | undefined;
  const steps: Step[] = [];
  // Relative paths written so far: dest starts empty, so nothing else is there.
  const dirs = new Set<string>(['']);
  const written = new Set<string>();
  let open: WritableFile | undefined;

  const parentOf = async (parts: readonly string[]): Promise<void> => {
    const parent = parts.slice(0, -1).join('/');
    if (dirs.has(parent)) return;
    await fs.mkdir(join(dest, parent));
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  };
  // A path declared twice: the later entry replaces the earlier one (a hardlink
  // made to it keeps the old content), as tar does.
  const clear = async (path: string, target: string): Promise<void> => {
    if (written.has(path) && !dirs.has(path)) await fs.rm(target);
    written.add(path);
  };

  const parser = new Parser({
    strict: false,
    onwarn: (code, message, data) => {
      if (code !== 'TAR_ENTRY_INFO') failure ??= Object.assign(new Error(`${code}: ${message}`), { code: data.code ?? code, cause: data });
    },
  });
  parser.on('entry', (entry: ReadEntry) => {
    const planned = entries[index++];
    if (planned?.raw !== entry.path || planned.type !== entry.type || planned.linkpath !== entry.linkpath) {
      failure ??= changed(entry.path);
      entry.resume();
      return;
    }
    const path = planned.parts.join('/');
    const target = join(dest, ...planned.parts);
    const mtimeMs = entry.mtime?.getTime();
    if (planned.parts.length === 0 || failure !== undefined) {
      entry.resume(); // the root itself keeps dest's own mode
      return;
    }
    if (planned.type === 'Directory') {
      entry.resume();
      steps.push(async () => {
        await parentOf(planned.parts);
        await fs.mkdir(target, (entry.mode ?? 0o777) & 0o777);
        dirs.add(path);
        written.add(path);
        if (mtimeMs !== undefined) await fs.setMtime(target, mtimeMs);
      });
    } else if (planned.type === 'SymbolicLink' || planned.type === 'Link') {
      entry.resume();
      steps.push(async () => {
        await parentOf(planned.parts);
        await clear(path, target);
        if (planned.linkParts === undefined) await fs.symlink(planned.linkpath ?? '', target);
        else await fs.link(join(dest, ...planned.linkParts), target);
      });
    } else {
      steps.push(async () => {
        await parentOf(planned.parts);
        await clear(path, target);
        open = await fs.createFile(target, (entry.mode ?? 0o666) & 0o777);
      });
      entry.on('data', (chunk: Buffer) => steps.push(() => open!.write(chunk)));
      entry.on('end', () =>
        steps.push(async () => {
          const file = open!;
          open = undefined;
          await file.close();
          if (mtimeMs !== undefined) await fs.setMtime(target, mtimeMs);
        }),
      );
    }
  });
  try {
    await feed(fs, tarball, parser, steps);
  } finally {
    await open?.close().catch(() => undefined);
  }
  if (failure === undefined && index !== entries.length) failure = changed(tarball);
  if (failure !== undefined) throw failure;
}
