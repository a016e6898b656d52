/**
 * IPv6 neighbour discovery (RFC 4861) for our static addresses (no duplicate address detection:
 * they are configured, not autoconfigured): answer solicitations for our global and link-local
 * addresses, learn from solicitations and advertisements, and send the solicitations that
 * resolve our next hops.
 *
 * Every message is checked as RFC 4861 7.1 asks (hop limit 255, so it cannot have come through a
 * router; checksum; code 0; lengths; options) before anything is learned from it.
 */
import {
  LINK_STAT_GRATUITOUS, LINK_STAT_NA_RECEIVED, LINK_STAT_NA_SENT, LINK_STAT_NS_SENT, LinkDrop, NeighbourState,
} from "../shared/abi";
import * as ethernet from "../wire/ethernet";
import * as icmpv6 from "../wire/icmpv6";
import * as ipv6 from "../wire/ipv6";
import * as ndisc from "../wire/ndisc";
import { PROCESSED } from "./arp";
import * as neighbour from "./neighbour";
import * as state from "./state";
import * as tx from "./tx";

/** Set by `input` when the frame should be copied to the other cores' caches. */
export let share = false;

/** RFC 4861 7.1: a hop limit of 255 proves the message was not forwarded by a router. */
const ND_HOP_LIMIT: u32 = 255;
const FRAME_LENGTH: u32 = <u32>ethernet.HEADER_LENGTH + <u32>ipv6.HEADER_LENGTH + ndisc.MESSAGE_LENGTH + ndisc.LINK_ADDRESS_OPTION_LENGTH;

// Scratch for the messages we build: source address (one of ours), destination and its MAC, target.
const SOURCE: usize = memory.data(16, 16);
const DESTINATION: usize = memory.data(16, 16);
const DESTINATION_MAC: usize = memory.data(8);
const TARGET: usize = memory.data(16, 16);

/**
 * A solicitation or advertisement: `ip` the IPv6 header (in the frame at `frame`), `m` the message
 * of `length` bytes, parsed and checksummed by icmpv6.parse. `copy`: learn only.
 */
export function input(frame: usize, ip: usize, m: usize, length: u32, txSlot: usize, now: i64, copy: bool): i32 {
  share = false;
  if (ipv6.hopLimit(ip) != ND_HOP_LIMIT || ndisc.parse(m, length) != ndisc.OK) return LinkDrop.ND_INVALID;
  const src = ipv6.source(ip), dst = ipv6.destination(ip);
  if (ipv6.isMulticast(src)) return LinkDrop.ND_INVALID;
  return ndisc.type == icmpv6.NEIGHBOR_SOLICITATION
    ? solicitation(frame, src, dst, txSlot, now, copy)
    : advertisement(dst, now, copy);
}

/** RFC 4861 7.2.3. */
function solicitation(frame: usize, src: usize, dst: usize, txSlot: usize, now: i64, copy: bool): i32 {
  const dad = ipv6.isUnspecified(src);
  // From the unspecified address (a duplicate address detection probe): only to a solicited-node
  // group, and without a source address option (7.1.1).
  if (dad && (!ipv6.isSolicitedNodeOf(dst, ndisc.target) || ndisc.linkAddress != 0)) return LinkDrop.ND_INVALID;
  if (!state.isOurIpv6(ndisc.target)) return LinkDrop.ND_OTHER_TARGET;
  const target = ndisc.target;
  const asker = ndisc.linkAddress;
  if (!dad && asker) {
    // Its source address option: create or update the entry for its address, STALE when new or changed.
    let e = neighbour.find(6, src);
    if (!e) e = neighbour.create(6, src, NeighbourState.INCOMPLETE, now);
    neighbour.announced(e, asker, now);
    share = true;
  }
  if (copy) return PROCESSED;
  // The advertisement: to the asker (its option's MAC, else the frame's source), or to all nodes
  // for a duplicate address detection probe, which must not be marked solicited (7.2.4).
  if (dad) {
    ipv6.allNodes(DESTINATION);
    ipv6.multicastMac(DESTINATION_MAC, DESTINATION);
  } else {
    ipv6.copyAddress(DESTINATION, src);
    ethernet.copyAddress(DESTINATION_MAC, asker ? asker : ethernet.source(frame));
  }
  const out = tx.reserveReply(txSlot, FRAME_LENGTH);
  if (!out) return PROCESSED;
  ipv6.copyAddress(SOURCE, target);
  ndisc.type = icmpv6.NEIGHBOR_ADVERTISEMENT;
  ndisc.flags = (dad ? 0 : ndisc.SOLICITED) | ndisc.OVERRIDE;
  ndisc.target = SOURCE;
  ndisc.linkAddress = state.MAC;
  emit(out, DESTINATION_MAC, SOURCE, DESTINATION);
  state.count(LINK_STAT_NA_SENT);
  return PROCESSED;
}

