/**
 * Lone SYNs and SYN floods. A connection that has sent one SYN and nothing else waits in a small
 * entry of the SYN ring (assembly/flow/table.ts, syn.ts) until its second packet; its record must
 * be the record a full entry would have given. With reassembly on, every flow takes a full entry
 * from its first packet, so the same packets with reassembly on are the reference.
 */
import { describe, expect, it } from 'vitest';
import { FLOW_RECORD, FLOW_STATE, OUT_FLOW_INDEX_SLOTS } from '../assembly/shared/abi.js';
import { readBucketDetail, readBuckets } from '../host/core/buckets.js';
import { Engine, FlowEngine, RssConfig, type FieldSetName, type FlowEngineOptions, type FlowRecord } from '../host/core/index.js';
import { loadPackets, type Packet } from './helpers/pcap.js';
import { frame, tcp4, tcp6, TCP_FLAGS } from './helpers/packets.js';

const { SYN, ACK, FIN, RST } = TCP_FLAGS;
const ms = 1_000_000n;
const T0 = 1_800_000_000_000_000_000n;

// Option bytes as Linux sends them on a SYN: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
const LINUX_SYN = [2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];

/** The packets through one engine in batches of 256 (the idle sweep runs once a batch). */
async function run(packets: Packet[], options: FlowEngineOptions = {}) {
  const engine = await Engine.create();
  const flows = FlowEngine.create(engine, RssConfig.from({ key: 'microsoft', reta: 'equal:4' }), { flows: 64, cores: 2, ...options });
  const all = loadPackets(engine, packets);
  for (let at = 0; at < all.count; at += 256) flows.process({ descriptors: all.descriptors + at * 32, count: Math.min(256, all.count - at) });
  flows.finish();
  return { records: flows.takeRecords(), stats: flows.stats() };
}

/**
 * What an engine counted of the flows that left, with records copied out or not: its tally (the
 * run's summary) and its bucket counts, ports deltas and heaviest flows (what `advise` reads), as
 * bytes. Through a RETA of 4 queues on 2 cores with the Microsoft key (some flows split).
 */
async function counted(packets: Packet[], options: FlowEngineOptions & { key?: string; fields?: FieldSetName }) {
  const engine = await Engine.create();
  const config = RssConfig.from({ key: options.key ?? 'microsoft', reta: 'equal:4', ...(options.fields ? { fields: options.fields } : {}) });
  const flows = FlowEngine.create(engine, config, { flows: 64, cores: 2, ...options });
  const all = loadPackets(engine, packets);
  const halves: Uint8Array[] = [];
  for (let at = 0; at < all.count; at += 256) {
    flows.process({ descriptors: all.descriptors + at * 32, count: Math.min(256, all.count - at) });
    halves.push(...flows.takeHalves());
  }
  flows.finish();
  halves.push(...flows.takeHalves());
  const dv = new DataView(engine.memory.buffer);
  const detail = readBucketDetail(dv);
  return {
    // (without records the halves of a batch come as one array)
    tally: flows.tally(), stats: flows.stats(), records: flows.takeRecords().length, halves: halves.reduce((n, h) => n + h.length, 0) / FLOW_RECORD,
    buckets: readBuckets(dv),
    deltas: detail.portDeltas ? [...detail.portDeltas] : [],
    tops: [...detail.tops],
  };
}

/** Records in a stable order (by client), for comparing two runs. */
const sorted = (records: FlowRecord[]) => [...records].sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));

/** SYNs of every shape the lone-SYN entry holds: IPv4 and IPv6, options or none, 1 ms apart. */
function lonelySyns(): Packet[] {
  const out: Packet[] = [];
  for (let i = 0; i < 8; i++) {
    const options = i % 2 ? LINUX_SYN : i % 4 === 2 ? [2, 4, 0x02, 0x18] : [];
    const spec = { sport: 40000 + i, dport: 443, seq: 0x9000_0000 + i * 7919, flags: SYN, options, window: 64240 };
    const data = i < 4 ? tcp4(`198.18.1.${i + 1}`, '198.18.0.1', spec) : tcp6(`2001:db8::${i + 1}`, '2001:db8::1', spec);
    out.push(frame(data, { ts: T0 + BigInt(i) * ms }));
  }
  return out;
}

