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

/**
 * Every auditable file under `root`; throws NOT_FOUND when `root` does not
 * exist. Below it, SKIPPED_DIRS and what a .gitignore on the way lists are
 * left out; `root` itself is read whatever its name, so naming a skipped dir
 * (`outlast audit dist`) audits it.
 */
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

/** A .gitignore pattern, relative to the dir of its file. */
interface IgnoreRule {
  base: string;
  pattern: RegExp;
  dirOnly: boolean;
  negate: boolean;
}

/** The rules of one .gitignore in `dir` (negations kept, so `!keep.js` re-includes). */
export function parseGitignore(dir: string, text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.replace(/\r$/, '').replace(/(?<!\\)\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.slice(0, -1);
    // A slash anywhere but at the end anchors the pattern to its file's dir.
    const anchored = line.includes('/');
    line = line.replace(/^\//, '');
    const body = line
      .split('/')
      .map((part) => (part === '**' ? '(?:.*/)?' : `${part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}/`))
      .join('')
      .replace(/\/$/, '')
      .replace(/\(\?:\.\*\/\)\?$/, '.*');
    rules.push({ base: dir, pattern: new RegExp(`^${anchored ? '' : '(?:.*/)?'}${body}$`), dirOnly, negate });
  }
  return rules;
}

function ignored(rules: readonly IgnoreRule[], path: string, isDir: boolean): boolean {
  let result = false;
  for (const rule of rules) {
    if (rule.dirOnly && !isDir) continue;
    if (!path.startsWith(`${rule.base}/`)) continue;
    if (rule.pattern.test(path.slice(rule.base.length + 1))) result = !rule.negate;
  }
  return result;
}

async function walk(fs: AuditFs, dir: string, inherited: readonly IgnoreRule[] = []): Promise<string[]> {
  const entries = (await fs.list(dir)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const gitignore = entries.some((entry) => entry.name === '.gitignore' && entry.kind === 'file') ? await fs.readFile(join(dir, '.gitignore')) : undefined;
  const rules = gitignore === undefined ? inherited : [...inherited, ...parseGitignore(dir, gitignore)];
  const paths: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.kind === 'dir' && !SKIPPED_DIRS.has(entry.name) && !ignored(rules, path, true)) paths.push(...(await walk(fs, path, rules)));
    else if (entry.kind === 'file' && !ignored(rules, path, false)) paths.push(path);
  }
  return paths;
}
