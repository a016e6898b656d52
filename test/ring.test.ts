/**
 * Rings: packets staged for other cores arrive in the consumer engine's memory intact, in order,
 * with their descriptors; local packets never move.
 */
import { expect, it } from 'vitest';
import '../host/node/shared-builds.js';
import { PKT_DESCRIPTOR, SLOT_DESCRIPTORS } from '../assembly/shared/abi.js';
import { Engine, SyntheticSource } from '../host/core/index.js';
import { Doorbell, DOORBELL_BYTES, Ring, ringBytes, StopFlag, type RingShape } from '../host/node/runner/ring.js';

const shape: RingShape = { slots: 4, slotPackets: 64, slotBytes: SLOT_DESCRIPTORS + 64 * PKT_DESCRIPTOR + 64 * 1600 };

/** [timestamp, frame hex] of each descriptor. */
function packets(memory: ArrayBufferLike, descriptors: number, count: number): string[] {
  const d = new DataView(memory, descriptors, count * PKT_DESCRIPTOR);
  return Array.from({ length: count }, (_, i) => {
    const ptr = d.getUint32(i * 32, true), len = d.getUint32(i * 32 + 4, true);
    return `${d.getBigUint64(i * 32 + 16, true)}:${Buffer.from(new Uint8Array(memory, ptr, len)).toString('hex')}`;
  });
}

it('steering 3,000 packets over 3 cores through rings delivers each core exactly its packets, in order', async () => {
  const producer = await Engine.create({ shared: true });
  const consumers = [await Engine.create({ shared: true }), await Engine.create({ shared: true })];
  const rings = consumers.map((c) => {
    const base = c.allocate(ringBytes(shape));
    return Ring.format(c.sharedBuffer, base, shape);
  });
  const bells = consumers.map((c) => new Doorbell(c.sharedBuffer, c.allocate(DOORBELL_BYTES)));
  const source = new SyntheticSource(producer, { concurrent: 100, seed: 9 }, 256);
  // Self is core 0; cores 1 and 2 are the consumers. Images and the core array live in the producer.
  const images = [0, producer.allocate(shape.slotBytes), producer.allocate(shape.slotBytes)];
  const imageTable = producer.allocate(12);
  const cores = producer.allocate(2 * 256);
  const local = producer.allocate(256 * PKT_DESCRIPTOR);
  const localCount = producer.allocate(4);
  new Uint32Array(producer.memory.buffer, imageTable, 3).set(images);
  for (const i of images.slice(1)) new Uint32Array(producer.memory.buffer, i, 2).fill(0);

  const expected: string[][] = [[], [], []];
  const received: string[][] = [[], [], []];
  const stop = new StopFlag();
  const drain = (c: number) => {
    const ring = rings[c - 1]!, engine = consumers[c - 1]!;
    while (ring.pending) {
      const slot = ring.oldest;
      const n = engine.exports.takeSlot(slot, shape.slotPackets);
      received[c]!.push(...packets(engine.memory.buffer, slot + SLOT_DESCRIPTORS, n));
      ring.release();
    }
  };
  const ship = (c: number) => {
    if (rings[c - 1]!.pending === shape.slots) drain(c); // a real consumer runs in its own thread
    expect(rings[c - 1]!.waitForRoom(stop)).toBe('ready');
    rings[c - 1]!.publish(producer.memory.buffer, images[c]!, bells[c - 1]!);
  };
  let total = 0;
  while (total < 3000) {
    const batch = source.next(256);
    const steer = new Uint16Array(producer.memory.buffer, cores, batch.count);
    for (let i = 0; i < batch.count; i++) steer[i] = (i * 7 + total) % 3;
    const all = packets(producer.memory.buffer, batch.descriptors, batch.count);
    all.forEach((p, i) => expected[steer[i]!]!.push(p));
    new Uint32Array(producer.memory.buffer, localCount, 1)[0] = 0;
    let done = 0;
    while (done < batch.count) {
      done += producer.exports.stageSlots(batch.descriptors + done * PKT_DESCRIPTOR, batch.count - done, cores + 2 * done, 0,
        local, localCount, imageTable, shape.slotPackets, shape.slotBytes);
      // ship whichever image stopped the staging (or all, at the end of the batch)
      for (const c of [1, 2]) {
        const count = new Uint32Array(producer.memory.buffer, images[c]!, 1)[0]!;
        if (count === shape.slotPackets || (done === batch.count && count > 0)) ship(c);
      }
    }
    const n = new Uint32Array(producer.memory.buffer, localCount, 1)[0]!;
    received[0]!.push(...packets(producer.memory.buffer, local, n));
    total += batch.count;
  }
  for (const c of [1, 2]) {
    const count = new Uint32Array(producer.memory.buffer, images[c]!, 1)[0]!;
    if (count) ship(c);
    rings[c - 1]!.close(bells[c - 1]!);
    drain(c);
    expect(rings[c - 1]!.finished).toBe(true);
  }
  expect(stop.stopped).toBe(false);
  for (const c of [0, 1, 2]) {
    expect(received[c]!.length).toBe(expected[c]!.length);
    expect(received[c]).toEqual(expected[c]);
  }
  expect(bells[0]!.count).toBeGreaterThan(0);
});
