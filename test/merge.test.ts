/**
 * A split flow's halves, merged, equal the record one engine writes. With the Microsoft key the two
 * directions of a connection usually hash to different cores; here two engines each get only the
 * packets steered to them (by the dispatcher's own steerBatch), and their records, halves merged,
 * must be exactly the records of one engine that saw every packet.
 */
import { expect, it } from 'vitest';
import { Engine, FlowEngine, flowJson, mergeHalves, mergeSplitFlows, RssConfig, SplitFlowMerger, type FlowRecord } from '../host/core/index.js';
import { frame, tcp4, TCP_FLAGS } from './helpers/packets.js';
import { loadPackets, readPcap, type Packet } from './helpers/pcap.js';

const sorted = (records: FlowRecord[]) => records.map((r) => JSON.stringify(flowJson(r))).sort();

it.each(['ipv4-loss.pcap', 'ipv6.pcap', 'ipv4.pcap'])('%s over two cores under the Microsoft key: merged halves = one engine', async (file) => {
  const packets = readPcap(new URL(`./fixtures/captures/${file}`, import.meta.url).pathname);
  const config = RssConfig.from({ key: 'microsoft', fields: 'ipv4-l4', reta: 'equal:2' });

  // One engine, every packet.
  const whole = FlowEngine.create(await Engine.create(), config, { cores: 2 });
  whole.process(loadPackets(whole.engine, packets));
  whole.finish();
  const expected = whole.takeRecords();

  // Steer, then two engines with their own packets; halves kept raw.
  const steering = FlowEngine.create(await Engine.create(), config, { cores: 2 }).engine;
  const all = loadPackets(steering, packets);
  const cores = steering.allocate(2 * packets.length);
  const workspace = steering.allocate(steering.exports.steerWorkspaceBytes(packets.length));
  steering.exports.steerBatch(all.descriptors, all.count, cores, 1, workspace, packets.length);
  const coreOf = Array.from(steering.u16(cores, packets.length));
  const engines = await Promise.all([0, 1].map(async (c) => FlowEngine.create(await Engine.create(), config, { cores: 2, core: c, splitHalves: true })));
  const records: FlowRecord[] = [];
  const halves: Uint8Array[] = [];
  const last = packets.reduce((t, p) => (p.ts > t ? p.ts : t), 0n);
  for (const c of [0, 1]) {
    const mine = packets.filter((_, i) => coreOf[i] === c);
    engines[c]!.process(loadPackets(engines[c]!.engine, mine));
    engines[c]!.finish(last);
    records.push(...engines[c]!.takeRecords());
    halves.push(...engines[c]!.takeHalves());
  }
  expect(halves.length).toBeGreaterThan(0); // the key really splits flows
  expect(coreOf.filter((c) => c === 1).length).toBeGreaterThan(0);
  records.push(...mergeHalves(steering, halves));
  expect(sorted(records)).toEqual(sorted(expected));
});

it('one 4-tuple reused 300 times, its directions on two cores: 600 halves of one connection pair up in order, as one engine saw them', async () => {
  // Each use: SYN, SYN-ACK, ACK, a request, FIN both ways; every other one reset instead. Uses
  // are 400 s apart, past the idle timeout: each core's half of a use leaves before the next
  // (a core that sees only SYN-ACKs cannot tell one use from the next).
  const { SYN, ACK, FIN, RST, PSH } = TCP_FLAGS;
  const packets: Packet[] = [];
  let t = 1_800_000_000_000_000_000n;
  const at = () => (t += 1_000_000n);
  for (let k = 0; k < 300; k++) {
    t += 400_000_000_000n;
    const c = 1000 + k * 100_000, s = 7000 + k * 100_000;
    const up = (flags: number, seq: number, ack: number, payload = 0) => frame(tcp4('198.18.0.2', '198.18.0.1', { sport: 40000, dport: 80, seq, ack, flags, payload: new Uint8Array(payload) }), { ts: at() });
    const down = (flags: number, seq: number, ack: number) => frame(tcp4('198.18.0.1', '198.18.0.2', { sport: 80, dport: 40000, seq, ack, flags, payload: new Uint8Array(0) }), { ts: at() });
    packets.push(up(SYN, c, 0), down(SYN | ACK, s, c + 1), up(ACK, c + 1, s + 1), up(PSH | ACK, c + 1, s + 1, 20));
    if (k % 2) packets.push(down(RST, s + 1, 0));
    else packets.push(up(FIN | ACK, c + 21, s + 1), down(FIN | ACK, s + 1, c + 22), up(ACK, c + 22, s + 2));
  }
  const config = RssConfig.from({ key: 'microsoft', fields: 'ipv4-l4', reta: 'equal:2' });
  const whole = FlowEngine.create(await Engine.create(), config, { cores: 2 });
  whole.process(loadPackets(whole.engine, packets));
  whole.finish();
  const expected = whole.takeRecords();
  expect(expected).toHaveLength(300);
  expect(expected.every((r) => r.split)).toBe(true); // this key puts the two directions on two cores

  const halves: Uint8Array[] = [];
  const engines = await Promise.all([0, 1].map(async (c) => FlowEngine.create(await Engine.create(), config, { cores: 2, core: c, splitHalves: true, records: false })));
  const first = expected[0]!.cores;
  for (const c of [0, 1]) {
    const mine = packets.filter((p) => (p.data[26 + 3] === 2 ? first[0] : first[1]) === c); // by source address
    engines[c]!.process(loadPackets(engines[c]!.engine, mine));
    engines[c]!.finish(t);
    halves.push(...engines[c]!.takeHalves());
  }
  const merged = mergeSplitFlows(engines[0]!.engine, halves);
  expect(sorted(merged.records)).toEqual(sorted(expected));
  expect(merged.tally).toEqual({ tcp: 300, udp: 0, split: 300, byClose: { fin: 150, rst: 150 }, byState: { 'TIME_WAIT/CLOSED': 150, 'CLOSED/CLOSED': 150 } });
  // Without records the tally is the same, and no record is made.
  const counted = mergeSplitFlows(engines[1]!.engine, halves, { records: false });
  expect(counted.records).toEqual([]);
  expect(counted.tally).toEqual(merged.tally);
});

