/**
 * The chart the README shows: hand-written SVG, one panel of horizontal bars
 * per headline number, outlast's rows in blue. No dependencies.
 */
import type { ScenarioResult } from '../scenarios/result.ts';
import { formatValue } from './format.ts';

/** Which number of which scenario each panel shows. */
const PANELS = [
  { scenario: 'update-under-load', metric: 'failed', title: 'Update under load: failed requests' },
  { scenario: 'update-under-load', metric: 'newVersionMs', title: 'Update under load: new version answers after' },
  { scenario: 'crash-repair', metric: 'repairMs', title: 'Crash repair: SIGKILL → answering again' },
  { scenario: 'idle-cost', metric: 'rssMB', title: 'Idle: supervisor RSS' },
  { scenario: 'idle-cost', metric: 'cpuMs', title: 'Idle: supervisor CPU time over the window' },
  { scenario: 'stop-idle-connections', metric: 'exitMs', title: 'Stop: SIGTERM → exit' },
  { scenario: 'start-up', metric: 'ms', title: 'Start-up: CLI start to exit' },
  { scenario: 'apply', metric: 'stageMs', title: 'Apply of a 50 MB release: to staged' },
] as const;

const WIDTH = 480;
const LABEL = 190;
const BAR = 190;
const ROW = 22;
const HEAD = 34;
const PAD = 12;

function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function panel(result: ScenarioResult, metricKey: string, title: string, x: number, y: number): { svg: string; height: number } {
  const metric = result.metrics.find((m) => m.key === metricKey)!;
  const rows = result.rows;
  const max = Math.max(0, ...rows.map((r) => r.median[metricKey] ?? 0));
  const parts = [`<text x="${x + PAD}" y="${y + 22}" class="title">${escape(title)}</text>`];
  rows.forEach((row, i) => {
    const top = y + HEAD + i * ROW;
    const value = row.median[metricKey];
    const outlast = /outlast/.test(row.short ?? row.name);
    parts.push(`<text x="${x + PAD + LABEL - 8}" y="${top + 13}" class="label">${escape(row.short ?? row.name)}</text>`);
    if (row.skipped !== undefined || value === null || value === undefined) {
      parts.push(`<text x="${x + PAD + LABEL}" y="${top + 13}" class="na">${row.skipped === undefined ? 'not measured' : 'not available'}</text>`);
      return;
    }
    const width = max === 0 ? 0 : Math.max(1, (value / max) * BAR);
    parts.push(`<rect x="${x + PAD + LABEL}" y="${top + 2}" width="${width.toFixed(1)}" height="${ROW - 6}" class="${outlast ? 'ours' : 'peer'}"/>`);
    parts.push(`<text x="${(x + PAD + LABEL + width + 6).toFixed(1)}" y="${top + 13}" class="value">${escape(formatValue(value, metric.unit))}</text>`);
  });
  return { svg: parts.join('\n'), height: HEAD + rows.length * ROW + PAD };
}

/** The chart of `results`; panels of scenarios that did not run are left out. */
export function chart(results: readonly ScenarioResult[], caption: string): string {
  const panels = PANELS.flatMap((p) => {
    const result = results.find((r) => r.id === p.scenario);
    return result === undefined ? [] : [{ ...p, result }];
  });
  const parts: string[] = [];
  let y = 40;
  for (let i = 0; i < panels.length; i += 2) {
    const pair = panels.slice(i, i + 2).map((p, j) => panel(p.result, p.metric, p.title, j * WIDTH, y));
    parts.push(...pair.map((p) => p.svg));
    y += Math.max(...pair.map((p) => p.height));
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH * 2}" height="${height}" viewBox="0 0 ${WIDTH * 2} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">`,
    '<style>.title{font-size:13px;font-weight:600;fill:#222}.label{font-size:11px;fill:#333;text-anchor:end}.value,.na{font-size:11px;fill:#333}.na{fill:#999;font-style:italic}.ours{fill:#2b6cb0}.peer{fill:#a0aec0}</style>',
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${PAD}" y="24" font-size="14" fill="#111">${escape(caption)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
