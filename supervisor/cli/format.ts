/**
 * Human output for the client commands. `--json` prints the raw API answer
 * instead, so these strings are free to change.
 */
import type { ServiceStatus } from '../service/service.ts';
import type { AutoStatus } from '../update/auto.ts';
import type { ReportsState } from '../update/report-sender.ts';

/** 1234 → "1.2 s", 75000 → "1 min 15 s". */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The `outlast status` text. */
export function formatStatus(status: {
  supervisor: { pid: number; version: string; startedAt: string; name: string };
  service: ServiceStatus & { version?: string | null };
  lastUpdate?: { id: string; kind: string; state: string; from: string | null; to: string; endedAt: string | null; error: { message: string } | null } | null;
  updates?: { auto?: AutoStatus; reports?: ReportsState };
}): string {
  const { supervisor, service, lastUpdate } = status;
  const version = service.version === undefined || service.version === null ? '' : ` ${service.version}`;
  const lines = [
    `supervisor  pid ${supervisor.pid}, outlast ${supervisor.version}, started ${supervisor.startedAt}`,
    `service     ${supervisor.name}${version}: ${service.state}${service.pid === null ? '' : `, pid ${service.pid}`}, up ${formatDuration(service.uptimeMs)}, ${service.restarts} restart${service.restarts === 1 ? '' : 's'}`,
  ];
  if (lastUpdate !== undefined && lastUpdate !== null) {
    const what = lastUpdate.kind === 'rollback' ? 'rollback' : 'update';
    const why = lastUpdate.error === null ? '' : `: ${lastUpdate.error.message}`;
    lines.push(`last ${what} ${what === 'update' ? ' ' : ''}${lastUpdate.from ?? 'nothing'} -> ${lastUpdate.to} ${lastUpdate.state}${lastUpdate.endedAt === null ? '' : ` at ${lastUpdate.endedAt}`}${why}`);
  }
  const auto = status.updates?.auto;
  if (auto !== undefined) lines.push(`auto-update ${formatAuto(auto)}`);
  const reports = status.updates?.reports;
  if (reports !== undefined && reports.queued > 0) lines.push(`reports     ${formatReports(reports)}`);
  if (service.lastExit !== null) lines.push(`last exit   ${service.lastExit.description} at ${service.lastExit.at}`);
  if (service.reason !== null) lines.push(`reason      ${service.reason}`);
  if (service.healthFailures > 0) lines.push(`health      ${service.healthFailures} failed check(s) in a row`);
  return `${lines.join('\n')}\n`;
}

/** One line on reports the receiver has not taken yet. */
function formatReports(reports: ReportsState): string {
  const waiting = `${reports.queued} waiting for the receiver`;
  const oldest = reports.oldest;
  if (oldest?.attempts === undefined) return waiting;
  return `${waiting}; ${oldest.attempts} failed attempt${oldest.attempts === 1 ? '' : 's'}, last at ${oldest.lastAttemptAt ?? '?'}: ${oldest.lastError ?? '?'}`;
}

/** One line on `updates.auto`: the schedule, the last check, the next one. */
function formatAuto(auto: AutoStatus): string {
  const mode = auto.apply ? `applies${auto.window === null ? ' at any time' : ` in ${auto.window} (${auto.timezone})`}` : 'checks only';
  const last = auto.lastCheck;
  const found = last === null ? 'no check yet' : `last check ${last.outcome}${last.latest === null ? '' : ` (latest ${last.latest})`} at ${last.checkedAt}${last.error === undefined ? '' : `: ${last.error.message}`}`;
  return `${mode}; ${found}${auto.nextCheckAt === null ? '' : `; next at ${auto.nextCheckAt}`}`;
}
