/**
 * Copies the shell helpers of scripts/lib/common.sh into each script that
 * must run alone (a phone gets ctl.sh or watchdog-loop.sh copied on its own,
 * so nothing may be sourced at run time).
 *
 *   node scripts/gen-shell.ts          rewrite the blocks (npm run gen:scripts, prepack)
 *   node scripts/gen-shell.ts --check  exit 1 naming every stale script, change nothing
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The scripts folder of this checkout. */
export const SCRIPTS_DIR = dirname(fileURLToPath(import.meta.url));

/** The one source of the shared helpers, relative to the repository root. */
export const LIB = 'scripts/lib/common.sh';

/** The scripts that carry a generated copy of {@link LIB}. */
export const TARGETS = ['ctl.sh', 'watchdog-loop.sh'] as const;

/** The line that opens a generated block. */
export const BEGIN = `# --- begin generated: ${LIB} ---`;
/** The line that closes it. */
export const END = '# --- end generated ---';

/** The library's body: the file without its leading comment header and the blank lines after it. */
export function libraryBody(source: string): string {
  const lines = source.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('#')) i++;
  while (i < lines.length && lines[i] === '') i++;
  return lines.slice(i).join('\n').replace(/\n*$/, '\n');
}

/**
 * `script` with everything between its marker lines replaced by `body`.
 * Throws when the markers are missing, doubled or out of order, so a broken
 * script is never silently left without its helpers.
 */
export function renderScript(script: string, body: string, name = 'script'): string {
  const lines = script.split('\n');
  const begin = lines.indexOf(BEGIN);
  const end = lines.indexOf(END);
  if (begin < 0 || end < begin || lines.lastIndexOf(BEGIN) !== begin || lines.lastIndexOf(END) !== end) {
    throw new Error(`${name}: needs exactly one "${BEGIN}" line followed by one "${END}" line`);
  }
  const generated = body.replace(/\n$/, '').split('\n');
  return [...lines.slice(0, begin + 1), ...generated, ...lines.slice(end)].join('\n');
}

/** Each target whose generated block differs from what {@link LIB} gives, with the text it should have. */
export function staleScripts(dir = SCRIPTS_DIR): Array<{ path: string; expected: string }> {
  const body = libraryBody(readFileSync(join(dir, 'lib', 'common.sh'), 'utf8'));
  const stale: Array<{ path: string; expected: string }> = [];
  for (const target of TARGETS) {
    const path = join(dir, target);
    const current = readFileSync(path, 'utf8');
    const expected = renderScript(current, body, target);
    if (expected !== current) stale.push({ path, expected });
  }
  return stale;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  const stale = staleScripts();
  for (const { path, expected } of stale) {
    if (check) process.stderr.write(`${path}: the block from ${LIB} is stale; run npm run gen:scripts\n`);
    else writeFileSync(path, expected);
  }
  if (!check) process.stdout.write(`${LIB}: ${stale.length} of ${TARGETS.length} scripts updated\n`);
  process.exitCode = check && stale.length > 0 ? 1 : 0;
}
