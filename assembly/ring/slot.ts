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
