/**
 * Steering and a NIC's hash. A DPDK port that does RSS hands packets over with its hash
 * (PKT_HASH, PacketFlag.HASHED): steering must send them where that hash says, through the
 * table, without hashing again, so the device, the steering and the flow engine agree.
 */
import { expect, it } from 'vitest';
import { PacketFlag, PKT_DESCRIPTOR, PKT_FLAGS, PKT_HASH, PKT_QUEUE } from '../assembly/shared/abi.js';
import { Engine, FlowEngine, RssConfig } from '../host/core/index.js';
import { loadPackets, readPcap } from './helpers/pcap.js';

it('HASHED packets are steered by their hash; the others are hashed as before', async () => {
  const packets = readPcap(new URL('./fixtures/captures/ipv4-loss.pcap', import.meta.url).pathname);
  const config = RssConfig.from({ key: 'microsoft', fields: 'ipv4-l4', reta: 'weight:1,2,3,2' });
  const engine = FlowEngine.create(await Engine.create(), config, { cores: 3 }).engine;
  const steer = (batch: { descriptors: number; count: number }) => {
    const cores = engine.allocate(2 * batch.count);
    const workspace = engine.allocate(engine.exports.steerWorkspaceBytes(batch.count));
    engine.exports.steerBatch(batch.descriptors, batch.count, cores, 1, workspace, batch.count);
    return Array.from(engine.u16(cores, batch.count));
  };
  const reference = steer(loadPackets(engine, packets));

  const batch = loadPackets(engine, packets);
  const nicHash = (i: number) => Math.imul(i + 1, 0x9e3779b1) >>> 0;
  let dv = new DataView(engine.memory.buffer);
  for (let i = 0; i < batch.count; i += 2) {
    const d = batch.descriptors + i * PKT_DESCRIPTOR;
    dv.setUint32(d + PKT_HASH, nicHash(i), true);
    dv.setUint16(d + PKT_FLAGS, PacketFlag.HASHED, true);
  }
  const cores = steer(batch);
  dv = new DataView(engine.memory.buffer);
  const reta = config.reta!;
  let moved = 0;
  for (let i = 0; i < batch.count; i++) {
    const d = batch.descriptors + i * PKT_DESCRIPTOR;
    if (i % 2) {
      expect(cores[i]).toBe(reference[i]);
      continue;
    }
    const queue = reta.queueOf(nicHash(i));
    expect(dv.getUint32(d + PKT_HASH, true)).toBe(nicHash(i)); // kept, not recomputed
    expect(dv.getUint16(d + PKT_QUEUE, true)).toBe(queue);
    expect(cores[i]).toBe(queue % 3);
    if (cores[i] !== reference[i]) moved++;
  }
  expect(moved).toBeGreaterThan(20); // the chosen hashes really differ from the packets' own
});
