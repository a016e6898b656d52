/**
 * Why one queue is hot, and the table that fixes it: advice from the load of each indirection-table
 * entry (bucket), as the flow engine counts it (buckets.ts).
 *
 * A queue's load is the sum of its entries' loads (plus, for queue 0, what has no entry: packets
 * that are not IP). So:
 *
 * - No table beats the bound max(total / queues, the heaviest entry): the mean is what a perfect
 *   spread gives, and an entry goes to one queue whole.
 * - `ethtool -X DEV weight W0 W1 ...` gives queue j a contiguous run of entries, runs in queue
 *   order (ethtool's rule, reta.ts): choosing the weights is a linear partition of the entry
 *   sequence into `queues` runs minimising the heaviest run, solved exactly below (the smallest
 *   cap a greedy left-to-right fill meets, found by bisection over whole numbers). A run of n
 *   entries is reproduced exactly by weight n: with weights summing to the table size, ethtool's
 *   boundary size * partial / sum is the partial sum itself (dividing every weight by their gcd
 *   keeps that exact).
 * - Any table (DPDK's rte_eth_dev_rss_reta_update, `run --reta-file`): RSS++'s idea (CoNEXT 2019),
 *   move a few entries off the hot queues, since every entry moved migrates its flows' state.
 *   The search here is ours: greedy descent (the best single move or swap off the hottest queue),
 *   a repair that evicts the fewest entries from each queue over a target and packs them best-fit,
 *   and an exact minimum-moves search for small cases; the best within the move budget wins, and
 *   the current table whenever nothing beats it.
 *
 * Isomorphic: no Node imports (the visualizer gives the same advice for a dropped capture).
 */
import { type BucketDetail, type BucketLoad, byTuple, PORTS_CLASSES, sumBuckets, sumPortDeltas, topFlows, type TopFlow } from './buckets.js';
import { gf2Rank, mirroredBits } from './analysis.js';
import { invalid } from './errors.js';
import { formatEthtoolSet } from './ethtool.js';
import { FIELD_SETS, type FieldSetName } from './fields.js';
import type { FlowStats } from './flows.js';
import { formatKey, KEY_PRESETS, presetName } from './key.js';
import { Reta } from './reta.js';
import type { RssConfig } from './rss.js';
import { QUEUES_MAX } from '../../assembly/shared/abi.js';

export type Metric = 'packets' | 'bytes' | 'flows';
export const METRICS: readonly Metric[] = ['packets', 'bytes', 'flows'];

/** Fix 2's default target: within this factor of the bound. */
export const DEFAULT_SLACK = 1.02;

export interface AdviceInput {
  /** load per table entry (FlowStats.buckets, summed over cores); length = the table's size */
  buckets: readonly BucketLoad[];
  /** what has no entry: packets that are not IP, on queue 0 whatever the table */
  unhashed?: { packets: number; bytes: number };
  /** the table the load went through */
  table: Reta;
  /** queues to spread over (default: those the table names); the table may name no queue at or above it */
  queues?: number;
  /** what load means (default packets) */
  metric?: Metric;
  /** Fix 2: most entries it may move (default: as few as reach within 2% of the bound) */
  maxMoves?: number;
  /** device in the commands (default eth0) */
  dev?: string;
  /** the RSS function, and its columns (RssHasher.columns()), for the key's diagnoses */
  config?: RssConfig;
  columns?: Uint32Array;
  /** traffic counts (FlowStats, summed over cores) for the fragment and family diagnoses */
  traffic?: { processed: number; fragments: number; ipv4: number; ipv6: number };
  /** every engine's FlowStats.bucketDetail (top flows, ports deltas), when there are some */
  details?: readonly BucketDetail[];
}

export interface QueueLoad {
  queue: number;
  load: number;
}

export interface Diagnosis {
  /** elephant, ports-not-hashed, low-rank, rank-zero, not-ip, fragments, uneven-entries */
  code: string;
  /** what is wrong, with its evidence */
  message: string;
  /** what fixes it (a command where there is one) */
  fix: string;
}

export interface WeightFix {
  /** for `ethtool -X DEV weight W0 W1 ...`, one per queue */
  weights: number[];
  command: string;
  /** the table ethtool fills from them (Reta.weighted) */
  table: Uint16Array;
  queues: QueueLoad[];
  max: number;
  imbalance: number;
}

export interface MovedEntry {
  index: number;
  from: number;
  to: number;
  load: number;
  flows: number;
}

export interface TableFix {
  table: Uint16Array;
  /** entries whose queue changed */
  moves: number;
  /** flow directions in the moved entries: their state must follow them to the new queue */
  flowsMoved: number;
  moved: MovedEntry[];
  queues: QueueLoad[];
  max: number;
  imbalance: number;
  /** the move budget it searched under (the default's: as few as reach target) */
  maxMoves?: number;
  /** the default's target load: DEFAULT_SLACK x the bound */
  target?: number;
}

export interface Advice {
  metric: Metric;
  queues: QueueLoad[];
  total: number;
  mean: number;
  max: number;
  imbalance: number;
  /** max(total / queues, heaviest entry, the load with no entry): no table does better */
  bound: number;
  boundImbalance: number;
  /** load with no entry (not IP), on queue 0 */
  unhashed: number;
  heaviest: {
    index: number;
    load: number;
    /** of all load */
    share: number;
    /** its heaviest flow directions (by packets for the flows metric), when the engines kept them */
    flows: TopFlow[];
    /** share of the entry's load those flows carry (0 for the flows metric) */
    flowsShare: number;
  };
  weights: WeightFix;
  table: TableFix;
  diagnoses: Diagnosis[];
}

const loadOf = (b: BucketLoad, metric: Metric) => (metric === 'packets' ? b.packets : metric === 'bytes' ? b.bytes : b.flows);

