/**
 * The one-line reason a command could not be started, as people read it.
 * execa's own message repeats the errno three times over several lines
 * ("Command failed with ENOENT: …\nspawn … ENOENT"), which a JSON log line
 * shows as an escaped `\n`; the errno itself travels beside the reason.
 */
import type * as Util from 'node:util';
import { createRequire } from 'node:module';

// A require: the ESM namespace of node:util evaluates its lazy exports,
// loading streams, worker_threads and more (~0.9 MB resident).
const { getSystemErrorMap } = createRequire(import.meta.url)('node:util') as typeof Util;

/** What went wrong, as the spawn's caller knows it. */
export interface SpawnFailure {
  errno: string;
  /** The program that was to run, as given. */
  file: string;
  /** The working directory asked for. */
  cwd: string;
  /** Whether that directory exists: Node reports a missing cwd as the command's ENOENT. */
  cwdExists: boolean;
}

/** The system's description of an errno name, e.g. EACCES → "permission denied". */
function describeErrno(errno: string): string {
  for (const [name, description] of getSystemErrorMap().values()) if (name === errno) return description;
  return errno;
}

/** E.g. "/opt/app/server: no such file", "python: not found on PATH", "the working directory /srv/x does not exist". */
export function spawnFailureReason(failure: SpawnFailure): string {
  const { errno, file } = failure;
  if (errno === 'ENOENT' && !failure.cwdExists) return `the working directory ${failure.cwd} does not exist`;
  // A bare name is looked up on PATH; a path is taken as it is.
  if (errno === 'ENOENT') return file.includes('/') ? `${file}: no such file` : `${file}: not found on PATH`;
  if (errno === 'EACCES') return `${file}: permission denied (not executable, or a directory)`;
  return `${file}: ${describeErrno(errno)}`;
}
