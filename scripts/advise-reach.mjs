#!/usr/bin/env node
// How often the table fix (Fix 2 of `rssplane advise`) reaches the bound when a perfect table is
// d moves away, with a budget of d moves. Tables of 2-16 queues, 2-32 entries each; each queue's
// entries are random cuts of 1000 (so the bound, 1000, is reachable only by an exact fit), the
// entries shuffled, then d of them moved to random other queues. Deterministic from the seeds.
//
//   npm run build && node scripts/advise-reach.mjs [CASES]       # results in BENCHMARKS.md
import { rebalance } from '../dist/index.js';

const cases = Number(process.argv[2] ?? 6000);
const rng = (seed) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};
const byDepth = {};
let slowest = 0;
for (let seed = 1; seed <= cases; seed++) {
  const r = rng(seed * 7919);
  const queues = 2 + Math.floor(r() * 15), per = 2 + Math.floor(r() * 31), d = 1 + Math.floor(r() * 6);
  const loads = [], table = [];
  for (let q = 0; q < queues; q++) {
    const cuts = Array.from({ length: per - 1 }, () => Math.floor(r() * 1001)).sort((a, b) => a - b);
    const bounds = [0, ...cuts, 1000];
    for (let i = 0; i < per; i++) { loads.push(bounds[i + 1] - bounds[i]); table.push(q); }
  }
  const order = loads.map((_, i) => i).sort(() => r() - 0.5);
  const l = order.map((i) => loads[i]), t = order.map((i) => table[i]);
  for (let k = 0; k < d; k++) { const i = Math.floor(r() * t.length); t[i] = (t[i] + 1 + Math.floor(r() * (queues - 1))) % queues; }
  const t0 = performance.now();
  const fix = rebalance(l, l.map(() => 1), t, queues, { maxMoves: d });
  slowest = Math.max(slowest, performance.now() - t0);
  const s = (byDepth[d] ??= { cases: 0, reached: 0 });
  s.cases++;
  if (fix.max === 1000) s.reached++;
}
console.log(JSON.stringify({ cases, by_moves_away: byDepth, slowest_ms: Number(slowest.toFixed(1)) }));