/** Per-queue load of `loads` under `table` (entry i -> queue table[i]), `extra` on queue 0. */
export function queueLoads(loads: ArrayLike<number>, table: ArrayLike<number>, queues: number, extra = 0): number[] {
  const q = new Array<number>(queues).fill(0);
  q[0] = extra;
  for (let i = 0; i < loads.length; i++) q[table[i]!]! += loads[i]!;
  return q;
}

// ---- Fix 1: the exact linear partition ----

/**
 * Splits entries 0..n-1 into `queues` contiguous runs, in order (a run may be empty), so that the
 * heaviest run is as light as can be; queue 0 also carries `extra`. Loads are whole numbers >= 0.
 * Among the optimal partitions it picks, run by run, the end nearest an even share of what is
 * left, keeping the rest coverable, so the optimum is also evenly spread.
 * Returns the entries per queue and the heaviest queue's load.
 */
export function linearPartition(loads: ArrayLike<number>, queues: number, extra = 0): { runs: number[]; max: number } {
  const n = loads.length;
  if (!Number.isInteger(queues) || queues < 1) invalid('queue count', queues, 'expected a whole number >= 1');
  const prefix = new Float64Array(n + 1);
  let heaviest = extra;
  for (let i = 0; i < n; i++) {
    const w = loads[i]!;
    if (!Number.isInteger(w) || w < 0) invalid('entry load', w, `entry ${i}: expected a whole number >= 0`);
    prefix[i + 1] = prefix[i]! + w;
    if (w > heaviest) heaviest = w;
  }
  const total = prefix[n]! + extra;
  /** Whether a greedy fill (each run as long as fits) covers everything in `queues` runs. */
  const fits = (cap: number): boolean => {
    let q = 0, acc = extra;
    for (let i = 0; i < n; i++) {
      const w = loads[i]!;
      if (acc + w > cap) {
        if (++q >= queues) return false;
        acc = 0;
      }
      acc += w;
    }
    return true;
  };
  let lo = Math.max(heaviest, Math.ceil(total / queues)), hi = total;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid + 1;
  }
  const cap = lo;
  // need[p]: runs the greedy fill takes for entries p.. (no extra): fewest there are.
  const need = new Int32Array(n + 1);
  const next = new Int32Array(n);
  for (let p = 0, end = 0; p < n; p++) {
    if (end < p) end = p;
    while (end < n && prefix[end + 1]! - prefix[p]! <= cap) end++;
    next[p] = end;
  }
  for (let p = n - 1; p >= 0; p--) need[p] = 1 + need[next[p]!]!;
  const runs: number[] = [];
  let start = 0;
  for (let q = 0; q < queues; q++) {
    if (q === queues - 1) {
      runs.push(n - start);
      break;
    }
    const base = q === 0 ? extra : 0;
    let maxEnd = start;
    while (maxEnd < n && base + prefix[maxEnd + 1]! - prefix[start]! <= cap) maxEnd++;
    const left = queues - 1 - q;
    let end = start;
    while (need[end]! > left) end++;
    // The even share of what is left, so that one heavy run does not starve the runs after it.
    const done = q === 0 ? 0 : extra + prefix[start]!;
    const ideal = done + (total - done) / (queues - q);
    let best = end, bestGap = Infinity;
    for (let e = end; e <= maxEnd; e++) {
      const gap = Math.abs(extra + prefix[e]! - ideal);
      if (gap < bestGap) {
        best = e;
        bestGap = gap;
      }
    }
    runs.push(best - start);
    start = best;
  }
  return { runs: evenest(loads, prefix, need, queues, extra, cap) ?? runs, max: cap };
}

/**
 * Among the partitions whose heaviest run is `cap`, the one with the least sum of squared queue
 * loads (the evenest spread of what the heaviest leaves), by dynamic programming over each run's
 * feasible ends: run q ends no earlier than the rest can still be covered (need) and no later
 * than a greedy fill reaches. Undefined when those windows are too wide to search quickly.
 */
