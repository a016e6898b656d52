#!/usr/bin/env node
// A run's fixed cost against Node's own start (issue 15: "a run's fixed cost (a 100-packet
// capture) within 1.5x of `node -e 0`"): `node -e 0` and `rssplane run --input F --cores 1 --json`
// of each build named, as fresh processes, rounds interleaved (node, this build, the other, node,
// the other, this build, ...: the builds' order turns each round) so that a machine that drifts
// moves every side alike, after an untimed round of each.
// Prints each side's median milliseconds, each build's ratio to `node -e 0` (of the medians, and
// the median of each round's ratio), and with two builds the median of the second's round times
// over the first's: a before/after that one hyperfine run, which times one command's runs
// together, gives less steadily on a shared machine. With --json, each build's run `seconds` too
// (the summary's figure: from the engine's creation to the report, without Node's start), and
// with two builds their paired ratio.
//
//   node scripts/bench-start.mjs --input /tmp/small100.pcap [--rounds 60] [--dist OTHER/dist ...] [--env NAME=VALUE ...] [--json]
//
// Builds: this checkout's dist/, then each --dist (a copy of another commit's dist/, say) and each
// --env (this checkout's dist/ with that variable set: RSSPLANE_WASM_CACHE=off, say), in the
// order given. The input may be any capture: the fixed cost is a 100-packet one's.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { flag, integerOption, median, option, round } from './lib/measure.mjs';

const input = option('input');
if (!input) {
  process.stderr.write('usage: bench-start.mjs --input FILE [--rounds N] [--dist DIR ...] [--env NAME=VALUE ...] [--json]\n');
  process.exit(2);
}
const rounds = integerOption('rounds', 60, 1, 10000);
const own = new URL('../dist', import.meta.url).pathname;
/** The builds: a name (the dist, and the variable it runs with), its dist, its environment. */
const dists = [{ dist: own, env: {} }];
process.argv.forEach((a, i) => {
  const value = process.argv[i + 1];
  if (a === '--dist' && value) dists.push({ dist: resolve(value), env: {} });
  if (a === '--env' && value) {
    const at = value.indexOf('=');
    if (at < 1) {
      process.stderr.write(`bench-start.mjs: bad --env "${value}": expected NAME=VALUE\n`);
      process.exit(2);
    }
    dists.push({ dist: own, env: { [value.slice(0, at)]: value.slice(at + 1) } });
  }
});
const nameOf = (b) => [b.dist, ...Object.entries(b.env).map(([k, v]) => `${k}=${v}`)].join(' ');

const sides = [
  { name: 'node -e 0', args: ['-e', '0'], env: {} },
  ...dists.map((b) => ({ name: nameOf(b), args: [`${b.dist}/cli.js`, 'run', '--input', input, '--cores', '1', '--json', '--no-progress'], env: b.env })),
];

/** One fresh process of `side`: its wall-clock milliseconds, and a run's own `seconds` (ms). */
function time(side) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, side.args, { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, ...side.env } });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${side.name} exited ${r.status}: ${r.stderr}`);
  return { ms, seconds: side.args[0] === '-e' ? 0 : JSON.parse(r.stdout).seconds * 1000 };
}

for (const side of sides) time(side);
const ms = sides.map(() => []);
const runSeconds = sides.map(() => []);
for (let r = 0; r < rounds; r++) {
  const order = sides.map((_, i) => i);
  if (r % 2) order.splice(1, order.length - 1, ...order.slice(1).reverse());
  for (const i of order) {
    const t = time(sides[i]);
    ms[i].push(t.ms);
    runSeconds[i].push(t.seconds);
  }
}

const node = median(ms[0]);
const builds = dists.map((b, i) => {
  const times = ms[i + 1];
  return {
    dist: b.dist, ...(Object.keys(b.env).length ? { env: b.env } : {}), median_ms: round(median(times), 1), run_seconds_ms: round(median(runSeconds[i + 1]), 1),
    against_node: round(median(times) / node), against_node_paired: round(median(times.map((t, r) => t / ms[0][r]))),
  };
});
const result = {
  bench: 'start', input, rounds, node_ms: round(node, 1), builds,
  ...(dists.length > 1 ? {
    second_over_first_paired: round(median(ms[2].map((t, r) => t / ms[1][r]))),
    run_seconds_second_over_first_paired: round(median(runSeconds[2].map((t, r) => t / runSeconds[1][r]))),
  } : {}),
  machine: {
    cpu: cpus()[0]?.model.trim(), cores: cpus().length, node: process.version,
    // Node reads every certificate of NODE_EXTRA_CA_CERTS at its start (45 ms a start here): both sides pay it when set.
    node_extra_ca_certs: process.env.NODE_EXTRA_CA_CERTS !== undefined, date: new Date().toISOString(),
  },
};
if (flag('json')) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  process.stdout.write(`node -e 0: ${result.node_ms} ms (median of ${rounds})\n`);
  for (const [i, b] of builds.entries()) process.stdout.write(`${nameOf(dists[i])}: ${b.median_ms} ms, ${b.against_node}x node -e 0 (paired ${b.against_node_paired}x)\n`);
  if (result.second_over_first_paired !== undefined) process.stdout.write(`second / first, paired: ${result.second_over_first_paired}\n`);
}
