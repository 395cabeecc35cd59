/** `outlast init` run for real in temp dirs, and the config it writes loaded and run. */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../supervisor/config/load.ts';
import { createNodeHost } from '../../supervisor/host/node-host.ts';
import { BIN, cleanup, serviceStatus, startCli, SVC, tempDir } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

const exec = promisify(execFile);

async function init(cwd: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, 'init', ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const host = createNodeHost(() => {
  throw new Error('exit');
});

describe('outlast init', () => {
  afterEach(cleanup);

  it("guesses the command from package.json's start script and writes a config the loader accepts", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: '@acme/web app', scripts: { start: 'node server.js --port 9000' } }));
    const result = await init(dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('wrote outlast.jsonc (service: node server.js --port 9000');
    expect(result.stdout).toContain('next: outlast run --config outlast.jsonc');
    const text = readFileSync(join(dir, 'outlast.jsonc'), 'utf8');
    expect(text).toMatch(/^\/\/ /);
    const config = await loadConfig(host.fs, dir, { config: 'outlast.jsonc' });
    expect(config).toMatchObject({ name: 'web-app', service: { command: ['node', 'server.js', '--port', '9000'], cwd: dir } });
    // The $schema it names is the schema file shipped with this outlast.
    const schemaRef = (JSON.parse(readFileSync(join(dir, 'outlast.jsonc'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { $schema: string }).$schema;
    expect(readFileSync(new URL(schemaRef), 'utf8')).toContain('"$schema"');
  });

  it('guesses a start script with shell syntax as npm start, then "main", then server.py', async () => {
    const shell = tempDir();
    writeFileSync(join(shell, 'package.json'), JSON.stringify({ scripts: { start: 'tsc && node dist/a.js' } }));
    expect((await init(shell)).code).toBe(0);
    expect((await loadConfig(host.fs, shell, { config: 'outlast.jsonc' })).service.command).toEqual(['npm', 'start']);
    const main = tempDir();
    writeFileSync(join(main, 'package.json'), JSON.stringify({ main: 'index.js' }));
    expect((await init(main)).code).toBe(0);
    expect((await loadConfig(host.fs, main, { config: 'outlast.jsonc' })).service.command).toEqual(['node', 'index.js']);
    const python = tempDir();
    writeFileSync(join(python, 'server.py'), 'print(1)\n');
    expect((await init(python)).code).toBe(0);
    expect((await loadConfig(host.fs, python, { config: 'outlast.jsonc' })).service.command).toEqual(['python3', 'server.py']);
  });

  it('says what to do when it cannot guess, and refuses to overwrite without --force', async () => {
    const dir = tempDir();
    const none = await init(dir);
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('give it after --');
    expect((await init(dir, ['--', 'python3', 'app.py'])).code).toBe(0);
    const again = await init(dir, ['--', 'ruby', 'app.rb']);
    expect(again.code).toBe(64);
    expect(again.stderr).toContain(`${join(dir, 'outlast.jsonc')} already exists: pass --force`);
    expect((await loadConfig(host.fs, dir, { config: 'outlast.jsonc' })).service.command).toEqual(['python3', 'app.py']);
    expect((await init(dir, ['--force', '--', 'ruby', 'app.rb'])).code).toBe(0);
    expect((await loadConfig(host.fs, dir, { config: 'outlast.jsonc' })).service.command).toEqual(['ruby', 'app.rb']);
  });

  it('writes a config that `outlast run` supervises', async () => {
    const dir = tempDir();
    expect((await init(dir, ['--', process.execPath, SVC])).code).toBe(0);
    const cli = startCli(['run', '--config', join(dir, 'outlast.jsonc'), '--api-port', '0']);
    const status = await waitFor(async () => {
      const s = await serviceStatus(cli);
      return s.state === 'ready' ? s : undefined;
    }, 'the service ready', 20_000, 100);
    expect(status.pid).toBeGreaterThan(0);
  });
});