function evenest(loads: ArrayLike<number>, prefix: Float64Array, need: Int32Array, queues: number, extra: number, cap: number): number[] | undefined {
  const n = loads.length;
  if (queues === 1) return [n];
  const lo = new Int32Array(queues), hi = new Int32Array(queues);
  let work = 0;
  for (let q = 0, reach = 0, acc = extra; q < queues; q++) {
    // The latest end: a greedy fill of q + 1 runs; the earliest: the rest fits the runs after it.
    if (q > 0) acc = 0;
    while (reach < n && acc + loads[reach]! <= cap) acc += loads[reach++]!;
    hi[q] = q === queues - 1 ? n : reach;
    let e = q === 0 ? 0 : lo[q - 1]!;
    while (e < n && need[e]! > queues - 1 - q) e++;
    lo[q] = q === queues - 1 ? n : e;
    if (q > 0) work += (hi[q]! - lo[q]! + 1) * (hi[q - 1]! - lo[q - 1]! + 1);
  }
  if (work > 4_000_000) return undefined;
  const load = (from: number, to: number, q: number) => (q === 0 ? extra : 0) + prefix[to]! - prefix[from]!;
  let cost = new Float64Array(hi[0]! - lo[0]! + 1).map((_, i) => {
    const l = load(0, lo[0]! + i, 0);
    return l <= cap ? l * l : Infinity;
  });
  const from: Int32Array[] = [new Int32Array(cost.length).fill(0)];
  for (let q = 1; q < queues; q++) {
    const next = new Float64Array(hi[q]! - lo[q]! + 1).fill(Infinity);
    const back = new Int32Array(next.length).fill(-1);
    for (let i = 0; i < next.length; i++) {
      const e = lo[q]! + i;
      for (let j = 0; j < cost.length; j++) {
        const s = lo[q - 1]! + j;
        if (s > e || cost[j] === Infinity) continue;
        const l = load(s, e, q);
        if (l > cap) continue;
        const c = cost[j]! + l * l;
        if (c < next[i]!) {
          next[i] = c;
          back[i] = s;
        }
      }
    }
    cost = next;
    from.push(back);
  }
  if (cost[cost.length - 1] === Infinity) return undefined;
  const ends = new Array<number>(queues);
  ends[queues - 1] = n;
  for (let q = queues - 1; q > 0; q--) ends[q - 1] = from[q]![ends[q]! - lo[q]!]!;
  return ends.map((e, q) => e - (q === 0 ? 0 : ends[q - 1]!));
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/** Weights that make `ethtool -X weight` fill exactly these runs: the run lengths over their gcd. */
export function weightsForRuns(runs: readonly number[]): number[] {
  const g = runs.reduce((a, r) => gcd(a, r), 0) || 1;
  return runs.map((r) => r / g);
}

// ---- Fix 2: moving few entries ----

interface Search {
  loads: ArrayLike<number>;
  flows: ArrayLike<number>;
  origin: Uint16Array;
  queues: number;
  extra: number;
}

/** A table being edited: entry -> queue, the queues' loads and members, moves from the origin. */
class Assignment {
  readonly assign: Uint16Array;
  readonly load: Float64Array;
  readonly members: number[][];
  private readonly slot: Int32Array;
  moves = 0;
  flowsMoved = 0;

  constructor(readonly s: Search, from: Uint16Array = s.origin) {
    this.assign = from.slice();
    this.load = new Float64Array(s.queues);
    this.load[0] = s.extra;
    this.members = Array.from({ length: s.queues }, () => []);
    this.slot = new Int32Array(from.length);
    for (let b = 0; b < from.length; b++) {
      const q = from[b]!;
      this.load[q]! += s.loads[b]!;
      this.slot[b] = this.members[q]!.length;
      this.members[q]!.push(b);
      if (q !== s.origin[b]) {
        this.moves++;
        this.flowsMoved += s.flows[b]!;
      }
    }
  }

  clone(): Assignment {
    return new Assignment(this.s, this.assign);
  }

  /** Change in moves if entry b went to queue q. */
  cost(b: number, q: number): number {
    const o = this.s.origin[b]!, now = this.assign[b]!;
    return (q !== o ? 1 : 0) - (now !== o ? 1 : 0);
  }

  move(b: number, q: number): void {
    const from = this.assign[b]!;
    if (from === q) return;
    const c = this.cost(b, q);
    this.moves += c;
    this.flowsMoved += c * this.s.flows[b]!;
    const w = this.s.loads[b]!;
    this.load[from]! -= w;
    this.load[q]! += w;
    const list = this.members[from]!, at = this.slot[b]!, last = list.pop()!;
    if (last !== b) {
      list[at] = last;
      this.slot[last] = at;
    }
    this.slot[b] = this.members[q]!.length;
    this.members[q]!.push(b);
    this.assign[b] = q;
  }

  get max(): number {
    let m = 0;
    for (const l of this.load) if (l > m) m = l;
    return m;
  }

  hottest(): number {
    let h = 0;
    for (let q = 1; q < this.load.length; q++) if (this.load[q]! > this.load[h]!) h = q;
    return h;
  }
}

interface Candidate {
  assign: Uint16Array;
  max: number;
  moves: number;
  flowsMoved: number;
}

const snapshot = (a: Assignment): Candidate => ({ assign: a.assign.slice(), max: a.max, moves: a.moves, flowsMoved: a.flowsMoved });

/** Lower max first, then fewer moves, then fewer flows moved. */
const better = (a: Candidate, b: Candidate | undefined) =>
  !b || a.max < b.max || (a.max === b.max && (a.moves < b.moves || (a.moves === b.moves && a.flowsMoved < b.flowsMoved)));

/**
 * Greedy descent from `a`: each step takes the move or swap off the hottest queue that leaves the
 * two queues it touches lightest (ties: fewer moves, then fewer flows), while it lowers that queue
 * and keeps within `budget` moves. `visit` sees the assignment after every step.
 */
function descend(a: Assignment, budget: number, visit: (a: Assignment) => boolean | void): void {
  const { loads, flows, queues } = a.s;
  if (queues < 2) return;
  // Each queue's entries by load, for the swaps; re-sorted only after a step changed the queue.
  const sorted: Array<number[] | undefined> = new Array(queues);
  const byLoad = (q: number) => (sorted[q] ??= a.members[q]!.slice().sort((x, y) => loads[x]! - loads[y]!));
  let bPair = 0, bCost = 0, bFlows = 0, bB = -1, bQ = -1, bC = -1;
  for (let step = 0; step < 64 * loads.length + 64; step++) {
    const h = a.hottest();
    const top = a.load[h]!;
    let light = h === 0 ? 1 : 0;
    for (let q = 0; q < queues; q++) if (q !== h && a.load[q]! < a.load[light]!) light = q;
    bB = -1;
    const consider = (pair: number, cost: number, f: number, b: number, q: number, c: number) => {
      if (pair >= top || a.moves + cost > budget) return;
      if (bB < 0 || pair < bPair || (pair === bPair && (cost < bCost || (cost === bCost && f < bFlows)))) {
        bPair = pair; bCost = cost; bFlows = f; bB = b; bQ = q; bC = c;
      }
    };
    const mine = a.members[h]!;
    for (const b of mine) {
      const w = loads[b]!;
      if (w === 0) continue;
      consider(Math.max(top - w, a.load[light]! + w), a.cost(b, light), a.cost(b, light) * flows[b]!, b, light, -1);
      const home = a.s.origin[b]!;
      if (home !== h && home !== light) consider(Math.max(top - w, a.load[home]! + w), a.cost(b, home), a.cost(b, home) * flows[b]!, b, home, -1);
    }
    // Swaps: b off h for a lighter c of queue q; the best difference is half the gap.
    for (let q = 0; q < queues; q++) {
      if (q === h) continue;
      const gap = top - a.load[q]!;
      if (gap <= 0 || a.members[q]!.length === 0) continue;
      const theirs = byLoad(q);
      for (const b of mine) {
        const w = loads[b]!;
        if (w === 0) continue;
        const want = w - gap / 2;
        let lo = 0, hi = theirs.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (loads[theirs[mid]!]! < want) lo = mid + 1;
          else hi = mid;
        }
        for (let k = lo - 1; k <= lo; k++) {
          const c = theirs[k];
          if (c === undefined) continue;
          const d = w - loads[c]!;
          if (d <= 0 || d >= gap) continue;
          const cost = a.cost(b, q) + a.cost(c, h);
          consider(Math.max(top - d, a.load[q]! + d), cost, a.cost(b, q) * flows[b]! + a.cost(c, h) * flows[c]!, b, q, c);
        }
      }
    }
    if (bB < 0) return;
    const b = bB, q = bQ, c = bC;
    a.move(b, q);
    if (c >= 0) a.move(c, h);
    sorted[h] = sorted[q] = undefined;
    if (visit(a) === true) return;
  }
}

