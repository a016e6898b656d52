/**
 * The flow table's index grows with the live flows (assembly/flow/table.ts): it starts at 2^16
 * slots of its region and doubles, indexing every live flow again from the pools, when the live
 * flows pass half of it. Here tables are fed 200,000 distinct flows (lone SYNs, connections
 * closed by FIN and by RST and swept out, connections left open, UDP), crossing three doublings:
 * the index names exactly the live flows all along, every later packet finds its flow (one record
 * per flow, with every packet the flow sent), and a full table that evicts keeps all of that.
 * Then flows picked by their flow-key hash crowd the top of the index, so that at each doubling
 * probe runs wrap round its end (the case a doubling in place must get right).
 */
import { describe, expect, it } from 'vitest';
import { FLOW_STATE, OUT_FLOW_INDEX_SLOTS, OUT_RECORDS, REC_KEY_HASH } from '../assembly/shared/abi.js';
import { Engine, FlowEngine, RssConfig, type FlowEngineOptions, type FlowRecord } from '../host/core/index.js';
import { loadPackets, type Packet } from './helpers/pcap.js';
import { frame, internetChecksum, TCP_FLAGS } from './helpers/packets.js';

const { SYN, ACK, FIN, RST } = TCP_FLAGS;
const T0 = 1_800_000_000_000_000_000n;
const us = 1000n, ms = 1_000_000n;
const FLOWS = 200_000;
const SERVER = [198, 19, 255, 254];

/** What flow i is: 0-4 of every 10 a lone SYN, 5-6 closed by FIN, 7 reset, 8 left open, 9 UDP. */
type Kind = 'syn' | 'fin' | 'rst' | 'open' | 'udp';
const kindOf = (i: number): Kind => (['syn', 'syn', 'syn', 'syn', 'syn', 'fin', 'fin', 'rst', 'open', 'udp'] as const)[i % 10]!;
/** Packets each kind sends: client to server, server to client. */
const SENT: Record<Kind, [number, number]> = { syn: [1, 0], fin: [4, 3], rst: [2, 1], open: [3, 2], udp: [3, 1] };
const CLOSE: Record<Kind, string> = { syn: 'end', fin: 'fin', rst: 'rst', open: 'end', udp: 'end' };

/** Flow i's client: one of 100,000 addresses in 198.18.0.0/15, and a port for each hundred thousand. */
function client(i: number): [number[], number] {
  const a = i % 100_000;
  return [[198, 18 + (a >> 16), (a >> 8) & 0xff, a & 0xff], 20_000 + Math.floor(i / 100_000)];
}
const name = (address: number[], port: number) => `${address.join('.')}:${port}`;

/**
 * An Ethernet + IPv4 + TCP or UDP frame, built here byte by byte (the helpers' generic builders
 * take some microseconds a packet, and this file sends 620,000): RFC 791 and RFC 793 / 768
 * headers, checksums RFC 1071's way.
 */
function packet(src: number[], dst: number[], sport: number, dport: number, proto: 6 | 17, flags: number, seq: number, ack: number, payload: number): Uint8Array {
  const l4 = proto === 6 ? 20 : 8;
  const f = new Uint8Array(14 + 20 + l4 + payload);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  const ip = f.subarray(14, 34);
  const total = 20 + l4 + payload;
  ip.set([0x45, 0, total >> 8, total & 0xff, 0, 0, 0x40, 0, 64, proto, 0, 0, ...src, ...dst]);
  const ipSum = internetChecksum(ip);
  ip[10] = ipSum >> 8; ip[11] = ipSum & 0xff;
  const seg = f.subarray(34);
  seg.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff]);
  if (proto === 6) {
    seg.set([seq >>> 24, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff, ack >>> 24, (ack >>> 16) & 0xff, (ack >>> 8) & 0xff, ack & 0xff, 0x50, flags, 0xff, 0xff], 4);
  } else {
    seg[4] = (8 + payload) >> 8; seg[5] = (8 + payload) & 0xff;
  }
  for (let k = 0; k < payload; k++) seg[l4 + k] = k & 0xff;
  const pseudo = new Uint8Array([...src, ...dst, 0, proto, seg.length >> 8, seg.length & 0xff]);
  const sum = internetChecksum(pseudo, seg) || (proto === 17 ? 0xffff : 0);
  seg[proto === 6 ? 16 : 6] = sum >> 8; seg[proto === 6 ? 17 : 7] = sum & 0xff;
  return f;
}

/**
 * The 200,000 flows' packets in time order: flow i opens at i * 100 us, its handshake and close a
 * millisecond a step (about ten flows open between a SYN and its SYN-ACK, so some promotions come
 * after a doubling); connections left open and UDP flows send once more at the end, after every
 * doubling. 620,000 packets.
 */
