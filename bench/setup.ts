/**
 * Installs and finds the peers and tools the bench measures with, on the
 * machine it runs on:
 * - from npm, into the bench-local prefix bench/.peers (never the project's
 *   dependencies): PM2 and the load generator autocannon;
 * - from Debian (apt-get, as root, when missing): supervisor, runit, and
 *   hyperfine for the start-up timings.
 * Whatever cannot be had is reported, and its rows are skipped with that
 * reason rather than failing the run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './app.ts';
import { run } from './support/proc.ts';

/** The bench-local npm prefix. */
export const PREFIX = join(ROOT, 'bench/.peers');
/** The npm packages installed there, pinned so runs compare. */
export const NPM_PEERS = { pm2: '7.0.4', autocannon: '9.0.0' } as const;
/** The Debian packages the bench wants, and a binary each provides. */
const DEBIAN = { supervisor: 'supervisord', runit: 'runsv', hyperfine: 'hyperfine' } as const;

/** Where each tool is; undefined when it could not be had. */
export interface Tools {
  pm2?: string;
  autocannon?: string;
  supervisor?: { supervisord: string; supervisorctl: string };
  runit?: { runsv: string; sv: string };
  hyperfine?: string;
  /** Versions of what was found, for the results. */
  versions: Record<string, string>;
  /** What went wrong while installing. */
  problems: string[];
}

/** The absolute path of `name` on PATH, or undefined. */
export function which(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function npmPackage(name: string): { bin: string; version: string } | undefined {
  const dir = join(PREFIX, 'node_modules', name);
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; bin: string | Record<string, string> };
    const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin[name];
    return bin === undefined ? undefined : { bin: join(dir, bin), version: pkg.version };
  } catch {
    return undefined;
  }
}

async function installNpm(problems: string[]): Promise<void> {
  if (Object.entries(NPM_PEERS).every(([name, version]) => npmPackage(name)?.version === version)) return;
  // All of them in one install: npm prunes what bench/.peers/package.json does not list.
  const specs = Object.entries(NPM_PEERS).map(([name, version]) => `${name}@${version}`);
  console.error(`bench: npm install --prefix bench/.peers ${specs.join(' ')}`);
  await run({ file: 'npm', args: ['install', '--prefix', PREFIX, '--no-audit', '--no-fund', '--save-exact', ...specs] }, 300_000).catch((err: Error) => problems.push(err.message));
}

async function installDebian(problems: string[]): Promise<void> {
  const missing = Object.entries(DEBIAN).filter(([, bin]) => which(bin) === undefined).map(([pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || which('apt-get') === undefined) {
    problems.push(`not installed and no apt-get as root to install them: ${missing.join(', ')}`);
    return;
  }
  console.error(`bench: apt-get install ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await run({ file: 'apt-get', args: ['update', '-qq'], env }, 300_000);
    await run({ file: 'apt-get', args: ['install', '-y', '-qq', ...missing], env }, 600_000);
  } catch (err) {
    problems.push((err as Error).message.split('\n').slice(0, 5).join('\n'));
  }
}

function version(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0] ?? '';
  } catch {
    return 'unknown';
  }
}

/** Installs what is missing (unless `install` is false) and reports where everything is. */
export async function setupTools(options: { install: boolean }): Promise<Tools> {
  const problems: string[] = [];
  if (options.install) {
    await installNpm(problems);
    await installDebian(problems);
  }
  const pm2 = npmPackage('pm2');
  const autocannon = npmPackage('autocannon');
  const [supervisord, supervisorctl, runsv, sv, hyperfine] = ['supervisord', 'supervisorctl', 'runsv', 'sv', 'hyperfine'].map(which);
  const versions: Record<string, string> = { node: process.version };
  if (pm2 !== undefined) versions.pm2 = pm2.version;
  if (autocannon !== undefined) versions.autocannon = autocannon.version;
  if (supervisord !== undefined) versions.supervisord = version(supervisord, ['--version']);
  if (runsv !== undefined) versions.runit = version('dpkg-query', ['-W', '-f', '${Version}', 'runit']);
  if (hyperfine !== undefined) versions.hyperfine = version(hyperfine, ['--version']).replace(/^hyperfine /, '');
  return {
    ...(pm2 === undefined ? {} : { pm2: pm2.bin }),
    ...(autocannon === undefined ? {} : { autocannon: autocannon.bin }),
    ...(supervisord !== undefined && supervisorctl !== undefined ? { supervisor: { supervisord, supervisorctl } } : {}),
    ...(runsv !== undefined && sv !== undefined ? { runit: { runsv, sv } } : {}),
    ...(hyperfine === undefined ? {} : { hyperfine }),
    versions,
    problems,
  };
}
