#!/usr/bin/env node
// A flood's speed against established traffic's, end to end (issue 15: "the run's speed within
// 2x of its speed on established traffic"): `rssplane run --input F --cores 1 --json` on each
// capture as fresh processes, rounds interleaved (flood, established, flood, ...) after an
// untimed round of each that warms the page cache. Prints each side's median seconds and
// nanoseconds a packet (the run's own packet count), the ratio of the two per-packet medians and
// the median of each round's ratio, with the flood's evictions and resident memory.
//
//   node scripts/bench-flood.mjs --flood /tmp/syn-5m.pcap --established /tmp/bench-5m-s128.pcap [--rounds 9] [--json]
//
// The two captures are best of one size: the run's start (about 0.2 s) is then spread alike.
// Inputs: `node scripts/make-flood-capture.mjs /tmp/syn-5m.pcap --kind syn --packets 5000000`;
// `scripts/make-bench-capture.sh /tmp/bench-5m.pcap 5000000` then `editcap -s 128 -F pcap`.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { flag, integerOption, median, option, round } from './lib/measure.mjs';

const flood = option('flood');
const established = option('established');
if (!flood || !established) {
  process.stderr.write('usage: bench-flood.mjs --flood FILE --established FILE [--rounds N] [--json]\n');
  process.exit(2);
}
const rounds = integerOption('rounds', 9, 1, 1000);
const cli = new URL('../dist/cli.js', import.meta.url).pathname;


/** One fresh `run` of `input`: its wall-clock seconds and its summary. */
function run(input) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, 'run', '--input', input, '--cores', '1', '--json', '--no-progress'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`run --input ${input} exited ${r.status}: ${r.stderr}`);
  return { seconds, summary: JSON.parse(r.stdout) };
}

const inputs = [flood, established];
const summaries = inputs.map((f) => run(f).summary);
const seconds = inputs.map(() => []);
for (let i = 0; i < rounds; i++) inputs.forEach((f, k) => seconds[k].push(run(f).seconds));

const side = (k) => {
  const s = summaries[k];
  const ns = median(seconds[k]) / s.packets * 1e9;
  return {
    input: inputs[k], packets: s.packets, median_s: round(median(seconds[k])), rounds_s: seconds[k].map((x) => round(x)),
    ns_per_packet: round(ns, 1), evicted: s.flow_table.evicted, resident_peak_mib: round(s.memory.resident_peak / 2 ** 20, 1),
  };
};
const [f, e] = [side(0), side(1)];
const perPacket = (k, i) => seconds[k][i] / summaries[k].packets;
const paired = median(seconds[0].map((_, i) => perPacket(0, i) / perPacket(1, i)));
const result = {
  bench: 'flood', flood: f, established: e,
  ratio: round(f.ns_per_packet / e.ns_per_packet, 2), ratio_paired: round(paired, 2), target: 2, target_met: paired <= 2,
  machine: `${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}`, date: new Date().toISOString(),
};
if (flag('json')) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  process.stdout.write(`flood        ${f.median_s} s, ${f.ns_per_packet} ns a packet (${f.packets} packets, ${f.evicted} evicted)\n`);
  process.stdout.write(`established  ${e.median_s} s, ${e.ns_per_packet} ns a packet (${e.packets} packets)\n`);
  process.stdout.write(`ratio        ${result.ratio}x (paired ${result.ratio_paired}x; target at most 2x)\n`);
}
