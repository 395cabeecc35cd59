/**
 * The status page's files, shipped as they are (no build step) in
 * supervisor/api/page/: next to this module in a checkout, and from the
 * dist/ build three levels up (package.json "files" ships the folder).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

const JS = 'text/javascript; charset=utf-8';

/** The page's files, by name, with their content types. */
export const PAGE_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
  // The script, as modules: app.js imports the others.
  'app.js': JS,
  'api.js': JS,
  'dom.js': JS,
  'operation.js': JS,
  'panels.js': JS,
  'state.js': JS,
} as const;

/** The name of one of the page's files. */
export type PageFile = keyof typeof PAGE_FILES;

/** Where each file is served: the page at `/`, the others by name. */
export const PAGE_PATHS: Readonly<Record<string, PageFile>> = Object.fromEntries(
  (Object.keys(PAGE_FILES) as PageFile[]).map((name) => [name === 'index.html' ? '/' : `/${name}`, name]),
);

function pageDir(): URL {
  for (const relative of ['./page/', '../../../supervisor/api/page/']) {
    const url = new URL(relative, import.meta.url);
    if (existsSync(new URL('index.html', url))) return url;
  }
  return new URL('./page/', import.meta.url);
}

/** Reads one of the page's files. */
export function readPageFile(name: PageFile): Promise<Buffer> {
  return readFile(new URL(name, pageDir()));
}
