/**
 * outlast's own version, read once from the package.json that ships with this
 * code (two levels up when running from dist/, one level up from source).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'outlast' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not this one; try the next candidate.
    }
  }
  return '0.0.0-unknown';
}

/** The running outlast's version. */
export const VERSION: string = readVersion();

/**
 * scripts/ shipped with outlast: two levels up from source
 * (supervisor/x), three from dist/ (dist/supervisor/x).
 */
export function scriptsDir(): string {
  for (const relative of ['../scripts/', '../../scripts/']) {
    const url = new URL(relative, import.meta.url);
    if (existsSync(new URL('ctl.sh', url))) return fileURLToPath(url);
  }
  return fileURLToPath(new URL('../scripts/', import.meta.url));
}
