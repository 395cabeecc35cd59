/**
 * Human output of audit findings. `--json` prints the findings themselves, so
 * this text is free to change.
 */
import type { Finding, Severity } from './finding.ts';

const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low'];

/** One block per finding (place, severity, rule, message, fix), then a count by severity. */
export function formatFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'No findings.\n';
  const blocks = findings.map((finding) => `${finding.file}:${finding.line}: ${finding.severity} ${finding.rule}\n  ${finding.message}\n  fix: ${finding.fix}\n`);
  const counts = SEVERITIES.map((severity) => `${findings.filter((finding) => finding.severity === severity).length} ${severity}`);
  return `${blocks.join('\n')}\n${findings.length} finding${findings.length === 1 ? '' : 's'}: ${counts.join(', ')}\n`;
}

/** Whether any finding is high: the service would be killed rather than stopped. */
export function hasHigh(findings: readonly Finding[]): boolean {
  return findings.some((finding) => finding.severity === 'high');
}
