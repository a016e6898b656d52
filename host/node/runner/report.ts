/**
 * What a run saw, summed over its cores: the summary `rssplane run` prints (and its --json).
 */
import { sumBuckets } from '../../core/buckets.js';
import type { FlowStats, FlowTally } from '../../core/flows.js';
import { out } from '../io.js';
import { grouped } from '../../core/format.js';

export type { FlowTally };

export interface CoreFigures {
  core: number;
  stats: FlowStats;
}

export type RunReport = ReturnType<typeof summarize>;

/** The run's figures from each core's counters, the flows tally and the wall time. */
export function summarize(cores: readonly CoreFigures[], tally: FlowTally, seconds: number) {
  const sum = (f: (s: FlowStats) => number) => cores.reduce((n, c) => n + f(c.stats), 0);
  const queueCount = Math.max(...cores.map((c) => c.stats.queues.length));
  const queues = Array.from({ length: queueCount }, (_, q) => cores.reduce((n, c) => n + (c.stats.queues[q] ?? 0), 0));
  const packets = sum((s) => s.received);
  const share = (n: number, of: number) => (of ? Number((n / of).toFixed(4)) : 0);
  const imbalance = (xs: number[]) => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    return mean ? Number((Math.max(...xs) / mean).toFixed(3)) : 0;
  };
  const drops: Record<string, number> = {};
  for (const c of cores) for (const [k, v] of Object.entries(c.stats.drops)) drops[k] = (drops[k] ?? 0) + v;
  const perCore = cores.map((c) => c.stats.received);
  return {
    packets,
    bytes: sum((s) => s.bytes),
    seconds: Number(seconds.toFixed(3)),
    pps: Math.round(packets / seconds),
    queues: queues.map((n, queue) => ({ queue, packets: n, share: share(n, packets) })),
    imbalance: imbalance(queues),
    cores: cores.map((c) => ({
      core: c.core, packets: c.stats.processed, dropped: c.stats.dropped, received: c.stats.received,
      share: share(c.stats.received, packets), pps: Math.round(c.stats.received / seconds),
    })),
    core_imbalance: imbalance(perCore),
    flows: tally.tcp,
    udp_flows: tally.udp,
    split_flows: tally.split,
    flows_by_state: tally.byState,
    flows_by_close: tally.byClose,
    received: packets,
    processed: sum((s) => s.processed),
    dropped: sum((s) => s.dropped),
    drops,
    unhashed: sum((s) => s.unhashed),
    unhashed_bytes: sum((s) => s.unhashedBytes),
    fragments: sum((s) => s.fragments),
    bad_checksums: { ipv4: sum((s) => s.badChecksums.ipv4), tcp: sum((s) => s.badChecksums.tcp), udp: sum((s) => s.badChecksums.udp) },
    flow_table: {
      created: sum((s) => s.flows.created), timed_out: sum((s) => s.flows.timedOut),
      evicted: sum((s) => s.flows.evicted), reused: sum((s) => s.flows.reused),
    },
    /** load per table entry (the hash's low bits), summed over cores: packets + unhashed = processed */
    buckets: sumBuckets(cores.map((c) => c.stats.buckets)),
  };
}

/** The human summary. `what` names the input; `hints` says what the key did to split flows. */
export function printReport(r: RunReport, what: string, options: { symmetric: boolean; wroteFlows: boolean }): void {
  const n = (x: number) => grouped(x);
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  const coreWord = r.cores.length === 1 ? 'one core' : `${r.cores.length} cores`;
  out(`${what}: ${n(r.packets)} packets, ${n(r.bytes)} bytes in ${r.seconds} s (${n(r.pps)} packets/s, ${coreWord})`);
  out(`received ${n(r.received)} = processed ${n(r.processed)} + dropped ${n(r.dropped)}`);
  out();
  out('queue     packets   share');
  for (const q of r.queues) out(`${String(q.queue).padStart(5)} ${n(q.packets).padStart(11)}  ${pct(q.share)}`);
  out(`imbalance (max/mean): ${r.imbalance}`);
  if (r.imbalance >= 1.1) out('  `rssplane advise` with the same options says why, and which table fixes it.');
  if (r.cores.length > 1) {
    out();
    out('core      packets   share     packets/s  dropped');
    for (const c of r.cores) out(`${String(c.core).padStart(4)} ${n(c.received).padStart(12)}  ${pct(c.share)} ${n(c.pps).padStart(13)}  ${n(c.dropped).padStart(7)}`);
    out(`imbalance (max/mean): ${r.core_imbalance}`);
  }
  out();
  out(`TCP flows ${n(r.flows)}, UDP flows ${n(r.udp_flows)}, split flows ${n(r.split_flows)}`);
  if (r.split_flows > 0 && r.cores.length > 1) {
    out(`  ${n(r.split_flows)} connections had their two directions on different cores: each core saw half of`);
    out('  them, and only merging at the end made them whole. A symmetric key (--key symmetric) or');
    out('  --xfrm symmetric-xor puts both directions on one core, as stateful processing needs.');
  } else if (r.split_flows > 0) {
    out(`  with ${options.symmetric ? 'this' : 'this asymmetric'} key their two directions would land on different cores.`);
  }
  const sorted = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]);
  out(`  by close:  ${sorted(r.flows_by_close).map(([k, v]) => `${k} ${n(v)}`).join(', ') || '-'}`);
  out('  by state (client/server):');
  for (const [k, v] of sorted(r.flows_by_state)) out(`    ${k.padEnd(28)} ${n(v)}`);
  const drops = sorted(r.drops);
  out(`drops: ${drops.length ? drops.map(([k, v]) => `${k} ${n(v)}`).join(', ') : 'none'}`);
  const bad = r.bad_checksums;
  if (bad.ipv4 + bad.tcp + bad.udp) out(`bad checksums (counted, not dropped unless --checksums drop): IPv4 ${bad.ipv4}, TCP ${bad.tcp}, UDP ${bad.udp}`);
  if (r.unhashed) out(`not IP (queue 0, unhashed): ${n(r.unhashed)}`);
  if (options.wroteFlows) out('flow records written to --flows-out');
}
