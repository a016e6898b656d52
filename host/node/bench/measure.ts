/**
 * Benchmark plumbing: rounds, medians, and the machine a figure came from. Machines here are
 * shared and noisy, so every figure is a median of several rounds and comparisons are ratios
 * measured in the same run.
 */
import { cpus, totalmem } from 'node:os';
import { hugePageMode } from '../huge-pages.js';

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `fn` once to warm up, then `rounds` times; returns each round's seconds. */
export function timeRounds(rounds: number, fn: () => void, between?: () => void): number[] {
  fn();
  const seconds: number[] = [];
  for (let r = 0; r < rounds; r++) {
    between?.();
    const t0 = performance.now();
    fn();
    seconds.push((performance.now() - t0) / 1000);
  }
  return seconds;
}

export function machine() {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    // what the engine's memory sits on: "madvise"/"always" (huge pages, asked for or not),
    // "never", or "off" (RSSPLANE_HUGE_PAGES=off, or no addon)
    huge_pages: hugePageMode(),
    // Node reads every certificate of NODE_EXTRA_CA_CERTS as it starts, TLS or not (45 ms of
    // each start on the VM of BENCHMARKS.md): a Node start timed here carries it when set.
    node_extra_ca_certs: process.env.NODE_EXTRA_CA_CERTS !== undefined,
    date: new Date().toISOString(),
  };
}

export { fillRandom } from '../../core/random.js';

export const round = (x: number, digits = 1) => Number(x.toFixed(digits));