/**
 * Repair to a target: every queue over `target` keeps what fits of its entries (`keepSmall`: the
 * lightest first, so it evicts the fewest; else evicting, in turn, the lightest single entry that
 * covers what is left over, or the heaviest), and the evicted entries, heaviest first, go to the
 * queue whose room fits them most tightly. Then moved entries go home where they fit again.
 * Returns undefined when some entry finds no room.
 */
function repair(s: Search, target: number, keepSmall: boolean): Assignment | undefined {
  const a = new Assignment(s);
  const evicted: number[] = [];
  for (let q = 0; q < s.queues; q++) {
    let over = a.load[q]! - target;
    if (over <= 0) continue;
    const mine = a.members[q]!.filter((b) => s.loads[b]! > 0).sort((x, y) => s.loads[x]! - s.loads[y]!);
    if (keepSmall) {
      let kept = q === 0 ? s.extra : 0, i = 0;
      while (i < mine.length && kept + s.loads[mine[i]!]! <= target) kept += s.loads[mine[i++]!]!;
      evicted.push(...mine.slice(i));
    } else {
      while (over > 0 && mine.length) {
        const cover = mine.findIndex((b) => s.loads[b]! >= over);
        const b = cover >= 0 ? mine.splice(cover, 1)[0]! : mine.pop()!;
        evicted.push(b);
        over -= s.loads[b]!;
      }
    }
  }
  // The rooms the evictions leave (the entries stay where they are until placed), heaviest first.
  const room = Float64Array.from(a.load, (l) => target - l);
  for (const b of evicted) room[a.assign[b]!]! += s.loads[b]!;
  evicted.sort((x, y) => s.loads[y]! - s.loads[x]!);
  const place = new Int32Array(evicted.length);
  for (let k = 0; k < evicted.length; k++) {
    const w = s.loads[evicted[k]!]!;
    let best = -1;
    for (let q = 0; q < s.queues; q++) if (room[q]! >= w && (best < 0 || room[q]! < room[best]!)) best = q;
    if (best < 0) return undefined;
    room[best]! -= w;
    place[k] = best;
  }
  evicted.forEach((b, k) => a.move(b, place[k]!));
  // Entries that went elsewhere but could go home within the target: home (fewer moves).
  const away = Array.from(a.assign.keys()).filter((b) => a.assign[b] !== s.origin[b]).sort((x, y) => s.loads[x]! - s.loads[y]!);
  for (const b of away) {
    const home = s.origin[b]!;
    if (a.load[home]! + s.loads[b]! <= target) a.move(b, home);
  }
  return a.max <= target ? a : undefined;
}

/**
 * The fewest moves that bring every queue to `target` or under, found exactly by iterative
 * deepening: in a fewest-moves table every moved entry moves once, straight to where it ends, and
 * a queue over the target must lose one of its own entries; so each step branches on which own
 * entry of one queue over the target leaves (the queue with fewest to choose from), and for where.
 * A queue's own entries, heaviest first, bound the moves it still needs from below. Up to `depth`
 * moves and about `work` queue and entry visits; undefined when none is found within those limits.
 */
