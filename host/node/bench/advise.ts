/**
 * bench advise: what the advice costs.
 *
 * - `ms`: the table fix (Fix 2, default move budget) for a 2048-entry table over 64 queues, the
 *   library call alone; the load per entry is that of 200,000 flows of heavy-tailed sizes
 *   (Pareto, shape 1.2) hashed at random, deterministic from the seed, under `equal 64`. Also the
 *   exact weights (`weights_ms`), the fix with at most 64 moves, and the whole advice.
 * - With `--input F`: `rssplane advise --input F` against `rssplane run --input F` (same cores,
 *   each a fresh process, rounds interleaved after an untimed round that warms the page cache):
 *   the median of each round's difference is what the advice adds to a run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { advise, linearPartition, rebalance } from '../../core/advise.js';
import { invalid } from '../../core/errors.js';
import { Reta } from '../../core/reta.js';
import { machine, median, round } from './measure.js';

export interface AdviseBenchOptions {
  rounds: number;
  seed: number;
  input?: string;
  cores: number;
}

/** xorshift32: the same loads every run for a seed. */
function generator(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** Packets and flows per entry of a `size`-entry table: `flows` flows of Pareto(1.2) sizes (at least 2 packets) at random entries. */
export function syntheticBuckets(size: number, flows: number, seed: number) {
  const rnd = generator(seed);
  const buckets = Array.from({ length: size }, (_, index) => ({ index, packets: 0, bytes: 0, flows: 0 }));
  for (let f = 0; f < flows; f++) {
    const b = buckets[Math.floor(rnd() * size)]!;
    const packets = Math.floor(2 / Math.pow(1 - rnd(), 1 / 1.2));
    b.packets += packets;
    b.bytes += packets * 800;
    b.flows++;
  }
  return buckets;
}

export function benchAdvise(o: AdviseBenchOptions) {
  const size = 2048, queues = 64;
  const buckets = syntheticBuckets(size, 200_000, o.seed);
  const loads = buckets.map((b) => b.packets);
  const flows = buckets.map((b) => b.flows);
  const table = Reta.equal(size, queues);
  // The four are timed round-robin, after three untimed calls each (V8 optimizes in the background
  // meanwhile), so that a busy spell on the machine falls on all of them alike.
  const work = {
    fix: () => rebalance(loads, flows, table.table, queues),
    capped: () => rebalance(loads, flows, table.table, queues, { maxMoves: 64 }),
    weights: () => linearPartition(loads, queues),
    whole: () => advise({ buckets, table, queues }),
  };
  const ms: Record<keyof typeof work, number[]> = { fix: [], capped: [], weights: [], whole: [] };
  for (let w = 0; w < 3; w++) for (const fn of Object.values(work)) fn();
  for (let r = 0; r < o.rounds; r++) {
    for (const [name, fn] of Object.entries(work) as Array<[keyof typeof work, () => unknown]>) {
      const t0 = performance.now();
      fn();
      ms[name].push(performance.now() - t0);
    }
  }
  const fix = { ms: ms.fix, result: work.fix() };
  const capped = { ms: ms.capped, result: work.capped() };
  const weights = { ms: ms.weights };
  const whole = { ms: ms.whole, result: work.whole() };
  const a = whole.result;
  const result: Record<string, unknown> = {
    bench: 'advise',
    table: { size, queues, flows: 200_000, seed: o.seed, imbalance: round(a.imbalance, 4), bound_imbalance: round(a.boundImbalance, 4) },
    ms: round(median(fix.ms), 2),
    /** the fastest round: on a busy shared machine, nearer what the work costs */
    ms_min: round(Math.min(...fix.ms), 2),
    moves: fix.result.moves,
    fix_imbalance: round((fix.result.max * queues) / a.total, 4),
    ms_max_moves_64: round(median(capped.ms), 2),
    fix_imbalance_max_moves_64: round((capped.result.max * queues) / a.total, 4),
    weights_ms: round(median(weights.ms), 3),
    weights_imbalance: round(a.weights.imbalance, 4),
    advise_ms: round(median(whole.ms), 2),
    target_ms: 50,
    target_met: median(fix.ms) < 50,
    rounds: o.rounds,
    rounds_ms: fix.ms.map((x) => round(x, 2)),
  };
  if (o.input !== undefined) Object.assign(result, overhead(o));
  return { ...result, machine: machine() };
}

/** `rssplane advise` against `rssplane run` on the same capture, rounds interleaved. */
function overhead(o: AdviseBenchOptions) {
  const input = o.input!;
  try {
    if (!statSync(input).isFile()) invalid('--input', input, 'not a file');
  } catch {
    invalid('--input', input, 'no such file');
  }
  const cli = fileURLToPath(import.meta.url);
  const args = ['--input', input, '--cores', String(o.cores), '--json', '--no-progress'];
  const once = (command: string) => {
    const cpu0 = childCpu();
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [cli, command, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = childCpu();
    if (r.status !== 0) invalid('--input', input, `rssplane ${command} exited with status ${r.status}: ${(r.stderr || '').trim().split('\n')[0] ?? ''}`);
    return { seconds, cpu: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : NaN, stdout: r.stdout };
  };
  const runs: Array<ReturnType<typeof once>> = [], advises: Array<ReturnType<typeof once>> = [];
  let packets = 0;
  for (let r = 0; r <= o.rounds; r++) {
    // Alternate which goes first, so neither always follows the other.
    const order = r % 2 ? ['advise', 'run'] : ['run', 'advise'];
    for (const command of order) {
      const t = once(command);
      if (r === 0) {
        if (command === 'run') packets = (JSON.parse(t.stdout) as { packets: number }).packets;
        continue;
      }
      (command === 'run' ? runs : advises).push(t);
    }
  }
  const differences = advises.map((a, i) => (a.seconds - runs[i]!.seconds) * 1000);
  const cpuDifferences = advises.map((a, i) => (a.cpu - runs[i]!.cpu) * 1000);
  const adviceMs = advises.map((a) => (JSON.parse(a.stdout) as { advice_ms: number }).advice_ms);
  return {
    input,
    bytes: statSync(input).size,
    packets,
    cores: o.cores,
    run_seconds: round(median(runs.map((x) => x.seconds)), 3),
    advise_seconds: round(median(advises.map((x) => x.seconds)), 3),
    /** median over rounds of advise's wall seconds minus run's, in ms */
    overhead_ms: round(median(differences), 1),
    overhead_target_ms: 100,
    overhead_target_met: median(differences) <= 100,
    /** the same in CPU time (user + system of each process: Linux /proc, 10 ms ticks), steadier on a busy machine */
    ...(cpuDifferences.every((x) => !Number.isNaN(x)) ? { overhead_cpu_ms: round(median(cpuDifferences), 1) } : {}),
    /** advise's own account of the time after the run: the key's columns and the advice */
    advice_ms: round(median(adviceMs), 1),
    rounds_overhead_ms: differences.map((x) => round(x, 1)),
  };
}

/** CPU seconds of this process's waited-for children (Linux /proc/self/stat cutime + cstime). */
function childCpu(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return undefined;
  }
}