function traffic(): Packet[] {
  const timed: { ts: bigint; data: Uint8Array }[] = [];
  const late: Packet[] = [];
  for (let i = 0; i < FLOWS; i++) {
    const [c, port] = client(i);
    const t = T0 + BigInt(i) * 100n * us;
    const at = (k: number) => t + BigInt(k) * ms;
    const cs = (flags: number, k: number, seq: number, ack: number, payload = 0) => timed.push({ ts: at(k), data: packet(c, SERVER, port, 80, 6, flags, seq, ack, payload) });
    const sc = (flags: number, k: number, seq: number, ack: number, payload = 0) => timed.push({ ts: at(k), data: packet(SERVER, c, 80, port, 6, flags, seq, ack, payload) });
    const kind = kindOf(i);
    if (kind === 'udp') {
      timed.push({ ts: at(0), data: packet(c, SERVER, port, 53, 17, 0, 0, 0, 20) });
      timed.push({ ts: at(1), data: packet(SERVER, c, 53, port, 17, 0, 0, 0, 60) });
      timed.push({ ts: at(2), data: packet(c, SERVER, port, 53, 17, 0, 0, 0, 20) });
      late.push(frame(packet(c, SERVER, port, 53, 17, 0, 0, 0, 20)));
      continue;
    }
    const isn = (i * 2654435761) >>> 0, sisn = (i * 40503 + 7) >>> 0;
    cs(SYN, 0, isn, 0);
    if (kind === 'syn') continue;
    sc(SYN | ACK, 1, sisn, isn + 1);
    if (kind === 'rst') {
      cs(RST, 2, isn + 1, 0);
      continue;
    }
    cs(ACK, 2, isn + 1, sisn + 1, 10);
    sc(ACK, 3, sisn + 1, isn + 11, 100);
    if (kind === 'open') {
      late.push(frame(packet(c, SERVER, port, 80, 6, ACK, isn + 11, sisn + 101, 0)));
      continue;
    }
    cs(FIN | ACK, 4, isn + 11, sisn + 101);
    sc(FIN | ACK, 5, sisn + 101, isn + 12);
    cs(ACK, 6, isn + 12, sisn + 102);
  }
  timed.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  const end = T0 + BigInt(FLOWS) * 100n * us + 100n * ms;
  return [...timed.map((p) => frame(p.data, { ts: p.ts })), ...late.map((p, k) => ({ ...p, ts: end + BigInt(k) * us }))];
}

const mixed = traffic();

/** Index slots in use, as the engine announces them. */
const indexSlots = (engine: Engine) => new DataView(engine.memory.buffer).getUint32(FLOW_STATE + OUT_FLOW_INDEX_SLOTS, true);

/**
 * The packets through one table in batches of 256, on one core. Every 20 batches (and at the
 * end) the index must name exactly the live flows; returns the records, the stats and the index
 * sizes seen.
 */
function run(engine: Engine, options: FlowEngineOptions, packets = mixed) {
  const table = FlowEngine.create(engine, RssConfig.from({ key: 'symmetric', reta: 'equal:4' }), { cores: 1, closedTimeout: 1, ...options });
  const sizes = new Set<number>([indexSlots(engine)]);
  const all = loadPackets(engine, packets);
  let checks = 0;
  for (let at = 0, batch = 0; at < all.count; at += 256, batch++) {
    table.process({ descriptors: all.descriptors + at * 32, count: Math.min(256, all.count - at) });
    sizes.add(indexSlots(engine));
    if (batch % 20 === 0) {
      const indexed = engine.exports.indexedFlows(), live = engine.exports.activeFlows();
      if (indexed !== live) throw new Error(`batch ${batch}: the index names ${indexed} flows, ${live} live`);
      checks++;
    }
  }
  expect(engine.exports.indexedFlows()).toBe(engine.exports.activeFlows());
  const liveAtEnd = engine.exports.activeFlows();
  table.finish();
  expect(engine.exports.indexedFlows()).toBe(0);
  all.free();
  return { records: table.takeRecords(), stats: table.stats(), sizes: [...sizes].sort((a, b) => a - b), checks, liveAtEnd };
}

const MASK64 = (1n << 64n) - 1n;
/** MurmurHash3's fmix64. */
function mix(x: bigint): bigint {
  x ^= x >> 33n;
  x = (x * 0xff51afd7ed558ccdn) & MASK64;
  x ^= x >> 33n;
  x = (x * 0xc4ceb9fe1a85ec53n) & MASK64;
  return x ^ (x >> 33n);
}

