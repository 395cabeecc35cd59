// `outlast/shutdown` as an installed package sees it: the build output under
// node_modules/outlast/dist, resolved through the "exports" of package.json.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, ROOT, tempDir } from '../support/supervisor.ts';

afterEach(cleanup);

const CONSUMER = `
import { createServer } from 'node:http';
import { gracefulShutdown, type GracefulShutdownOptions, type ShutdownHandle } from 'outlast/shutdown';
const options: GracefulShutdownOptions = { drainMs: 500, onShutdown: [async (reason: string) => void reason] };
const handle: ShutdownHandle = gracefulShutdown(createServer(), options);
const ready: Promise<boolean> = handle.ready();
void ready;
`;

const SERVICE = `
import { createServer } from 'node:http';
import { gracefulShutdown } from 'outlast/shutdown';
const server = createServer((req, res) => res.end('ok'));
gracefulShutdown(server, { drainMs: 1000 });
server.listen(0, '127.0.0.1', () => console.log('listening'));
`;

describe('the outlast/shutdown package export', () => {
  it('resolves to the built helper, with its types, from an installed package', async () => {
    const dir = tempDir('outlast-installed-');
    const pkg = join(dir, 'node_modules/outlast');
    mkdirSync(pkg, { recursive: true });
    copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    // The real build settings, limited to the helper and what it imports, so
    // unrelated work in progress elsewhere in the tree cannot fail this test.
    writeFileSync(join(dir, 'tsconfig.build.json'), JSON.stringify({
      extends: join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { rootDir: ROOT, outDir: join(pkg, 'dist'), typeRoots: [join(ROOT, 'node_modules/@types')] },
      include: [],
      files: [join(ROOT, 'supervisor/shutdown/index.ts')],
    }));
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.build.json')], { stdio: 'inherit' });
    writeFileSync(join(dir, 'service.mjs'), SERVICE);

    // The types, as a TypeScript consumer resolves them (nodenext, "types" condition).
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
    writeFileSync(join(dir, 'consumer.ts'), CONSUMER);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
      files: ['consumer.ts'],
    }));
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { stdio: 'inherit' });

    const child = spawn(process.execPath, [join(dir, 'service.mjs')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => out.includes('listening') && resolve());
      void exited.then(() => reject(new Error(`exited early:\n${out}`)));
    });
    child.kill('SIGTERM');

    expect(await exited).toBe(0);
    expect(out).toMatch(/outlast\/shutdown \+\d+ms SIGTERM: draining/);
    expect(out).toMatch(/outlast\/shutdown \+\d+ms exit 0/);
  });
});
