/**
 * Readiness by message: `health.notify` waits for READY=1 from the service on
 * the socket outlast names in OUTLAST_NOTIFY_SOCKET.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, serviceStatus, startCli, tempDir } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

afterEach(cleanup);

const HELPER = resolve(import.meta.dirname, '../../supervisor/shutdown/index.ts');

function config(script: string, readyTimeoutMs = 5000): string {
  const dir = tempDir('outlast-notify-');
  const file = join(dir, 'service.mjs');
  writeFileSync(file, script);
  const path = join(dir, 'outlast.json');
  writeFileSync(path, JSON.stringify({ stateDir: join(dir, 'state'), api: { port: 0 }, service: { command: [process.execPath, file], health: { notify: true, readyTimeoutMs } } }));
  return path;
}

describe('health.notify', () => {
  it('is starting until the service calls ready(), then ready', async () => {
    const script = `import { createServer } from 'node:http';
import { gracefulShutdown } from ${JSON.stringify(HELPER)};
const server = createServer((req, res) => res.end('ok'));
const shutdown = gracefulShutdown(server, { drainMs: 1000 });
server.listen(0, '127.0.0.1', () => setTimeout(() => void shutdown.ready(), 700));
`;
    const cli = startCli(['run', '--config', config(script)]);
    await waitFor(async () => (await serviceStatus(cli)).state === 'starting', 'starting');
    await waitFor(async () => (await serviceStatus(cli)).state === 'ready', 'ready after READY=1');
    const ready = cli.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('service ready after'));
    expect(ready?.ms).toBeGreaterThanOrEqual(600);
  });

  it('restarts a service that never says it is ready', async () => {
    const cli = startCli(['run', '--config', config('setInterval(() => {}, 1000);\n', 800)]);
    await waitFor(() => cli.logs().some((l) => l.msg === 'service never became ready'), 'readiness failure', 10_000);
    await waitFor(async () => (await serviceStatus(cli)).restarts >= 1, 'a restart');
  });
});
