/**
 * Predictable RSS: the port steer() solves for over GF(2) is the one brute force finds by
 * hashing every return tuple: it lands on the wanted queue, it is free, and no port closer to
 * the hint (ties: the lower) is.
 */
import { describe, expect, it } from 'vitest';
import { KEY_PRESETS, PortPool, Reta, RssConfig, RssplaneError, type PoolPort, type RssOptions } from '../host/core/index.js';
import { expectedQueues, type PoolCase } from './helpers/pool.js';
import { Random } from './helpers/random.js';

interface Brute {
  pool: PortPool;
  /** queue of port lo + i of address a: queues[a * span + i] */
  queues: Uint16Array;
  c: PoolCase;
}

async function setup(options: RssOptions, c: PoolCase): Promise<Brute> {
  const config = RssConfig.from(options);
  return { pool: await PortPool.create(config, c), queues: await expectedQueues(config, c), c };
}

/** The nearest port by brute force, or undefined. */
function nearest(b: Brute, queue: number, a: number, hint: number, taken: Set<string>, upward = false): number | undefined {
  const [lo, hi] = b.c.ports ?? [1025, 65535];
  let best: number | undefined;
  for (let p = lo; p <= hi; p++) {
    if (b.queues[a * (hi - lo + 1) + p - lo] !== queue || taken.has(`${a}:${p}`) || (upward && p < hint)) continue;
    if (best === undefined || Math.abs(p - hint) < Math.abs(best - hint)) best = p;
  }
  return best;
}

const port = (r: PoolPort | RssplaneError) => {
  if (r instanceof RssplaneError) throw new Error(`${r.code}: ${r.message}`);
  return r.port;
};

const peer = { src: '10.0.0.1', dst: '192.168.1.1', dport: 80 };

describe('steer() equals brute force', () => {
  const configs: Array<[string, RssOptions, PoolCase]> = [
    ['Microsoft key, 128 entries, 16 queues on 16 cores', { key: 'microsoft', reta: Reta.equal(128, 16) }, { ...peer, cores: 16 }],
    ['symmetric key, 512 entries weighted, 6 cores', { key: 'symmetric', reta: Reta.weighted(512, [5, 1, 1, 2, 3, 1]) }, { ...peer, cores: 6 }],
    ['Microsoft key, 4096 entries, 3 queues (coset per entry: 16 ports)', { key: 'microsoft', reta: Reta.equal(4096, 3) }, { ...peer, cores: 3 }],
    ['IPv6, symmetric-or-xor, 256 entries, 8 queues on 4 cores', { key: 'microsoft', fields: 'ipv6-l4', xfrm: 'symmetric-or-xor', reta: Reta.equal(256, 8) }, { src: 'fd00::1', dst: 'fd00::2', dport: 8443, cores: 4 }],
    ['narrow range 30000-30999', { key: 'microsoft', reta: Reta.equal(128, 5) }, { ...peer, cores: 5, ports: [30000, 30999] }],
  ];

  it.each(configs)('%s: every queue, 12 hints each, nearest and upward', async (_, options, c) => {
    const b = await setup(options, c);
    const random = new Random(c.cores * 7 + 1);
    const queues = b.pool.config.reta!.queues;
    for (let q = 0; q < queues; q++) {
      for (let i = 0; i < 12; i++) {
        const hint = i === 0 ? 0 : i === 1 ? 65535 : random.below(65536);
        expect(port(b.pool.steer(q, { near: hint, address: 0 })), `queue ${q} near ${hint}`).toBe(nearest(b, q, 0, hint, new Set()));
        const up = nearest(b, q, 0, hint, new Set(), true);
        const r = b.pool.steer(q, { near: hint, upward: true });
        if (up === undefined) expect((r as RssplaneError).code).toBe('EADDRNOTAVAIL');
        else expect(port(r)).toBe(up);
      }
      // No hint: the first free port from the range's start.
      expect(port(b.pool.steer(q))).toBe(nearest(b, q, 0, 0, new Set()));
    }
  });

  it('ports handed out are skipped; anyState ignores the pool; steer + reserve takes the port', async () => {
    const b = await setup({ key: 'microsoft', reta: Reta.equal(128, 4) }, { ...peer, cores: 4 });
    const random = new Random(99);
    const taken = new Set<string>();
    // Take a random 90% of core 1's ports (queue 1 is served by core 1).
    for (const p of Array.from(b.pool.core(1).ports())) {
      if (random.below(10) < 9) {
        expect(b.pool.core(1).reserve(p)).not.toBeInstanceOf(RssplaneError);
        taken.add(`0:${p.port}`);
      }
    }
    for (let i = 0; i < 40; i++) {
      const hint = random.below(65536);
      expect(port(b.pool.steer(1, { near: hint }))).toBe(nearest(b, 1, 0, hint, taken));
      expect(port(b.pool.steer(1, { near: hint, anyState: true }))).toBe(nearest(b, 1, 0, hint, new Set()));
    }
    const found = b.pool.steer(1, { near: 50000 });
    expect(b.pool.core(1).reserve(found as PoolPort)).toEqual(found);
    expect(port(b.pool.steer(1, { near: 50000 }))).not.toBe(port(found));
  });

  it('several addresses: without an address the first that has a port wins; with one, that one', async () => {
    const b = await setup({ key: 'microsoft', reta: Reta.equal(128, 4) }, { ...peer, srcCount: 3, cores: 4 });
    const span = 64511;
    const onAddress = (a: number, hint: number) => {
      let best: number | undefined;
      for (let p = 1025; p <= 65535; p++) if (b.queues[a * span + p - 1025] === 2 && (best === undefined || Math.abs(p - hint) < Math.abs(best - hint))) best = p;
      return best;
    };
    expect(b.pool.steer(2, { near: 40000, address: '10.0.0.3' })).toEqual({ address: '10.0.0.3', addressIndex: 2, port: onAddress(2, 40000) });
    expect(b.pool.steer(2, { near: 40000 })).toEqual({ address: '10.0.0.1', addressIndex: 0, port: onAddress(0, 40000) });
  });
});

