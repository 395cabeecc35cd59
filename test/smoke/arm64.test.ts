/**
 * outlast on arm64, for real: the packed package installed by npm running on
 * an arm64 Node (under qemu on x86-64), then `outlast --version`, the demo
 * service supervised until /health answers, and 1.0.0 -> 1.1.0 applied
 * through `outlast apply --wait`. Every node in the process tree is arm64.
 * Slow under emulation (about a minute and a half); skipped, with the reason
 * printed, only where qemu is not installed.
 */
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { packRelease } from '../../supervisor/update/pack.ts';
import { nodeHost } from '../support/node-host.ts';
import { freePort } from '../support/net.ts';
import { cleanup, ROOT, tempDir } from '../support/supervisor.ts';
import { alive, waitFor } from '../support/wait.ts';
import { arm64NodeBinary, nodeWrapper, packCheckout, qemuMissing } from './arm64-node.ts';

const run = promisify(execFile);
const missing = qemuMissing();
if (missing !== undefined) console.log(`skipping the arm64 smoke: ${missing}`);

/** Every package name under a node_modules tree, scoped ones included. */
function packagesUnder(dir: string): string[] {
  let names: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) {
      for (const scoped of readdirSync(join(dir, entry))) names = [...names, `${entry}/${scoped}`, ...packagesUnder(join(dir, entry, scoped, 'node_modules'))];
    } else {
      names = [...names, entry, ...packagesUnder(join(dir, entry, 'node_modules'))];
    }
  }
  return names;
}

async function json(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

describe.skipIf(missing !== undefined)('arm64 under qemu', () => {
  afterAll(cleanup);

  it('installs from the packed tarball, supervises the demo and applies 1.0.0 -> 1.1.0', { timeout: 300_000 }, async () => {
    const work = tempDir('outlast-arm64-');
    const bin = nodeWrapper(join(work, 'bin'), arm64NodeBinary());
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, OUTLAST_LOG_FORMAT: 'json' };
    expect((await run('node', ['-p', 'process.arch'], { env })).stdout.trim()).toBe('arm64');

    // The tarball a user installs (prepack builds dist/), installed by npm running on the arm64 Node.
    const tarball = await packCheckout(work, run);
    const npmCli = process.env.npm_execpath ?? realpathSync((await run('sh', ['-c', 'command -v npm'])).stdout.trim());
    const prefix = join(work, 'prefix');
    await run('node', [npmCli, 'install', '--global', '--prefix', prefix, '--omit=dev', '--no-audit', '--no-fund', tarball], { env, cwd: work, timeout: 180_000 });
    const installed = packagesUnder(join(prefix, 'lib/node_modules'));
    expect(installed).toContain('outlast');
    expect(installed.filter((name) => /^node-(linux|darwin|win)-/.test(name))).toEqual([]);

    const outlast = join(prefix, 'bin/outlast');
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await run(outlast, ['--version'], { env, timeout: 60_000 })).stdout.trim()).toBe(version);

    // The demo's config and releases, on ports free on this machine.
    const feed = join(work, 'feed');
    for (const release of ['1.0.0', '1.1.0']) {
      const dir = tempDir('outlast-arm64-release-');
      for (const file of ['server.js', 'package.json']) writeFileSync(join(dir, file), readFileSync(resolve(ROOT, 'examples/hello', file)));
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version: release }));
      await packRelease(nodeHost.fs, { dir, version: release, feed, name: 'hello' });
    }
    const port = await freePort();
    const demo = JSON.parse(readFileSync(join(ROOT, 'examples/demo/outlast.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    const stateDir = join(work, 'state');
    const config = {
      ...demo,
      stateDir,
      service: { ...demo.service, env: { PORT: String(port) }, health: { ...(demo.service?.health as object), url: `http://127.0.0.1:${port}/health`, readyTimeoutMs: 60_000 } },
      api: { host: '127.0.0.1', port: 0 },
      updates: { ...demo.updates, source: { type: 'dir', path: feed }, healthGate: { timeoutMs: 60_000, stableForMs: 2000 } },
    };
    writeFileSync(join(work, 'outlast.json'), JSON.stringify(config, null, 2));

    const supervisor = spawn(outlast, ['run', '--config', join(work, 'outlast.json')], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let logs = '';
    supervisor.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<number | null>((r) => supervisor.once('exit', (code) => r(code)));
    let servicePid: number | undefined;
    try {
      const first = await waitFor(() => json(`http://127.0.0.1:${port}/`), `the demo on :${port} (logs: ${logs.slice(-400)})`, 120_000, 250);
      expect(first.version).toBe('1.0.0');
      expect((await json(`http://127.0.0.1:${port}/health`)).status).toBe('ok');
      servicePid = first.pid as number;
      // The service is an arm64 Node too: its process image is qemu's (on x86-64) or node's (on arm64).
      expect(readlinkSync(`/proc/${servicePid}/exe`)).toMatch(process.arch === 'x64' ? /qemu-aarch64-static$/ : /node$/);

      await run(outlast, ['apply', '1.1.0', '--wait', '--state-dir', stateDir], { env, cwd: work, timeout: 150_000 });
      const second = await waitFor(async () => {
        const answer = await json(`http://127.0.0.1:${port}/`);
        return answer.version === '1.1.0' ? answer : undefined;
      }, '1.1.0 serving', 60_000, 250);
      servicePid = second.pid as number;
      expect(second.pid).not.toBe(first.pid);

      supervisor.kill('SIGTERM');
      expect(await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))])).not.toBe('hung');
      await waitFor(() => !alive(servicePid ?? 0), 'the service to be gone', 30_000, 100);
    } finally {
      // A failed run must not leak emulated processes: the supervisor's group, then the service's.
      for (const group of [supervisor.pid, servicePid]) {
        try {
          if (group !== undefined) process.kill(-group, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
});