describe('lone SYNs', () => {
  it('leave as the records a full entry gives: endpoints, bytes, ISN, options, states, queues and cores', async () => {
    const syns = lonelySyns();
    const small = await run(syns);
    const full = await run(syns, { reassembly: { streams: 4, window: 4096 } });
    expect(small.records).toHaveLength(8);
    expect(sorted(small.records)).toEqual(sorted(full.records));
    const r = small.records.find((x) => x.client === '[2001:db8::6]:40005')!;
    expect(r).toMatchObject({ proto: 'tcp', family: 6, server: '[2001:db8::1]:443', clientBySyn: true, close: 'end', reused: false });
    expect(r.dirs[0]).toMatchObject({ packets: 1, bytes: 14 + 40 + 40, payloadBytes: 0, uniqueBytes: 0, state: 'SYN_SENT',
      mss: 1460, windowScale: 7, sackPermitted: true, timestamps: true, synTs: T0 + 5n * ms, firstTs: T0 + 5n * ms });
    expect(r.dirs[1]).toMatchObject({ packets: 0, state: 'SYN_RECEIVED' });
    expect(r.dirs[1].windowScale).toBeUndefined();
    // the Microsoft key is not symmetric: some of these land on two cores, and the records say so
    expect(small.records.some((x) => x.split)).toBe(true);
    expect(small.stats.flows).toMatchObject({ created: 8, active: 0 });
  });

  it('a second packet moves the flow to a full entry: SYN-ACK, a retransmitted SYN, a RST, a new ISN on the same 4-tuple', async () => {
    const at = (n: number) => T0 + BigInt(n) * ms;
    const c = '198.18.2.1', s = '198.18.0.1';
    const packets = [
      frame(tcp4(c, s, { sport: 1000, dport: 80, seq: 100, flags: SYN, options: LINUX_SYN }), { ts: at(0) }),
      frame(tcp4(s, c, { sport: 80, dport: 1000, seq: 500, ack: 101, flags: SYN | ACK, options: LINUX_SYN }), { ts: at(1) }),
      frame(tcp4(c, s, { sport: 1001, dport: 80, seq: 200, flags: SYN }), { ts: at(2) }),
      frame(tcp4(c, s, { sport: 1001, dport: 80, seq: 200, flags: SYN }), { ts: at(1002) }),
      frame(tcp4(c, s, { sport: 1002, dport: 80, seq: 300, flags: SYN }), { ts: at(3) }),
      frame(tcp4(s, c, { sport: 80, dport: 1002, seq: 0, ack: 301, flags: RST | ACK }), { ts: at(4) }),
      frame(tcp4(c, s, { sport: 1003, dport: 80, seq: 400, flags: SYN }), { ts: at(5) }),
      frame(tcp4(c, s, { sport: 1003, dport: 80, seq: 999, flags: SYN }), { ts: at(6) }),
    ];
    const small = await run(packets);
    const full = await run(packets, { reassembly: { streams: 4, window: 4096 } });
    expect(sorted(small.records)).toEqual(sorted(full.records));
    const by = (port: number) => small.records.filter((r) => r.client === `${c}:${port}`);
    expect(by(1000)[0]!.dirs.map((d) => d.state)).toEqual(['ESTABLISHED', 'SYN_RECEIVED']);
    expect(by(1001)[0]!.dirs[0]).toMatchObject({ packets: 2, retransmits: 1 });
    expect(by(1002)[0]).toMatchObject({ close: 'rst' });
    expect(by(1003).map((r) => [r.close, r.reused, r.dirs[0].packets])).toEqual([['end', false, 1], ['end', true, 1]]);
    expect(small.stats.flows).toMatchObject({ created: 5, reused: 1 });
  });

  it('a SYN that repeats the first one, ISN and timestamp, past the closed timeout is the connection replayed; with a later TSval, or sooner, or without timestamps, a retransmission', async () => {
    const at = (n: number) => T0 + BigInt(n) * ms;
    const c = '198.18.4.1', s = '198.18.0.1';
    // LINUX_SYN with TSval 1001 instead of 1: the sender's clock a second on
    const later = [...LINUX_SYN.slice(0, 8), 0, 0, 0x03, 0xe9, ...LINUX_SYN.slice(12)];
    const syn = (sport: number, options: number[], ms: number) => frame(tcp4(c, s, { sport, dport: 80, seq: 7000 + sport, flags: SYN, options }), { ts: at(ms) });
    const packets = [
      syn(2000, LINUX_SYN, 0), syn(2000, LINUX_SYN, 60_000), // replayed a minute on: two connections
      syn(2001, LINUX_SYN, 0), syn(2001, later, 60_000), // its clock moved on: retransmitted
      syn(2002, LINUX_SYN, 0), syn(2002, LINUX_SYN, 5_000), // within the closed timeout (10 s): retransmitted
      syn(2003, [], 0), syn(2003, [], 60_000), // no timestamps to tell by: retransmitted
      // answered, then replayed whole a minute on: the replay's SYN meets a live entry, not a lone SYN
      syn(2004, LINUX_SYN, 0), frame(tcp4(s, c, { sport: 80, dport: 2004, seq: 1, ack: 9005, flags: SYN | ACK, options: LINUX_SYN }), { ts: at(1) }),
      syn(2004, LINUX_SYN, 60_000), frame(tcp4(s, c, { sport: 80, dport: 2004, seq: 1, ack: 9005, flags: SYN | ACK, options: LINUX_SYN }), { ts: at(60_001) }),
    ];
    const small = await run(packets);
    const full = await run(packets, { reassembly: { streams: 8, window: 4096 } });
    expect(sorted(small.records)).toEqual(sorted(full.records));
    const by = (port: number) => small.records.filter((r) => r.client === `${c}:${port}`)
      .map((r) => [r.close, r.reused, r.dirs[0].packets, r.dirs[0].retransmits, r.dirs[1].packets]);
    expect(by(2000)).toEqual([['timeout', false, 1, 0, 0], ['end', false, 1, 0, 0]]);
    expect(by(2001)).toEqual([['end', false, 2, 1, 0]]);
    expect(by(2002)).toEqual([['end', false, 2, 1, 0]]);
    expect(by(2003)).toEqual([['end', false, 2, 1, 0]]);
    expect(by(2004)).toEqual([['timeout', false, 1, 0, 1], ['end', false, 1, 0, 1]]);
    expect(small.stats.flows).toMatchObject({ created: 7, reused: 0, timedOut: 2 });
  });

  it('idle past the timeout, a lone SYN leaves as timeout; the table then holds only what is live', async () => {
    const packets = [
      frame(tcp4('198.18.3.1', '198.18.0.1', { sport: 5000, dport: 80, seq: 1, flags: SYN }), { ts: T0 }),
      // 400 s later (idle timeout 300 s): another connection's packets drive the sweep
      ...Array.from({ length: 20 }, (_, i) => frame(tcp4('198.18.3.2', '198.18.0.1', { sport: 6000, dport: 80, seq: 1 + i, ack: 1, flags: ACK, payload: new Uint8Array(1) }),
        { ts: T0 + 400_000n * ms + BigInt(i) * ms })),
    ];
    const { records, stats } = await run(packets);
    expect(records.find((r) => r.client === '198.18.3.1:5000')).toMatchObject({ close: 'timeout' });
    expect(stats.flows).toMatchObject({ created: 2, timedOut: 1 });
  });
});

