/**
 * The in-memory wire between endpoint engines: what a cable and the peer's NIC do to a transmit
 * slot, per slot, in WASM.
 *
 * - wireImpair: a lossy wire, seeded: each frame is dropped, held back to arrive after the frames
 *   sent after it (reordered), or duplicated, each at a rate in parts per million. Frames held
 *   in one call are appended at the end of the next (wireHeld says how many wait).
 * - wireSteer: the peer NIC's RSS: each frame's core from the hash the sender stamped on it
 *   (PKT_HASH: the peer's hash of the tuple under the shared key) through the peer's table and
 *   queue -> core map; stageSlots then copies each frame into its core's slot image.
 * - wirePcap: pcap records (nanosecond resolution) of a slot's frames, for a debug capture.
 *
 * The state (WIRE_STATE_BYTES, allocated by the host in the sender's memory):
 *   0   u64 random state (xorshift64*)
 *   8   u32 drop, 12 duplicate, 16 reorder: parts per million
 *   20  u32 frames held, 24 of them from before this call, 28 bytes of held frame data used
 *   32  u32 frames dropped, 36 duplicated, 40 reordered (totals)
 *   64  WIRE_HELD_MAX descriptors, then WIRE_HELD_MAX * WIRE_FRAME_MAX bytes of frames
 */
import {
  PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR, PKT_HASH, PKT_TIMESTAMP, SLOT_BYTES, SLOT_COUNT, SLOT_DESCRIPTORS,
} from "../shared/abi";

const RANDOM: usize = 0;
const DROP: usize = 8;
const DUPLICATE: usize = 12;
const REORDER: usize = 16;
const HELD: usize = 20;
const OLD: usize = 24;
const HELD_BYTES: usize = 28;
const DROPPED: usize = 32;
const DUPLICATED: usize = 36;
const REORDERED: usize = 40;
const DESCRIPTORS: usize = 64;
export const WIRE_HELD_MAX: u32 = 64;
export const WIRE_FRAME_MAX: u32 = 9232;
const FRAMES: usize = DESCRIPTORS + <usize>WIRE_HELD_MAX * PKT_DESCRIPTOR;

export function wireStateBytes(): usize {
  return FRAMES + <usize>WIRE_HELD_MAX * WIRE_FRAME_MAX;
}

export function wireConfigure(state: usize, drop: u32, duplicate: u32, reorder: u32, seed: u64): void {
  memory.fill(state, 0, FRAMES);
  store<u64>(state + RANDOM, seed * 0x9e3779b97f4a7c15 | 1);
  store<u32>(state + DROP, drop);
  store<u32>(state + DUPLICATE, duplicate);
  store<u32>(state + REORDER, reorder);
}

/** Uniform in [0, 1000000). */
function perMillion(state: usize): u32 {
  let x = load<u64>(state + RANDOM);
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  store<u64>(state + RANDOM, x);
  return <u32>((((x * 0x2545f4914f6cdd1d) >> 32) * 1000000) >> 32);
}

// @ts-ignore: decorator
@inline function dataOf(slot: usize, slotPackets: u32): usize {
  return slot + SLOT_DESCRIPTORS + <usize>slotPackets * PKT_DESCRIPTOR;
}

/**
 * Applies the wire to the slot at `slot` (a ring slot image, PKT_DATA relative): drops, holds
 * and duplicates its frames, then appends the frames held by earlier calls, stamped `now`.
 * Returns the frames now in the slot.
 */
