/**
 * The environment rules for anything the supervisor runs on the service's
 * behalf: the child itself, and the update hooks (install, preflight) that
 * run the service's own code in a staging dir.
 */
import type { ServiceConfig } from '../config/schema.ts';

/**
 * Variables addressed to the supervisor, not to its child: systemd's notify
 * and socket handshakes (a child that answered NOTIFY_SOCKET itself could
 * report READY=1 before we do), and outlast's own restart bookkeeping.
 */
export const SUPERVISOR_ONLY_ENV: ReadonlySet<string> = new Set([
  'NOTIFY_SOCKET',
  'WATCHDOG_USEC',
  'WATCHDOG_PID',
  'LISTEN_FDS',
  'LISTEN_PID',
  'LISTEN_FDNAMES',
  'OUTLAST_RESTART_ID',
  'OUTLAST_MARKER_DIR',
]);

/**
 * The environment a process run for the service starts with: the
 * supervisor's own (with `inheritEnv`, less the supervisor-only variables),
 * then `service.env`, then `extra` (later wins).
 */
export function childEnv(
  supervisorEnv: Readonly<Record<string, string | undefined>>,
  config: Pick<ServiceConfig, 'inheritEnv' | 'env'>,
  ...extra: ReadonlyArray<Record<string, string> | undefined>
): Record<string, string> {
  const env: Record<string, string> = {};
  if (config.inheritEnv) {
    for (const [key, value] of Object.entries(supervisorEnv)) if (value !== undefined && !SUPERVISOR_ONLY_ENV.has(key)) env[key] = value;
  }
  for (const layer of [config.env, ...extra]) if (layer !== undefined) Object.assign(env, layer);
  return env;
}
