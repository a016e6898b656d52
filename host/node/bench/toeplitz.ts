/**
 * bench toeplitz: random ipv4-l4 tuples already in engine memory, hashed in one batch call on one
 * core (the SIMD kernel; the scalar path is measured beside it). With --anchor, the native anchor
 * (../shared/anchors/toeplitz_native.c: rte_softrss, byte table, GFNI) runs between our rounds,
 * so the ratios come from one run on one machine state.
 */
import { execFileSync } from 'node:child_process';
import { invalid, RssplaneError } from '../../core/errors.js';
import type { Kernel } from '../../core/engine.js';
import { Engine } from '../../core/engine.js';
import { IPV4_L4_INPUT } from '../../../assembly/shared/abi.js';
import { ENGINE_BYTES, reservedBytes } from '../../core/limits.js';
import { RssHasher } from '../../core/rss.js';
import { fillRandom, machine, median, round, timeRounds } from './measure.js';

/** Most tuples a round can hash: tuples and hashes (16 bytes each) in one engine's memory. */
export const MAX_TUPLES = (() => {
  const fits = (n: number) => reservedBytes(n * IPV4_L4_INPUT + 64) + reservedBytes(n * 4 + 64) <= ENGINE_BYTES;
  let lo = 16, hi = 2 ** 30;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
})();

export interface ToeplitzBenchOptions {
  tuples: number;
  rounds: number;
  kernel?: Kernel;
  anchor?: string;
}

export async function benchToeplitz(o: ToeplitzBenchOptions) {
  const engine = await Engine.create({ kernel: o.kernel });
  const rss = await RssHasher.create({ key: 'microsoft', fields: 'ipv4-l4' }, engine);
  const batch = rss.batch(o.tuples);
  fillRandom(batch.tuples);

  // The two paths must agree before either is timed.
  batch.run(o.tuples, 'scalar');
  const scalarHashes = batch.hashes.slice();
  batch.run(o.tuples, 'simd');
  const mismatch = batch.hashes.findIndex((h, i) => h !== scalarHashes[i]);
  if (mismatch >= 0) throw new RssplaneError('EFAULT', `SIMD and scalar hashes differ at tuple ${mismatch}`);

  const anchorRuns: Array<Record<string, number>> = [];
  const runAnchor = o.anchor ? () => anchorRuns.push(runNativeAnchor(o.anchor!, o.tuples)) : undefined;
  const simd = timeRounds(o.rounds, () => batch.run(o.tuples, 'simd'), runAnchor);
  const scalar = timeRounds(Math.max(3, Math.ceil(o.rounds / 2)), () => batch.run(o.tuples, 'scalar'));
  batch.free();

  const mhash = (s: number) => o.tuples / s / 1e6;
  const result: Record<string, unknown> = {
    bench: 'toeplitz',
    mhash_per_s: round(mhash(median(simd))),
    kernel: engine.kernel,
    scalar_mhash_per_s: round(mhash(median(scalar))),
    rounds_mhash_per_s: simd.map((s) => round(mhash(s))),
    tuples: o.tuples,
    fields: 'ipv4-l4',
    machine: machine(),
  };
  if (anchorRuns.length) {
    const anchor: Record<string, number> = {};
    const ratio: Record<string, number> = {};
    const paired: Record<string, number> = {};
    for (const method of Object.keys(anchorRuns[0]!)) {
      anchor[method] = round(median(anchorRuns.map((r) => r[method]!)));
      ratio[method] = round(mhash(median(simd)) / anchor[method]!, 2);
      // Each of our rounds against the anchor run just before it: on a shared machine whose
      // speed drifts within a run, the median of these ratios moves less than the ratio of medians.
      paired[method] = round(median(simd.map((s, i) => mhash(s) / anchorRuns[i]![method]!)), 2);
    }
    Object.assign(result, { anchor_mhash_per_s: anchor, ratio_vs_anchor: ratio, ratio_vs_anchor_paired: paired });
  }
  return result;
}

/** One run of the native anchor: `name  X Mhash/s  checksum C` lines, best of its own 1 round. */
function runNativeAnchor(binary: string, tuples: number): Record<string, number> {
  let text: string;
  try {
    text = execFileSync(binary, [String(tuples), '1'], { encoding: 'utf8' });
  } catch (e) {
    return invalid('--anchor', binary, `could not run it: ${(e as Error).message.split('\n')[0]}`);
  }
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(\S+)\s+([0-9.]+) Mhash\/s/gm)) out[m[1]!] = Number(m[2]);
  if (!Object.keys(out).length) invalid('--anchor', binary, 'printed no "NAME X Mhash/s" lines');
  return out;
}