export function wireImpair(state: usize, slot: usize, slotPackets: u32, slotBytes: u32, now: u64): u32 {
  const data = dataOf(slot, slotPackets);
  const room = slotBytes - SLOT_DESCRIPTORS - slotPackets * PKT_DESCRIPTOR;
  const n = load<u32>(slot + SLOT_COUNT);
  const drop = load<u32>(state + DROP), dup = load<u32>(state + DUPLICATE), reorder = load<u32>(state + REORDER);
  let kept: u32 = 0;
  let duplicates: u32 = 0;
  const old = load<u32>(state + HELD);
  store<u32>(state + OLD, old);
  for (let i: u32 = 0; i < n; i++) {
    const d = slot + SLOT_DESCRIPTORS + <usize>i * PKT_DESCRIPTOR;
    const r = perMillion(state);
    if (r < drop) {
      store<u32>(state + DROPPED, load<u32>(state + DROPPED) + 1);
      continue;
    }
    const caplen = load<u32>(d + PKT_CAPLEN);
    if (r < drop + reorder && load<u32>(state + HELD) < WIRE_HELD_MAX && caplen <= WIRE_FRAME_MAX) {
      const h = load<u32>(state + HELD);
      const at = state + FRAMES + <usize>h * WIRE_FRAME_MAX;
      memory.copy(at, data + <usize>load<u32>(d + PKT_DATA), caplen);
      const hd = state + DESCRIPTORS + <usize>h * PKT_DESCRIPTOR;
      memory.copy(hd, d, PKT_DESCRIPTOR);
      store<u32>(state + HELD, h + 1);
      store<u32>(state + REORDERED, load<u32>(state + REORDERED) + 1);
      continue;
    }
    if (kept != i) memory.copy(slot + SLOT_DESCRIPTORS + <usize>kept * PKT_DESCRIPTOR, d, PKT_DESCRIPTOR);
    kept++;
    if (dup != 0 && perMillion(state) < dup) duplicates++;
  }
  // Duplicates: a second descriptor for the same bytes, after the frames kept (the last ones
  // chosen, so a duplicate trails its original).
  let count = kept;
  for (let j: u32 = 0; j < duplicates && count < slotPackets; j++) {
    const from = slot + SLOT_DESCRIPTORS + <usize>(kept - 1 - j % kept) * PKT_DESCRIPTOR;
    memory.copy(slot + SLOT_DESCRIPTORS + <usize>count * PKT_DESCRIPTOR, from, PKT_DESCRIPTOR);
    count++;
    store<u32>(state + DUPLICATED, load<u32>(state + DUPLICATED) + 1);
  }
  // Frames held before this call arrive now, after the rest.
  let used = load<u32>(slot + SLOT_BYTES);
  let released: u32 = 0;
  for (; released < old && count < slotPackets; released++) {
    const hd = state + DESCRIPTORS + <usize>released * PKT_DESCRIPTOR;
    const caplen = load<u32>(hd + PKT_CAPLEN);
    if (used + caplen > room) break;
    memory.copy(data + used, state + FRAMES + <usize>released * WIRE_FRAME_MAX, caplen);
    const d = slot + SLOT_DESCRIPTORS + <usize>count * PKT_DESCRIPTOR;
    memory.copy(d, hd, PKT_DESCRIPTOR);
    store<u32>(d + PKT_DATA, used);
    store<u64>(d + PKT_TIMESTAMP, now);
    used = (used + caplen + 15) & ~15;
    count++;
  }
  // What was released leaves the held area (the rest moves to its front).
  const held = load<u32>(state + HELD);
  for (let k = released; k < held; k++) {
    memory.copy(state + DESCRIPTORS + <usize>(k - released) * PKT_DESCRIPTOR, state + DESCRIPTORS + <usize>k * PKT_DESCRIPTOR, PKT_DESCRIPTOR);
    memory.copy(state + FRAMES + <usize>(k - released) * WIRE_FRAME_MAX, state + FRAMES + <usize>k * WIRE_FRAME_MAX,
      load<u32>(state + DESCRIPTORS + <usize>k * PKT_DESCRIPTOR + PKT_CAPLEN));
  }
  store<u32>(state + HELD, held - released);
  store<u32>(slot + SLOT_COUNT, count);
  store<u32>(slot + SLOT_BYTES, used);
  return count;
}

/** Frames the wire holds back (they go out with the next call). */
export function wireHeld(state: usize): u32 {
  return load<u32>(state + HELD);
}

/** Totals: 0 dropped, 1 duplicated, 2 reordered. */
export function wireCount(state: usize, which: u32): u32 {
  return load<u32>(state + DROPPED + (<usize>which << 2));
}

/**
 * The peer NIC's RSS for each frame of a slot: u16 core per descriptor at `cores`, from PKT_HASH
 * through the peer's table (`reta`: u16 queue per entry, `mask` = size - 1) and its queue ->
 * core map (`queueCore`: u16 per queue).
 */
export function wireSteer(slot: usize, cores: usize, reta: usize, mask: u32, queueCore: usize): void {
  const n = load<u32>(slot + SLOT_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    const hash = load<u32>(slot + SLOT_DESCRIPTORS + <usize>i * PKT_DESCRIPTOR + PKT_HASH);
    const queue = <u32>load<u16>(reta + (<usize>(hash & mask) << 1));
    store<u16>(cores + (<usize>i << 1), load<u16>(queueCore + (<usize>queue << 1)));
  }
}

/**
 * pcap records (nanosecond timestamps) of the slot's frames at `out` (at most `capacity`
 * bytes); returns the bytes written (frames that do not fit are left out, the host passes room
 * for a whole slot). `stamp` (ns, 0: each frame's own time) is when the slot went on the wire.
 */
export function wirePcap(slot: usize, slotPackets: u32, out: usize, capacity: u32, stamp: u64): u32 {
  const data = dataOf(slot, slotPackets);
  const n = load<u32>(slot + SLOT_COUNT);
  let at: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const d = slot + SLOT_DESCRIPTORS + <usize>i * PKT_DESCRIPTOR;
    const caplen = load<u32>(d + PKT_CAPLEN);
    if (at + 16 + caplen > capacity) break;
    const ts = stamp != 0 ? stamp : load<u64>(d + PKT_TIMESTAMP);
    store<u32>(out + at, <u32>(ts / 1000000000));
    store<u32>(out + at + 4, <u32>(ts % 1000000000));
    store<u32>(out + at + 8, caplen);
    store<u32>(out + at + 12, caplen);
    memory.copy(out + at + 16, data + <usize>load<u32>(d + PKT_DATA), caplen);
    at += 16 + caplen;
  }
  return at;
}
