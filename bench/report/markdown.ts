/** The results as markdown: one table per scenario, ratios next to each number. */
import type { ScenarioResult } from '../scenarios/result.ts';
import { formatRatio, formatValue } from './format.ts';
import { targetTable, targets } from './targets.ts';

/** What the header says about the run. */
export interface RunInfo {
  date: string;
  machine: string;
  versions: Record<string, string>;
  settings: string;
  problems: string[];
}

function table(result: ScenarioResult): string[] {
  const head = `| | ${result.metrics.map((m) => m.label).join(' | ')} |`;
  const rule = `|---|${result.metrics.map(() => '---').join('|')}|`;
  const rows = result.rows.map((row) => {
    if (row.skipped !== undefined) return `| ${row.name} | ${[`skipped: ${row.skipped}`, ...result.metrics.slice(1).map(() => '')].join(' | ')} |`;
    const cells = result.metrics.map((m) => {
      const value = formatValue(row.median[m.key], m.unit);
      const ratio = row.ratio?.values[m.key];
      return row.ratio === undefined || ratio === null || ratio === undefined ? value : `${value} (${formatRatio(ratio)})`;
    });
    return `| ${row.base === true ? `**${row.name}** (base)` : row.name} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...rows];
}

/** The whole markdown report. */
export function markdown(info: RunInfo, results: readonly ScenarioResult[]): string {
  const lines = [
    `# outlast bench, ${info.date}`,
    '',
    `${info.machine}. ${Object.entries(info.versions).map(([k, v]) => `${k} ${v}`).join(', ')}. ${info.settings}`,
    '',
    '(×n) after a number is the median of the table\'s base row (bold, an outlast row) divided by that row\'s, both measured in the same run: below 1, outlast\'s number is the smaller one. Every number is a cost: lower is better.',
  ];
  if (info.problems.length > 0) lines.push('', `Set-up problems: ${info.problems.join('; ')}`);
  lines.push(
    '',
    '## Targets',
    '',
    'outlast as installed (npm pack, the tarball installed into a temp prefix). Every value is a median from this run; the ratio divides outlast\'s by the reference the target names, from the same run. n/a: the figure does not apply to that tool.',
    '',
    ...targetTable(targets(results)),
  );
  for (const result of results) {
    if (result.metrics.length === 0) {
      lines.push('', `## ${result.title}`, '', `Not run: ${result.rows.map((r) => r.skipped).join('; ')}`);
      continue;
    }
    lines.push('', `## ${result.title}`, '', result.method, '', ...table(result));
    for (const note of result.notes) lines.push('', note);
  }
  return `${lines.join('\n')}\n`;
}
