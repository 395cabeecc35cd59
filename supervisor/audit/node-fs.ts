/**
 * The real {@link AuditFs}, bound to node:fs.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import type { AuditFs, EntryKind } from './sources.ts';

function kindOf(entry: Dirent | Stats): EntryKind {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  return 'other';
}

/** Reads the real file system; lstat, so symbolic links are never followed. */
export const nodeAuditFs: AuditFs = {
  async kind(path) {
    try {
      return kindOf(await lstat(path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  async list(dir) {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.map((entry) => ({ name: entry.name, kind: kindOf(entry) }));
  },
  readFile: (path) => readFile(path, 'utf8'),
};