describe('when no port can reach a queue', () => {
  it("mTCP's key 0x05 repeated, one queue per entry of 128: exactly 2^rank = 64 queues reachable, the rest EADDRNOTAVAIL naming the rank", async () => {
    const b = await setup({ key: KEY_PRESETS.mtcp, reta: Reta.equal(128, 128) }, { ...peer, cores: 16 });
    const reached = new Set(b.queues);
    expect(b.pool.portRank).toBe(6);
    expect(reached.size).toBe(64);
    for (let q = 0; q < 128; q++) {
      const r = b.pool.steer(q, { near: 30000 });
      if (reached.has(q)) {
        expect(port(r)).toBe(nearest(b, q, 0, 30000, new Set()));
      } else {
        expect((r as RssplaneError).code).toBe('EADDRNOTAVAIL');
        expect((r as RssplaneError).message).toBe(
          `no port of 10.0.0.1 reaches queue ${q}: the port bits reach only 64 of the 128 table entries (rank 6), none of queue ${q}'s`);
      }
    }
  });

  it("mTCP's key on 6 queues: every queue reachable, but the 64 reachable entries split the ports unevenly", async () => {
    const b = await setup({ key: KEY_PRESETS.mtcp, reta: Reta.equal(128, 6) }, { ...peer, cores: 6 });
    const sizes = Array.from({ length: 6 }, (_, c) => b.pool.core(c).size);
    const counts = new Array<number>(6).fill(0);
    for (const q of b.queues) counts[q]!++;
    expect(sizes).toEqual(counts);
    expect(Math.max(...sizes) / Math.min(...sizes)).toBeGreaterThan(1.3);
  });

  it('all the ports that reach a queue are handed out: EADDRNOTAVAIL, and back after a free', async () => {
    const b = await setup({ key: 'microsoft', reta: Reta.equal(128, 4) }, { ...peer, cores: 4, ports: [20000, 20199] });
    const core = b.pool.core(3);
    const all = Array.from(core.ports());
    for (const p of all) core.reserve(p);
    const r = b.pool.steer(3, { near: 20100 });
    expect((r as RssplaneError).code).toBe('EADDRNOTAVAIL');
    expect((r as RssplaneError).message).toMatch(/every port of 10.0.0.1 in 20000-20199 that reaches queue 3 is handed out/);
    core.free(all[5]!);
    expect(b.pool.steer(3, { near: 20100 })).toEqual(all[5]);
  });

  it('a bad queue or hint is an EINVAL value', async () => {
    const { pool } = await setup({ reta: Reta.equal(128, 4) }, { ...peer, cores: 4 });
    expect((pool.steer(4) as RssplaneError).code).toBe('EINVAL');
    expect((pool.steer(4) as RssplaneError).message).toMatch(/queue "4": the table names queues 0-3/);
    expect((pool.steer(0, { near: 65536 }) as RssplaneError).message).toMatch(/near "65536"/);
    expect((pool.steer(0, { address: '10.0.0.9' }) as RssplaneError).code).toBe('EINVAL');
  });
});
