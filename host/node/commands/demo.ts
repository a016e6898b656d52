/**
 * rssplane demo: the foundation at work on its built-in data. Hashes the published verification
 * vectors, proves what the three preset keys do, spreads random flows over queues under each,
 * and times the batch kernel. Every number printed is computed here.
 */
import { Command } from 'commander';
import { formatEndpoint, parseAddress } from '../../core/addr.js';
import { reachableEntries } from '../../core/analysis.js';
import { KEY_PRESETS, type KeyPreset } from '../../core/key.js';
import { Reta } from '../../core/reta.js';
import { RssConfig, RssHasher } from '../../core/rss.js';
import { IPV4_VECTORS, IPV6_VECTORS } from '../../core/vectors.js';
import { fillRandom } from '../bench/measure.js';
import { out } from '../io.js';
import { wholeNumber } from '../options.js';
import { grouped } from '../../core/format.js';

const hex32 = (h: number) => `0x${h.toString(16).padStart(8, '0')}`;
const thousands = (n: number) => grouped(n);
const endpoint = (addr: string, port: number) => formatEndpoint(parseAddress(addr).bytes, port);

export function demoCommand(): Command {
  return new Command('demo')
    .summary('show RSS computed to the bit: vectors, key analysis, queue spread, speed')
    .option('--flows <n>', 'random flows to spread over the queues', '1000000')
    .option('--queues <n>', 'receive queues (table: equal:N over 128 entries)', '8')
    .action(async (flags: { flows: string; queues: string }) => {
      const flows = wholeNumber(flags.flows, '--flows', 1_000_000);
      const queues = wholeNumber(flags.queues, '--queues', 8);
      const reta = Reta.equal(128, queues);
      const hashers = Object.fromEntries(await Promise.all((Object.keys(KEY_PRESETS) as KeyPreset[]).map(
        async (name) => [name, await RssHasher.create(RssConfig.from({ key: name, fields: 'ipv4-l4', reta }))] as const,
      ))) as Record<KeyPreset, RssHasher>;
      const ms = hashers.microsoft;

      out(`rssplane: RSS computed to the bit, in WebAssembly (${ms.engine.kernel} kernel)`);
      out();
      out('1. The published Microsoft RSS verification vectors, key "microsoft"');
      for (const [family, vectors] of [['ipv4', IPV4_VECTORS], ['ipv6', IPV6_VECTORS]] as const) {
        for (const v of vectors) {
          const a = ms.hash(v, family);
          const p = ms.hash(v, `${family}-l4`);
          const ok = (got: number, want: number) => (got === want ? 'ok' : `MISMATCH (published ${hex32(want)})`);
          out(`   ${`${endpoint(v.src, v.sport)} -> ${endpoint(v.dst, v.dport)}`.padEnd(74)} ${family} ${hex32(a)} ${ok(a, v.addresses)}  ${family}-l4 ${hex32(p)} ${ok(p, v.withPorts)}`);
        }
      }

      out();
      out('2. The preset keys, proved over every ipv4-l4 tuple (symmetry and GF(2) rank)');
      for (const [name, rss] of Object.entries(hashers)) {
        const a = rss.analyze();
        out(`   ${name.padEnd(10)} ${(a.symmetric ? 'symmetric' : 'not symmetric').padEnd(14)} rank ${String(a.rank).padStart(2)}  ${thousands(a.distinctHashes).padStart(13)} distinct hashes`);
      }
      const v = IPV4_VECTORS[0]!;
      const reverse = { src: v.dst, dst: v.src, sport: v.dport, dport: v.sport };
      for (const name of ['microsoft', 'symmetric'] as const) {
        const rss = hashers[name];
        out(`   ${name}: ${endpoint(v.src, v.sport)} -> ${endpoint(v.dst, v.dport)} hashes to ${hex32(rss.hash(v))}, the reverse to ${hex32(rss.hash(reverse))}`);
      }

      out();
      out(`3. ${thousands(flows)} random flows over ${queues} queues (128-entry table, equal:${queues})`);
      const counts: Record<string, Uint32Array> = {};
      let seconds = 0;
      for (const [name, rss] of Object.entries(hashers)) {
        const batch = rss.batch(flows);
        fillRandom(batch.tuples);
        batch.run(flows); // the first call runs V8's baseline tier; time the optimized code
        const t0 = performance.now();
        batch.run(flows);
        if (name === 'microsoft') seconds = (performance.now() - t0) / 1000;
        counts[name] = batch.queueCounts(flows);
        batch.free();
      }
      const names = Object.keys(counts);
      out(`   ${'queue'.padEnd(6)}${names.map((n) => n.padStart(12)).join('')}`);
      for (let q = 0; q < queues; q++) out(`   ${String(q).padEnd(6)}${names.map((n) => thousands(counts[n]![q]!).padStart(12)).join('')}`);
      const imbalance = (c: Uint32Array) => Math.max(...c) / (flows / queues);
      out(`   ${'max/mean'.padEnd(6)}${names.map((n) => imbalance(counts[n]!).toFixed(3).padStart(12)).join('').slice(2)}`);
      const reach = Object.entries(hashers).map(([name, rss]) => `${name} ${reachableEntries(rss.columns(), 'ipv4-l4', reta.size)}`);
      out(`   table entries any flow can reach: ${reach.join(', ')} (of ${reta.size})`);

      out();
      out(`4. Speed: ${thousands(flows)} tuples hashed in one batch call in ${(seconds * 1000).toFixed(1)} ms (${(flows / seconds / 1e6).toFixed(0)} Mhash/s, one core).`);
      out('   `rssplane bench toeplitz --json` measures it properly.');
    });
}
