/**
 * The bundled release: the app folder an install ships with (a container
 * image's /app), offered as one release whose version is its package.json's.
 * It is copied into staging file by file, so the release store never points
 * into the image: the next image replaces that folder, and a release must
 * not change under `current` or `previous`.
 */
import { join } from 'node:path';
import { OutlastError } from '../../errors.ts';
import type { HostFs } from '../../host/host.ts';
import { cleanVersion } from '../selection.ts';
import type { FetchContext, ReleaseEntry, UpdateSource } from './source.ts';

/** The file-system calls the copy needs. */
export type BundledFs = Pick<HostFs, 'readFile' | 'readdir' | 'lstat' | 'readlink' | 'symlink' | 'mkdir' | 'chmod' | 'openRead' | 'createFile'>;

/** The version of the bundled release at `dir`, from its package.json; CONFIG_INVALID when it has none. */
export async function bundledVersion(fs: Pick<HostFs, 'readFile'>, dir: string): Promise<string> {
  let text: string;
  try {
    text = await fs.readFile(join(dir, 'package.json'));
  } catch (err) {
    throw new OutlastError('CONFIG_INVALID', `updates.bundled: cannot read ${join(dir, 'package.json')} for the bundled release's version`, { cause: err });
  }
  const raw = (JSON.parse(text) as { version?: unknown }).version;
  const version = typeof raw === 'string' ? cleanVersion(raw) : undefined;
  if (version === undefined) throw new OutlastError('CONFIG_INVALID', `updates.bundled: ${join(dir, 'package.json')} has no semver "version" (got ${JSON.stringify(raw)})`);
  return version;
}

/**
 * Copies the tree at `from` into the empty dir `to`: files (with their
 * permission bits, never setuid/setgid), dirs and symlinks as they are.
 * Paths in `skip` (the state dir, when it lives inside the app) and `.git`
 * are left out. Counts bytes against `maxBytes` (TOO_LARGE past it).
 */
export async function copyTree(fs: BundledFs, from: string, to: string, skip: ReadonlySet<string>, ctx: Pick<FetchContext, 'signal' | 'maxUnpackedBytes'>): Promise<number> {
  let bytes = 0;
  const walk = async (src: string, dest: string): Promise<void> => {
    for (const name of (await fs.readdir(src)).sort()) {
      ctx.signal.throwIfAborted();
      const path = join(src, name);
      if (skip.has(path) || (src === from && name === '.git')) continue;
      const info = await fs.lstat(path);
      const target = join(dest, name);
      if (info === undefined) continue;
      if (info.kind === 'directory') {
        await fs.mkdir(target, info.mode & 0o777);
        await walk(path, target);
      } else if (info.kind === 'symlink') {
        const link = await fs.readlink(path);
        if (link !== undefined) await fs.symlink(link, target);
      } else if (info.kind === 'file') {
        const out = await fs.createFile(target, info.mode & 0o777);
        try {
          for await (const chunk of fs.openRead(path, { signal: ctx.signal })) {
            bytes += chunk.length;
            if (ctx.maxUnpackedBytes !== undefined && bytes > ctx.maxUnpackedBytes) {
              throw new OutlastError('TOO_LARGE', `the bundled release is larger than updates.maxUnpackedBytes (${ctx.maxUnpackedBytes} bytes)`, { details: { limit: ctx.maxUnpackedBytes } });
            }
            await out.write(chunk);
          }
        } finally {
          await out.close();
        }
      }
      // Sockets, fifos and devices are not part of a release.
    }
  };
  await walk(from, to);
  return bytes;
}

/** A source of the one bundled release at `dir`; `skip` lists paths inside it that are not part of it. */
export function createBundledSource(fs: BundledFs, dir: string, skip: readonly string[]): UpdateSource & { readonly dir: string } {
  return {
    kind: 'bundled',
    dir,
    async list(): Promise<ReleaseEntry[]> {
      return [{ version: await bundledVersion(fs, dir) }];
    },
    async fetch(entry, dest, ctx): Promise<void> {
      const version = await bundledVersion(fs, dir);
      if (version !== entry.version) throw new OutlastError('VERSION_NOT_FOUND', `the bundled release is ${version}, not ${entry.version}`, { details: { version: entry.version } });
      const bytes = await copyTree(fs, dir, dest, new Set(skip), ctx);
      ctx.log?.(`copied the bundled release ${version} from ${dir} (${bytes} bytes)`);
    },
  };
}
