/**
 * Frames into slots (shared/abi.ts, "rings"): the transmit slot the link layer writes its replies
 * and solicitations into, and the copies slot that carries ARP and ND frames to the other cores.
 * Both have the shape linkConfigure was given (LINK_SLOT_PACKETS descriptors, LINK_SLOT_BYTES
 * bytes); PKT_DATA is relative to the slot's packet bytes, as the DPDK shim and the rings expect.
 */
import {
  LINK_STAT_TX_TOO_BIG, LinkType, PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR, PKT_LINKTYPE, PKT_WIRELEN, SLOT_BYTES, SLOT_COUNT, SLOT_DESCRIPTORS,
} from "../shared/abi";
import * as state from "./state";

// @ts-ignore: decorator
@inline function room(): u32 {
  return load<u32>(state.SLOT_BYTES) - SLOT_DESCRIPTORS - load<u32>(state.SLOT_PACKETS) * PKT_DESCRIPTOR;
}

/** The slot at `slot` can take one more frame of `length` bytes. */
// @ts-ignore: decorator
@inline export function fits(slot: usize, length: u32): bool {
  return load<u32>(slot + SLOT_COUNT) < load<u32>(state.SLOT_PACKETS) && load<u32>(slot + SLOT_BYTES) + length <= room();
}

// @ts-ignore: decorator
@inline export function isEmpty(slot: usize): bool { return load<u32>(slot + SLOT_COUNT) == 0; }

/** The descriptor `reserve` wrote last. */
export let descriptor: usize = 0;

/**
 * Reserves `length` bytes for one Ethernet frame at the end of the slot and describes it (no
 * timestamp, no hash, no flags); returns where its bytes go, or 0 when the slot is full.
 */
export function reserve(slot: usize, length: u32): usize {
  if (!fits(slot, length)) return 0;
  const packets = load<u32>(slot + SLOT_COUNT);
  const used = load<u32>(slot + SLOT_BYTES);
  const d = slot + SLOT_DESCRIPTORS + <usize>packets * PKT_DESCRIPTOR;
  memory.fill(d, 0, PKT_DESCRIPTOR);
  store<u32>(d + PKT_DATA, used);
  store<u32>(d + PKT_CAPLEN, length);
  store<u32>(d + PKT_WIRELEN, length);
  store<u16>(d + PKT_LINKTYPE, <u16>LinkType.ETHERNET);
  store<u32>(slot + SLOT_COUNT, packets + 1);
  store<u32>(slot + SLOT_BYTES, (used + length + 15) & ~15);
  descriptor = d;
  return slot + SLOT_DESCRIPTORS + <usize>load<u32>(state.SLOT_PACKETS) * PKT_DESCRIPTOR + used;
}

/**
 * `reserve` for a reply to a received frame. linkBatch hands frames over only when the slot has
 * room for a reply as large as the frame, or is empty; so a reply that finds no room is one that
 * no slot can hold, and is counted.
 */
export function reserveReply(slot: usize, length: u32): usize {
  const out = reserve(slot, length);
  if (!out) state.count(LINK_STAT_TX_TOO_BIG);
  return out;
}