function fewestMoves(s: Search, target: number, depth: number, work: number): Uint16Array | undefined {
  const { queues, loads, origin } = s;
  const load = queueLoads(loads, origin, queues, s.extra);
  const assign = origin.slice();
  const moved = new Uint8Array(loads.length);
  const own: number[][] = Array.from({ length: queues }, () => []);
  for (let b = 0; b < loads.length; b++) if (loads[b]! > 0) own[origin[b]!]!.push(b);
  for (const list of own) list.sort((x, y) => loads[y]! - loads[x]!);
  const free = new Int32Array(queues);
  for (let q = 0; q < queues; q++) free[q] = own[q]!.length;
  let steps = 0;
  /** Moves still needed at least: per queue over the target, its heaviest own entries until it fits. */
  const total = load.reduce((a, b) => a + b, 0);
  // Room the final table leaves in all: a queue further below the target than this must gain.
  const slack = queues * target - total;
  const lowerBound = (): number => {
    let need = 0, gain = 0;
    for (let q = 0; q < queues; q++) {
      if (target - load[q]! > slack) gain++;
      let over = load[q]! - target;
      if (over <= 0) continue;
      for (const b of own[q]!) {
        if (over <= 0) break;
        if (moved[b]) continue;
        over -= loads[b]!;
        need++;
      }
      if (over > 0) return Infinity;
    }
    // Each move leaves one queue and enters one: as many as either side needs.
    return Math.max(need, need ? gain : 0);
  };
  // Per depth: the candidates of the queue branched on, and the other queues by load.
  const longest = own.reduce((m, l) => Math.max(m, l.length), 0);
  const candidates = Array.from({ length: depth + 1 }, () => new Int32Array(longest));
  const orders = Array.from({ length: depth + 1 }, () => new Int32Array(queues));
  const dfs = (left: number): boolean => {
    // A step costs about the queues and candidates it looks at.
    steps += queues + longest;
    if (steps > work) throw new Budget();
    const bound = lowerBound();
    if (bound === 0) return true;
    if (bound > left) return false;
    let h = -1;
    for (let q = 0; q < queues; q++) if (load[q]! > target && (h < 0 || free[q]! < free[h]!)) h = q;
    // Entries nearest the queue's excess first (they tend to be what leaves); equal loads, which
    // stay side by side (own lists are sorted, the sort is stable), once.
    const excess = load[h]! - target;
    const mine = candidates[left]!, others = orders[left]!;
    let n = 0;
    for (const b of own[h]!) {
      if (moved[b]) continue;
      const key = Math.abs(loads[b]! - excess);
      let i = n++;
      for (; i > 0 && Math.abs(loads[mine[i - 1]!]! - excess) > key; i--) mine[i] = mine[i - 1]!;
      mine[i] = b;
    }
    let m = 0;
    for (let q = 0; q < queues; q++) {
      if (q === h) continue;
      let i = m++;
      for (; i > 0 && load[others[i - 1]!]! > load[q]!; i--) others[i] = others[i - 1]!;
      others[i] = q;
    }
    let last = -1;
    for (let c = 0; c < n; c++) {
      const b = mine[c]!;
      const w = loads[b]!;
      if (w === last) continue;
      last = w;
      // Where it fits most tightly first (the fitting queues are the lightest: walk them down),
      // then, least overflowed first, where one of that queue's own entries would leave in turn.
      let fit = 0;
      while (fit < m && load[others[fit]!]! + w <= target) fit++;
      moved[b] = 1;
      free[h]!--;
      load[h]! -= w;
      for (let i = fit - 1; i >= 0; i--) {
        const q = others[i]!;
        load[q]! += w;
        assign[b] = q;
        if (dfs(left - 1)) return true;
        load[q]! -= w;
      }
      for (let i = fit; i < m; i++) {
        const q = others[i]!;
        if (!free[q]) continue;
        load[q]! += w;
        assign[b] = q;
        if (dfs(left - 1)) return true;
        load[q]! -= w;
      }
      assign[b] = h;
      load[h]! += w;
      free[h]!++;
      moved[b] = 0;
    }
    return false;
  };
  try {
    for (let d = 0; d <= depth; d++) if (dfs(d)) return assign;
  } catch (e) {
    if (!(e instanceof Budget)) throw e;
  }
  return undefined;
}

class Budget extends Error {}

/** Moves, and queue and entry visits, the exact search may take (a few milliseconds). */
const EXACT_NODES = 1_000_000;
const EXACT_DEPTH = 8;

/**
 * Fix 2: a table that moves at most `maxMoves` entries (default: as few as bring the heaviest
 * queue within `slack` x the bound) and leaves the heaviest queue as light as it can; never worse
 * than `table`. `flows`: per entry, the flow directions moving it would migrate (ties go to fewer).
 */
export function rebalance(
  loads: ArrayLike<number>,
  flows: ArrayLike<number>,
  table: ArrayLike<number>,
  queues: number,
  options: { extra?: number; maxMoves?: number; slack?: number } = {},
): { assign: Uint16Array; max: number; moves: number; flowsMoved: number; target?: number } {
  const origin = Uint16Array.from(table as ArrayLike<number>);
  const s: Search = { loads, flows, origin, queues, extra: options.extra ?? 0 };
  const current = new Assignment(s);
  let total = s.extra, heaviest = s.extra;
  for (let b = 0; b < loads.length; b++) {
    total += loads[b]!;
    heaviest = Math.max(heaviest, loads[b]!);
  }
  const bound = Math.max(total / queues, heaviest);
  const start = snapshot(current);
  if (options.maxMoves !== undefined) return lowest(s, start, options.maxMoves, bound);
  // The default: as few moves as reach the target; with no more than those, as low as can be.
  const target = bound * (options.slack ?? DEFAULT_SLACK);
  if (start.max <= target) return { ...start, target };
  const reaching: Candidate[] = [];
  descend(current.clone(), loads.length, (a) => {
    if (a.max > target) return false;
    reaching.push(snapshot(a));
    return true;
  });
  for (const keepSmall of [true, false]) {
    const r = repair(s, target, keepSmall);
    if (r) reaching.push(snapshot(r));
  }
  const fewest = reaching.reduce((m, c) => Math.min(m, c.moves), Infinity);
  const exact = fewestMoves(s, target, Math.min(fewest - 1, EXACT_DEPTH), EXACT_NODES);
  if (exact) reaching.push(snapshot(new Assignment(s, exact)));
  if (!reaching.length) return { ...lowest(s, start, loads.length, bound), target };
  const moves = reaching.reduce((m, c) => Math.min(m, c.moves), Infinity);
  let chosen: Candidate | undefined;
  for (const c of reaching.filter((x) => x.moves === moves)) {
    const polished = new Assignment(s, c.assign);
    descend(polished, moves, () => false);
    for (const x of [c, snapshot(polished)]) if (better(x, chosen)) chosen = x;
  }
  return { ...chosen!, target };
}

/**
 * The lowest heaviest queue within `limit` moves: greedy descent; repair at the bound, else the
 * exact search there; repairs at targets bisected between the bound and the best so far; a last
 * descent from the best. The current table (`start`) unless something beats it.
 */
function lowest(s: Search, start: Candidate, limit: number, bound: number): Candidate {
  let best = start;
  const offer = (c: Candidate) => {
    if (c.moves <= limit && better(c, best)) best = c;
  };
  descend(new Assignment(s, start.assign), limit, (a) => {
    const max = a.max; // a snapshot only when it would win: the descent takes many small steps
    if (max < best.max || (max === best.max && (a.moves < best.moves || (a.moves === best.moves && a.flowsMoved < best.flowsMoved)))) offer(snapshot(a));
    return false;
  });
  const at = (t: number): boolean => {
    let ok = false;
    for (const keepSmall of [true, false]) {
      const r = repair(s, t, keepSmall);
      if (r && r.moves <= limit) {
        offer(snapshot(r));
        ok = true;
      }
    }
    return ok;
  };
  if (best.max > bound && !at(bound)) {
    const exact = fewestMoves(s, bound, Math.min(limit, EXACT_DEPTH), EXACT_NODES);
    if (exact) offer(snapshot(new Assignment(s, exact)));
  }
  let lo = bound;
  for (let i = 0; i < 30 && best.max - lo > Math.max(1e-9 * best.max, 0.5); i++) {
    const mid = (lo + best.max) / 2;
    if (!at(mid)) lo = mid;
  }
  const polished = new Assignment(s, best.assign);
  descend(polished, limit, () => false);
  offer(snapshot(polished));
  return best;
}

