/**
 * RSS-aligned port pools: every core's ports are exactly the ports whose return tuple, hashed
 * whole (the engine's batch path, or the reference bit loop), lands on a queue that core serves.
 */
import { describe, expect, it } from 'vitest';
import {
  Engine, KEY_PRESETS, PortPool, Reta, RssConfig, RssplaneError, formatEthtool, parseEthtool, type PoolPort,
} from '../host/core/index.js';
import { expectedPools, expectedQueues, type PoolCase } from './helpers/pool.js';

const key = (p: PoolPort) => `${p.addressIndex}:${p.port}`;

/** Builds the pool and holds each core's port list against the independently hashed one. */
async function expectExact(config: RssConfig, c: PoolCase, reference = false): Promise<PortPool> {
  const pool = await PortPool.create(config, c);
  const expected = expectedPools(config, c, await expectedQueues(config, c, reference));
  for (let core = 0; core < c.cores; core++) {
    const got = Array.from(pool.core(core).ports(), key);
    expect(got.length, `core ${core} size`).toBe(expected[core]!.length);
    expect(got).toEqual(expected[core]);
    expect(pool.core(core).size).toBe(expected[core]!.length);
    expect(pool.core(core).available).toBe(expected[core]!.length);
    // Nothing handed out yet: the free ports are the members.
    expect(Array.from(pool.core(core).freePorts(), key)).toEqual(expected[core]);
  }
  return pool;
}

describe('pools match the hashed return tuples', () => {
  const peer = { src: '10.0.0.1', dst: '192.168.1.1', dport: 80 };
  const cases = (['symmetric', 'microsoft'] as const).flatMap((k) => [128, 512].flatMap((size) => [3, 4, 6, 16].map((cores) => [k, size, cores] as const)));

  it.each(cases)('%s key, %i-entry table equal:cores, %i cores: each core holds exactly its ports, and together they partition 1025-65535', async (k, size, cores) => {
    const config = RssConfig.from({ key: k, fields: 'ipv4-l4', reta: Reta.equal(size, cores) });
    const pool = await expectExact(config, { ...peer, cores });
    const sizes = Array.from({ length: cores }, (_, c) => pool.core(c).size);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(64511);
    const all = new Set<string>();
    for (let c = 0; c < cores; c++) for (const p of pool.core(c).ports()) all.add(key(p));
    expect(all.size).toBe(64511);
    pool.destroy();
  });

  it('IPv6, Microsoft key, 3 consecutive addresses, a 512-entry weighted table', async () => {
    const config = RssConfig.from({ key: 'microsoft', fields: 'ipv6-l4', reta: Reta.weighted(512, [3, 1, 2, 2, 1]) });
    const pool = await expectExact(config, { src: '2001:db8::fffe', srcCount: 3, dst: '2001:db8:1::443', dport: 443, cores: 5 });
    expect(pool.address(2)).toBe('2001:db8::1:0');
  });

  it('asymmetric key: the pool follows the return tuple, not the forward one', async () => {
    const config = RssConfig.from({ key: 'microsoft', fields: 'ipv4-l4', reta: Reta.equal(128, 4) });
    const c = { ...peer, cores: 4 };
    const pool = await PortPool.create(config, c);
    const queues = await expectedQueues(config, c);
    // The forward tuple (10.0.0.1:p -> 192.168.1.1:80) lands elsewhere for many ports.
    const forward = await expectedQueues(config, { ...c, src: peer.dst, dst: peer.src, dport: 0 });
    let differ = 0;
    for (let p = 1025; p <= 65535; p += 97) {
      expect(pool.coreOf(0, p)).toBe(queues[p - 1025]! % 4);
      expect(pool.queueOf('10.0.0.1', p)).toBe(queues[p - 1025]);
      if (queues[p - 1025] !== forward[p - 1025]) differ++;
    }
    expect(differ).toBeGreaterThan(100);
  });

  it.each(['symmetric-xor', 'symmetric-or-xor'] as const)('input transform %s (affine in the port once the peer port is fixed)', async (xfrm) => {
    await expectExact(RssConfig.from({ key: 'microsoft', fields: 'ipv4-l4', xfrm, reta: Reta.equal(256, 6) }), { ...peer, dport: 0xa5c3, cores: 6 });
  });

  it('hash function xor', async () => {
    await expectExact(RssConfig.from({ hfunc: 'xor', fields: 'ipv4-l4', reta: Reta.equal(128, 4) }), { ...peer, cores: 4 });
  });

  it('a queue -> core map: 8 queues on 3 cores, unevenly', async () => {
    const config = RssConfig.from({ key: 'symmetric', reta: Reta.equal(128, 8) });
    await expectExact(config, { ...peer, cores: 3, queueCore: [0, 0, 1, 1, 2, 2, 2, 0] });
  });

  it('addresses across a byte carry and a narrow port range (slots of 64-port span, several addresses a word)', async () => {
    const config = RssConfig.from({ key: 'microsoft', reta: Reta.equal(64, 4) });
    await expectExact(config, { src: '10.0.0.254', srcCount: 5, dst: '10.1.0.1', dport: 53, cores: 4, ports: [40001, 40037] });
    await expectExact(config, { src: '10.0.0.254', srcCount: 3, dst: '10.1.0.1', dport: 53, cores: 4, ports: [0, 65535] });
    await expectExact(config, { src: '10.0.0.1', dst: '10.1.0.1', dport: 53, cores: 4, ports: [65535, 65535] });
  });

  it("a device's truth: key and 512-entry table from pasted `ethtool -x` output, 12 queues (not a power of two)", async () => {
    const device = formatEthtool({ dev: 'eth3', rings: 12, table: Reta.weighted(512, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 0).table, key: KEY_PRESETS.microsoft.slice().reverse(), hfunc: 'toeplitz' });
    const parsed = parseEthtool(device);
    const config = RssConfig.from({ key: parsed.key!, reta: new Reta(parsed.table) });
    await expectExact(config, { ...peer, cores: 12 });
  });

  it('a one-entry table sends every port to one core', async () => {
    const pool = await expectExact(RssConfig.from({ reta: new Reta([2]) }), { ...peer, cores: 3 });
    expect([0, 1, 2].map((c) => pool.core(c).size)).toEqual([0, 0, 64511]);
  });
});

