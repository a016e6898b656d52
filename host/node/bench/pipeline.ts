/**
 * bench pipeline: packets per second end to end (synthetic traffic generated, steered by software
 * RSS, tracked in each core's flow table) on one core and on all cores, interleaved rounds.
 */
import { availableParallelism } from 'node:os';
import { availableKernel } from '../../core/engine.js';
import { Reta } from '../../core/reta.js';
import { RssConfig } from '../../core/rss.js';
import { rssValues, type RunPlan } from '../runner/plan.js';
import { DEFAULT_RING } from '../runner/ring.js';
import { runPlan } from '../runner/runner.js';
import { machine, median, round } from './measure.js';

export interface PipelineBenchOptions {
  conversations: number;
  rounds: number;
  cores?: number;
  key: string;
  workerUrl?: URL;
}

export async function benchPipeline(o: PipelineBenchOptions) {
  const all = o.cores ?? availableParallelism();
  const plan = (cores: number): RunPlan => {
    const config = RssConfig.from({ key: o.key, fields: 'ipv4-l4', reta: Reta.equal(128, all) });
    return {
      cores, kernel: availableKernel(), rss: rssValues(config),
      queueCores: Array.from({ length: all }, (_, q) => q % cores),
      flows: { capacity: 1 << 18, idleTimeout: 300, checksums: 'verify' },
      source: { kind: 'synthetic', conversations: o.conversations, concurrent: 10_000, seed: 1, ipv6: 0.2, retransmit: 0.01 },
      ring: DEFAULT_RING, records: false,
    };
  };
  const one: number[] = [], many: number[] = [];
  let packets = 0;
  for (let r = 0; r < o.rounds; r++) {
    for (const [cores, into] of [[1, one], [all, many]] as const) {
      const { report } = await runPlan(plan(cores), { workerUrl: o.workerUrl });
      into.push(report.pps);
      packets = report.packets;
    }
  }
  return {
    bench: 'pipeline',
    pps_1core: Math.round(median(one)),
    pps_all: Math.round(median(many)),
    cores: all,
    speedup: round(median(many) / median(one), 2),
    // Each round runs one core, then all: the ratio within a round cancels the host's slow drift.
    speedup_paired: round(median(many.map((m, i) => m / one[i]!)), 2),
    rounds_pps_1core: one,
    rounds_pps_all: many,
    packets_per_round: packets,
    conversations: o.conversations,
    key: o.key,
    machine: machine(),
  };
}
