/**
 * outlast as an installed package runs it: the compiled dist/ build next to
 * bin/outlast.js and package.json, built from this checkout into the run's
 * work dir (not the repo's dist/, which may be stale or in use).
 * bin/outlast.js picks dist/ there because no sources sit beside it; its
 * node_modules is a link to the repo's, so the dependencies are the same.
 */
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './app.ts';
import { run } from './support/proc.ts';

/** Builds the package under `work`; resolves with its bin/outlast.js, or with the reason it could not. */
export async function buildCompiled(work: string): Promise<{ bin: string } | { problem: string }> {
  const pkg = join(work, 'outlast-pkg');
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  try {
    await run({ file: process.execPath, args: [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')] }, 300_000);
  } catch (err) {
    return { problem: `outlast (compiled): tsc failed: ${(err as Error).message.split('\n').slice(0, 5).join(' ')}` };
  }
  cpSync(join(ROOT, 'bin/outlast.js'), join(pkg, 'bin/outlast.js'));
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  return { bin: join(pkg, 'bin/outlast.js') };
}