describe('SYN floods', () => {
  /** `count` SYNs from distinct sources to one server, 1 us apart. */
  const flood = (count: number, from = 0) => Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return frame(tcp4(`198.${19 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, '198.18.0.1', { sport: 1024 + (i % 60000), dport: 80, seq: i * 2654435761 >>> 0, flags: SYN }),
      { ts: T0 + BigInt(i) * 1000n });
  });

  it('through a full table the oldest SYNs go first: every SYN recorded once, evictions counted, the newest kept', async () => {
    const { records, stats } = await run(flood(5000), { flows: 1024 });
    expect(stats).toMatchObject({ received: 5000, processed: 5000, dropped: 0 });
    expect(stats.flows).toMatchObject({ created: 5000, evicted: 5000 - 1024, timedOut: 0, active: 0 });
    expect(records).toHaveLength(5000);
    const evicted = new Set(records.filter((r) => r.close === 'evicted').map((r) => r.client));
    expect(evicted.size).toBe(5000 - 1024);
    // first in, first out: the SYNs evicted are exactly the 3976 oldest
    const order = flood(5000).map((p) => `${p.data.subarray(26, 30).join('.')}:${(p.data[34]! << 8) | p.data[35]!}`);
    expect(order.slice(0, 5000 - 1024).every((c) => evicted.has(c))).toBe(true);
    expect(records.every((r) => r.dirs[0].packets === 1 && r.dirs[1].packets === 0 && r.dirs[0].state === 'SYN_SENT')).toBe(true);
  });

  it('established flows active during a flood keep their place: evictions fall on the oldest SYNs', async () => {
    const c = '198.18.4.1', s = '198.18.0.1';
    // 100 established connections (no handshake seen), each sending a segment every 500 SYNs
    const round = (r: number, t: bigint) => Array.from({ length: 100 }, (_, i) => frame(tcp4(c, s, { sport: 2000 + i, dport: 80, seq: 10 + r, ack: 1, flags: ACK, payload: new Uint8Array(1) }), { ts: t }));
    const syns = flood(3000);
    const packets: Packet[] = [];
    for (let r = 0; r < 6; r++) packets.push(...round(r, T0 + BigInt(r) * 500_000n - 1n), ...syns.slice(r * 500, r * 500 + 500));
    const { records, stats } = await run(packets, { flows: 1024 });
    expect(stats.flows).toMatchObject({ created: 3100, evicted: 3100 - 1024 });
    const kept = records.filter((r) => r.client.startsWith(`${c}:`));
    expect(kept).toHaveLength(100);
    expect(kept.every((r) => r.close === 'end' && r.dirs[0].packets === 6)).toBe(true);
  });

  it('a lone SYN keeps its place while thousands of answered SYNs pass through the ring after it: nothing evicted, its record unchanged', async () => {
    // one SYN nobody answers, then 3000 refused connections (SYN, RST-ACK) 20 ms apart, in a
    // 1024-flow table (closed ones linger 10 s). Each answered SYN leaves a hole at the ring's head,
    // which is given back at once, so the next SYN takes the same slot and the ring never fills:
    // a full ring is the four-slot test below (a hole inside, the cache full: the oldest evicted)
    // and the SYN cache's tests (a ring mostly of holes: the oldest moved to a full entry).
    const packets: Packet[] = [frame(tcp4('198.18.5.1', '198.18.0.1', { sport: 7000, dport: 80, seq: 77, flags: SYN }), { ts: T0 })];
    for (let i = 0; i < 3000; i++) {
      const t = T0 + BigInt(i + 1) * 20n * ms;
      const client = `198.18.6.${i & 255}`, port = 10000 + i;
      packets.push(frame(tcp4(client, '198.18.0.1', { sport: port, dport: 80, seq: i, flags: SYN }), { ts: t }));
      packets.push(frame(tcp4('198.18.0.1', client, { sport: 80, dport: port, seq: 0, ack: i + 1, flags: RST | ACK }), { ts: t + ms }));
    }
    const small = await run(packets, { flows: 1024 });
    expect(small.stats.flows).toMatchObject({ created: 3001, evicted: 0 });
    expect(small.records).toHaveLength(3001);
    const first = small.records.find((r) => r.client === '198.18.5.1:7000')!;
    expect(first).toMatchObject({ close: 'end', clientBySyn: true });
    expect(first.dirs[0]).toMatchObject({ packets: 1, state: 'SYN_SENT', synTs: T0 });
    const full = await run(packets, { flows: 1024, reassembly: { streams: 4, window: 4096 } });
    expect(sorted(small.records)).toEqual(sorted(full.records));
  });

  it('a SYN ring of four slots, full with a hole inside, takes the next SYN past the slot its oldest leaves: every flow recorded once', async () => {
    // A, B and C wait; B's SYN-ACK moves it to a full entry (a hole in the middle of the ring),
    // B's client resets and opens again (B leaves, B' takes the ring's last slot). The ring is
    // then full with the table not, three of its four slots live (the SYN cache full): E's SYN
    // evicts A and must take a new slot, not the one A leaves behind while the ring still counts
    // it. F, G, H then evict the oldest.
    const c = '198.18.9.1', s = '198.18.0.1';
    const at = (n: number) => T0 + BigInt(n) * ms;
    const syn = (port: number, seq: number, t: number) => frame(tcp4(c, s, { sport: port, dport: 80, seq, flags: SYN }), { ts: at(t) });
    const packets = [
      syn(1, 100, 0), syn(2, 200, 1), syn(3, 300, 2),
      frame(tcp4(s, c, { sport: 80, dport: 2, seq: 900, ack: 201, flags: SYN | ACK }), { ts: at(3) }),
      frame(tcp4(c, s, { sport: 2, dport: 80, seq: 201, flags: RST }), { ts: at(4) }),
      syn(2, 5000, 5), syn(5, 500, 6), syn(6, 600, 7), syn(7, 700, 8), syn(8, 800, 9),
    ];
    const small = await run(packets, { flows: 4 });
    expect(small.stats.flows).toMatchObject({ created: 8, reused: 1, evicted: 3, active: 0 });
    expect(small.records.map((r) => r.client).sort()).toEqual([1, 2, 2, 3, 5, 6, 7, 8].map((p) => `${c}:${p}`).sort());
    const full = await run(packets, { flows: 4, reassembly: { streams: 4, window: 4096 } });
    expect(sorted(small.records)).toEqual(sorted(full.records));
  });

  describe('the SYN cache: a sixty-fourth of a large table, at least 16,384 lone SYNs, or synCache', () => {
    /** SYN i from its own client in 198.18.0.0/15 to 198.18.0.1, 1 us apart from `t`. */
    const syn = (i: number, t = T0) => frame(tcp4(`198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, '198.18.0.1', { sport: 1024 + (i % 60000), dport: 80, seq: i * 2654435761 >>> 0, flags: SYN }),
      { ts: t + BigInt(i) * 1000n });
    const clientOf = (p: Packet) => `${p.data.subarray(26, 30).join('.')}:${(p.data[34]! << 8) | p.data[35]!}`;

    /** The packets through a 1,048,576-flow table on one core; the index's slots in use before the flush. */
    async function cached(packets: Packet[], options: FlowEngineOptions = {}) {
      const engine = await Engine.create();
      const table = FlowEngine.create(engine, RssConfig.from({ key: 'microsoft', reta: 'equal:4' }), { flows: 1 << 20, cores: 1, ...options });
      const all = loadPackets(engine, packets);
      for (let at = 0; at < all.count; at += 256) table.process({ descriptors: all.descriptors + at * 32, count: Math.min(256, all.count - at) });
      const slots = new DataView(engine.memory.buffer).getUint32(FLOW_STATE + OUT_FLOW_INDEX_SLOTS, true);
      table.finish();
      return { records: table.takeRecords(), stats: table.stats(), slots };
    }

    it('70,000 SYNs: the oldest 53,616 leave though the table has room, established flows keep their place, and the index stays at its first 2^16 slots', async () => {
      const c = '198.18.4.1', s = '198.18.0.2';
      // 100 established connections (no handshake seen), each sending a segment every 10,000 SYNs
      const round = (r: number) => Array.from({ length: 100 }, (_, i) => frame(tcp4(c, s, { sport: 2000 + i, dport: 80, seq: 10 + r, ack: 1, flags: ACK, payload: new Uint8Array(1) }),
        { ts: T0 + BigInt(r) * 10_000_000n - 1n }));
      const syns = Array.from({ length: 70_000 }, (_, i) => syn(i));
      const packets: Packet[] = [];
      for (let r = 0; r < 7; r++) packets.push(...round(r), ...syns.slice(r * 10_000, r * 10_000 + 10_000));
      const { records, stats, slots } = await cached(packets);
      expect(stats).toMatchObject({ received: 70_700, processed: 70_700, dropped: 0 });
      expect(stats.flows).toMatchObject({ created: 70_100, evicted: 70_000 - 16_384, timedOut: 0, active: 0 });
      expect(records).toHaveLength(70_100);
      // first in, first out: the SYNs evicted are exactly the oldest
      const evicted = new Set(records.filter((r) => r.close === 'evicted').map((r) => r.client));
      expect(evicted.size).toBe(70_000 - 16_384);
      expect(syns.slice(0, 70_000 - 16_384).every((p) => evicted.has(clientOf(p)))).toBe(true);
      const kept = records.filter((r) => r.server === `${s}:80`);
      expect(kept).toHaveLength(100);
      expect(kept.every((r) => r.client.startsWith(`${c}:`) && r.close === 'end' && r.dirs[0].packets === 7)).toBe(true);
      // 16,484 live flows at most: fewer than one slot in two of the index's first 2^16 (a table
      // holding them all as full entries would have doubled to 2^18 by the end)
      expect(slots).toBe(1 << 16);
    });

    it('a lone SYN at the tail of a ring full of holes (70,000 answered SYNs after it) moves to a flow entry: nothing evicted, its record unchanged', async () => {
      // Each connection is answered after the next one's SYN: its hole is inside the ring, not at
      // its head, so the ring fills (16,384 slots) with two lone SYNs live.
      const packets: Packet[] = [frame(tcp4('198.18.255.1', '198.18.0.1', { sport: 7000, dport: 80, seq: 77, flags: SYN }), { ts: T0 - 1n })];
      let before: Packet | undefined;
      for (let i = 0; i < 70_000; i++) {
        const p = syn(i);
        packets.push(p);
        if (before) {
          const [client, port] = clientOf(before).split(':') as [string, string];
          packets.push(frame(tcp4('198.18.0.1', client, { sport: 80, dport: Number(port), seq: 0, ack: ((i - 1) * 2654435761 + 1) >>> 0, flags: RST | ACK }), { ts: p.ts + 1n }));
        }
        before = p;
      }
      const small = await cached(packets);
      expect(small.stats.flows).toMatchObject({ created: 70_001, evicted: 0 });
      const first = small.records.find((r) => r.client === '198.18.255.1:7000')!;
      expect(first).toMatchObject({ close: 'end', clientBySyn: true });
      expect(first.dirs[0]).toMatchObject({ packets: 1, state: 'SYN_SENT', synTs: T0 - 1n });
      const full = await cached(packets, { reassembly: { streams: 4, window: 4096 } });
      expect(sorted(small.records)).toEqual(sorted(full.records));
    });

    it('synCache sizes the ring: 65,536 keeps the newest 65,536 of 70,000 SYNs (the index at 2^17 slots, half full), 1 keeps one; 0, past the table and a fraction are refused', async () => {
      const syns = Array.from({ length: 70_000 }, (_, i) => syn(i));
      const large = await cached(syns, { synCache: 65_536 });
      expect(large.stats.flows).toMatchObject({ created: 70_000, evicted: 70_000 - 65_536, timedOut: 0, active: 0 });
      const evicted = new Set(large.records.filter((r) => r.close === 'evicted').map((r) => r.client));
      expect(syns.slice(0, 70_000 - 65_536).every((p) => evicted.has(clientOf(p)))).toBe(true);
      expect(large.slots).toBe(1 << 17);
      const one = await cached(syns.slice(0, 100), { synCache: 1 });
      expect(one.stats.flows).toMatchObject({ created: 100, evicted: 99, active: 0 });
      expect(one.records.filter((r) => r.close !== 'evicted').map((r) => r.client)).toEqual([clientOf(syns[99]!)]);
      const engine = await Engine.create();
      for (const bad of [0, (1 << 20) + 1, 1.5]) {
        expect(() => FlowEngine.create(engine, RssConfig.from({ reta: 'equal:4' }), { flows: 1 << 20, synCache: bad }))
          .toThrow(`bad SYN cache size "${bad}": expected 1 to 1048576 lone SYNs (at most the flow table)`);
      }
    });
  });

  it('a table flushed whole at the end (index cleared at once, not flow by flow) is empty: the same packets again make the same flows anew', async () => {
    // 1000 lone SYNs and 100 established flows in a 4096-flow table: enough flows that the flush
    // clears the index in one go; then 10 SYNs in a 65536-flow table, few enough that it takes
    // each out of the index (both ways must leave a table that finds no flow).
    const c = '198.18.4.1', s = '198.18.0.1';
    const established = Array.from({ length: 100 }, (_, i) => frame(tcp4(c, s, { sport: 2000 + i, dport: 80, seq: 10, ack: 1, flags: ACK, payload: new Uint8Array(1) }), { ts: T0 + BigInt(i) }));
    for (const [packets, flows] of [[[...flood(1000), ...established], 4096], [flood(10), 65536]] as const) {
      const engine = await Engine.create();
      const table = FlowEngine.create(engine, RssConfig.from({ key: 'microsoft', reta: 'equal:4' }), { flows, cores: 2 });
      const all = loadPackets(engine, packets);
      const rounds: FlowRecord[][] = [];
      for (let round = 0; round < 2; round++) {
        for (let at = 0; at < all.count; at += 256) table.process({ descriptors: all.descriptors + at * 32, count: Math.min(256, all.count - at) });
        expect(engine.exports.indexedFlows()).toBe(engine.exports.activeFlows());
        table.finish();
        expect(engine.exports.indexedFlows()).toBe(0);
        rounds.push(table.takeRecords());
      }
      expect(rounds[0]).toHaveLength(packets.length);
      // found nothing of the first round: every flow made again, none reused, the records the same
      expect(sorted(rounds[1]!)).toEqual(sorted(rounds[0]!));
      expect(table.stats().flows).toMatchObject({ created: 2 * packets.length, reused: 0, active: 0 });
    }
  });

  it('lone SYNs that leave uncopied (no records wanted) are counted exactly as their records would be: tally, buckets, deltas, heaviest flows', async () => {
    // IPv4 and IPv6 SYNs through a small table (evictions), a pause past the idle timeout (the
    // sweep times the rest out), more SYNs (left at the end), and a few answered connections.
    const v6 = Array.from({ length: 700 }, (_, i) => frame(tcp6(`2001:db8:1::${(i + 1).toString(16)}`, '2001:db8::1',
      { sport: 5000 + i, dport: 443, seq: i * 40503, flags: SYN, options: i % 3 ? LINUX_SYN : [] }), { ts: T0 + BigInt(i) * 1000n + 7n }));
    const answered = Array.from({ length: 40 }, (_, i) => [
      frame(tcp4(`198.18.9.${i}`, '198.18.0.1', { sport: 6000 + i, dport: 80, seq: i, flags: SYN }), { ts: T0 + 900_000_000n + BigInt(i) * 1000n }),
      frame(tcp4('198.18.0.1', `198.18.9.${i}`, { sport: 80, dport: 6000 + i, seq: 77, ack: i + 1, flags: SYN | ACK }), { ts: T0 + 900_000_500n + BigInt(i) * 1000n }),
    ]).flat();
    const late = flood(900, 20_000).map((p) => ({ ...p, ts: p.ts + 400_000_000_000n }));
    const packets = [...flood(1500), ...v6, ...answered, ...late].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    for (const options of [{ flows: 256 }, { flows: 256, key: 'symmetric' }, { flows: 256, fields: 'ipv4' as const }, { flows: 256, cores: 1 }, { flows: 4096, splitHalves: true }]) {
      const copied = await counted(packets, { ...options, records: true });
      const uncopied = await counted(packets, { ...options, records: false });
      expect(uncopied.records).toBe(0);
      expect(copied.records + copied.halves).toBe(packets.length - answered.length / 2);
      expect(uncopied.halves).toBe(copied.halves);
      expect(uncopied.tally).toEqual(copied.tally);
      expect(uncopied.stats).toEqual(copied.stats);
      expect(uncopied.buckets).toEqual(copied.buckets);
      expect(uncopied.deltas).toEqual(copied.deltas);
      expect(uncopied.tops).toEqual(copied.tops);
      if (options.flows === 256) expect(copied.stats.flows.evicted).toBeGreaterThan(1000);
      expect(copied.stats.flows.timedOut).toBeGreaterThan(0);
      // split flows are tallied, or (splitHalves) handed over as halves for merging
      if (options.splitHalves) expect(copied.halves).toBeGreaterThan(0);
      else if (options.cores === 1) expect(copied.tally.split).toBe(0);
      else if (options.key !== 'symmetric') expect(copied.tally.split).toBeGreaterThan(0);
    }
  });

  it('FIN and RST floods and a reused 4-tuple take full entries and are accounted like any flow', async () => {
    const s = '198.18.0.1';
    const packets = [
      ...Array.from({ length: 300 }, (_, i) => frame(tcp4(`198.18.7.${i & 255}`, s, { sport: 3000 + i, dport: 80, seq: i, flags: i % 2 ? RST : FIN | ACK, ack: 1 }))),
      ...Array.from({ length: 300 }, (_, i) => frame(tcp4('198.18.8.1', s, { sport: 4000, dport: 80, seq: i * 1000, flags: SYN }))),
    ];
    const { records, stats } = await run(packets, { flows: 128 });
    expect(stats).toMatchObject({ received: 600, processed: 600, dropped: 0 });
    expect(stats.flows.created).toBe(600);
    expect(stats.flows.reused).toBe(299);
    expect(records).toHaveLength(600);
    expect(records.reduce((n, r) => n + r.dirs[0].packets + r.dirs[1].packets, 0)).toBe(600);
  });
});
