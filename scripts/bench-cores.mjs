#!/usr/bin/env node
// Capture replay on 1 core against N cores, end to end: `rssplane run --input F --cores C --json`
// as fresh processes, rounds interleaved (1, N, 1, N, ...) after an untimed round of each that
// warms the page cache. Prints each side's median wall-clock seconds, the ratio of the medians and
// the median of each round's ratio; then one more run of each with --flows-out, whose records
// must be the same (sorted --flows-out lines without the fields that name cores: core, cores,
// split, as the runner's tests compare them). Both sides use the same table (--reta, default
// equal:4) and key (--key, default microsoft: flows split between cores).
//
//   node scripts/bench-cores.mjs --input /tmp/short-500k.pcap [--cores 2] [--rounds 7] [--reta equal:4] [--key K] [--json]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { flag, median, option, round } from './lib/measure.mjs';

const input = option('input');
if (!input) throw new Error('usage: bench-cores.mjs --input FILE [--cores N] [--rounds R] [--json]');
const cores = Number(option('cores', '2'));
const rounds = Number(option('rounds', '7'));
const table = ['--reta', option('reta', 'equal:4'), '--key', option('key', 'microsoft')];
const cli = new URL('../dist/cli.js', import.meta.url).pathname;


function run(c, extra = []) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, 'run', '--input', input, '--cores', String(c), '--json', '--no-progress', ...table, ...extra], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`run --cores ${c} exited ${r.status}: ${r.stderr}`);
  return { seconds, summary: JSON.parse(r.stdout) };
}

const sides = [1, cores];
for (const c of sides) run(c);
const seconds = { 1: [], [cores]: [] };
let summaries = {};
for (let i = 0; i < rounds; i++) {
  for (const c of sides) {
    const r = run(c);
    seconds[c].push(r.seconds);
    summaries[c] = r.summary;
  }
}
const dir = mkdtempSync(join(tmpdir(), 'rssplane-bench-cores-'));
const digests = {};
try {
  for (const c of sides) {
    const file = join(dir, `c${c}.jsonl`);
    run(c, ['--flows-out', file]);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
      const r = JSON.parse(l);
      delete r.core;
      delete r.cores;
      delete r.split;
      return JSON.stringify(r);
    }).sort();
    digests[c] = { records: lines.length, sha256: createHash('sha256').update(lines.join('\n')).digest('hex') };
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const result = {
  bench: 'cores', input, table: table.join(' '), packets: summaries[1].packets,
  one: { median_s: round(median(seconds[1])), rounds_s: seconds[1].map((x) => round(x)), engine_s: summaries[1].seconds },
  many: { cores, median_s: round(median(seconds[cores])), rounds_s: seconds[cores].map((x) => round(x)), engine_s: summaries[cores].seconds },
  speedup: round(median(seconds[1]) / median(seconds[cores])),
  speedup_paired: round(median(seconds[1].map((s, i) => s / seconds[cores][i]))),
  same_records: digests[1].sha256 === digests[cores].sha256, records: digests[1].records,
  machine: `${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}`,
};
if (flag('json')) console.log(JSON.stringify(result));
else {
  console.log(`run --cores 1: ${result.one.median_s} s, --cores ${cores}: ${result.many.median_s} s (medians of ${rounds}, rounds interleaved)`);
  console.log(`speedup ${result.speedup}x (paired ${result.speedup_paired}x); records ${result.same_records ? 'the same' : 'DIFFER'} (${result.records})`);
}
