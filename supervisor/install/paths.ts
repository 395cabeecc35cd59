/**
 * Where this copy of outlast lives: its CLI entry, bin/outlast.js. Generated
 * units start exactly this file, and `doctor` compares a unit's ExecStart
 * with it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The absolute path of bin/outlast.js: two directories up from this file in
 * a checkout (supervisor/install/), three from the dist/ build.
 */
export function outlastEntry(): string {
  const candidates = ['../../bin/outlast.js', '../../../bin/outlast.js'].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  return candidates.find((path) => existsSync(path)) ?? candidates[0]!;
}
