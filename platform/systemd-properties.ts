/**
 * A unit's stop and restart behaviour, read with `systemctl show`: how it is
 * killed (KillMode, TimeoutStopUSec), whether and when it is restarted
 * (Restart, RestartForceExitStatus), and how it may notify (Type,
 * NotifyAccess, WatchdogUSec). The restart strategies decide from these.
 */
import { OutlastError } from '../supervisor/errors.ts';
import type { SystemctlRunner } from './systemctl-runner.ts';
import { parseSystemdDuration } from './systemd-duration.ts';
import type { SystemdDuration } from './systemd-duration.ts';

const KILL_MODES = ['control-group', 'mixed', 'process', 'none'] as const;
const RESTARTS = ['no', 'on-success', 'on-failure', 'on-abnormal', 'on-watchdog', 'on-abort', 'always'] as const;
const NOTIFY_ACCESS = ['none', 'main', 'exec', 'all'] as const;
const TYPES = ['simple', 'exec', 'forking', 'oneshot', 'dbus', 'notify', 'notify-reload', 'idle'] as const;

/** The properties asked for. LoadState tells a missing unit from one with default settings. */
const PROPERTIES = [
  'LoadState',
  'KillMode',
  'TimeoutStopUSec',
  'Restart',
  'RestartForceExitStatus',
  'NotifyAccess',
  'Type',
  'WatchdogUSec',
] as const;

/** The typed properties. Service-only ones are undefined for other units (a `.scope`). */
export interface SystemdUnitProperties {
  killMode: (typeof KILL_MODES)[number];
  timeoutStop: SystemdDuration;
  restart?: (typeof RESTARTS)[number];
  /** Exit statuses and signals that restart the unit even under Restart=no. */
  restartForceExitStatus?: { statuses: number[]; signals: string[] };
  notifyAccess?: (typeof NOTIFY_ACCESS)[number];
  type?: (typeof TYPES)[number];
  /** WatchdogSec=; `{ us: 0 }` when the watchdog is off. */
  watchdog?: SystemdDuration;
}

/** Parsed properties, or why the output is not what systemctl prints. */
export type ParsedProperties = { ok: true; loadState: string; properties: SystemdUnitProperties } | { ok: false; reason: string };

/** Options for {@link readSystemdProperties}. */
export interface ReadPropertiesOptions {
  scope: 'system' | 'user';
  /** Hard limit for the systemctl run; 5 s by default. */
  timeoutMs?: number;
  /** Runs systemctl: `hostRunner(host, 'systemctl')` (systemctl-runner.ts) for the real one. */
  run: SystemctlRunner;
}

/**
 * Reads `unit`'s properties. Throws OutlastError: TIMEOUT when systemctl does
 * not answer in time, NOT_SUPPORTED when there is no systemctl, NOT_FOUND for
 * a unit systemd does not know, INTERNAL for any other failure.
 */
export async function readSystemdProperties(unit: string, options: ReadPropertiesOptions): Promise<SystemdUnitProperties> {
  const { scope, timeoutMs = 5000, run } = options;
  const args = [...(scope === 'user' ? ['--user'] : []), 'show', unit, '-p', PROPERTIES.join(',')];
  const details = { unit, scope };
  const outcome = await run(args, timeoutMs);
  if (outcome.kind === 'timed-out') {
    throw new OutlastError('TIMEOUT', `systemctl show ${unit} did not answer within ${timeoutMs} ms`, { details });
  }
  if (outcome.kind === 'failed') {
    const code = outcome.errno === 'ENOENT' ? 'NOT_SUPPORTED' : 'INTERNAL';
    throw new OutlastError(code, `systemctl could not run: ${outcome.message}`, { details });
  }
  if (outcome.exitCode !== 0) {
    const stderr = outcome.stderr.trim();
    throw new OutlastError('INTERNAL', `systemctl show ${unit} exited with ${outcome.exitCode}: ${stderr}`, { details });
  }
  const parsed = parseSystemdProperties(outcome.stdout);
  if (!parsed.ok) throw new OutlastError('INTERNAL', `systemctl show ${unit}: ${parsed.reason}`, { details });
  // systemctl answers for unknown units too, with defaults: only LoadState tells.
  if (parsed.loadState === 'not-found') throw new OutlastError('NOT_FOUND', `no unit ${unit} (${scope})`, { details });
  return parsed.properties;
}

/** Parses `Key=Value` lines as `systemctl show -p …` prints them. */
export function parseSystemdProperties(stdout: string): ParsedProperties {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  try {
    const required = (key: string): string => {
      const value = values.get(key);
      if (value === undefined || value === '') throw new Error(`no ${key} in the output`);
      return value;
    };
    // Empty or absent: systemctl prints service-only properties for services only.
    const optional = (key: string): string | undefined => values.get(key) || undefined;
    const restart = optional('Restart');
    const notifyAccess = optional('NotifyAccess');
    const type = optional('Type');
    const watchdog = optional('WatchdogUSec');
    const force = values.get('RestartForceExitStatus');
    const properties: SystemdUnitProperties = {
      killMode: oneOf('KillMode', required('KillMode'), KILL_MODES),
      timeoutStop: duration('TimeoutStopUSec', required('TimeoutStopUSec')),
      ...(restart === undefined ? {} : { restart: oneOf('Restart', restart, RESTARTS) }),
      ...(force === undefined ? {} : { restartForceExitStatus: exitStatusSet(force) }),
      ...(notifyAccess === undefined ? {} : { notifyAccess: oneOf('NotifyAccess', notifyAccess, NOTIFY_ACCESS) }),
      ...(type === undefined ? {} : { type: oneOf('Type', type, TYPES) }),
      ...(watchdog === undefined ? {} : { watchdog: duration('WatchdogUSec', watchdog) }),
    };
    return { ok: true, loadState: required('LoadState'), properties };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

function oneOf<T extends string>(key: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined) throw new Error(`${key}=${value} is not one of ${allowed.join(', ')}`);
  return found;
}

function duration(key: string, value: string): SystemdDuration {
  const parsed = parseSystemdDuration(value);
  if (!parsed.ok) throw new Error(`${key}: ${parsed.reason}`);
  return parsed;
}

/** `75 SIGUSR1` → statuses [75], signals ['SIGUSR1']; empty → none. */
function exitStatusSet(value: string): { statuses: number[]; signals: string[] } {
  const set = { statuses: [] as number[], signals: [] as string[] };
  for (const word of value.split(/\s+/).filter((w) => w !== '')) {
    if (/^\d+$/.test(word) && Number(word) <= 255) set.statuses.push(Number(word));
    else if (/^SIG[A-Z0-9+]+$/.test(word)) set.signals.push(word);
    else throw new Error(`RestartForceExitStatus: "${word}" is neither an exit status nor a signal`);
  }
  return set;
}
