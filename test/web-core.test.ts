/**
 * What the visualizer takes from host/core: a hash taken apart bit by bit, the same flows under
 * another key or table, the `ethtool -X` line for what is on screen, and a port map. Each is held
 * against the reference definitions (test/helpers/reference.ts), not against itself.
 */
import { describe, expect, it } from 'vitest';
import {
  FIELD_SETS, formatEthtoolSet, IPV4_VECTORS, IPV6_VECTORS, KEY_PRESETS, PortPool, Reta, RssConfig, RssHasher,
  type FieldSetName, type HashFunctionName, type TransformName,
} from '../host/core/index.js';
import { Random } from './helpers/random.js';
import { referenceHash, transform } from './helpers/reference.js';

/** The 32 key bits starting at key bit `b`: Toeplitz's window for input bit b. */
function keyWindow(key: Uint8Array, b: number): number {
  let w = 0;
  for (let k = 0; k < 32; k++) {
    const i = b + k;
    w = (w << 1) | (i < key.length * 8 ? (key[i >> 3]! >> (7 - (i & 7))) & 1 : 0);
  }
  return w >>> 0;
}

const setBits = (bytes: Uint8Array) => Array.from({ length: bytes.length * 8 }, (_, b) => b).filter((b) => (bytes[b >> 3]! >> (7 - (b & 7))) & 1);

describe('RssHasher.explain: one hash, bit by bit', () => {
  it('the first Microsoft vector: every set input bit selects the key window at its position, and the XOR of the windows is 0x51ccc178', async () => {
    const rss = await RssHasher.create({ key: 'microsoft', fields: 'ipv4-l4' });
    const v = IPV4_VECTORS[0]!;
    const e = rss.explain(v);
    // 66.9.149.187 161.142.100.80 2794 1766, network order
    expect(Array.from(e.input)).toEqual([66, 9, 149, 187, 161, 142, 100, 80, 0x0a, 0xea, 0x06, 0xe6]);
    expect(e.hashed).toEqual(e.input);
    expect(e.steps.map((s) => s.bit)).toEqual(setBits(e.input));
    expect(e.steps[0]).toEqual({ bit: 1, column: keyWindow(KEY_PRESETS.microsoft, 1), running: keyWindow(KEY_PRESETS.microsoft, 1) });
    let running = 0;
    for (const s of e.steps) {
      expect(s.column).toBe(keyWindow(KEY_PRESETS.microsoft, s.bit));
      running = (running ^ s.column) >>> 0;
      expect(s.running).toBe(running);
    }
    expect(e.hash).toBe(0x51ccc178);
    expect(e.steps.at(-1)!.running).toBe(0x51ccc178);
  });

  it('IPv6: the published hash of the first vector, 36 input bytes', async () => {
    const rss = await RssHasher.create({ key: 'microsoft', fields: 'ipv6-l4' });
    const e = rss.explain(IPV6_VECTORS[0]!);
    expect(e.input.length).toBe(36);
    expect(e.hash).toBe(0x40207d3d);
    expect(e.steps.every((s) => s.column === keyWindow(KEY_PRESETS.microsoft, s.bit))).toBe(true);
  });

  const configs: Array<[HashFunctionName, TransformName, FieldSetName]> = [];
  for (const hfunc of ['toeplitz', 'xor'] as const) {
    for (const xfrm of ['none', 'symmetric-xor', 'symmetric-or-xor'] as const) {
      for (const fields of ['ipv4', 'ipv4-l4', 'ipv6-l4'] as const) configs.push([hfunc, xfrm, fields]);
    }
  }
  it.each(configs)('%s, %s, %s: the hashed bytes are the transformed input and the steps fold to the reference hash', async (hfunc, xfrm, fields) => {
    const rss = await RssHasher.create({ key: 'microsoft', fields, hfunc, xfrm });
    const random = new Random(0x5eed);
    for (let i = 0; i < 20; i++) {
      const tuple = random.bytes(FIELD_SETS[fields].inputLength);
      const e = rss.explain(tuple);
      expect(Array.from(e.hashed)).toEqual(Array.from(transform(fields, xfrm, tuple)));
      expect(e.steps.map((s) => s.bit)).toEqual(setBits(e.hashed));
      if (hfunc === 'xor') expect(e.steps.every((s) => s.column === (1 << (31 - (s.bit % 32))) >>> 0)).toBe(true);
      expect(e.hash).toBe(referenceHash(KEY_PRESETS.microsoft, fields, hfunc, xfrm, tuple));
    }
  });

  it('an all-zero input has no steps and hashes to 0', async () => {
    const rss = await RssHasher.create({ fields: 'ipv4' });
    const e = rss.explain({ src: '0.0.0.0', dst: '0.0.0.0' });
    expect(e.steps).toEqual([]);
    expect(e.hash).toBe(0);
  });
});

