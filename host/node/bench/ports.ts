/**
 * bench ports: building the pools of 16 cores for one local address and ports 1025-65535, and
 * alloc + free pairs on one core in one WASM call (a window of ports held, each step frees the
 * oldest and allocates one). With --anchor, the native peer (test/native/ports_mtcp.c: mTCP's
 * method, a Toeplitz per port and a mutex-guarded free list) runs between our rounds on the same
 * flow, key and table, and its per-core counts must equal ours.
 */
import { execFileSync } from 'node:child_process';
import { invalid, RssplaneError } from '../../core/errors.js';
import { FieldSet } from '../../../assembly/shared/abi.js';
import { Engine, type Kernel } from '../../core/engine.js';
import { PortPool } from '../../core/pool.js';
import { Reta } from '../../core/reta.js';
import { RssConfig } from '../../core/rss.js';
import { machine, median, round } from './measure.js';

export interface PortsBenchOptions {
  rounds: number;
  /** alloc + free pairs per round */
  pairs: number;
  /** ports held while pairs run (a power of two) */
  window: number;
  kernel?: Kernel;
  anchor?: string;
}

const CORES = 16;
/** The flow the native peer hard-codes too: local 10.0.0.2, peer 10.0.0.1:80. */
const FLOW = { src: '10.0.0.2', dst: '10.0.0.1', dport: 80, cores: CORES };

export async function benchPorts(o: PortsBenchOptions) {
  if (o.window & (o.window - 1)) invalid('--window', o.window, 'must be a power of two');
  const engine = await Engine.create({ kernel: o.kernel });
  const config = RssConfig.from({ key: 'microsoft', fields: 'ipv4-l4', reta: Reta.equal(128, CORES) });
  {
    // The window is held out of core 0's pool: it must fit in it.
    const pool = await PortPool.create(config, FLOW, engine);
    const size = pool.core(0).size;
    pool.destroy();
    if (o.window > size) invalid('--window', o.window, `at most ${2 ** Math.floor(Math.log2(size))} (core 0 of the ${CORES}-core pool holds ${size} ports)`);
  }

  const anchorRuns: Array<Record<string, number>> = [];
  let anchorCounts: number[] | undefined;
  const runAnchor = () => {
    if (!o.anchor) return;
    const run = runNativeAnchor(o.anchor, o.pairs, o.window);
    anchorCounts = run.counts;
    anchorRuns.push(run.figures);
  };

  // Each round: the native peer's run, then our build, then our alloc + free pairs, so that the
  // figures compared come from the same stretch of a noisy machine.
  // Build: the whole library call on an engine that exists (key schedule, tables, bitmaps), and
  // the engine's poolCreate alone; each timed build follows an untimed one, as the peer warms up.
  // Alloc + free: core 0 of a 16-core pool, one WASM call a round.
  const build: number[] = [];
  const buildEngine: number[] = [];
  const perSecond: number[] = [];
  let counts: number[] = [];
  const ring = engine.allocate(o.window * 4);
  for (let r = 0; r < o.rounds; r++) {
    runAnchor();
    (await PortPool.create(config, FLOW, engine)).destroy();
    const t0 = performance.now();
    const pool = await PortPool.create(config, FLOW, engine);
    build.push(performance.now() - t0);
    counts = Array.from({ length: CORES }, (_, c) => pool.core(c).size);
    if (counts.reduce((a, b) => a + b, 0) !== 64511) throw new RssplaneError('EFAULT', `pools hold ${counts} ports, not 64511`);

    engine.exports.poolBenchAllocFree(pool.live(), 0, Math.min(o.pairs, 100_000), ring, o.window); // warm-up
    const t1 = performance.now();
    const done = engine.exports.poolBenchAllocFree(pool.live(), 0, o.pairs, ring, o.window);
    const s = (performance.now() - t1) / 1000;
    if (done !== o.pairs) throw new RssplaneError('EFAULT', `alloc/free stopped after ${done} of ${o.pairs} pairs`);
    if (pool.core(0).available !== pool.core(0).size) throw new RssplaneError('EFAULT', 'alloc/free lost ports');
    perSecond.push(o.pairs / s);
    pool.destroy();

    // PortPool.create left the tuple, table and map in place: the same pool again, engine only.
    const t2 = performance.now();
    const handle = engine.exports.poolCreate(FieldSet.IPV4_L4, 1, 1025, 65535, CORES, CORES);
    buildEngine.push(performance.now() - t2);
    if (handle <= 0) throw new RssplaneError('EFAULT', `poolCreate returned ${handle}`);
    engine.exports.poolDestroy(handle);
  }
  engine.release(ring);
  if (anchorCounts && anchorCounts.join() !== counts.join()) {
    throw new RssplaneError('EFAULT', `native peer's per-core counts ${anchorCounts} differ from ours ${counts}`);
  }

  const result: Record<string, unknown> = {
    bench: 'ports',
    build_ms: round(median(build), 4),
    build_engine_ms: round(median(buildEngine), 4),
    alloc_free_per_s: Math.round(median(perSecond)),
    rounds_build_ms: build.map((x) => round(x, 4)),
    rounds_alloc_free_per_s: perSecond.map(Math.round),
    cores: CORES,
    ports: 64511,
    reta: 'equal:16 over 128 entries',
    key: 'microsoft',
    pairs: o.pairs,
    window: o.window,
    kernel: engine.kernel,
    machine: machine(),
  };
  if (anchorRuns.length) {
    const anchor: Record<string, number> = {};
    for (const name of Object.keys(anchorRuns[0]!)) anchor[name] = median(anchorRuns.map((x) => x[name]!));
    Object.assign(result, {
      anchor: { build_softrss_ms: round(anchor.build_softrss_ms!, 4), build_table_ms: round(anchor.build_table_ms!, 4), alloc_free_per_s: Math.round(anchor.alloc_free_per_s!) },
      ratio_vs_anchor: {
        build_vs_softrss: round(anchor.build_softrss_ms! / median(build), 2),
        build_vs_table: round(anchor.build_table_ms! / median(build), 2),
        alloc_free: round(median(perSecond) / anchor.alloc_free_per_s!, 2),
      },
    });
  }
  return result;
}

/** One run of the native peer: its medians over 3 rounds of its own, and its per-core counts. */
function runNativeAnchor(binary: string, pairs: number, window: number): { figures: Record<string, number>; counts: number[] } {
  let text: string;
  try {
    text = execFileSync(binary, ['microsoft', String(CORES), '3', String(pairs), String(window)], { encoding: 'utf8' });
  } catch (e) {
    return invalid('--anchor', binary, `could not run it: ${(e as Error).message.split('\n')[0]}`);
  }
  const figures: Record<string, number> = {};
  for (const m of text.matchAll(/^(build_softrss_ms|build_table_ms|alloc_free_per_s) ([0-9.]+)$/gm)) figures[m[1]!] = Number(m[2]);
  const counts = /^counts ([0-9 ]+)$/m.exec(text)?.[1]?.split(' ').map(Number);
  if (Object.keys(figures).length !== 3 || !counts) invalid('--anchor', binary, 'did not print build_softrss_ms, build_table_ms, alloc_free_per_s and counts lines');
  return { figures, counts };
}
