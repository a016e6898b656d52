/**
 * bench dpdk: packets per second per core from a DPDK port (net_null by default: 64-byte packets,
 * as fast as a port can give them) straight into each core's WASM ring, and on through the flow
 * engine. One worker thread per core, each with its own receive queue, engine and ring; all cores
 * run each round at once, the two modes alternate round by round.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { compileEngine } from '../../core/engine.js';
import '../shared-builds.js';
import { RssplaneError } from '../../core/errors.js';
import { DEFAULT_RING } from '../runner/ring.js';
import { closePort, ealArguments, initEal, loadDpdk, native, splitEal } from '../sources/dpdk.js';
import type { DpdkBenchMode, DpdkBenchWorkerInput } from './dpdk-worker.js';
import { machine, median, round } from './measure.js';

export interface DpdkBenchOptions {
  /** EAL arguments (default: net_null, 64-byte packets, no hugepages) */
  eal?: string;
  port?: number;
  cores?: number;
  rounds: number;
  /** packets per core per round */
  packets: number;
  workerUrl?: URL;
  /**
   * The native peer (test/native/dpdk_rx.c, built): the same receive into batch slots in C, one
   * core, its own EAL in a child process, run between our rounds.
   */
  anchor?: string;
}

export const DEFAULT_BENCH_EAL = '--no-huge -m 512 --no-pci --vdev net_null0,size=64';

type RoundResult = { packets: number; seconds: number; slots: number };

export async function benchDpdk(o: DpdkBenchOptions) {
  const cores = o.cores ?? availableParallelism();
  const eal = o.eal ?? DEFAULT_BENCH_EAL;
  const dpdk = loadDpdk();
  initEal(dpdk, splitEal(eal));
  const port = o.port ?? 0;
  const info = native(() => dpdk.portInfo(port), '--port');
  if (info.maxRxQueues < cores) throw new RssplaneError('EINVAL', `port ${port} (${info.driver}) has ${info.maxRxQueues} receive queues, fewer than ${cores} cores`, '--cores');
  // No RSS asked: each core's queue gets what the device gives it.
  native(() => dpdk.configure(port, { rxQueues: cores, txQueues: 1 }));
  native(() => dpdk.start(port));

  const { module, kernel } = await compileEngine(undefined, true);
  const url = o.workerUrl ?? new URL('./bench-dpdk-worker.mjs', import.meta.url);
  const workers = Array.from({ length: cores }, (_, queue) => new Worker(url, {
    workerData: { module, kernel, port, queue, cores, ring: DEFAULT_RING } satisfies DpdkBenchWorkerInput,
  }));
  /** The worker's next message; its failure, if it fails first. Leaves no listener behind. */
  const next = (w: Worker) => new Promise<unknown>((resolve, reject) => {
    const onMessage = (m: unknown) => {
      w.off('error', onError);
      resolve(m);
    };
    const onError = (e: Error) => {
      w.off('message', onMessage);
      reject(e);
    };
    w.once('message', onMessage);
    w.once('error', onError);
  });
  try {
    await Promise.all(workers.map(next));
    const perCore: Record<DpdkBenchMode, number[]> = { rings: [], engine: [] };
    const rounds: Record<DpdkBenchMode, number[][]> = { rings: [], engine: [] };
    const go = async (mode: DpdkBenchMode) => {
      const results = await Promise.all(workers.map((w) => {
        const r = next(w);
        w.postMessage({ mode, packets: o.packets });
        return r as Promise<RoundResult>;
      }));
      return results.map((r) => r.packets / r.seconds);
    };
    await go('rings'); // warm up: JIT, caches, the mempool's per-lcore caches
    await go('engine');
    const anchor: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      for (const mode of ['rings', 'engine'] as const) {
        const pps = await go(mode);
        rounds[mode].push(pps.map((x) => Math.round(x)));
        perCore[mode].push(pps.reduce((a, b) => a + b, 0) / pps.length);
      }
      if (o.anchor) anchor.push(runAnchor(o.anchor, o.packets, eal));
    }
    await Promise.all(workers.map((w) => {
      const r = next(w);
      w.postMessage({ type: 'close' });
      return r;
    }));
    const stats = native(() => dpdk.stats(port));
    return {
      bench: 'dpdk',
      pps_per_core: Math.round(median(perCore.rings)),
      pps_per_core_engine: Math.round(median(perCore.engine)),
      cores,
      mpps_per_core: round(median(perCore.rings) / 1e6, 2),
      mpps_per_core_engine: round(median(perCore.engine) / 1e6, 2),
      ...(anchor.length ? {
        anchor_pps: Math.round(median(anchor)), rounds_anchor_pps: anchor.map(Math.round),
        ratio_vs_anchor: round(median(perCore.rings) / median(anchor), 2),
      } : {}),
      rounds_pps_per_core: rounds.rings,
      rounds_pps_per_core_engine: rounds.engine,
      packets_per_core_per_round: o.packets,
      port: { port, driver: info.driver, name: info.name, ipackets: stats.ipackets, imissed: stats.imissed, rx_nombuf: stats.rxNombuf },
      ring: DEFAULT_RING,
      eal,
      kernel,
      machine: machine(),
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    closePort(dpdk, port);
    dpdk.cleanup();
  }
}

/** One round of the native peer: its packets per second (one core, its own EAL and port). */
function runAnchor(binary: string, packets: number, eal: string): number {
  const args = [...ealArguments(splitEal(eal)), '--log-level=warning'];
  const out = execFileSync(binary, [String(packets), '1', ...args], { encoding: 'utf8' });
  return (JSON.parse(out) as { pps: number[] }).pps[0]!;
}
