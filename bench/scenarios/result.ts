/**
 * The shape every scenario reports in, so the JSON, the markdown table and
 * the chart are written once for all of them.
 */
import { medianOf, ratio } from '../support/stats.ts';

/** One number a scenario reports per row. */
export interface Metric {
  key: string;
  label: string;
  unit: 'ms' | 'MB' | '%' | 'req' | 'count';
}

/** One row: a peer (or a variant of one) and the medians of its samples. */
export interface Row {
  name: string;
  /** Why the row was not measured. */
  skipped?: string;
  /** Median over the runs, per metric key; null when no run measured it. */
  median: Record<string, number | null>;
  /** outlast's median ÷ this row's, per metric, measured in the same run; on rows that are not outlast's. */
  ratio?: { of: string; values: Record<string, number | null> };
  samples: unknown[];
}

/** What one scenario reports. */
export interface ScenarioResult {
  id: string;
  title: string;
  /** How it was measured, for the table's caption. */
  method: string;
  metrics: Metric[];
  rows: Row[];
  notes: string[];
}

/** A row from its samples: the median of each metric over the samples that have it. */
export function rowOf<S extends object>(name: string, samples: S[], metrics: readonly Metric[]): Row {
  const median = Object.fromEntries(
    metrics.map((m) => [m.key, medianOf(samples.map((s) => (s as Record<string, unknown>)[m.key] as number | null | undefined ?? null))]),
  );
  return { name, median, samples };
}

/** A row that was not measured, with the reason. */
export function skippedRow(name: string, reason: string): Row {
  return { name, skipped: reason, median: {}, samples: [] };
}

/** Sets `ratio` on every row other than `base`: base's median ÷ the row's, per metric. */
export function withRatios(rows: Row[], base: Row, metrics: readonly Metric[]): Row[] {
  return rows.map((row) =>
    row === base || row.skipped !== undefined || base.skipped !== undefined
      ? row
      : { ...row, ratio: { of: base.name, values: Object.fromEntries(metrics.map((m) => [m.key, ratio(base.median[m.key] ?? null, row.median[m.key] ?? null)])) } },
  );
}
