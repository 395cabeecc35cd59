/**
 * Helpers for the update tests: temp dirs, hand-written tar headers (node-tar
 * sanitises what it creates, so malicious tarballs are written byte by byte),
 * a loopback HTTP server, and error assertions.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'vitest';
import { OutlastError, type ErrorCode } from '../../supervisor/errors.ts';
import type { FetchContext } from '../../supervisor/update/sources/source.ts';
import { tempDir } from '../support/supervisor.ts';

export { cleanup, tempDir } from '../support/supervisor.ts';

/** One raw tar entry. Types: 0 file, 1 hardlink, 2 symlink, 3 char device, 4 block device, 5 dir, 6 fifo. */
export interface RawEntry {
  path: string;
  type?: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  linkpath?: string;
  body?: string;
  mode?: number;
}

function field(header: Buffer, offset: number, length: number, value: string): void {
  header.write(value.slice(0, length), offset, length, 'utf8');
}

function octal(header: Buffer, offset: number, length: number, value: number): void {
  field(header, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

/** A 512-byte ustar header with a valid checksum, for an entry whose body is `size` bytes. */
export function tarHeader(entry: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  field(h, 0, 100, entry.path);
  octal(h, 100, 8, entry.mode ?? (entry.type === '5' ? 0o755 : 0o644));
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, 1_700_000_000);
  h.fill(' ', 148, 156);
  field(h, 156, 1, entry.type ?? '0');
  field(h, 157, 100, entry.linkpath ?? '');
  field(h, 257, 6, 'ustar\0');
  field(h, 263, 2, '00');
  let sum = 0;
  for (const byte of h) sum += byte;
  field(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** A tar archive of `entries` exactly as given, gzipped unless `gzip` is false. */
export function rawTar(entries: RawEntry[], gzip = true): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    blocks.push(tarHeader(entry, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return gzip ? gzipSync(tar) : tar;
}

/** Writes a raw tarball into a fresh temp dir and returns its path. */
export function rawTarFile(entries: RawEntry[]): string {
  const file = join(tempDir('outlast-tar-'), 'release.tgz');
  writeFileSync(file, rawTar(entries));
  return file;
}

/** A fresh, empty staging dir inside a fresh releases dir. */
export function stagingDir(): string {
  const dest = join(tempDir('outlast-releases-'), '.staging-test');
  mkdirSync(dest);
  return dest;
}

/** Writes files (path → content) under `root`. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** Every entry under `dir`, relative, sorted. */
export function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

/** A fetch context with a generous limit. */
export function context(overrides: Partial<FetchContext> = {}): FetchContext {
  return { signal: AbortSignal.timeout(30_000), maxBytes: 50 * 1024 * 1024, ...overrides };
}

/** Awaits `promise` and returns the OutlastError it rejects with, asserting its code. */
export async function rejection(promise: Promise<unknown>, code: ErrorCode): Promise<OutlastError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutlastError);
  expect((err as OutlastError).code, (err as Error).message).toBe(code);
  return err as OutlastError;
}

/** A server on 127.0.0.1, port 0. */
export interface TestServer {
  url: string;
  /** Requests seen, as "METHOD /path". */
  requests: string[];
  close(): Promise<void>;
}

/** Starts an HTTP server on loopback with `handler`. */
export async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An answer for one path; `hit` counts the requests for that path, from 1. */
export type Route = (res: ServerResponse, hit: number) => void;

/** A loopback server answering from `routes` (404 for anything else), counting hits per path in `hits`. */
export function serveRoutes(routes: ReadonlyMap<string, Route>, hits: Map<string, number>): Promise<TestServer> {
  return serve((req, res) => {
    const path = req.url ?? '';
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    const route = routes.get(path);
    if (route === undefined) res.writeHead(404).end('not found');
    else route(res, hit);
  });
}