it('halves merged as they come, as a live run does: the records of one merge at the end, only recent halves held', async () => {
  // The same connection used 300 times, 400 s apart (past the idle timeout), its directions on two
  // cores, and beside every third use a SYN from another port that nothing answers (a half that
  // waits for a partner in vain). The cores hand their halves over every 10 uses with their
  // clocks; the merger holds only what may still pair.
  const { SYN, ACK, FIN, PSH } = TCP_FLAGS;
  const uses: Packet[][] = [];
  let t = 1_800_000_000_000_000_000n;
  const at = () => (t += 1_000_000n);
  for (let k = 0; k < 300; k++) {
    t += 400_000_000_000n;
    const c = 1000 + k * 100_000, s = 7000 + k * 100_000;
    const up = (flags: number, seq: number, ack: number, payload = 0, sport = 40000) => frame(tcp4('198.18.0.2', '198.18.0.1', { sport, dport: 80, seq, ack, flags, payload: new Uint8Array(payload) }), { ts: at() });
    const down = (flags: number, seq: number, ack: number) => frame(tcp4('198.18.0.1', '198.18.0.2', { sport: 80, dport: 40000, seq, ack, flags, payload: new Uint8Array(0) }), { ts: at() });
    uses.push([up(SYN, c, 0), down(SYN | ACK, s, c + 1), up(ACK, c + 1, s + 1), up(PSH | ACK, c + 1, s + 1, 20), up(FIN | ACK, c + 21, s + 1),
      down(FIN | ACK, s + 1, c + 22), up(ACK, c + 22, s + 2), ...(k % 3 === 2 ? [up(SYN, c, 0, 0, 50000 + k)] : [])]);
  }
  const packets = uses.flat();
  const config = RssConfig.from({ key: 'microsoft', fields: 'ipv4-l4', reta: 'equal:2' });
  const whole = FlowEngine.create(await Engine.create(), config, { cores: 2 });
  whole.process(loadPackets(whole.engine, packets));
  whole.finish();
  const expected = whole.takeRecords();
  expect(expected).toHaveLength(400);

  // Steered as the dispatcher steers them.
  const steering = FlowEngine.create(await Engine.create(), config, { cores: 2 }).engine;
  const all = loadPackets(steering, packets);
  const at2 = steering.allocate(2 * packets.length);
  steering.exports.steerBatch(all.descriptors, all.count, at2, 1, steering.allocate(steering.exports.steerWorkspaceBytes(packets.length)), packets.length);
  const steered = Array.from(steering.u16(at2, packets.length));
  const coreOf = new Map(packets.map((p, i) => [p, steered[i]!]));

  const engines = await Promise.all([0, 1].map(async (c) => FlowEngine.create(await Engine.create(), config, { cores: 2, core: c, splitHalves: true })));
  const merger = new SplitFlowMerger(await Engine.create());
  const hold = 450_000_000_000n; // an idle timeout and a half, as runner.ts holds
  const records: FlowRecord[] = [];
  let most = 0;
  for (let k = 0; k < 300; k += 10) {
    const now: bigint[] = [];
    for (const c of [0, 1]) {
      // Core 1 lags core 0 by 5 uses: halves come before their partners and wait for them.
      const from = c === 0 ? k : Math.max(0, k - 5), to = c === 0 ? k + 10 : k + 5;
      const mine = uses.slice(from, to).flat().filter((p) => coreOf.get(p) === c);
      if (mine.length) engines[c]!.process(loadPackets(engines[c]!.engine, mine));
      records.push(...engines[c]!.takeRecords());
      merger.add(engines[c]!.takeHalves());
      now.push(engines[c]!.stats().now);
    }
    const time = now[0]! < now[1]! ? now[0]! : now[1]!;
    records.push(...merger.merge(time - hold).records);
    most = Math.max(most, merger.pending);
  }
  engines[1]!.process(loadPackets(engines[1]!.engine, uses.slice(295).flat().filter((p) => coreOf.get(p) === 1)));
  for (const c of [0, 1]) {
    engines[c]!.finish(t);
    records.push(...engines[c]!.takeRecords());
    merger.add(engines[c]!.takeHalves());
  }
  records.push(...merger.merge().records);
  expect(sorted(records)).toEqual(sorted(expected));
  // Held at most: core 0's halves of the 5 uses core 1 has not reached, and of those within the
  // hold (an idle timeout and a half: 450 s, a use), not of the 300.
  expect(most).toBeGreaterThanOrEqual(5);
  expect(most).toBeLessThanOrEqual(8);
  merger.release();
});
