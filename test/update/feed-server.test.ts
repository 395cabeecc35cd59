/**
 * `outlast release serve`'s server over real loopback HTTP and a real feed
 * folder: files served with their exact length, HEAD, and every way out
 * refused (no listing, no dot files, no `..`, no symlink, no other method).
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { serveFeed } from '../../supervisor/update/feed-server.ts';
import { nodeHost } from '../support/node-host.ts';
import { cleanup, onCleanup, tempDir } from '../support/supervisor.ts';

afterEach(cleanup);

/** One raw request (the path sent exactly as given, unlike fetch, which normalises it). */
function send(base: string, method: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

it('serves the feed read-only, with exact lengths, and nothing outside it', async () => {
  const root = tempDir('outlast-serve-');
  const feed = join(root, 'feed');
  mkdirSync(join(feed, 'old'), { recursive: true });
  writeFileSync(join(feed, 'manifest.json'), '{"versions":[]}\n');
  writeFileSync(join(feed, 'app-1.0.0.tgz'), Buffer.alloc(70_000, 7));
  writeFileSync(join(feed, 'old', 'app-0.9.0.tgz'), 'old');
  writeFileSync(join(feed, '.hidden'), 'no');
  writeFileSync(join(root, 'secret.txt'), 'outside');
  symlinkSync(join(root, 'secret.txt'), join(feed, 'link.json'));
  symlinkSync(root, join(feed, 'up'));
  const server = await serveFeed(nodeHost.fs, feed, { host: '127.0.0.1', port: 0 });
  onCleanup(() => server.close());

  const manifest = await send(server.url, 'GET', '/manifest.json');
  expect(manifest).toMatchObject({ status: 200, body: '{"versions":[]}\n' });
  expect(manifest.headers).toMatchObject({ 'content-type': 'application/json', 'content-length': '16', 'cache-control': 'no-cache' });
  const tarball = await send(server.url, 'GET', '/app-1.0.0.tgz');
  expect(tarball.headers['content-length']).toBe('70000');
  expect(Buffer.byteLength(tarball.body, 'latin1')).toBe(70_000);
  expect((await send(server.url, 'GET', '/old/app-0.9.0.tgz')).body).toBe('old');
  const head = await send(server.url, 'HEAD', '/app-1.0.0.tgz');
  expect(head).toMatchObject({ status: 200, body: '' });
  expect(head.headers['content-length']).toBe('70000');

  for (const path of ['/', '/old', '/old/', '/.hidden', '/link.json', '/up/secret.txt', '/../secret.txt', '/old/../../secret.txt', '/%2e%2e/secret.txt', '/old%2f..%2f..%2fsecret.txt', '/missing.json']) {
    const answer = await send(server.url, 'GET', path);
    expect([path, answer.status]).toEqual([path, 404]);
    expect(answer.body).not.toContain('outside');
  }
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const answer = await send(server.url, method, '/manifest.json');
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
  }
});