// ---- the advice ----

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const [whole, tenths] = [0, 1].map((d) => new Intl.NumberFormat('en-US', { maximumFractionDigits: d }));
const num = (x: number) => (x < 100 ? tenths! : whole!).format(x);
const ratio = (x: number) => x.toFixed(3);

function describeQueues(loads: readonly number[]): QueueLoad[] {
  return loads.map((load, queue) => ({ queue, load }));
}

/**
 * The advice: current load per queue and its imbalance (max / mean), the bound no table beats,
 * Fix 1 (`ethtool -X weight`, exact), Fix 2 (few entries moved), and diagnoses with evidence.
 * Throws EINVAL when the table and buckets disagree in size or the queue count cannot hold the table.
 */
export function advise(input: AdviceInput): Advice {
  const metric = input.metric ?? 'packets';
  if (!METRICS.includes(metric)) invalid('metric', metric, 'expected packets, bytes or flows');
  const table = input.table.table;
  const size = table.length;
  if (input.buckets.length !== size) invalid('bucket count', input.buckets.length, `the table has ${size} entries`);
  const queues = input.queues ?? input.table.queues;
  if (!Number.isInteger(queues) || queues < 1 || queues > QUEUES_MAX) invalid('queue count', queues, `expected 1 to ${QUEUES_MAX}`);
  if (input.table.queues > queues) invalid('queue count', queues, `the table names queue ${input.table.queues - 1}`);
  const dev = input.dev ?? 'eth0';
  const loads = input.buckets.map((b) => loadOf(b, metric));
  const flows = input.buckets.map((b) => b.flows);
  const unhashed = metric === 'flows' ? 0 : input.unhashed ? input.unhashed[metric] : 0;
  const now = queueLoads(loads, table, queues, unhashed);
  const total = now.reduce((a, b) => a + b, 0);
  const mean = total / queues;
  const imb = (max: number) => (mean ? max / mean : 0);
  const max = Math.max(...now);
  let heaviestIndex = 0;
  for (let i = 1; i < size; i++) if (loads[i]! > loads[heaviestIndex]!) heaviestIndex = i;
  const heaviestLoad = loads[heaviestIndex] ?? 0;
  const bound = Math.max(mean, heaviestLoad, unhashed);

  // Fix 1
  const part = linearPartition(loads, queues, unhashed);
  const weights = weightsForRuns(part.runs);
  const weighted = Reta.weighted(size, weights).table;
  const weightLoads = queueLoads(loads, weighted, queues, unhashed);
  const weightFix: WeightFix = {
    weights, command: formatEthtoolSet({ dev, weights }), table: weighted,
    queues: describeQueues(weightLoads), max: Math.max(...weightLoads), imbalance: imb(Math.max(...weightLoads)),
  };

  // Fix 2
  const fix = rebalance(loads, flows, table, queues, { extra: unhashed, maxMoves: input.maxMoves });
  const fixLoads = queueLoads(loads, fix.assign, queues, unhashed);
  const moved: MovedEntry[] = [];
  for (let i = 0; i < size; i++) if (fix.assign[i] !== table[i]) moved.push({ index: i, from: table[i]!, to: fix.assign[i]!, load: loads[i]!, flows: flows[i]! });
  const tableFix: TableFix = {
    table: fix.assign, moves: fix.moves, flowsMoved: fix.flowsMoved, moved, queues: describeQueues(fixLoads),
    max: Math.max(...fixLoads), imbalance: imb(Math.max(...fixLoads)),
    ...(input.maxMoves !== undefined ? { maxMoves: input.maxMoves } : {}), ...(fix.target !== undefined ? { target: fix.target } : {}),
  };

  const details = input.details ?? [];
  const by = metric === 'bytes' ? 'bytes' : 'packets';
  const top = details.length && heaviestLoad ? byTuple(topFlows(details, heaviestIndex, by), by) : [];
  const topLoad = metric === 'flows' ? 0 : top.reduce((n, f) => n + f[by], 0);
  const advice: Advice = {
    metric, queues: describeQueues(now), total, mean, max, imbalance: imb(max), bound, boundImbalance: imb(bound), unhashed,
    heaviest: {
      index: heaviestIndex, load: heaviestLoad, share: total ? heaviestLoad / total : 0, flows: top,
      flowsShare: heaviestLoad && metric !== 'flows' ? topLoad / heaviestLoad : 0,
    },
    weights: weightFix, table: tableFix, diagnoses: [],
  };
  advice.diagnoses = diagnose(input, advice, loads, queues, dev);
  return advice;
}

/** Advice from FlowStats of one or more engines (cores) that ran the same table: the library call. */
export function adviseStats(stats: readonly FlowStats[], options: Omit<AdviceInput, 'buckets' | 'unhashed' | 'traffic' | 'details'>): Advice {
  const sum = (f: (s: FlowStats) => number) => stats.reduce((n, s) => n + f(s), 0);
  return advise({
    ...options,
    buckets: sumBuckets(stats.map((s) => s.buckets)),
    unhashed: { packets: sum((s) => s.unhashed), bytes: sum((s) => s.unhashedBytes) },
    traffic: { processed: sum((s) => s.processed), fragments: sum((s) => s.fragments), ipv4: sum((s) => s.ipv4), ipv6: sum((s) => s.ipv6) },
    details: stats.flatMap((s) => (s.bucketDetail ? [s.bucketDetail] : [])),
  });
}

