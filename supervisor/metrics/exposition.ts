/**
 * A small writer of the Prometheus text exposition format, version 0.0.4:
 * a `# HELP` and a `# TYPE` line per family, then its samples, one per
 * line, each line ending in `\n`. Counters, gauges and histograms (`_bucket`
 * with a cumulative count per `le`, `+Inf` last, then `_sum` and `_count`).
 *
 * Written here rather than taken from prom-client, which adds about 20 MB
 * of resident memory to a bare Node process (bench/metrics-cost.ts).
 */
import { OutlastError } from '../errors.ts';
import type { HistogramData } from './histogram.ts';

/** The Content-Type of the exposition text. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label names and values of one sample, written in this order. */
export type Labels = Readonly<Record<string, string>>;

/** One counter or gauge sample. */
export interface Sample {
  labels?: Labels;
  value: number;
}

/** One histogram series. */
export interface HistogramSample extends HistogramData {
  labels?: Labels;
}

/** A metric family: its name, help, type and samples. A family with no samples is written as its HELP and TYPE lines. */
export type MetricFamily =
  | { name: string; help: string; type: 'counter' | 'gauge'; samples: readonly Sample[] }
  | { name: string; help: string; type: 'histogram'; samples: readonly HistogramSample[] };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value as the format quotes it: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A HELP text as the format writes it: backslash and newline escaped (a double quote stays). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value: `+Inf`, `-Inf` and `NaN` spelled the format's way, any other number as JavaScript prints it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function labelSet(labels: Labels | undefined, extra?: readonly [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra !== undefined) pairs.push([extra[0], extra[1]]);
  if (pairs.length === 0) return '';
  for (const [name] of pairs) {
    // `__` names are reserved for Prometheus itself.
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new OutlastError('INTERNAL', `invalid label name "${name}"`);
  }
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

function histogramLines(name: string, sample: HistogramSample): string[] {
  const { bounds, counts, sum, count } = sample;
  if (sample.labels !== undefined && 'le' in sample.labels) throw new OutlastError('INTERNAL', `histogram ${name}: "le" is reserved for buckets`);
  if (counts.length !== bounds.length + 1) throw new OutlastError('INTERNAL', `histogram ${name}: ${counts.length} counts for ${bounds.length} bounds (+Inf needs one more)`);
  const lines: string[] = [];
  let cumulative = 0;
  bounds.forEach((bound, i) => {
    cumulative += counts[i]!;
    lines.push(`${name}_bucket${labelSet(sample.labels, ['le', formatValue(bound)])} ${formatValue(cumulative)}`);
  });
  lines.push(`${name}_bucket${labelSet(sample.labels, ['le', '+Inf'])} ${formatValue(count)}`);
  lines.push(`${name}_sum${labelSet(sample.labels)} ${formatValue(sum)}`);
  lines.push(`${name}_count${labelSet(sample.labels)} ${formatValue(count)}`);
  return lines;
}

/** The exposition text of `families`, in order. Throws INTERNAL on a name the format cannot carry (a bug, not input). */
export function writeExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    const { name } = family;
    if (!METRIC_NAME.test(name)) throw new OutlastError('INTERNAL', `invalid metric name "${name}"`);
    // A family's samples must be together: a repeated name would split them.
    if (seen.has(name)) throw new OutlastError('INTERNAL', `metric ${name} written twice`);
    seen.add(name);
    lines.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.type}`);
    if (family.type === 'histogram') {
      for (const sample of family.samples) lines.push(...histogramLines(name, sample));
    } else {
      for (const sample of family.samples) lines.push(`${name}${labelSet(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
