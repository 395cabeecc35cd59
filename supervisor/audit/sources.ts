/**
 * Finding the source files of one service: a file given as is, or a directory
 * walked in name order, keeping the languages audit reads.
 */
import { basename, extname, join } from 'node:path';
import { OutlastError } from '../errors.ts';

/** What a path names; `undefined` when nothing is there. */
export type EntryKind = 'file' | 'dir' | 'other' | undefined;

/** The reads audit needs, bound to node:fs in node-fs.ts and faked in tests. */
export interface AuditFs {
  /** Symbolic links are reported as `other` and not followed, so a link cycle cannot loop the walk. */
  kind(path: string): Promise<EntryKind>;
  list(dir: string): Promise<Array<{ name: string; kind: EntryKind }>>;
  readFile(path: string): Promise<string>;
}

/** The languages audit has rules for. */
export type Language = 'js' | 'python' | 'go';

/** One source file of a service, read. */
export interface SourceFile {
  path: string;
  text: string;
}

const EXTENSIONS: Record<string, Language> = {
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'js',
  '.ts': 'js',
  '.mts': 'js',
  '.cts': 'js',
  '.tsx': 'js',
  '.py': 'python',
  '.go': 'go',
};

// Build output and third-party code: their servers are not the service's,
// and a bundled copy would report every problem twice.
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'dist', '.venv', 'venv', '__pycache__', 'vendor']);

/** The language of a source path, or undefined for declarations, minified bundles and other files. */
export function languageOf(path: string): Language | undefined {
  const name = basename(path);
  if (/\.d\.[mc]?ts$/.test(name) || name.endsWith('.min.js')) return undefined;
  return EXTENSIONS[extname(name)];
}

/** Every auditable file under `root`; throws NOT_FOUND when `root` does not exist. */
export async function collectSources(fs: AuditFs, root: string): Promise<SourceFile[]> {
  const kind = await fs.kind(root);
  if (kind === undefined) throw new OutlastError('NOT_FOUND', `audit: ${root} does not exist`, { details: { path: root } });
  const paths = kind === 'dir' ? await walk(fs, root) : [root];
  const sources: SourceFile[] = [];
  for (const path of paths) {
    if (languageOf(path) !== undefined) sources.push({ path, text: await fs.readFile(path) });
  }
  return sources;
}

async function walk(fs: AuditFs, dir: string): Promise<string[]> {
  const entries = (await fs.list(dir)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const paths: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.kind === 'dir' && !SKIPPED_DIRS.has(entry.name)) paths.push(...(await walk(fs, path)));
    else if (entry.kind === 'file') paths.push(path);
  }
  return paths;
}
