/**
 * rssplane run: packets in, RSS as the NIC computes it, flows tracked per core, a summary out.
 * This issue runs one core on a capture file; the engine calls (FlowEngine.process per batch,
 * finish at the end) are the ones a per-core runner makes on each core.
 */
import { Command, Option } from 'commander';
import { invalid } from '../../core/errors.js';
import { Engine } from '../../core/engine.js';
import type { PacketBatch } from '../../core/engine.js';
import { FlowEngine, type FlowRecord, type FlowStats } from '../../core/flows.js';
import { presetName } from '../../core/key.js';
import { json, out } from '../io.js';
import { explicitIn, rssConfig, rssOptions, wholeNumber, type RssFlags } from '../options.js';
import { FlowLines } from '../sinks/flows.js';

/**
 * A packet source: descriptor batches in `engine`'s memory, each valid until the next is asked
 * for, and what it has to say at the end. host/node/sources/capture.ts's readCapture is one.
 */
export type OpenSource = (engine: Engine, path: string) => Iterable<PacketBatch> & { readonly summary?: { warnings: string[] } };

interface RunFlags extends RssFlags {
  input?: string;
  flowsOut?: string;
  json?: boolean;
  flowTable?: string;
  idleTimeout?: string;
  checksums: 'verify' | 'drop' | 'off';
}

/** What the run saw, per flow: counted as records leave the engines. */
class FlowTally {
  tcp = 0;
  udp = 0;
  split = 0;
  byState: Record<string, number> = {};
  byClose: Record<string, number> = {};

  add(records: readonly FlowRecord[]): void {
    for (const r of records) {
      if (r.proto === 'udp') { this.udp++; continue; }
      this.tcp++;
      if (r.split) this.split++;
      const state = `${r.dirs[0].state}/${r.dirs[1].state}`;
      this.byState[state] = (this.byState[state] ?? 0) + 1;
      this.byClose[r.close] = (this.byClose[r.close] ?? 0) + 1;
    }
  }
}

/** The command, reading `--input` through `openSource` (cli.ts passes readCapture). */
export function runCommand(openSource: OpenSource): Command {
  const cmd = new Command('run')
    .summary('run packets through the data plane: RSS per packet, flows per core, a summary')
    .description(
      'Reads a capture (pcap or pcapng; Ethernet or raw IP) and runs every packet through the\n' +
        'engine: parsed, hashed with the RSS key and field set, sent to its queue through the\n' +
        'indirection table, and tracked in a flow table (TCP states as an observer sees both\n' +
        'sides). Prints packets per queue and their imbalance (max/mean), flows by state and close\n' +
        'reason, split flows (connections whose two directions land on different cores), drops by\n' +
        'reason. The table defaults to equal:1 (one queue, one core).',
    );
  rssOptions(cmd, { key: 'microsoft', fields: 'ipv4-l4' })
    .option('--input <file>', 'capture file (pcap or pcapng)')
    .option('--flows-out <file>', 'write one JSON line per flow (- for stdout)')
    .option('--flow-table <n>', 'flow table capacity (320 bytes a flow)', '1048576')
    .option('--idle-timeout <seconds>', 'a flow with no packet for this long (capture time) ends', '300')
    .addOption(new Option('--checksums <mode>', 'verify (count bad), drop (count and drop), off').choices(['verify', 'drop', 'off']).default('verify'))
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nExamples:\n' +
      '  rssplane run --input trace.pcap\n' +
      '  rssplane run --input trace.pcap --key symmetric --reta equal:4 --json\n' +
      '  rssplane run --input trace.pcapng --reta-file ethtool-x.txt --flows-out flows.jsonl')
    .action(async (flags: RunFlags) => {
      if (flags.input === undefined) invalid('--input', '', 'give a capture file (the synthetic source comes with the per-core runner)');
      const config = rssConfig(flags, explicitIn(cmd));
      const idle = Number(flags.idleTimeout);
      if (!(idle > 0)) invalid('--idle-timeout', flags.idleTimeout, 'expected seconds > 0');
      const engine = await Engine.create();
      const flows = FlowEngine.create(engine, config, {
        flows: wholeNumber(flags.flowTable, '--flow-table', 1 << 20), idleTimeout: idle, checksums: flags.checksums,
      });
      const capture = openSource(engine, flags.input);
      const sink = flags.flowsOut !== undefined ? new FlowLines(flags.flowsOut) : undefined;
      const tally = new FlowTally();
      const take = () => {
        const records = flows.takeRecords();
        tally.add(records);
        sink?.write(records);
      };
      const t0 = performance.now();
      for (const batch of capture) {
        flows.process(batch);
        take();
      }
      flows.finish();
      take();
      const seconds = (performance.now() - t0) / 1000;
      sink?.close();
      const summary = capture.summary;
      for (const w of summary?.warnings ?? []) process.stderr.write(`rssplane: warning: ${w}\n`);
      const stats = flows.stats();
      const report = summarize(stats, tally, seconds, flows.core);
      if (flags.json) return json({ ...report, input: flags.input, key: presetName(config.key) ?? 'custom', fields: config.fields, reta_size: flows.reta.size });
      printSummary(report, flags.input, sink !== undefined && flags.flowsOut !== '-');
    });
  return cmd;
}

