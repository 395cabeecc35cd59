// Live detection: real processes in real namespaces, no mocks. Each test runs
// test/fixtures/platform/print-platform.ts, which prints readPlatform().
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { readPlatformOf, type Platform } from '../../platform/index.ts';

const SCRIPT = fileURLToPath(new URL('../fixtures/platform/print-platform.ts', import.meta.url));
// The repo's Node, which runs .ts files, even when vitest was started by an older system node.
const REPO_NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const NODE = existsSync(REPO_NODE) ? REPO_NODE : process.execPath;

function unshareSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: unshare --pid needs CAP_SYS_ADMIN';
  if (spawnSync('unshare', ['--version']).status !== 0) return 'unshare (util-linux) is not installed';
  return undefined;
}

const skipUnshare = unshareSkipReason();
if (skipUnshare !== undefined) console.warn(`skipping the unshare live test: ${skipUnshare}`);

async function platformOf(command: string, args: string[], env: Record<string, string> = {}): Promise<Platform> {
  const { stdout } = await execa(command, args, { env, timeout: 20_000 });
  return JSON.parse(stdout) as Platform;
}

describe('readPlatform, live', () => {
  it.skipIf(skipUnshare !== undefined)('is a container with us as PID 1 in a fresh PID namespace', async () => {
    const platform = await platformOf('unshare', ['--pid', '--fork', '--mount-proc', NODE, SCRIPT]);
    // With no runtime marker on this host the runtime is `unknown`; being PID 1
    // is what makes it a container (we must keep our PID and reap orphans).
    expect(platform.kind).toBe('container');
    expect(platform.container).toMatchObject({ pid1: true, hasInit: false });
    expect(platform.evidence).toContain('container: we are PID 1');
  });

  it('is termux in a Termux-like environment', async () => {
    const platform = await platformOf(NODE, [SCRIPT], {
      PREFIX: '/data/data/com.termux/files/usr',
      TERMUX_VERSION: '0.118.1',
      ANDROID_ROOT: '/system',
      ANDROID_DATA: '/data',
    });
    expect(platform.kind).toBe('termux');
    expect(platform.termux).toMatchObject({ prefix: '/data/data/com.termux/files/usr', termuxVersion: '0.118.1', proot: false });
    expect(platform.evidence).toEqual(
      expect.arrayContaining(['termux: PREFIX=/data/data/com.termux/files/usr', 'termux: ANDROID_ROOT=/system and ANDROID_DATA=/data']),
    );
    // On a container host (CI, this VM) the container facts stay, and the conflict says Termux won.
    const lost = platform.container === undefined ? [] : [expect.stringMatching(/^termux over container/)];
    expect(platform.conflicts).toEqual(expect.arrayContaining(lost));
  });

  it('reports execve and the Node version of the running process', async () => {
    const platform = await platformOf(NODE, [SCRIPT]);
    const { stdout } = await execa(NODE, ['-p', "`${process.version} ${typeof process.execve === 'function'}`"]);
    expect(`${platform.node} ${platform.execve}`).toBe(stdout);
  });

  it("reads another process's platform from /proc: its env and cgroup, not ours", async () => {
    const termuxEnv = { PREFIX: '/data/data/com.termux/files/usr', TERMUX_VERSION: '0.118.1', ANDROID_ROOT: '/system', ANDROID_DATA: '/data' };
    const child = spawn('sleep', ['30'], { env: { ...process.env, ...termuxEnv }, stdio: 'ignore' });
    try {
      const platform = readPlatformOf(child.pid!);
      expect(platform.kind).toBe('termux');
      expect(platform.termux).toMatchObject({ termuxVersion: '0.118.1' });
      expect(platform.evidence).toContain('termux: TERMUX_VERSION=0.118.1');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
