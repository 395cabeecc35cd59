/**
 * Where a supervisor's output is kept, decided once at start: journald for a
 * systemd unit, runit's svlogd on Termux when runsv runs us (`outlast install
 * termux`), and otherwise — a bare run — our own `<stateDir>/logs/outlast.log`.
 * The supervisor records the file in its registry entry, so `outlast logs`
 * follows the same decision without making it again.
 */
import { join } from 'node:path';
import type { Platform } from '../../platform/platform.ts';
import type { Host } from '../host/host.ts';

/** The log file's name in `<stateDir>/logs/`. */
export const LOG_FILE_NAME = 'outlast.log';

/** `<stateDir>/logs/outlast.log`. */
export function logFilePath(stateDir: string): string {
  return join(stateDir, 'logs', LOG_FILE_NAME);
}

/** The command name of our parent process, where /proc says. */
export function parentCommand(host: Pick<Host, 'ppid'> & { fs: Pick<Host['fs'], 'readSync'> }): string | undefined {
  return host.fs.readSync(`/proc/${host.ppid}/comm`)?.trim();
}

/**
 * Whether this supervisor keeps its own log file: not when journald (a unit)
 * or svlogd (runsv is our parent on Termux) already keeps its output, which
 * would then be logged twice.
 */
export function keepsOwnLogFile(platform: Pick<Platform, 'kind' | 'systemd'>, parent: string | undefined): boolean {
  if (platform.systemd?.unit !== undefined && platform.systemd.unit !== null) return false;
  if (platform.kind === 'termux' && parent === 'runsv') return false;
  return true;
}
