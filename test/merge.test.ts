/**
 * A split flow's halves, merged, equal the record one engine writes. With the Microsoft key the two
 * directions of a connection usually hash to different cores; here two engines each get only the
 * packets steered to them (by the dispatcher's own steerBatch), and their records, halves merged,
 * must be exactly the records of one engine that saw every packet.
 */
import { expect, it } from 'vitest';
import { Engine, FlowEngine, flowJson, mergeHalves, RssConfig, type FlowRecord } from '../host/core/index.js';
import { loadPackets, readPcap } from './helpers/pcap.js';

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
