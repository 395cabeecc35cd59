/**
 * `outlast release serve DIR`: a release feed (manifest.json, tarballs,
 * .minisig and .sig files) served read-only over HTTP, so a fleet's http
 * source can point at a laptop or a small box without a web server. GET and
 * HEAD only; no directory listing; a path may not leave DIR, through `..`
 * or through a symlink; every answer has its exact content-length.
 *
 * The files are read through the Host (`lstat`, `openRead`); node:http is
 * only the protocol.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { HostFs } from '../host/host.ts';

/** What the server reads with. */
export type FeedFs = Pick<HostFs, 'lstat' | 'openRead'>;

/** A listening feed server. */
export interface FeedServer {
  /** Its base URL, such as http://127.0.0.1:8080 (the manifest is at /manifest.json). */
  url: string;
  close(): Promise<void>;
}

const TYPES: ReadonlyArray<[RegExp, string]> = [
  [/\.json$/, 'application/json'],
  [/\.(tgz|tar\.gz)$/, 'application/gzip'],
  [/\.(minisig|sig|pub)$/, 'text/plain; charset=utf-8'],
];

/** The path segments of a request path, or undefined when one is empty, a dot segment, or hidden (dot files are never served). */
function segments(rawPath: string): string[] | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const parts = decoded.slice(1).split('/');
  if (parts.some((p) => p === '' || p.startsWith('.'))) return undefined;
  return parts;
}

/**
 * The file a request path names inside `dir`, or undefined: every
 * component must be a real directory and the last a regular file (no
 * symlinks at all, so nothing can point out of the feed).
 */
async function findFile(fs: FeedFs, dir: string, parts: readonly string[]): Promise<{ path: string; size: number } | undefined> {
  let path = dir;
  for (const [index, part] of parts.entries()) {
    path = join(path, part);
    const info = await fs.lstat(path);
    const last = index === parts.length - 1;
    if (info === undefined || info.kind !== (last ? 'file' : 'directory')) return undefined;
    if (last) return { path, size: info.size };
  }
  return undefined;
}

function answer(res: ServerResponse, status: number, text: string, head: boolean): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(head ? undefined : text);
}

async function handle(fs: FeedFs, dir: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.setHeader('allow', 'GET, HEAD');
    return answer(res, 405, 'method not allowed: the feed is read-only\n', false);
  }
  const parts = segments(new URL(req.url ?? '/', 'http://feed').pathname);
  const file = parts === undefined ? undefined : await findFile(fs, dir, parts);
  if (file === undefined) return answer(res, 404, 'not found\n', head);
  const type = TYPES.find(([pattern]) => pattern.test(file.path))?.[1] ?? 'application/octet-stream';
  // no-cache: a fleet must see a republished manifest (a raised rollout) at its next check.
  res.writeHead(200, { 'content-type': type, 'content-length': file.size, 'cache-control': 'no-cache' });
  if (head) return void res.end();
  // At most the size announced: a file growing under us cannot break the content-length.
  await pipeline(Readable.from(fs.openRead(file.path, { limit: file.size })), res);
}

/** Serves `dir` on host:port until closed. */
export async function serveFeed(fs: FeedFs, dir: string, options: { host: string; port: number; onError?: (err: unknown) => void }): Promise<FeedServer> {
  const server = createServer((req, res) => {
    handle(fs, dir, req, res).catch((err: unknown) => {
      options.onError?.(err);
      if (!res.headersSent) answer(res, 500, 'cannot read the file\n', false);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the feed server has no TCP address');
  const shown = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
