/**
 * outlast as a user installs it: `npm pack` of this checkout, then
 * `npm install -g --prefix <tmp> <tarball>` into the run's work dir. The
 * package's own prepack (gen:scripts, tsc) builds dist/ in a copy of the
 * checkout, not in the repo, whose dist/ may be stale or in use; the install
 * takes only what `files` in package.json ships, with the production
 * dependencies resolved by npm as for a user. bin/outlast.js picks dist/
 * there because no sources sit beside it.
 */
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './app.ts';
import { run } from './support/proc.ts';

/** What the pack needs from the checkout: the build inputs and what `files` ships. */
const PACK_INPUTS = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'scripts', 'schema', 'supervisor', 'platform', 'tools', 'README.md', 'CHANGELOG.md', 'LICENSE'];

/** The installed package's bin/outlast.js and the tarball it came from. */
export interface Installed {
  bin: string;
  tarball: string;
}

/**
 * Packs this checkout and installs the tarball under `work`; resolves with
 * the installed bin/outlast.js (run it with this Node: the system's may be
 * older), or with the reason it could not.
 */
export async function buildCompiled(work: string): Promise<Installed | { problem: string }> {
  const src = join(work, 'outlast-src');
  const prefix = join(work, 'outlast-installed');
  mkdirSync(src, { recursive: true });
  for (const name of PACK_INPUTS) if (existsSync(join(ROOT, name))) cpSync(join(ROOT, name), join(src, name), { recursive: true });
  // The build tools (tsc, the pinned node) for prepack; not packed.
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
  // prepack's scripts say `node`: this Node, not an older one on PATH.
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  let tarball: string;
  try {
    const packed = await run({ file: 'npm', args: ['pack', '--json', '--pack-destination', work], cwd: src, env }, 300_000);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>;
    tarball = join(work, info!.filename);
  } catch (err) {
    return { problem: `outlast (installed): npm pack failed: ${(err as Error).message.split('\n').slice(0, 5).join(' ')}` };
  }
  try {
    await run({ file: 'npm', args: ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball], env }, 300_000);
  } catch (err) {
    return { problem: `outlast (installed): npm install of ${tarball} failed: ${(err as Error).message.split('\n').slice(0, 5).join(' ')}` };
  }
  const bin = join(prefix, 'lib/node_modules/outlast/bin/outlast.js');
  if (!existsSync(join(dirname(bin), '../dist/supervisor/cli/run-main.js'))) return { problem: `outlast (installed): no dist/ in ${dirname(dirname(bin))}` };
  return { bin, tarball };
}
