/** How the reports print a number of each unit. */
import type { Metric } from '../scenarios/result.ts';

/** `value` in `unit`, e.g. "1 234 ms", "42.1 MB"; "—" for nothing measured. */
export function formatValue(value: number | null | undefined, unit: Metric['unit']): string {
  if (value === null || value === undefined) return '—';
  switch (unit) {
    case 'ms':
      return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ms`;
    case 'MB':
      return `${value.toFixed(1)} MB`;
    case '%':
      return `${value < 1 ? value.toFixed(3) : value.toFixed(1)} %`;
    case 'req':
    case 'count':
      return String(Math.round(value));
  }
}

/** A ratio as "×0.52"; "—" when it means nothing. */
export function formatRatio(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `×${value.toFixed(2)}`;
}