/** RFC 4861 7.2.5. */
function advertisement(dst: usize, now: i64, copy: bool): i32 {
  const solicited = (ndisc.flags & ndisc.SOLICITED) != 0;
  if (ipv6.isMulticast(dst) && solicited) return LinkDrop.ND_INVALID;
  if (state.isOurIpv6(ndisc.target)) return LinkDrop.ADDRESS_CONFLICT;
  share = true;
  if (!copy) {
    state.count(LINK_STAT_NA_RECEIVED);
    if (!solicited) state.count(LINK_STAT_GRATUITOUS);
  }
  const e = neighbour.find(6, ndisc.target);
  if (!e) return PROCESSED; // nobody asked: no entry is created
  const mac = ndisc.linkAddress;
  if (!neighbour.hasMac(e)) {
    if (!mac) return PROCESSED;
    if (solicited) neighbour.answered(e, mac, now);
    else neighbour.announced(e, mac, now);
    return PROCESSED;
  }
  const differs = mac != 0 && !ethernet.sameAddress(neighbour.macOf(e), mac);
  const overriding = (ndisc.flags & ndisc.OVERRIDE) != 0;
  if (differs && !overriding) {
    // Another MAC, not overriding: keep ours, but it is no longer known to be right.
    if (neighbour.stateOf(e) == NeighbourState.REACHABLE) neighbour.stale(e, now);
    return PROCESSED;
  }
  if (mac) neighbour.setMac(e, mac);
  if (solicited) neighbour.reachable(e, now);
  else if (differs) neighbour.stale(e, now);
  return PROCESSED;
}

/** Writes the Ethernet and IPv6 headers and the message in ndisc's representation at `out`. */
function emit(out: usize, dstMac: usize, src: usize, dst: usize): void {
  ethernet.emit(out, dstMac, state.MAC, ethernet.ETHERTYPE_IPV6);
  const ip = out + ethernet.HEADER_LENGTH;
  const length = ndisc.emit(ip + ipv6.HEADER_LENGTH, src, dst);
  ipv6.emit(ip, src, dst, icmpv6.NEXT_HEADER, length, ND_HOP_LIMIT, 0);
}

/**
 * A solicitation for the IPv6 address at `a`: to its solicited-node group to resolve it, or to
 * the address itself at `mac` (non-zero) to probe an entry we hold. From our link-local address
 * for a link-local target, else from our global one. False when the transmit slot has no room.
 */
export function solicit(a: usize, mac: usize, txSlot: usize): bool {
  const out = tx.reserve(txSlot, FRAME_LENGTH);
  if (!out) return false;
  if (mac) {
    ipv6.copyAddress(DESTINATION, a);
    ethernet.copyAddress(DESTINATION_MAC, mac);
  } else {
    ipv6.solicitedNode(DESTINATION, a);
    ipv6.multicastMac(DESTINATION_MAC, DESTINATION);
  }
  ipv6.copyAddress(SOURCE, ipv6.isLinkLocal(a) ? state.LINK_LOCAL : state.IPV6);
  ipv6.copyAddress(TARGET, a);
  ndisc.type = icmpv6.NEIGHBOR_SOLICITATION;
  ndisc.flags = 0;
  ndisc.target = TARGET;
  ndisc.linkAddress = state.MAC;
  emit(out, DESTINATION_MAC, SOURCE, DESTINATION);
  state.count(LINK_STAT_NS_SENT);
  return true;
}
