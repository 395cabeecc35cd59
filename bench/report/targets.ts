/**
 * The one table of targets: for each figure, the floor and every peer where
 * the figure applies, outlast's ratio to its reference from the same run,
 * the target, and PASS or FAIL. Read off the scenario results; a figure whose
 * scenario did not run (BENCH_ONLY) or whose rows were not measured is
 * "not measured", never PASS.
 */
import { FLOOR_NAME } from '../peers/floor.ts';
import type { Metric, ScenarioResult } from '../scenarios/result.ts';
import { round } from '../support/stats.ts';
import { formatValue } from './format.ts';

/** The columns every figure fills where it applies. */
const COLUMNS = ['floor', 'outlast', 'pm2', 'supervisord', 'runit'] as const;
type Column = (typeof COLUMNS)[number];

/** One line of the table. */
export interface TargetRow {
  figure: string;
  unit: Metric['unit'];
  values: Partial<Record<Column, number | null>>;
  /** outlast's number over its reference's, e.g. "0.62× PM2"; or a difference. */
  ratio: string;
  target: string;
  result: 'PASS' | 'FAIL' | 'not measured';
}

type Lookup = (scenario: string, row: string, metric: string) => number | null;

function lookupIn(results: readonly ScenarioResult[]): Lookup {
  // Update rows are named "<peer>: <how it updates>".
  const named = (name: string, row: string): boolean => name === row || name.startsWith(`${row}: `);
  return (scenario, row, metric) => results.find((r) => r.id === scenario)?.rows.find((r) => named(r.name, row) && r.skipped === undefined)?.median[metric] ?? null;
}

const x = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

/** A figure: its values, and its check given them (undefined: a value it needs is missing). */
function figure(
  name: string,
  unit: Metric['unit'],
  target: string,
  values: Partial<Record<Column, number | null>>,
  check: (v: Record<Column, number>) => { ratio: string; pass: boolean } | undefined,
  needs: readonly Column[],
): TargetRow {
  const missing = needs.some((c) => values[c] === null || values[c] === undefined);
  const got = missing ? undefined : check(values as Record<Column, number>);
  return { figure: name, unit, values, target, ratio: got?.ratio ?? '—', result: got === undefined ? 'not measured' : got.pass ? 'PASS' : 'FAIL' };
}

/** Every figure with its target, from `results`. */
export function targets(results: readonly ScenarioResult[]): TargetRow[] {
  const get = lookupIn(results);
  const idle = (metric: string): Partial<Record<Column, number | null>> => ({
    floor: get('idle-cost', FLOOR_NAME, metric),
    outlast: get('idle-cost', 'outlast', metric),
    pm2: get('idle-cost', 'pm2 (fork)', metric),
    supervisord: get('idle-cost', 'supervisord', metric),
    runit: get('idle-cost', 'runit', metric),
  });
  const start = (cmd: 'version' | 'status'): Partial<Record<Column, number | null>> => ({
    floor: get('start-up', 'node -e 0 (floor)', 'ms'),
    outlast: get('start-up', `outlast ${cmd === 'version' ? '--version' : 'status'}`, 'ms'),
    pm2: get('start-up', `pm2 ${cmd === 'version' ? '--version' : 'status'}`, 'ms'),
    supervisord: get('start-up', cmd === 'version' ? 'supervisord --version' : 'supervisorctl status', 'ms'),
    ...(cmd === 'status' ? { runit: get('start-up', 'sv status', 'ms') } : {}),
  });
  return [
    figure('idle RSS of the supervisor (one service, API and dir feed on)', 'MB', '≤ floor + 12 MB and ≤ 0.8× PM2', idle('rssMB'), (v) => ({
      ratio: `floor +${round(v.outlast - v.floor, 1)} MB; ${x(v.outlast, v.pm2)} PM2`,
      pass: v.outlast <= v.floor + 12 && v.outlast <= 0.8 * v.pm2,
    }), ['floor', 'outlast', 'pm2']),
    figure('idle CPU of the supervisor over the window (health every 5 s)', 'ms', '≤ PM2', idle('cpuMs'), (v) => ({
      ratio: v.pm2 === 0 ? `${v.outlast} ms vs 0` : `${x(v.outlast, v.pm2)} PM2`,
      pass: v.outlast <= v.pm2,
    }), ['outlast', 'pm2']),
    figure('`outlast --version`', 'ms', '≤ 1.5× `node -e 0`', start('version'), (v) => ({ ratio: `${x(v.outlast, v.floor)} floor`, pass: v.outlast <= 1.5 * v.floor }), ['floor', 'outlast']),
    figure('`outlast status` against a running supervisor', 'ms', '≤ 2.5× `node -e 0`', start('status'), (v) => ({ ratio: `${x(v.outlast, v.floor)} floor`, pass: v.outlast <= 2.5 * v.floor }), ['floor', 'outlast']),
    figure('crash repair, default config, SIGKILL after ≥ 1 s up → answering', 'ms', '≤ 1.05× runit and ≤ PM2', {
      outlast: get('crash-repair', 'outlast', 'repairMs'),
      pm2: get('crash-repair', 'pm2 (fork)', 'repairMs'),
      supervisord: get('crash-repair', 'supervisord', 'repairMs'),
      runit: get('crash-repair', 'runit', 'repairMs'),
    }, (v) => ({ ratio: `${x(v.outlast, v.runit)} runit; ${x(v.outlast, v.pm2)} PM2`, pass: v.outlast <= 1.05 * v.runit && v.outlast <= v.pm2 }), ['outlast', 'runit', 'pm2']),
    figure('apply of a 50 MB / 5,000-file release (to staged)', 'ms', '≤ 1.3× `sha256sum + tar xzf`', {
      floor: get('apply', 'floor: sha256sum + tar xzf', 'stageMs'),
      outlast: get('apply', 'outlast: POST /updates/apply', 'stageMs'),
    }, (v) => ({ ratio: `${x(v.outlast, v.floor)} floor`, pass: v.outlast <= 1.3 * v.floor }), ['floor', 'outlast']),
    figure('RSS growth over 10,000 crash restarts (soak)', 'MB', '< 5 MB', { outlast: get('soak', 'outlast', 'growthPer10kMB') }, (v) => ({
      ratio: `warm-up → end ${get('soak', 'outlast', 'grewMB') ?? '?'} MB`,
      pass: v.outlast < 5,
    }), ['outlast']),
    figure('update under load with socket handoff: failed requests', 'req', '0', {
      outlast: get('update-under-load', 'outlast (socket handoff)', 'failed'),
      pm2: get('update-under-load', 'pm2 (fork)', 'failed'),
      supervisord: get('update-under-load', 'supervisord', 'failed'),
      runit: get('update-under-load', 'runit', 'failed'),
    }, (v) => ({ ratio: '—', pass: v.outlast === 0 }), ['outlast']),
  ];
}

/** The table as markdown. */
export function targetTable(rows: readonly TargetRow[]): string[] {
  const cell = (row: TargetRow, c: Column): string => (c in row.values ? formatValue(row.values[c], row.unit) : 'n/a');
  return [
    '| figure | floor | outlast | PM2 | supervisord | runit | ratio (same run) | target | result |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.figure} | ${COLUMNS.map((c) => cell(r, c)).join(' | ')} | ${r.ratio} | ${r.target} | ${r.result === 'not measured' ? r.result : `**${r.result}**`} |`),
  ];
}