/**
 * The flow-key hash of an IPv4 flow as assembly/flow/key.ts defines it: each endpoint one 64-bit
 * word (the address's four bytes read as a little-endian u32, shifted over the port), the smaller
 * word times 2^64 / golden ratio plus the larger, the protocol in the top byte, mixed, and the
 * halves folded. The index's home slot of a flow is this hash masked.
 */
function flowKeyHash(a: number[], aport: number, b: number[], bport: number, protocol: number): number {
  const word = (x: number[], port: number) => (BigInt((x[0]! | (x[1]! << 8) | (x[2]! << 16) | (x[3]! << 24)) >>> 0) << 16n) | BigInt(port);
  const p = word(a, aport), q = word(b, bport);
  const [lo, hi] = p < q ? [p, q] : [q, p];
  const h = mix(((lo * 0x9e3779b97f4a7c15n + hi) & MASK64) ^ (BigInt(protocol) << 56n));
  return Number((h ^ (h >> 32n)) & 0xffffffffn);
}

/**
 * 140,000 lone SYNs whose flow-key hashes put them in the top 5/8 of every 2^16 slots (homes
 * 24576-65535 of each block), then the server's SYN-ACK to each (a lookup after every doubling,
 * promoting the lone SYN), then a reset from every third client (removal by backward shift in
 * crowded runs; swept out a second later). Just before each doubling the home ranges are at 80%
 * load, so runs are long and the last block's run wraps round the index's end at every doubling.
 */
function crowded(): { packets: Packet[]; clients: string[]; reset: Set<string> } {
  const syns: Packet[] = [], answers: Packet[] = [], resets: Packet[] = [], clients: string[] = [];
  const reset = new Set<string>();
  for (let k = 0; clients.length < CROWDED; k++) {
    const c = [198, 18 + ((k >> 16) & 1), (k >> 8) & 0xff, k & 0xff], port = 30_000 + (k >> 17);
    if ((flowKeyHash(c, port, SERVER, 80, 6) & 0xffff) < 24_576) continue;
    const i = clients.length;
    clients.push(name(c, port));
    const isn = (i * 2654435761) >>> 0;
    syns.push(frame(packet(c, SERVER, port, 80, 6, SYN, isn, 0, 0), { ts: T0 + BigInt(i) * 10n * us }));
    answers.push(frame(packet(SERVER, c, 80, port, 6, SYN | ACK, 7, isn + 1, 0), { ts: T0 + 2n * 1000n * ms + BigInt(i) * 10n * us }));
    if (i % 3 === 0) {
      resets.push(frame(packet(c, SERVER, port, 80, 6, RST, isn + 1, 0, 0), { ts: T0 + 4n * 1000n * ms + BigInt(i) * 10n * us }));
      reset.add(name(c, port));
    }
  }
  return { packets: [...syns, ...answers, ...resets], clients, reset };
}
const CROWDED = 140_000;

/** A record's flow, whichever side the table took for the client. */
const flowOf = (r: FlowRecord) => (r.client < r.server ? `${r.client} ${r.server}` : `${r.server} ${r.client}`);