describe('HashBatch.reprogram: the same flows under another key or table', () => {
  it('a new table needs only queueCounts; a new key needs run; counts match the reference per tuple', async () => {
    const n = 5000;
    const random = new Random(7);
    const tuples = random.bytes(n * 12);
    const rss = await RssHasher.create({ key: 'microsoft', fields: 'ipv4-l4', reta: 'equal:4' });
    const batch = rss.batch(n);
    batch.tuples.set(tuples);
    batch.run(n);
    const expectCounts = (key: Uint8Array, reta: Reta) => {
      const counts = new Array<number>(reta.queues).fill(0);
      for (let i = 0; i < n; i++) counts[reta.queueOf(referenceHash(key, 'ipv4-l4', 'toeplitz', 'none', tuples.subarray(i * 12, i * 12 + 12)))]!++;
      expect(Array.from(batch.queueCounts(n))).toEqual(counts);
    };
    expectCounts(KEY_PRESETS.microsoft, Reta.equal(128, 4));

    const weighted = Reta.weighted(256, [4, 2, 1, 1], 1);
    batch.reprogram(rss.config.with({ reta: weighted }));
    expectCounts(KEY_PRESETS.microsoft, weighted); // the hashes stay; only the table changed

    batch.reprogram(RssConfig.from({ key: 'symmetric', fields: 'ipv4-l4', reta: weighted }));
    batch.run(n);
    expectCounts(KEY_PRESETS.symmetric, weighted);
  });

  it('refuses a config of another field set', async () => {
    const rss = await RssHasher.create({ fields: 'ipv4-l4', reta: 'equal:2' });
    const batch = rss.batch(16);
    expect(() => batch.reprogram(rss.config.with({ fields: 'ipv6-l4' }))).toThrow('this batch holds ipv4-l4 tuples');
  });
});

describe('formatEthtoolSet: the ethtool -X line for a table, key and functions', () => {
  it('equal, with the key as ethtool -x prints it', () => {
    expect(formatEthtoolSet({ dev: 'eth0', equal: 4, key: KEY_PRESETS.symmetric.subarray(0, 4), hfunc: 'toeplitz' }))
      .toBe('ethtool -X eth0 hkey 6d:5a:6d:5a equal 4 hfunc toeplitz');
  });
  it('weights with a start and a transform; start 0 and xfrm none are left out', () => {
    expect(formatEthtoolSet({ dev: 'ens1f0', weights: [4, 2, 1, 1], start: 2, xfrm: 'symmetric-xor' }))
      .toBe('ethtool -X ens1f0 start 2 weight 4 2 1 1 xfrm symmetric-xor');
    expect(formatEthtoolSet({ dev: 'eth1', equal: 8, start: 0, xfrm: 'none' })).toBe('ethtool -X eth1 equal 8');
  });
  it('needs exactly one of equal and weights', () => {
    expect(() => formatEthtoolSet({ dev: 'eth0' })).toThrow('give equal or weights');
    expect(() => formatEthtoolSet({ dev: 'eth0', equal: 2, weights: [1] })).toThrow('give equal or weights');
  });
});

describe('PortPool.coreMap: the owner of every port of the range', () => {
  it('agrees with coreOf port by port and with each core\'s size, for each address', async () => {
    const pool = await PortPool.create({ key: 'microsoft', fields: 'ipv4-l4', reta: Reta.weighted(512, [3, 1, 2]) },
      { src: '10.0.0.2', srcCount: 2, dst: '10.0.0.1', dport: 443, cores: 3, ports: [1000, 9999] });
    for (const address of [0, 1]) {
      const map = pool.coreMap(address);
      expect(map.length).toBe(9000);
      for (let p = 1000; p <= 9999; p++) expect(map[p - 1000]).toBe(pool.coreOf(address, p));
    }
    const counts = [0, 0, 0];
    for (const address of [0, 1]) for (const c of pool.coreMap(address)) counts[c]!++;
    expect(counts).toEqual([0, 1, 2].map((c) => pool.core(c).size));
    expect(() => pool.coreMap('10.0.0.9')).toThrow('not one of the pool');
  });
});
