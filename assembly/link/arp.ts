/**
 * ARP (RFC 826) for our IPv4 address: answer requests for it, learn from what arrives, and send
 * the requests that resolve our next hops.
 *
 * RFC 826's reception algorithm, with RFC 5227's probes and Linux's habits where it is silent:
 * a valid packet first updates the sender's entry if there is one (the "merge"); if we are the
 * target, an entry is created for a sender on our subnet (STALE for a request, REACHABLE for a
 * reply to us); a request is answered. A gratuitous ARP (sender and target address the same)
 * updates an entry but never creates one. A sender claiming our address from another MAC is a
 * conflict, counted and ignored; a probe (sender address 0.0.0.0) is answered but teaches nothing.
 */
import {
  LINK_STAT_ARP_REPLIES_RECEIVED, LINK_STAT_ARP_REPLIES_SENT, LINK_STAT_ARP_REQUESTS_SENT, LINK_STAT_GRATUITOUS,
  LinkDrop, LinkFlag, NeighbourState,
} from "../shared/abi";
import * as arp from "../wire/arp";
import * as ethernet from "../wire/ethernet";
import * as ipv4 from "../wire/ipv4";
import * as neighbour from "./neighbour";
import * as state from "./state";
import * as tx from "./tx";

/** The outcome of a frame the link layer handled (drop reasons are LinkDrop, >= 0). */
export const PROCESSED: i32 = -1;
/** A TCP segment for the layer above, put in the pass list. */
export const PASSED: i32 = -2;

/** Set by `input` when the frame should be copied to the other cores' caches. */
export let share = false;

const FRAME_LENGTH: u32 = <u32>ethernet.HEADER_LENGTH + <u32>arp.LENGTH;
/** The sender's address, where the cache's calls (which take a pointer) can read it. */
const SENDER: usize = memory.data(4);

// @ts-ignore: decorator
@inline function onSubnet(a: u32): bool {
  const mask = load<u32>(state.IPV4_MASK);
  return (a & mask) == (load<u32>(state.IPV4) & mask);
}

/**
 * An ARP packet at `p` (`captured` bytes) in the frame at `frame`. `copy`: a frame another core
 * received, to learn from only. Returns PROCESSED or a LinkDrop.
 */
export function input(frame: usize, p: usize, captured: u32, txSlot: usize, now: i64, copy: bool): i32 {
  share = false;
  if (arp.parse(p, captured) != arp.OK) return LinkDrop.ARP_MALFORMED;
  if (!state.has(LinkFlag.IPV4)) return LinkDrop.ARP_OTHER_TARGET;
  const ours = load<u32>(state.IPV4);
  const sender = arp.senderProtocol;
  if (ethernet.isGroup(arp.senderHardware)) return LinkDrop.BAD_SOURCE;
  if (sender == ours) return LinkDrop.ADDRESS_CONFLICT;
  const target = arp.targetProtocol == ours;
  const probe = sender == 0;
  const reply = arp.operation == arp.REPLY;

  if (!probe) {
    // The merge: an entry for the sender learns its MAC whoever the packet was for.
    store<u32>(SENDER, sender);
    let e = neighbour.find(4, SENDER);
    if (e) {
      if (reply && target) neighbour.answered(e, arp.senderHardware, now);
      else neighbour.announced(e, arp.senderHardware, now);
    } else if (target && onSubnet(sender) && ipv4.isUnicast(SENDER)) {
      e = neighbour.create(4, SENDER, NeighbourState.INCOMPLETE, now);
      if (reply) neighbour.answered(e, arp.senderHardware, now);
      else neighbour.announced(e, arp.senderHardware, now);
    }
    share = true;
  }
  if (!target) {
    if (sender == arp.targetProtocol && !probe) {
      if (!copy) state.count(LINK_STAT_GRATUITOUS);
      return PROCESSED;
    }
    return LinkDrop.ARP_OTHER_TARGET;
  }
  if (reply) {
    if (!copy) state.count(LINK_STAT_ARP_REPLIES_RECEIVED);
    return PROCESSED;
  }
  if (!copy) answer(frame, txSlot);
  return PROCESSED;
}

/** The reply to the request just parsed: from our MAC and address to the requester's. */
function answer(frame: usize, txSlot: usize): void {
  const out = tx.reserveReply(txSlot, FRAME_LENGTH);
  if (!out) return;
  ethernet.emit(out, arp.senderHardware, state.MAC, ethernet.ETHERTYPE_ARP);
  arp.targetHardware = arp.senderHardware;
  arp.targetProtocol = arp.senderProtocol;
  arp.senderHardware = state.MAC;
  arp.senderProtocol = load<u32>(state.IPV4);
  arp.operation = arp.REPLY;
  arp.emit(out + ethernet.HEADER_LENGTH);
  state.count(LINK_STAT_ARP_REPLIES_SENT);
}

/**
 * A request for the IPv4 address at `a`: broadcast to resolve, or unicast to `mac` (non-zero) to
 * probe an entry we hold. False when the transmit slot has no room.
 */
export function request(a: usize, mac: usize, txSlot: usize): bool {
  const out = tx.reserve(txSlot, FRAME_LENGTH);
  if (!out) return false;
  ethernet.emit(out, mac ? mac : state.BROADCAST, state.MAC, ethernet.ETHERTYPE_ARP);
  arp.operation = arp.REQUEST;
  arp.senderHardware = state.MAC;
  arp.senderProtocol = load<u32>(state.IPV4);
  arp.targetHardware = state.ZEROS;
  arp.targetProtocol = load<u32>(a);
  arp.emit(out + ethernet.HEADER_LENGTH);
  state.count(LINK_STAT_ARP_REQUESTS_SENT);
  return true;
}
