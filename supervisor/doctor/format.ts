/**
 * The human report of `outlast doctor`. `--json` prints the DoctorReport
 * itself instead, so these strings are free to change.
 */
import type { SystemdDuration } from '../../platform/systemd-duration.ts';
import type { SystemdUnitProperties } from '../../platform/systemd-properties.ts';
import type { DoctorReport } from './diagnose.ts';
import type { JournalScan } from './journal.ts';

const INDENT = ' '.repeat(11);

function block(label: string, lines: readonly string[]): string[] {
  return lines.map((line, i) => `${i === 0 ? label.padEnd(INDENT.length) : INDENT}${line}`);
}

function span(duration: SystemdDuration): string {
  return 'infinite' in duration ? 'infinity' : `${duration.us / 1_000_000}s`;
}

function properties(p: SystemdUnitProperties): string {
  const parts = [`KillMode=${p.killMode}`, `TimeoutStopSec=${span(p.timeoutStop)}`];
  if (p.type !== undefined) parts.push(`Type=${p.type}`);
  if (p.notifyAccess !== undefined) parts.push(`NotifyAccess=${p.notifyAccess}`);
  if (p.restart !== undefined) parts.push(`Restart=${p.restart}`);
  const force = p.restartForceExitStatus;
  if (force !== undefined && force.statuses.length + force.signals.length > 0) {
    parts.push(`RestartForceExitStatus=${[...force.statuses, ...force.signals].join(' ')}`);
  }
  return parts.join(', ');
}

function journal(scan: JournalScan): string[] {
  if (!scan.ok) return [`not scanned: ${scan.reason}`];
  const cut = scan.complete ? '' : ' (cut off at the deadline)';
  const count = (n: number, what: string, last: string | undefined): string => `${n} ${what}${last === undefined ? '' : ` (last ${last})`}`;
  return [
    `${scan.unit}, since ${scan.since}${cut}:`,
    count(scan.sigkill.count, 'SIGKILLed main process (status=9/KILL)', scan.sigkill.last),
    count(scan.stopTimeout.count, "stop timeouts (State 'stop-sigterm' timed out)", scan.stopTimeout.last),
  ];
}

/** The report as text. */
export function formatDoctor(report: DoctorReport): string {
  const { platform, subject, unit, strategy, warnings } = report;
  const seenFrom = subject.kind === 'supervisor' ? `the running supervisor, pid ${subject.pid}` : 'this process (no supervisor runs for the state dir)';
  const unitName = platform.systemd === undefined ? '' : ` (${platform.systemd.scope} unit ${platform.systemd.unit ?? 'unknown'})`;
  const lines = [
    ...block('platform', [
      `${platform.kind}${unitName}, Node ${platform.node}, process.execve ${platform.execve ? 'available' : 'missing'}`,
      `seen from ${seenFrom}`,
    ]),
    ...block('evidence', platform.evidence.length === 0 ? ['none'] : platform.evidence),
  ];
  if (platform.conflicts.length > 0) lines.push(...block('conflicts', platform.conflicts));
  if (unit !== undefined) {
    const unitLines = [`${unit.name} (${unit.scope})${unit.properties === undefined ? ': properties unreadable' : `: ${properties(unit.properties)}`}`];
    if (unit.scopeFallback !== undefined) unitLines.push(`answered by the ${unit.scope} manager; as a ${unit.scopeFallback.guessed} unit: ${unit.scopeFallback.reason}`);
    if (unit.fragmentPath !== undefined && unit.fragmentPath !== '') unitLines.push(`file ${unit.fragmentPath}`);
    if (unit.execStart !== undefined && unit.execStart.length > 0) unitLines.push(`ExecStart ${unit.execStart.join(' ')}`);
    lines.push(...block('unit', unitLines));
  }
  lines.push(...block('strategy', [`${strategy.name}: ${strategy.reason}`, ...(strategy.refused === undefined ? [] : [strategy.refused])]));
  if (report.journal !== undefined) lines.push(...block('journal', journal(report.journal)));
  if (warnings.length === 0) {
    lines.push(...block('warnings', ['none']));
  } else {
    lines.push(...block('warnings', [`${warnings.length}:`]));
    for (const warning of warnings) lines.push(`  [${warning.code}] ${warning.message}`, `      fix: ${warning.fix}`);
  }
  return `${lines.join('\n')}\n`;
}
