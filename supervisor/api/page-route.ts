/**
 * `GET /`: the status page, and its scripts, style sheet and icon. Each is
 * read on first use and kept (the page is small; a supervisor that never
 * serves it never reads it), and answered with headers that let it run
 * nothing it did not bring and be framed by nobody.
 */
import { nodeCrypto } from '../lazy-crypto.ts';
import { PAGE_FILES, PAGE_PATHS, readPageFile, type PageFile } from './page-files.ts';
import type { Router } from './router.ts';

/**
 * The page's security headers. The CSP allows only the API's own files: no
 * inline script or style, no other origin, no framing (the buttons change
 * the service, so no other page may overlay them).
 */
export const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

interface Asset {
  body: Buffer;
  etag: string;
}

/** Registers the page's routes; `read` loads a file (the shipped one by default). */
export function registerPageRoutes(router: Router, read: (name: PageFile) => Promise<Buffer> = readPageFile): void {
  const cache = new Map<PageFile, Promise<Asset>>();
  const load = (name: PageFile): Promise<Asset> => {
    let asset = cache.get(name);
    if (asset === undefined) {
      asset = read(name).then((body) => ({ body, etag: `"${nodeCrypto().createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` }));
      // A failed read (a broken install) is retried on the next request.
      void asset.catch(() => cache.delete(name));
      cache.set(name, asset);
    }
    return asset;
  };
  for (const [path, name] of Object.entries(PAGE_PATHS)) {
    router.get(path, async (request, reply) => {
      const { body, etag } = await load(name);
      // no-cache: revalidated every time, so a self-update's new page shows at once.
      reply.headers({ ...PAGE_HEADERS, 'cache-control': 'no-cache', etag, 'content-type': PAGE_FILES[name] });
      if (request.headers['if-none-match'] === etag) return void reply.status(304);
      return body;
    });
  }
}
