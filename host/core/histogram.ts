/**
 * The engine's log-linear histograms (assembly/app/histogram.ts) read back: HIST_BUCKETS counts,
 * one bucket per value below 64 ns, then 32 per power of two (each at most 3% wide). Cores'
 * histograms add; percentiles are read off the merged counts.
 */
import { HIST_BUCKETS } from '../../assembly/shared/abi.js';

/** The smallest value of bucket b (ns). */
export function bucketLow(b: number): number {
  if (b < 64) return b;
  const e = 6 + Math.floor((b - 64) / 32);
  const s = (b - 64) % 32;
  return (32 + s) * 2 ** (e - 5);
}

/** The width of bucket b (ns). */
export function bucketWidth(b: number): number {
  if (b < 64) return 1;
  return 2 ** (6 + Math.floor((b - 64) / 32) - 5);
}

export class Histogram {
  readonly counts: Float64Array;
  /** the largest value recorded, exact (the engine keeps it beside the buckets), ns */
  max = 0;

  constructor(counts?: ArrayLike<number | bigint>, max = 0) {
    this.counts = new Float64Array(HIST_BUCKETS);
    if (counts) for (let i = 0; i < HIST_BUCKETS; i++) this.counts[i] = Number(counts[i] ?? 0);
    this.max = max;
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts) n += c;
    return n;
  }

  /** Adds another core's counts. */
  add(other: Histogram): this {
    for (let i = 0; i < HIST_BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.max = Math.max(this.max, other.max);
    return this;
  }

  /**
   * The value at quantile q (0-1) in ns: the middle of the bucket holding the q-th value, never
   * above the largest value seen. 0 when empty.
   */
  quantile(q: number): number {
    const total = this.total;
    if (total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let b = 0; b < HIST_BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(bucketLow(b) + bucketWidth(b) / 2, this.max || Infinity);
    }
    return this.max;
  }

  /** p50, p90, p99, p99.9 and max in milliseconds, as the commands print them. */
  summaryMs(): { p50: number; p90: number; p99: number; p999: number; max: number } {
    const ms = (ns: number) => Math.round(ns / 1e3) / 1e3;
    return { p50: ms(this.quantile(0.5)), p90: ms(this.quantile(0.9)), p99: ms(this.quantile(0.99)), p999: ms(this.quantile(0.999)), max: ms(this.max) };
  }
}