function summarize(stats: FlowStats, tally: FlowTally, seconds: number, core: number) {
  const total = stats.queues.reduce((a, b) => a + b, 0);
  const mean = total / stats.queues.length;
  return {
    packets: stats.received,
    bytes: stats.bytes,
    seconds: Number(seconds.toFixed(3)),
    pps: Math.round(stats.received / seconds),
    queues: stats.queues.map((packets, queue) => ({ queue, packets, share: total ? Number((packets / total).toFixed(4)) : 0 })),
    imbalance: mean ? Number((Math.max(...stats.queues) / mean).toFixed(3)) : 0,
    cores: [{ core, packets: stats.processed, dropped: stats.dropped }],
    flows: tally.tcp,
    udp_flows: tally.udp,
    split_flows: tally.split,
    flows_by_state: tally.byState,
    flows_by_close: tally.byClose,
    received: stats.received,
    processed: stats.processed,
    dropped: stats.dropped,
    drops: stats.drops,
    unhashed: stats.unhashed,
    fragments: stats.fragments,
    bad_checksums: stats.badChecksums,
    flow_table: { created: stats.flows.created, timed_out: stats.flows.timedOut, evicted: stats.flows.evicted, reused: stats.flows.reused },
  };
}

function printSummary(r: ReturnType<typeof summarize>, input: string, wroteFlows: boolean): void {
  const n = (x: number) => x.toLocaleString('en-US');
  out(`${input}: ${n(r.packets)} packets, ${n(r.bytes)} bytes in ${r.seconds} s (${n(r.pps)} packets/s, one core)`);
  out(`received ${n(r.received)} = processed ${n(r.processed)} + dropped ${n(r.dropped)}`);
  out('');
  out('queue   packets      share');
  for (const q of r.queues) out(`${String(q.queue).padStart(5)}   ${n(q.packets).padStart(11)}  ${(q.share * 100).toFixed(1).padStart(5)}%`);
  out(`imbalance (max/mean): ${r.imbalance}`);
  out('');
  out(`TCP flows ${n(r.flows)}, UDP flows ${n(r.udp_flows)}, split flows ${n(r.split_flows)}`);
  const sorted = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]);
  out(`  by close:  ${sorted(r.flows_by_close).map(([k, v]) => `${k} ${n(v)}`).join(', ') || '-'}`);
  out(`  by state (client/server):`);
  for (const [k, v] of sorted(r.flows_by_state)) out(`    ${k.padEnd(28)} ${n(v)}`);
  const drops = sorted(r.drops);
  out(`drops: ${drops.length ? drops.map(([k, v]) => `${k} ${n(v)}`).join(', ') : 'none'}`);
  const bad = r.bad_checksums;
  if (bad.ipv4 + bad.tcp + bad.udp) out(`bad checksums (counted, not dropped unless --checksums drop): IPv4 ${bad.ipv4}, TCP ${bad.tcp}, UDP ${bad.udp}`);
  if (r.unhashed) out(`not IP (queue 0, unhashed): ${n(r.unhashed)}`);
  if (wroteFlows) out('flow records written to --flows-out');
}
