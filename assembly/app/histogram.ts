/**
 * Log-linear histograms of durations in ns (HIST_BUCKETS u64 counts, abi.ts): below 64 ns one
 * bucket per value; above, 32 buckets per power of two, so a bucket is at most 1/32 (3%) wide
 * and any percentile read back is within 3% of the true value. Recording is a count-leading-zeros
 * and an add; the host merges cores' histograms by adding them and reads percentiles once.
 */
import { HIST_BUCKETS } from "../shared/abi";

// @ts-ignore: decorator
@inline export function bucketOf(v: u64): u32 {
  if (v < 64) return <u32>v;
  const e = 63 - <u32>clz(v);
  return 64 + ((e - 6) << 5) + (<u32>(v >> <u64>(e - 5)) & 31);
}

export function histogramCreate(): usize {
  const h = heap.alloc(HIST_BUCKETS * 8);
  memory.fill(h, 0, HIST_BUCKETS * 8);
  return h;
}

// @ts-ignore: decorator
@inline export function histogramRecord(h: usize, ns: u64): void {
  const p = h + (<usize>bucketOf(ns) << 3);
  store<u64>(p, load<u64>(p) + 1);
}
