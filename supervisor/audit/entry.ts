/**
 * The sources of a service named by its command, for `outlast audit --live`
 * without paths: the entry file (the first argument that is an existing
 * source file) and the files it imports, transitively, by relative path.
 * Packages (`node_modules`) and everything else in the cwd are left out: the
 * cwd of a live audit is often a repository root or /tmp, not the service.
 */
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Node } from '@babel/types';
import { parseJs } from './js/parse.ts';
import { asCall, stringValue } from './js/syntax.ts';
import { visit } from './js/visit.ts';
import { languageOf, type AuditFs, type SourceFile } from './sources.ts';

// A service with more own modules than this is audited as far as this.
const MAX_FILES = 2000;
const RESOLVE_SUFFIXES = ['', '.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs', '/index.ts', '/index.js', '/index.mjs', '/index.cjs'];

/** The entry file of `command` run in `cwd`, absolute; undefined when no argument names a source file. */
export async function entryFile(fs: AuditFs, command: readonly string[], cwd: string): Promise<string | undefined> {
  for (const arg of command.slice(1)) {
    if (arg.startsWith('-')) continue;
    const path = resolve(cwd, arg);
    if (languageOf(path) !== undefined && (await fs.kind(path)) === 'file') return path;
  }
  return undefined;
}

/** The relative module specifiers of one JS/TS file: import, export … from, require() and import(). */
function relativeSpecifiers(path: string, text: string): string[] {
  const parsed = parseJs(path, text);
  if (!parsed.ok) return [];
  const found: string[] = [];
  visit(parsed.ast.program, (node: Node) => {
    if ((node.type === 'ImportDeclaration' || node.type === 'ExportAllDeclaration' || node.type === 'ExportNamedDeclaration') && node.source != null) {
      found.push(node.source.value);
    }
    const call = asCall(node);
    const loads = call !== undefined && ((call.callee.type === 'Identifier' && call.callee.name === 'require') || call.callee.type === 'Import');
    const arg = node.type === 'ImportExpression' ? node.source : loads ? call.args[0] : undefined;
    const value = arg === undefined ? undefined : stringValue(arg);
    if (value !== undefined) found.push(value);
  });
  return found.filter((spec) => spec.startsWith('./') || spec.startsWith('../'));
}

async function resolveModule(fs: AuditFs, from: string, spec: string): Promise<string | undefined> {
  const base = resolve(dirname(from), spec);
  // TypeScript's ESM style names the emitted `.js` of a `.ts` source.
  const stems = /\.[mc]?js$/.test(base) ? [base, base.replace(/\.([mc]?)js$/, '.$1ts')] : [base];
  for (const stem of stems) {
    for (const suffix of RESOLVE_SUFFIXES) {
      const path = `${stem}${suffix}`;
      if (languageOf(path) !== undefined && (await fs.kind(path)) === 'file') return path;
    }
  }
  return undefined;
}

/**
 * The entry file and its own imports, read; paths are shown relative to
 * `shownFrom` when inside it. Python and Go entries are audited alone.
 */
export async function entrySources(fs: AuditFs, entry: string, shownFrom: string): Promise<SourceFile[]> {
  const shown = (path: string): string => {
    const rel = relative(shownFrom, path);
    return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  };
  const sources: SourceFile[] = [];
  const seen = new Set([entry]);
  const work = [entry];
  for (let path = work.shift(); path !== undefined && sources.length < MAX_FILES; path = work.shift()) {
    const text = await fs.readFile(path);
    sources.push({ path: shown(path), text });
    if (languageOf(path) !== 'js') continue;
    for (const spec of relativeSpecifiers(path, text)) {
      const target = await resolveModule(fs, path, spec);
      if (target === undefined || seen.has(target) || target.includes('/node_modules/')) continue;
      seen.add(target);
      work.push(target);
    }
  }
  return sources;
}
