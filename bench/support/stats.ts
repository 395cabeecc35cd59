/** The few statistics the bench reports: medians, and ratios measured in the same run. */

/** The median; NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The median of the values that were measured; null when none was. */
export function medianOf(values: ReadonlyArray<number | null>): number | null {
  const measured = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return measured.length === 0 ? null : round(median(measured), 1);
}

/** `a / b` to two decimals; null when it means nothing (a value missing, or b zero). */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || b === 0) return null;
  return round(a / b, 2);
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits = 0): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
