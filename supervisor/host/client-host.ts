/**
 * The few capabilities a client command needs (read a state file, probe a
 * pid, one HTTP request), bound without fetch, execa or zod, for the fast
 * `outlast status` path (supervisor/cli/quick-status.ts). `outlast status`
 * is typed by hand, often in a loop on a phone, so its start-up is the
 * command's cost: node:http is loaded with require, because an ESM
 * `import 'node:http'` also loads undici through the module's lazy
 * WebSocket export, and that alone is tens of milliseconds.
 */
import { readFile } from 'node:fs/promises';
import type * as HttpModuleNs from 'node:http';
import { createRequire } from 'node:module';
import type { HostFs, HostNet, HttpRequest } from './host.ts';

const require = createRequire(import.meta.url);

/** What {@link clientHost} provides: a Pick of the Host, enough for `connect`. */
export interface ClientHost {
  readonly pid: number;
  kill(pid: number, signal: 0): boolean;
  readonly fs: Pick<HostFs, 'readFile'>;
  readonly net: Pick<HostNet, 'httpRequest' | 'eventStream'>;
}

/** One request over node:http with no agent; the whole answer as text. */
export function httpRequest(request: HttpRequest): Promise<{ status: number; body: string }> {
  const http = require('node:http') as typeof HttpModuleNs;
  const target = new URL(request.url);
  if (target.protocol !== 'http:') return Promise.reject(new Error(`only http: URLs, not ${target.protocol}`));
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: request.method, headers: request.headers ?? {}, agent: false, signal: AbortSignal.timeout(request.timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(request.body);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but is not ours.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The client capabilities bound to Node. */
export function clientHost(): ClientHost {
  return {
    pid: process.pid,
    kill: (pid) => alive(pid),
    fs: { readFile: (path) => readFile(path, 'utf8') },
    net: {
      httpRequest,
      // Only `logs -f` and `updates --follow` stream; they load the full network adapter.
      eventStream: async (...args) => (await import('./node-net.ts')).nodeNet.eventStream(...args),
    },
  };
}