describe('the flow index grows with the live flows', () => {
  it('200,000 flows into a 4,194,304-flow table whose SYN cache holds 262,144 (synCache): three doublings, the index names the live flows throughout, one record per flow with all its packets; the same table again starts small and gives the same records', async () => {
    const engine = await Engine.create();
    const first = run(engine, { flows: 1 << 22, synCache: 1 << 18 });
    // 100,000 lone SYNs, 20,000 open connections and 20,000 UDP flows stay; most closed ones
    // are swept out a second after their close (about 10,000 at a time linger).
    expect(first.sizes).toEqual([1 << 16, 1 << 17, 1 << 18, 1 << 19]);
    expect(first.checks).toBeGreaterThan(100);
    expect(first.liveAtEnd).toBeGreaterThanOrEqual(140_000);
    expect(first.stats.flows).toMatchObject({ created: FLOWS, reused: 0, evicted: 0, active: 0 });
    expect(first.records).toHaveLength(FLOWS);
    const byClient = new Map(first.records.map((r) => [r.client, r]));
    expect(byClient.size).toBe(FLOWS);
    for (let i = 0; i < FLOWS; i++) {
      const kind = kindOf(i);
      const [c, port] = client(i);
      const r = byClient.get(name(c, port));
      if (!r) throw new Error(`flow ${i} (${kind}): no record`);
      const want = { server: name(SERVER, kind === 'udp' ? 53 : 80), close: CLOSE[kind], sent: SENT[kind] };
      const got = { server: r.server, close: r.close, sent: [r.dirs[0].packets, r.dirs[1].packets] };
      if (JSON.stringify(got) !== JSON.stringify(want)) expect({ i, kind, ...got }).toEqual({ i, kind, ...want });
    }
    // configureTable's same-size path: the index cleared where it was used, back to 2^16 slots.
    const again = run(engine, { flows: 1 << 22, synCache: 1 << 18 });
    expect(again.sizes).toEqual(first.sizes);
    const sorted = (records: FlowRecord[]) => [...records].sort((a, b) => (a.client < b.client ? -1 : 1));
    expect(sorted(again.records)).toEqual(sorted(first.records));
  }, 120_000);

  it('the same flows into a 100,000-flow table (two doublings, lone SYNs past its 65,536-entry SYN cache evicted): evictions, and still the index names the live flows and each flow\'s packets are all in its records', async () => {
    const engine = await Engine.create();
    const small = run(engine, { flows: 100_000, synCache: 65_536 });
    expect(small.sizes).toEqual([1 << 16, 1 << 17, 1 << 18]);
    // At most 65,536 lone SYNs and the 40,000 open flows stay (those closed are swept out).
    expect(small.liveAtEnd).toBeGreaterThan(75_000);
    expect(small.liveAtEnd).toBeLessThanOrEqual(65_536 + 40_000);
    const evicted = small.records.filter((r) => r.close === 'evicted').length;
    expect(evicted).toBeGreaterThan(40_000);
    expect(small.stats.flows).toMatchObject({ created: small.records.length, evicted, active: 0 });
    // Per flow: every packet in exactly one of its records, and at most one record that did not
    // leave by eviction (a packet that missed its flow would have made a second one, left open).
    const seen = new Map<string, { packets: number; kept: number }>();
    for (const r of small.records) {
      const f = seen.get(flowOf(r)) ?? { packets: 0, kept: 0 };
      f.packets += r.dirs[0].packets + r.dirs[1].packets;
      if (r.close !== 'evicted') f.kept++;
      seen.set(flowOf(r), f);
    }
    expect(seen.size).toBe(FLOWS);
    expect([...seen.values()].filter((f) => f.kept === 1).length).toBeGreaterThan(100_000);
    for (let i = 0; i < FLOWS; i++) {
      const kind = kindOf(i);
      const [c, port] = client(i);
      const key = [name(c, port), name(SERVER, kind === 'udp' ? 53 : 80)].sort().join(' ');
      const f = seen.get(key);
      const want = { packets: SENT[kind][0] + SENT[kind][1], kept: Math.min(f?.kept ?? 0, 1) };
      const got = f;
      if (JSON.stringify(got) !== JSON.stringify(want)) expect({ i, kind, ...got }).toEqual({ i, kind, ...want });
    }
  }, 120_000);

  it('140,000 flows crowding the top of each 2^16 slots: runs wrap round the index\'s end at each doubling, and still every flow is found after every doubling', async () => {
    const { packets, clients, reset } = crowded();
    // The hash above is the engine's (or the flows would not crowd anything): a flow's record
    // holds it, and the last record written is still in the record buffer.
    const one = await Engine.create();
    const table = FlowEngine.create(one, RssConfig.from({ key: 'symmetric', reta: 'equal:4' }), { flows: 16 });
    const all = loadPackets(one, [packets[0]!]);
    table.process({ descriptors: all.descriptors, count: 1 });
    table.finish();
    expect(table.takeRecords().map((x) => x.client)).toEqual([clients[0]]);
    const dv = new DataView(one.memory.buffer);
    const [c, port] = clients[0]!.split(':');
    expect(dv.getUint32(dv.getUint32(FLOW_STATE + OUT_RECORDS, true) + REC_KEY_HASH, true)).toBe(flowKeyHash(c!.split('.').map(Number), Number(port), SERVER, 80, 6));
    // 140,000 lone SYNs at once: a table whose SYN cache holds them all.
    const engine = await Engine.create();
    const r = run(engine, { flows: 1 << 22, synCache: 1 << 18 }, packets);
    expect(r.sizes).toEqual([1 << 16, 1 << 17, 1 << 18, 1 << 19]);
    expect(r.stats.flows).toMatchObject({ created: CROWDED, reused: 0, evicted: 0, active: 0 });
    expect(r.records).toHaveLength(CROWDED);
    const byClient = new Map(r.records.map((x) => [x.client, x]));
    for (const c of clients) {
      const x = byClient.get(c);
      const got = x && { server: x.server, close: x.close, sent: [x.dirs[0].packets, x.dirs[1].packets] };
      const want = { server: name(SERVER, 80), close: reset.has(c) ? 'rst' : 'end', sent: reset.has(c) ? [2, 1] : [1, 1] };
      if (JSON.stringify(got) !== JSON.stringify(want)) expect({ c, ...got }).toEqual({ c, ...want });
    }
  }, 120_000);
});
