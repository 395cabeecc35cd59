/**
 * A histogram as Prometheus counts it: fixed upper bounds, a count per
 * bucket, the sum and the count of every observation. A few numbers, so it
 * is kept from the start and costs nothing worth measuring.
 */

/** What a histogram holds, as the exposition writer reads it. */
export interface HistogramData {
  /** Upper bounds (`le`), ascending; the bucket above the last one is `+Inf`. */
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative): `counts[i]` fell in (bounds[i-1], bounds[i]]; one more entry for above the last bound. */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** Counts observations into fixed buckets. */
export class Histogram implements HistogramData {
  readonly bounds: readonly number[];
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /** Adds one observation. */
  observe(value: number): void {
    let bucket = 0;
    // `le` is inclusive: a value equal to a bound belongs to that bound's bucket.
    while (bucket < this.bounds.length && value > this.bounds[bucket]!) bucket += 1;
    this.counts[bucket]! += 1;
    this.sum += value;
    this.count += 1;
  }
}