describe("mTCP's configuration: key 0x05 repeated, table i % queues, one address", () => {
  it.each([4, 16])('%i cores: per-core counts equal the reference bit loop over all 64,511 ports', async (cores) => {
    const config = RssConfig.from({ key: KEY_PRESETS.mtcp, fields: 'ipv4-l4', reta: Reta.equal(128, cores) });
    const c = { src: '10.0.0.2', dst: '10.0.0.1', dport: 80, cores };
    const queues = await expectedQueues(config, c, true);
    const counts = new Array<number>(cores).fill(0);
    for (const q of queues) counts[q % cores]!++;
    const pool = await PortPool.create(config, c);
    expect(Array.from({ length: cores }, (_, k) => pool.core(k).size)).toEqual(counts);
    // The key's rank: its hashes take 64 values, and the port alone reaches fewer entries still.
    expect(pool.portRank).toBeLessThanOrEqual(6);
    expect(new Set(queues).size).toBeLessThanOrEqual(2 ** pool.portRank);
  });
});

describe('bad options are thrown, naming the value', () => {
  const base = { src: '10.0.0.1', dst: '10.0.0.2', dport: 80, cores: 4 };
  const cases: Array<[string, () => Promise<unknown>, string]> = [
    ['a field set without ports', () => PortPool.create({ fields: 'ipv4' }, base), 'ipv4'],
    ['IPv6 addresses under ipv4-l4', () => PortPool.create({}, { ...base, src: '::1' }), '::1'],
    ['zero cores', () => PortPool.create({}, { ...base, cores: 0 }), 'cores'],
    ['a reversed range', () => PortPool.create({}, { ...base, ports: [2000, 1000] }), '2000-1000'],
    ['a range past 65535', () => PortPool.create({}, { ...base, ports: [1, 70000] }), '1-70000'],
    ['addresses past the last one', () => PortPool.create({}, { ...base, src: '255.255.255.254', srcCount: 3 }), '255.255.255.254'],
    ['a map that misses a queue', () => PortPool.create({ reta: 'equal:4' }, { ...base, queueCore: [0, 1, 2] }), 'queue -> core map'],
    ['a map naming a core too many', () => PortPool.create({ reta: 'equal:2' }, { ...base, cores: 2, queueCore: [0, 2] }), 'queue 1 names core 2'],
    ['more slots than a core can index', () => PortPool.create({}, { ...base, srcCount: 300 }), 'source address count'],
  ];
  it.each(cases)('%s', async (_, make, names) => {
    const e = await make().then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(RssplaneError);
    expect((e as RssplaneError).code).toBe('EINVAL');
    expect((e as RssplaneError).message).toContain(names);
  });

  it('ENOMEM when the bitmaps would not fit in engine memory', async () => {
    const e = await PortPool.create({ reta: 'equal:1024' }, { ...base, cores: 1024, srcCount: 256 }).catch((x: unknown) => x);
    expect((e as RssplaneError).code).toBe('ENOMEM');
  });
});

describe('engine memory', () => {
  it('destroy returns the memory: 200 pools built and destroyed on one engine leave it the same size', async () => {
    const engine = await Engine.create();
    const config = RssConfig.from({ reta: Reta.equal(512, 16) });
    (await PortPool.create(config, { src: '10.0.0.1', dst: '10.0.0.2', dport: 80, cores: 16 }, engine)).destroy();
    const pages = engine.memory.buffer.byteLength;
    for (let i = 0; i < 200; i++) (await PortPool.create(config, { src: '10.0.0.1', dst: '10.0.0.2', dport: 80 + i, cores: 16 }, engine)).destroy();
    expect(engine.memory.buffer.byteLength).toBe(pages);
  });

  it('two pools (two peers) on one engine keep their own ports; a destroyed pool refuses calls', async () => {
    const engine = await Engine.create();
    const config = RssConfig.from({ key: 'microsoft', reta: Reta.equal(128, 4) });
    const web = await PortPool.create(config, { src: '10.0.0.1', dst: '10.0.0.2', dport: 80, cores: 4 }, engine);
    const dns = await PortPool.create(config, { src: '10.0.0.1', dst: '10.0.0.3', dport: 53, cores: 4 }, engine);
    const expectedWeb = expectedPools(config, { src: '10.0.0.1', dst: '10.0.0.2', dport: 80, cores: 4 }, await expectedQueues(config, { src: '10.0.0.1', dst: '10.0.0.2', dport: 80, cores: 4 }));
    expect(Array.from(web.core(1).ports(), key)).toEqual(expectedWeb[1]);
    expect(Array.from(dns.core(1).ports(), key)).not.toEqual(expectedWeb[1]);
    dns.destroy();
    expect(() => dns.core(0).size).toThrow(/destroyed/);
    expect(Array.from(web.core(1).ports(), key)).toEqual(expectedWeb[1]);
  });
});
