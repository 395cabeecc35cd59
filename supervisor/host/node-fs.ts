/**
 * The real Host's file system, bound to node:fs: whole-file reads and
 * durable writes for state, and streams for release tarballs.
 */
import { constants as fsConstants, createReadStream, type Stats } from 'node:fs';
import { access, appendFile, chmod, link, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { nodeSnapshotIo } from '../../platform/snapshot-reader.ts';
import type { FileInfo, HostFs, WritableFile } from './host.ts';
import { randomBytesSync } from './random.ts';

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}


/** {@link HostFs} over node:fs. */
export const nodeFs: HostFs = {
  readFile: (path) => readFile(path, 'utf8'),
  // The same non-blocking read platform detection uses: a FIFO cannot stall a signal handler.
  readSync: (path) => nodeSnapshotIo.readFile(path),
  async writeFileAtomic(path, data, mode = 0o644) {
    // Write-then-rename keeps readers from ever seeing a half-written file; the
    // fsyncs make the rename survive a power cut, not only a crash.
    const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytesSync(4).toString('hex')}.tmp`);
    const handle = await open(tmp, 'w', mode);
    try {
      try {
        await handle.writeFile(data, 'utf8');
        await handle.chmod(mode);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
    } catch (err) {
      // A full disk fails the write itself: the temp file must not stay behind either.
      await rm(tmp, { force: true });
      throw err;
    }
    await fsyncDir(dirname(path));
  },
  async mkdir(path, mode = 0o755) {
    await mkdir(path, { recursive: true, mode });
  },
  async rm(path) {
    await rm(path, { force: true, recursive: true });
  },
  async exists(path) {
    try {
      await access(path, fsConstants.F_OK);
      return true;
    } catch {
      return false;
    }
  },
  async mode(path) {
    try {
      return (await stat(path)).mode & 0o7777;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  symlink: (target, path) => symlink(target, path),
  async readlink(path) {
    try {
      return await readlink(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EINVAL') return undefined;
      throw err;
    }
  },
  rename: (from, to) => rename(from, to),
  async readdir(path) {
    try {
      return await readdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  },
  async readdirKinds(path) {
    try {
      const entries = await readdir(path, { withFileTypes: true });
      return entries.map((e) => ({ name: e.name, kind: e.isFile() ? 'file' : e.isDirectory() ? 'directory' : e.isSymbolicLink() ? 'symlink' : e.isSocket() ? 'socket' : 'other' }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  },
  async writeDurable(path, data) {
    const handle = await open(path, 'wx', 0o644);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  append: (path, data) => appendFile(path, data),
  fsyncDir,
  async lstat(path) {
    try {
      const stats = await lstat(path);
      return { kind: fileKind(stats), size: stats.size, mode: stats.mode & 0o7777, uid: stats.uid, ino: stats.ino };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  chmod: (path, mode) => chmod(path, mode),
  async readRange(path, start, length) {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      return buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  },
  setMtime: (path, mtimeMs) => utimes(path, new Date(), new Date(mtimeMs)),
  link: (existing, path) => link(existing, path),
  openRead(path, options = {}) {
    const { start = 0, limit, signal } = options;
    // createReadStream's `end` is the last byte offset, inclusive.
    return createReadStream(path, { start, ...(signal === undefined ? {} : { signal }), ...(limit === undefined ? {} : { end: start + limit - 1 }) });
  },
  async createFile(path, mode) {
    const handle = await open(path, 'wx', mode);
    const file: WritableFile = {
      async write(chunk) {
        await handle.write(chunk);
      },
      close: () => handle.close(),
    };
    return file;
  },
};

function fileKind(stats: Stats): FileInfo['kind'] {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isSocket()) return 'socket';
  return 'other';
}
