/**
 * Batch slots (shared/abi.ts, "rings"): staging packets into slots bound for other cores, and
 * taking a slot that arrived in this engine's ring.
 */
import {
  PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR, SLOT_BYTES, SLOT_COUNT, SLOT_DESCRIPTORS,
} from "../shared/abi";

/** Where a slot's packet bytes start, after `slotPackets` descriptors. */
// @ts-ignore: decorator
@inline function slotData(slot: usize, slotPackets: u32): usize {
  return slot + SLOT_DESCRIPTORS + <usize>slotPackets * PKT_DESCRIPTOR;
}

/**
 * Steers `count` packets (descriptors at `descriptors`) by `cores` (a u16 core per packet):
 * packets for `self` get their descriptors appended to `local` (the bytes stay put: this engine
 * processes them where they are); packets for core c are copied into the slot image at
 * `images[c]` (u32 addresses), descriptor and bytes, with PKT_DATA relative to the slot's packet
 * bytes. Stops at the first packet whose image is full (`slotPackets` descriptors, or
 * `slotBytes` exceeded) and returns how many packets it took; the host ships that image and
 * calls again with the rest. `localCount` (u32 at that address) grows as local packets are added.
 */
export function stageSlots(
  descriptors: usize, count: u32, cores: usize, self: u32, local: usize, localCount: usize,
  images: usize, slotPackets: u32, slotBytes: u32,
): u32 {
  const room = <u32>(slotBytes - SLOT_DESCRIPTORS - slotPackets * PKT_DESCRIPTOR);
  for (let i: u32 = 0; i < count; i++) {
    const d = descriptors + <usize>i * PKT_DESCRIPTOR;
    const core = <u32>load<u16>(cores + (<usize>i << 1));
    if (core == self) {
      const n = load<u32>(localCount);
      memory.copy(local + <usize>n * PKT_DESCRIPTOR, d, PKT_DESCRIPTOR);
      store<u32>(localCount, n + 1);
      continue;
    }
    const image = <usize>load<u32>(images + (<usize>core << 2));
    const packets = load<u32>(image + SLOT_COUNT);
    const used = load<u32>(image + SLOT_BYTES);
    const caplen = load<u32>(d + PKT_CAPLEN);
    if (packets == slotPackets || used + caplen > room) return i;
    const to = image + SLOT_DESCRIPTORS + <usize>packets * PKT_DESCRIPTOR;
    memory.copy(to, d, PKT_DESCRIPTOR);
    memory.copy(slotData(image, slotPackets) + used, <usize>load<u32>(d + PKT_DATA), caplen);
    store<u32>(to + PKT_DATA, used);
    store<u32>(image + SLOT_COUNT, packets + 1);
    store<u32>(image + SLOT_BYTES, (used + caplen + 15) & ~15);
  }
  return count;
}

/**
 * Makes a slot that arrived in this engine's ring processable: PKT_DATA becomes an address.
 * Returns the slot's packet count (its descriptors start at slot + SLOT_DESCRIPTORS).
 */
export function takeSlot(slot: usize, slotPackets: u32): u32 {
  const count = load<u32>(slot + SLOT_COUNT);
  const base = <u32>slotData(slot, slotPackets);
  for (let i: u32 = 0; i < count; i++) {
    const d = slot + SLOT_DESCRIPTORS + <usize>i * PKT_DESCRIPTOR;
    store<u32>(d + PKT_DATA, load<u32>(d + PKT_DATA) + base);
  }
  return count;
}

/**
 * Groups `count` descriptors by the core each packet is for (`cores`, a u16 per packet, from
 * steerBatch): writes them to `out` core by core, each core's in their order, and at `groups` a
 * u32 pair per core (`cores` of them): where its group starts in `out`, and how many. Only the
 * descriptors move; the packets stay where they are, for the other cores to copy a whole chunk of
 * them at once (a capture walked by the cores in turns).
 */
export function groupByCore(descriptors: usize, count: u32, cores: usize, coreCount: u32, out: usize, groups: usize): void {
  memory.fill(groups, 0, <usize>coreCount << 3);
  for (let i: u32 = 0; i < count; i++) {
    const g = groups + (<usize>load<u16>(cores + (<usize>i << 1)) << 3);
    store<u32>(g, load<u32>(g, 4) + 1, 4);
  }
  let start: u32 = 0;
  for (let c: u32 = 0; c < coreCount; c++) {
    const g = groups + (<usize>c << 3);
    const n = load<u32>(g, 4);
    store<u32>(g, start);
    store<u32>(g, 0, 4);
    start += n;
  }
  for (let i: u32 = 0; i < count; i++) {
    const g = groups + (<usize>load<u16>(cores + (<usize>i << 1)) << 3);
    const n = load<u32>(g, 4);
    const to = out + <usize>(load<u32>(g) + n) * PKT_DESCRIPTOR, d = descriptors + <usize>i * PKT_DESCRIPTOR;
    v128.store(to, v128.load(d));
    v128.store(to, v128.load(d, 16), 16);
    store<u32>(g, n + 1, 4);
  }
}

/** Adds `delta` (mod 2^32) to the PKT_DATA of `count` descriptors: their packets were copied `delta` bytes away. */
export function rebaseDescriptors(descriptors: usize, count: u32, delta: u32): void {
  for (let i: u32 = 0; i < count; i++) {
    const d = descriptors + <usize>i * PKT_DESCRIPTOR;
    store<u32>(d + PKT_DATA, load<u32>(d + PKT_DATA) + delta);
  }
}
