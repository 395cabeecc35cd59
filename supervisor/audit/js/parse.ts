/**
 * Parsing JS and TS with @babel/parser, as forgiving as it allows: module
 * first, script second, and error recovery on, so one odd line does not hide
 * a whole file from the audit.
 */
import { parse, type ParserPlugin } from '@babel/parser';
import type { File } from '@babel/types';

/** A syntax tree, or where and why the file could not be parsed. */
export type ParseOutcome = { ok: true; ast: File } | { ok: false; line: number; message: string };

// Only the TypeScript family gets the typescript plugin: in a .ts file
// `<T>x` is a cast, and turning jsx on there as well would misread it.
function pluginsFor(path: string): ParserPlugin[] {
  if (path.endsWith('.tsx')) return ['typescript', 'jsx', 'decorators-legacy'];
  if (/\.[mc]?ts$/.test(path)) return ['typescript', 'decorators-legacy'];
  return ['jsx', 'decorators-legacy'];
}

/** Parses `text`, naming the plugins by the extension of `path`. */
export function parseJs(path: string, text: string): ParseOutcome {
  const plugins = pluginsFor(path);
  let first: unknown;
  for (const sourceType of ['module', 'script'] as const) {
    try {
      const ast = parse(text, {
        sourceType,
        plugins,
        errorRecovery: true,
        allowReturnOutsideFunction: true,
        allowAwaitOutsideFunction: true,
      });
      return { ok: true, ast };
    } catch (err) {
      first ??= err;
    }
  }
  const loc = (first as { loc?: { line?: unknown } }).loc;
  return {
    ok: false,
    line: typeof loc?.line === 'number' ? loc.line : 1,
    message: first instanceof Error ? first.message : String(first),
  };
}
