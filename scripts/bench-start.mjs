#!/usr/bin/env node
// A run's fixed cost against Node's own start (issue 15: "a run's fixed cost (a 100-packet
// capture) within 1.5x of `node -e 0`"): `node -e 0` and `rssplane run --input F --cores 1 --json`
// of each build named, as fresh processes, rounds interleaved (node, this build, the other, node,
// ...) so that a machine that drifts moves every side alike, after an untimed round of each.
// Prints each side's median milliseconds, each build's ratio to `node -e 0` (of the medians, and
// the median of each round's ratio), and with two builds the median of the second's round times
// over the first's: a before/after that one hyperfine run, which times one command's runs
// together, gives less steadily on a shared machine.
//
//   node scripts/bench-start.mjs --input /tmp/small100.pcap [--rounds 60] [--dist OTHER/dist ...] [--json]
//
// Builds: this checkout's dist/, then each --dist (a copy of another commit's dist/, say).
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { flag, integerOption, median, option, round } from './lib/measure.mjs';

const input = option('input');
if (!input) {
  process.stderr.write('usage: bench-start.mjs --input FILE [--rounds N] [--dist DIR ...] [--json]\n');
  process.exit(2);
}
const rounds = integerOption('rounds', 60, 1, 10000);
const dists = [new URL('../dist', import.meta.url).pathname];
process.argv.forEach((a, i) => { if (a === '--dist' && process.argv[i + 1]) dists.push(resolve(process.argv[i + 1])); });

const sides = [
  { name: 'node -e 0', args: ['-e', '0'] },
  ...dists.map((dist) => ({ name: dist, args: [`${dist}/cli.js`, 'run', '--input', input, '--cores', '1', '--json', '--no-progress'] })),
];

/** One fresh process of `side`: its wall-clock milliseconds. */
function time(side) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, side.args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${side.name} exited ${r.status}: ${r.stderr}`);
  return ms;
}

for (const side of sides) time(side);
const ms = sides.map(() => []);
for (let r = 0; r < rounds; r++) sides.forEach((side, i) => ms[i].push(time(side)));

const node = median(ms[0]);
const builds = dists.map((dist, b) => {
  const own = ms[b + 1];
  return {
    dist, median_ms: round(median(own), 1),
    against_node: round(median(own) / node), against_node_paired: round(median(own.map((t, r) => t / ms[0][r]))),
  };
});
const result = {
  bench: 'start', input, rounds, node_ms: round(node, 1), builds,
  ...(dists.length > 1 ? { second_over_first_paired: round(median(ms[2].map((t, r) => t / ms[1][r]))) } : {}),
  machine: { cpu: cpus()[0]?.model.trim(), cores: cpus().length, node: process.version, date: new Date().toISOString() },
};
if (flag('json')) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  process.stdout.write(`node -e 0: ${result.node_ms} ms (median of ${rounds})\n`);
  for (const b of builds) process.stdout.write(`${b.dist}: ${b.median_ms} ms, ${b.against_node}x node -e 0 (paired ${b.against_node_paired}x)\n`);
  if (result.second_over_first_paired !== undefined) process.stdout.write(`second / first, paired: ${result.second_over_first_paired}\n`);
}
