/**
 * alloc, free, reserve: every error path as a value with its errno name, exhaustion, the order
 * ports come out in, and random sequences (fast-check) held against a model that never hands out
 * a port twice and never loses one.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, PortPool, Reta, RssConfig, RssplaneError, type PoolPort } from '../host/core/index.js';
import { expectedPools, expectedQueues, type PoolCase } from './helpers/pool.js';

const key = (p: PoolPort) => `${p.addressIndex}:${p.port}`;
const ok = <T>(r: T | RssplaneError): T => {
  if (r instanceof RssplaneError) throw new Error(`unexpected ${r.code}: ${r.message}`);
  return r;
};
const fails = (r: unknown, code: string, text?: RegExp) => {
  expect(r).toBeInstanceOf(RssplaneError);
  expect((r as RssplaneError).code).toBe(code);
  if (text) expect((r as RssplaneError).message).toMatch(text);
};

describe('one core, 1025-65535, Microsoft key, 4 cores', () => {
  const c: PoolCase = { src: '10.0.0.1', dst: '192.168.1.1', dport: 80, cores: 4 };
  const config = RssConfig.from({ key: 'microsoft', reta: Reta.equal(128, 4) });
  let pool: PortPool;
  let pools: string[][];
  beforeAll(async () => {
    pool = await PortPool.create(config, c);
    pools = expectedPools(config, c, await expectedQueues(config, c));
  });
  const portsOf = (core: number) => pools[core]!.map((s) => Number(s.split(':')[1]));

  it('alloc hands out core 2 its own ports in ascending order, then EADDRNOTAVAIL (mTCP: EAGAIN); free makes one available again', () => {
    const core = pool.core(2);
    const got: number[] = [];
    for (let r = core.alloc(); !(r instanceof RssplaneError); r = core.alloc()) got.push(r.port);
    expect(got).toEqual(portsOf(2));
    expect(core.available).toBe(0);
    fails(core.alloc(), 'EADDRNOTAVAIL', /core 2's pool is exhausted: all \d+ ports are handed out \(mTCP's connect\(\) says EAGAIN\)/);
    const back = portsOf(2)[100]!;
    expect(core.free('10.0.0.1', back)).toBeUndefined();
    expect(core.available).toBe(1);
    expect(ok(core.alloc())).toEqual({ address: '10.0.0.1', addressIndex: 0, port: back });
    for (const p of portsOf(2)) expect(core.free(0, p)).toBeUndefined();
    expect(core.available).toBe(core.size);
  });

  it('next fit: a port just freed is handed out again only after every other free port', () => {
    const core = pool.core(1);
    const first = ok(core.alloc());
    expect(core.free(first)).toBeUndefined();
    const order: number[] = [];
    for (let i = 0; i < core.size; i++) order.push(ok(core.alloc()).port);
    expect(order.at(-1)).toBe(first.port);
    expect(new Set(order).size).toBe(core.size);
    for (const p of order) core.free(0, p);
  });

  it('reserve: EINVAL for a port of another core (naming its owner and queue), EADDRINUSE when taken, EINVAL outside the range', () => {
    const mine = portsOf(3)[7]!, theirs = portsOf(0)[7]!;
    const core = pool.core(3);
    expect(ok(core.reserve('10.0.0.1', mine))).toEqual({ address: '10.0.0.1', addressIndex: 0, port: mine });
    fails(core.reserve('10.0.0.1', mine), 'EADDRINUSE', new RegExp(`10\\.0\\.0\\.1:${mine} is already handed out \\(core 3\\)`));
    fails(core.reserve('10.0.0.1', theirs), 'EINVAL', new RegExp(`10\\.0\\.0\\.1:${theirs} belongs to core 0, not 3: its return tuple lands on queue 0`));
    fails(core.reserve('10.0.0.1', 80), 'EINVAL', /port "80": outside the pool's range 1025-65535/);
    // alloc never hands out a reserved port
    const seen = new Set<number>();
    for (let r = core.alloc(); !(r instanceof RssplaneError); r = core.alloc()) seen.add(r.port);
    expect(seen.has(mine)).toBe(false);
    expect(seen.size).toBe(core.size - 1);
    for (const p of portsOf(3)) core.free(0, p);
    expect(core.available).toBe(core.size);
  });

  it('free: EINVAL for a port not handed out, of another core, of an address outside the pool, or malformed', () => {
    const core = pool.core(0);
    fails(core.free('10.0.0.1', portsOf(0)[0]!), 'EINVAL', /is not handed out: nothing to free/);
    fails(core.free('10.0.0.1', portsOf(1)[0]!), 'EINVAL', /belongs to core 1, not 0/);
    fails(core.free('10.0.0.2', portsOf(0)[0]!), 'EINVAL', /address "10.0.0.2": not one of the pool's 1 address from 10.0.0.1/);
    fails(core.free('::1', portsOf(0)[0]!), 'EINVAL', /the pool's addresses are IPv4/);
    fails(core.free('10.0.0.300', 2000), 'EINVAL', /10.0.0.300/);
    fails(core.free(0, 70000), 'EINVAL', /70000/);
    fails(core.free(1, 2000), 'EINVAL', /address index "1"/);
    expect(core.available).toBe(core.size);
  });

  it('coreOf and queueOf agree with the hashed tuples; coreOf throws outside the range', () => {
    for (let core = 0; core < 4; core++) for (const p of portsOf(core).filter((_, i) => i % 50 === 0)) expect(pool.coreOf('10.0.0.1', p)).toBe(core);
    expect(() => pool.coreOf(0, 1024)).toThrow(/outside the pool's range/);
    expect(pool.queueOf(0, 1024)).toBeGreaterThanOrEqual(0);
  });
});

describe('random alloc/free/reserve sequences (fast-check): never a port twice, never a port lost', () => {
  // A small pool so that sequences reach exhaustion: 2 addresses x 1000-1029, 3 cores.
  const c: PoolCase = { src: '10.9.8.255', srcCount: 2, dst: '172.16.0.1', dport: 443, cores: 3, ports: [1000, 1029] };
  const config = RssConfig.from({ key: 'microsoft', reta: Reta.equal(128, 5) });
  let owner: Map<string, number>;
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.create();
    const pools = expectedPools(config, { ...c, queueCore: [0, 1, 2, 0, 1] }, await expectedQueues(config, c));
    owner = new Map(pools.flatMap((ports, core) => ports.map((p) => [p, core] as const)));
  });

  type Op = { op: 'alloc'; core: number } | { op: 'free' | 'reserve'; core: number; a: number; port: number } | { op: 'freeHeld'; pick: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.record({ op: fc.constant('alloc' as const), core: fc.integer({ min: 0, max: 2 }) }), weight: 4 },
    { arbitrary: fc.record({ op: fc.constant('freeHeld' as const), pick: fc.nat() }), weight: 2 },
    fc.record({ op: fc.constantFrom('free' as const, 'reserve' as const), core: fc.integer({ min: 0, max: 2 }), a: fc.integer({ min: 0, max: 2 }), port: fc.integer({ min: 998, max: 1031 }) }),
  );

  it('every result matches the model, and at the end each core lists exactly its free ports', async () => {
    const seen = new Set<string>();
    const note = <T>(r: T) => {
      if (r instanceof RssplaneError) seen.add(r.code);
      return r;
    };
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 300, size: 'max' }), async (ops) => {
      const pool = await PortPool.create(config, { ...c, queueCore: [0, 1, 2, 0, 1] }, engine);
      const held = new Set<string>();
      const heldList: string[] = [];
      const take = (k: string) => { held.add(k); heldList.push(k); };
      const drop = (k: string) => { held.delete(k); heldList.splice(heldList.indexOf(k), 1); };
      for (const o of ops) {
        if (o.op === 'alloc') {
          const r = note(pool.core(o.core).alloc());
          const left = [...owner].filter(([k, core]) => core === o.core && !held.has(k)).length;
          if (left === 0) fails(r, 'EADDRNOTAVAIL');
          else {
            const k = key(ok(r));
            expect(held.has(k), `${k} handed out twice`).toBe(false);
            expect(owner.get(k)).toBe(o.core);
            take(k);
          }
        } else if (o.op === 'freeHeld') {
          if (!heldList.length) continue;
          const k = heldList[o.pick % heldList.length]!;
          const [a, port] = k.split(':').map(Number);
          expect(pool.core(owner.get(k)!).free(a!, port!)).toBeUndefined();
          drop(k);
        } else {
          const k = `${o.a}:${o.port}`;
          const core = pool.core(o.core);
          const r = note(o.op === 'free' ? core.free(o.a, o.port) : core.reserve(o.a, o.port));
          if (!owner.has(k) || owner.get(k) !== o.core) fails(r, 'EINVAL');
          else if (o.op === 'free') {
            if (held.has(k)) { expect(r).toBeUndefined(); drop(k); } else fails(r, 'EINVAL', /not handed out/);
          } else if (held.has(k)) fails(r, 'EADDRINUSE');
          else { expect(key(ok(r as PoolPort))).toBe(k); take(k); }
        }
      }
      for (let core = 0; core < 3; core++) {
        const expected = [...owner].filter(([k, o]) => o === core && !held.has(k)).map(([k]) => k);
        expect(Array.from(pool.core(core).freePorts(), key)).toEqual(expected);
        expect(pool.core(core).available).toBe(expected.length);
        // and alloc drains exactly those, then reports exhaustion
        const drained = new Set<string>();
        for (let r = pool.core(core).alloc(); !(r instanceof RssplaneError); r = pool.core(core).alloc()) drained.add(key(r));
        expect([...drained].sort()).toEqual([...expected].sort());
      }
      pool.destroy();
    }), { numRuns: 150 });
    // The sequences did reach exhaustion, double binds and foreign ports.
    expect([...seen].sort()).toEqual(['EADDRINUSE', 'EADDRNOTAVAIL', 'EINVAL']);
  });
});
