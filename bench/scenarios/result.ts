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
  /** A shorter name for the chart, when `name` is long. */
  short?: string;
  /** Why the row was not measured. */
  skipped?: string;
  /** Median over the runs, per metric key; null when no run measured it. */
  median: Record<string, number | null>;
  /** The row the others' ratios divide by. */
  base?: true;
  /** The base row's median ÷ this row's, per metric, measured in the same run. */
  ratio?: { of: string; values: Record<string, number | null> };
  samples: unknown[];
  /** Runs that failed (their error), left out of the medians. */
  failures?: string[];
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

/** The row of a peer: skipped when it is unavailable or no run finished, else the medians of the runs that did. */
export function peerRow<S extends object>(name: string, unavailable: string | undefined, samples: S[], failures: readonly string[], metrics: readonly Metric[]): Row {
  if (unavailable !== undefined) return skippedRow(name, unavailable);
  if (samples.length === 0) return { ...skippedRow(name, `every run failed: ${failures[0] ?? 'no run'}`), failures: [...failures] };
  const row = rowOf(name, samples, metrics);
  return failures.length === 0 ? row : { ...row, failures: [...failures] };
}

/**
 * Runs one sample; a failure (a peer that would not start, a repair that
 * never came) is recorded in `failures` and printed, and the bench goes on.
 */
export async function attempt<S>(what: string, failures: string[], body: () => Promise<S>): Promise<S | undefined> {
  try {
    return await body();
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
    failures.push(message);
    console.error(`${what}: failed: ${message}`);
    return undefined;
  }
}

/** Notes naming the rows some of whose runs failed. */
export function failureNotes(rows: readonly Row[]): string[] {
  return rows.filter((r) => r.failures !== undefined && r.failures.length > 0).map((r) => `${r.name}: ${r.failures!.length} run(s) failed, left out: ${r.failures!.join('; ')}`);
}

/** A row that was not measured, with the reason. */
export function skippedRow(name: string, reason: string): Row {
  return { name, skipped: reason, median: {}, samples: [] };
}

/** Marks `base` and sets `ratio` on every other measured row: base's median ÷ the row's, per metric. */
export function withRatios(rows: Row[], base: Row, metrics: readonly Metric[]): Row[] {
  return rows.map((row) => {
    if (row === base) return { ...row, base: true };
    if (row.skipped !== undefined || base.skipped !== undefined) return row;
    return { ...row, ratio: { of: base.name, values: Object.fromEntries(metrics.map((m) => [m.key, ratio(base.median[m.key] ?? null, row.median[m.key] ?? null)])) } };
  });
}