// ---- diagnoses ----

/** Fields the engine hashes a family's TCP/UDP with under `fields` (an ipv4-l4 config hashes IPv6 as ipv6-l4). */
const forFamily = (fields: FieldSetName, family: 4 | 6) => fields.replace(/^ipv[46]/, `ipv${family}`) as FieldSetName;

/** The command that programs the Microsoft key (rank 32 for every field set). */
const fullRank = (dev: string) => `\`ethtool -X ${dev} hkey ${formatKey(KEY_PRESETS.microsoft, 'colon')}\` (rssplane --key microsoft)`;

/** Rank of the hash over `fields` with the config's transform, and the table entries it reaches. */
function keyReach(config: RssConfig, columns: Uint32Array, fields: FieldSetName, size: number): { rank: number; reachable: number } {
  const bits = FIELD_SETS[fields].inputLength * 8;
  const vectors = config.xfrm === 'symmetric-xor'
    ? mirroredBits(fields).map(([s, d]) => columns[s]! ^ columns[d]!)
    : Array.from(columns.subarray(0, bits));
  return { rank: gf2Rank(vectors), reachable: 2 ** gf2Rank(vectors.map((v) => v & (size - 1))) };
}

function diagnose(input: AdviceInput, a: Advice, loads: number[], queues: number, dev: string): Diagnosis[] {
  const out: Diagnosis[] = [];
  const size = loads.length;
  const metric = a.metric;
  const unit = metric === 'flows' ? 'flow directions' : metric;
  if (a.total === 0) return out;
  const config = input.config;
  const traffic = input.traffic;
  const families: Array<4 | 6> = !traffic ? [4] : [...(traffic.ipv4 ? [4 as const] : []), ...(traffic.ipv6 ? [6 as const] : [])];

  // The key: rank 0 (symmetric key and transform), or too low a rank to reach every entry.
  if (config && input.columns) {
    const columns = input.columns;
    const key = presetName(config.key) ?? `the ${config.key.length}-byte key`;
    const used = loads.filter((l) => l > 0).length;
    const reach = families.flatMap((family) => {
      const fields = forFamily(config.fields, family);
      if (config.hfunc === 'toeplitz' && config.key.length < FIELD_SETS[fields].inputLength + 4) return [];
      return [{ fields, ...keyReach(config, columns, fields, size) }];
    });
    const zero = reach.filter((r) => r.rank === 0);
    const low = reach.filter((r) => r.rank > 0 && r.reachable < size);
    if (zero.length) {
      const symmetricKey = zero.every((r) => mirroredBits(r.fields).every(([s, d]) => columns[s] === columns[d]));
      out.push({
        code: 'rank-zero',
        message: `${key} with ${config.xfrm} hashes every ${zero.map((r) => r.fields).join(' and ')} flow to 0 (rank 0): ` +
          (symmetricKey && config.xfrm === 'symmetric-xor'
            ? 'the transform feeds src^dst to both fields of each pair, and a symmetric key gives both fields of a pair the same columns, so they cancel'
            : 'no input bit changes the hash') +
          `; all of it lands on entry 0 (queue ${input.table.table[0]}): ${used} of ${size} entries carry load`,
        fix: symmetricKey && config.xfrm !== 'none'
          ? `drop the transform, the key is symmetric already (\`ethtool -X ${dev} xfrm none\`; rssplane --xfrm none), or keep ${config.xfrm} with a key that is not symmetric (the Microsoft key)`
          : `program a key of full rank (${fullRank(dev)})`,
      });
    }
    if (low.length) {
      const reachedQueues = new Set<number>();
      for (let i = 0; i < size; i++) if (loads[i]! > 0) reachedQueues.add(input.table.table[i]!);
      const idle = Array.from({ length: queues }, (_, q) => q).filter((q) => !reachedQueues.has(q) && !(q === 0 && a.unhashed > 0));
      const facts = low.map((r) => `${2 ** r.rank} distinct ${r.fields} hashes (rank ${r.rank} of 32), reaching ${r.reachable} of the ${size} table entries`);
      out.push({
        code: 'low-rank',
        message: `${key} makes only ${facts.join('; and ')}: the other entries never carry a packet of it (here ${used} entries carry load)` +
          (idle.length ? `, and queue${idle.length > 1 ? 's' : ''} ${idle.slice(0, 8).join(', ')}${idle.length > 8 ? ', ...' : ''} get${idle.length > 1 ? '' : 's'} nothing` : ''),
        fix: `program a key of full rank: ${fullRank(dev)}; ` +
          'until then a table can only share out the entries the key reaches (Fix 2 does)',
      });
    }
  }

  // An elephant: one entry above a queue's fair share (by more than Fix 2's 2% slack: less is noise).
  const h = a.heaviest;
  const portsHashed = config ? FIELD_SETS[config.fields].ports : true;
  if (h.load > a.mean * DEFAULT_SLACK && queues > 1) {
    const flowsOfEntry = input.buckets[h.index]!.flows;
    const by = metric === 'bytes' ? 'bytes' : 'packets';
    const list = h.flows.map((f) => `${f.src} -> ${f.dst} ${f.proto} (${f.flows > 1 ? `${f.flows} flows of this tuple, ` : ''}${metric === 'flows' ? `${num(f.packets)} packets` : pct(f[by] / h.load)})`);
    const one = h.flows[0];
    const single = one !== undefined && metric !== 'flows' && one[by] > a.mean;
    const fixes: string[] = [];
    if (single) fixes.push(`no RSS splits one flow, and ${one.src} -> ${one.dst} alone is more than a queue's fair share: split it at the source (several connections) or spread its packets after the NIC (RPS, a dispatcher core)`);
    const keyCode = out.find((d) => d.code === 'rank-zero' || d.code === 'low-rank')?.code;
    if (flowsOfEntry > 1 && keyCode) {
      fixes.push(`a key of full rank would separate the entry's ${num(flowsOfEntry)} flow directions (${keyCode})`);
    } else if (flowsOfEntry > 1) {
      fixes.push(portsHashed
        ? `a different key or a larger table would separate the entry's ${num(flowsOfEntry)} flow directions`
        : `hashing ports too would separate the entry's ${num(flowsOfEntry)} flow directions (ports-not-hashed)`);
    }
    fixes.push('more queues do not shrink it: an entry goes to one queue whole; Fix 2 keeps the rest off its queue');
    out.push({
      code: 'elephant',
      message: `entry ${h.index} alone carries ${pct(h.share)} of the ${unit} (${num(h.load)}), more than a queue's fair share (${num(a.mean)}): ` +
        `no table does better than imbalance ${ratio(a.boundImbalance)}. It holds ${num(flowsOfEntry)} flow direction${flowsOfEntry === 1 ? '' : 's'}` +
        (list.length ? `; the heaviest: ${list.join(', ')}${list.length > 1 ? `, together ${pct(h.flowsShare)} of the entry` : ''}` : ''),
      fix: fixes.join('; '),
    });
  }

  // Ports left out of the hash while they vary: the ports deltas say what hashing them would do.
  const deltas = sumPortDeltas(input.details ?? []);
  if (config && !portsHashed && deltas) {
    const m = metric === 'packets' ? 0 : metric === 'bytes' ? 1 : 2;
    const classes = PORTS_CLASSES.map((name, c) => {
      let moving = 0;
      for (let i = 0; i < size; i++) moving += Math.max(0, deltas[(c * size + i) * 3 + m]!);
      return { name, c, moving };
    }).filter((x) => x.moving > 0);
    const alt = loads.map((l, i) => l + classes.reduce((n, x) => n + deltas[(x.c * size + i) * 3 + m]!, 0));
    const altMax = Math.max(...queueLoads(alt, input.table.table, queues, a.unhashed));
    const altBound = Math.max(a.mean, ...alt, a.unhashed);
    if (classes.length && (altBound < a.bound / DEFAULT_SLACK || altMax < a.max / DEFAULT_SLACK)) {
      const pairs = [...new Set(h.flows.map((f) => `${f.src.replace(/:\d+$/, '')} -> ${f.dst.replace(/:\d+$/, '')}`))];
      out.push({
        code: 'ports-not-hashed',
        message: `the field set ${config.fields} hashes addresses only, so all traffic between two hosts lands on one entry whatever its ports` +
          (pairs.length ? ` (entry ${h.index}'s heaviest flows: ${pairs.join(', ')}, on ${num(input.buckets[h.index]!.flows)} flow directions)` : '') +
          `. With ports hashed, ${classes.map((x) => `${pct(x.moving / a.total)} of the ${unit} (${x.name})`).join(', ')} would move to other entries: ` +
          `imbalance ${ratio(altMax / a.mean)} on this table (bound ${ratio(altBound / a.mean)}), against ${ratio(a.imbalance)} (bound ${ratio(a.boundImbalance)}) now`,
        fix: classes.map((x) => `\`ethtool -N ${dev} rx-flow-hash ${x.name} sdfn\``).join(', ') +
          ` (rssplane --fields ${FIELD_SETS[config.fields].family === 4 ? 'ipv4-l4' : 'ipv6-l4'})`,
      });
    }
  }

  // Not IP: queue 0, whatever the table.
  // (from 5% of a queue's fair share: below that it is a few ARP frames)
  if (a.unhashed > 0 && a.unhashed >= 0.05 * a.mean) {
    out.push({
      code: 'not-ip',
      message: `${num(input.unhashed?.packets ?? 0)} packets that are not IP (${pct(a.unhashed / a.total)} of the ${unit}) have no table entry: ` +
        `the NIC puts them on queue 0 unhashed, whatever the table${a.unhashed > a.mean ? `, and they alone are more than a queue's fair share (${num(a.mean)})` : ''}`,
      fix: `no table moves them; Fix 2 gives queue 0 fewer entries to make up for them, and an ntuple rule can send a given EtherType elsewhere (\`ethtool -N ${dev} flow-type ether proto 0xNNNN action Q\`)`,
    });
  }

  // Fragments: hashed on addresses only.
  if (traffic && traffic.fragments > 0 && traffic.fragments >= 0.01 * traffic.processed) {
    out.push({
      code: 'fragments',
      message: `${num(traffic.fragments)} packets (${pct(traffic.fragments / traffic.processed)}) are IP fragments: the NIC cannot see ports past the first fragment, ` +
        'so fragments are hashed on addresses only; they gather on the entries of their address pairs and leave the queue of their flow\'s other packets',
      fix: `avoid fragmentation at the source (path MTU, TCP MSS clamping), or hash that protocol on addresses only so fragments and whole datagrams agree (\`ethtool -N ${dev} rx-flow-hash udp4 sd\`)`,
    });
  }

  // More queues than the table can spread evenly.
  const entriesMax = Math.ceil(size / queues);
  const grain = queues > size ? Infinity : entriesMax / (size / queues);
  if (queues > size) {
    out.push({
      code: 'uneven-entries',
      message: `${queues} queues but only ${size} table entries: queues ${size} to ${queues - 1} can get no entry at all`,
      fix: `use at most ${size} queues (\`ethtool -L ${dev} combined ${size}\`), or a device with a larger table`,
    });
  } else if (grain > 1.02) {
    out.push({
      code: 'uneven-entries',
      message: `${size} entries over ${queues} queues: each queue gets ${Math.floor(size / queues)} or ${entriesMax} entries, ` +
        `so evenly loaded entries give at best imbalance ${ratio(grain)} with an equal table`,
      fix: `a queue count that divides ${size} (\`ethtool -L ${dev} combined N\`), or a table weighted by load (Fix 1, Fix 2) rather than by entry count`,
    });
  }
  return out;
}
