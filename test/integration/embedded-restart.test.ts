/**
 * A Node service that embeds outlast restarts itself with outlast/restart:
 * same strategies, same markers, and `outlast why` explains it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.ts';
import { BIN, cleanup, ROOT, tempDir } from '../support/supervisor.ts';
import { alive, waitFor } from '../support/wait.ts';

afterEach(cleanup);
const SERVICE = resolve(import.meta.dirname, '../fixtures/embedded/service.ts');

describe('outlast/restart', () => {
  it('restarts the embedding service in place, and why sees a clean restart', async () => {
    const port = await freePort();
    const stateDir = join(tempDir('outlast-embedded-'), 'state');
    const proc = spawn(process.execPath, [SERVICE], { env: { ...process.env, PORT: String(port), STATE_DIR: stateDir }, stdio: 'ignore' });
    try {
      const get = async (): Promise<{ pid: number; generation: number } | undefined> => {
        try {
          return (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { pid: number; generation: number };
        } catch {
          return undefined;
        }
      };
      const first = await waitFor(get, 'generation 1');
      expect(first.generation).toBe(1);
      await fetch(`http://127.0.0.1:${port}/restart`, { method: 'POST' });
      const second = await waitFor(async () => {
        const now = await get();
        return now?.generation === 2 ? now : undefined;
      }, 'generation 2');
      expect(second.pid).toBe(first.pid);
      const why = spawnSync(process.execPath, [BIN, 'why', '--json', '--state-dir', stateDir], { cwd: ROOT, encoding: 'utf8' });
      // No first-line marker (the service is not started by bin/outlast.js): the restart is still recorded.
      expect((JSON.parse(why.stdout) as { evidence: Array<{ kind: string; strategy?: string }> }).evidence[0]).toMatchObject({ kind: 'pre-restart', strategy: 'reexec' });
    } finally {
      if (proc.pid !== undefined && alive(proc.pid)) proc.kill('SIGKILL');
    }
  });
});
