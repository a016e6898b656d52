/**
 * The link layer of one core's endpoint: what reaches our MAC is answered here (ARP, neighbour
 * discovery, echo), handed on (TCP to our addresses, as a pass list of descriptors), or counted
 * and dropped by reason; next hops are resolved and their entries aged on the host's clock.
 *
 *   linkConfigure   our addresses (written at LINK_STATE first), the neighbour cache, slot shape
 *   linkBatch       a batch of received frames -> replies in a transmit slot, copies, pass list
 *   linkPoll        timers: retransmitted solicitations, probes, ageing, failures
 *   linkResolve     the next hop of an address: its MAC, or a solicitation on its way
 *
 * Everything per frame happens here, per batch; the host hands over batches and ships slots.
 * Frames whose ARP or ND content teaches the neighbour cache are also copied (with
 * PacketFlag.LINK_COPY) into a copies slot the host sends to the other cores, so every core's
 * cache knows what any core heard (an ARP reply arrives on one queue only).
 */
import {
  LINK_ADDRESS, LINK_DELAY_MS, LINK_FAILED_MS, LINK_MULTICAST_SOLICIT, LINK_NEXT_HOP, LINK_PASS_COUNT,
  LINK_REACHABLE_MS, LINK_RESOLVE_PROBES, LINK_RESOLVE_WAITED_MS, LINK_RESOLVED_MAC, LINK_RETRANS_MS,
  LINK_STALE_MS, LINK_STAT_BYTES, LINK_STAT_COPIES_IN, LINK_STAT_COPIES_LOST, LINK_STAT_COPIES_OUT,
  LINK_STAT_NEIGHBOURS_EXPIRED, LINK_STAT_NEIGHBOURS_FAILED, LINK_STAT_PASSED, LINK_STAT_PROCESSED,
  LINK_STAT_RECEIVED, LINK_STATE, LINK_STATS, LINK_STATS_COUNT, LINK_UNICAST_SOLICIT, LinkDrop, LinkFlag,
  LinkResolve, LinkType, NB_CONFIRMED, NEIGHBOURS_MAX, NeighbourState, PacketFlag, PKT_CAPLEN, PKT_DATA,
  PKT_DESCRIPTOR, PKT_FLAGS, PKT_LINKTYPE, PKT_WIRELEN, SLOT_DESCRIPTORS, Status,
} from "../shared/abi";
import * as ethernet from "../wire/ethernet";
import * as icmpv4 from "../wire/icmpv4";
import * as icmpv6 from "../wire/icmpv6";
import * as ipv4 from "../wire/ipv4";
import * as ipv6 from "../wire/ipv6";
import * as arpLink from "./arp";
import { PASSED, PROCESSED } from "./arp";
import * as echo from "./icmp";
import * as neighbour from "./neighbour";
import * as ndiscLink from "./ndisc";
import * as state from "./state";
import * as tx from "./tx";

const PROTOCOL_ICMP: u32 = 1;
const PROTOCOL_TCP: u32 = 6;
const PROTOCOL_UDP: u32 = 17;
/** A reply is at most this much longer than what it answers (an advertisement with our address
 *  option, answering a solicitation without one: 8 bytes), rounded up. */
const REPLY_SLACK: u32 = 16;

/**
 * Takes the configuration the host wrote at LINK_STATE (LINK_MAC, LINK_FLAGS and the addresses),
 * derives the rest, makes a cache of `neighbours` entries (a power of two, 8 to NEIGHBOURS_MAX),
 * sets RFC 4861's default timers and clears the counters. Transmit and copies slots have
 * `slotPackets` descriptors in `slotBytes` bytes. Returns Status.OK or why not.
 */
export function linkConfigure(neighbours: u32, slotPackets: u32, slotBytes: u32): i32 {
  if (neighbours < 8 || neighbours > <u32>NEIGHBOURS_MAX || (neighbours & (neighbours - 1)) != 0) return Status.BAD_SIZE;
  if (slotPackets == 0 || <u64>slotBytes < <u64>SLOT_DESCRIPTORS + <u64>slotPackets * PKT_DESCRIPTOR + 2048) return Status.BAD_SIZE;
  if (ethernet.isGroup(state.MAC) || (load<u32>(state.MAC) == 0 && load<u16>(state.MAC, 4) == 0)) return Status.BAD_ARGUMENT;
  const v4 = state.has(LinkFlag.IPV4), v6 = state.has(LinkFlag.IPV6);
  const prefix4 = load<u32>(state.IPV4_PREFIX), prefix6 = load<u32>(state.IPV6_PREFIX);
  if (v4 && (prefix4 > 32 || !ipv4.isUnicast(state.IPV4))) return Status.BAD_ARGUMENT;
  if (v6 && (prefix6 > 128 || ipv6.isMulticast(state.IPV6) || ipv6.isUnspecified(state.IPV6))) return Status.BAD_ARGUMENT;
  store<u32>(state.IPV4_MASK, prefix4 == 0 ? 0 : bswap<u32>(0xffffffff << (32 - prefix4)));
  if (state.has(LinkFlag.GATEWAY4) && (!v4 || !onLink(4, state.GATEWAY4))) return Status.BAD_ARGUMENT;
  // The link-local address: fe80::/64 and the MAC's modified EUI-64 (the universal/local bit
  // flipped, ff:fe in the middle), RFC 4291 2.5.6 and appendix A.
  const ll = state.LINK_LOCAL;
  v128.store(ll, i64x2(0x80fe, 0x000000feff000000) /* fe80::ff:fe00:0 */);
  store<u8>(ll, load<u8>(state.MAC) ^ 2, 8);
  store<u16>(ll, load<u16>(state.MAC, 1), 9);
  store<u8>(ll, load<u8>(state.MAC, 3), 13);
  store<u16>(ll, load<u16>(state.MAC, 4), 14);
  if (state.has(LinkFlag.GATEWAY6) && (!v6 || !onLink(6, state.GATEWAY6))) return Status.BAD_ARGUMENT;
  store<u32>(state.SLOT_PACKETS, slotPackets);
  store<u32>(state.SLOT_BYTES, slotBytes);
  neighbour.configure(neighbours);
  linkTimers(1000, 30000, 5000, 60000, 3000, 3, 3);
  memory.fill(LINK_STATE + LINK_STATS, 0, LINK_STATS_COUNT * 8);
  store<u32>(LINK_STATE + LINK_PASS_COUNT, 0);
  store<i64>(state.NEXT_TIMER, i64.MAX_VALUE);
  return Status.OK;
}

/**
 * RFC 4861 10's timers (ms) and solicitation limits: RetransTimer, ReachableTime (fixed, not
 * randomised: one engine, one link), DELAY_FIRST_PROBE_TIME, then how long STALE and FAILED
 * entries are kept, MAX_MULTICAST_SOLICIT and MAX_UNICAST_SOLICIT (at least 1 each).
 */
export function linkTimers(retransMs: u32, reachableMs: u32, delayMs: u32, staleMs: u32, failedMs: u32, multicast: u32, unicast: u32): void {
  store<u32>(LINK_STATE + LINK_RETRANS_MS, max(retransMs, 1));
  store<u32>(LINK_STATE + LINK_REACHABLE_MS, max(reachableMs, 1));
  store<u32>(LINK_STATE + LINK_DELAY_MS, max(delayMs, 1));
  store<u32>(LINK_STATE + LINK_STALE_MS, max(staleMs, 1));
  store<u32>(LINK_STATE + LINK_FAILED_MS, max(failedMs, 1));
  store<u32>(LINK_STATE + LINK_MULTICAST_SOLICIT, max(multicast, 1));
  store<u32>(LINK_STATE + LINK_UNICAST_SOLICIT, max(unicast, 1));
}

/** The address at `a` is on our link: inside our prefix, or (IPv6) link-local. */
function onLink(family: u32, a: usize): bool {
  if (family == 4) {
    const mask = load<u32>(state.IPV4_MASK);
    return (load<u32>(a) & mask) == (load<u32>(state.IPV4) & mask);
  }
  return ipv6.isLinkLocal(a) || ipv6.samePrefix(a, state.IPV6, load<u32>(state.IPV6_PREFIX));
}

// ---- receiving ----

/**
 * Handles `count` received frames (descriptors at `descriptors`, bytes where they point): replies
 * go into the transmit slot `txSlot`; frames to learn from are copied into `copies` (a slot, 0:
 * one core, nobody to tell); TCP segments to our addresses are appended to the descriptor array
 * `pass` (0: counted and dropped; else room for `count` more past LINK_PASS_COUNT). Frames flagged PacketFlag.LINK_COPY are learned from only.
 *
 * Stops before a frame whose reply might not fit the transmit slot (unless the slot is empty) and
 * returns how many frames it took: the host sends the slot and calls again with the rest.
 */
export function linkBatch(descriptors: usize, count: u32, txSlot: usize, copies: usize, pass: usize, now: i64): u32 {
  for (let i: u32 = 0; i < count; i++) {
    const d = descriptors + <usize>i * PKT_DESCRIPTOR;
    if (load<u16>(d + PKT_FLAGS) & PacketFlag.LINK_COPY) {
      input(d, txSlot, 0, now, true);
      state.count(LINK_STAT_COPIES_IN);
      continue;
    }
    const caplen = load<u32>(d + PKT_CAPLEN);
    if (!tx.fits(txSlot, caplen + REPLY_SLACK) && !tx.isEmpty(txSlot)) return i;
    state.count(LINK_STAT_RECEIVED);
    state.count(LINK_STAT_BYTES, caplen);
    const outcome = input(d, txSlot, pass, now, false);
    if (outcome == PROCESSED || outcome == PASSED) state.count(LINK_STAT_PROCESSED);
    else state.countDrop(outcome);
    if (copies && (arpLink.share || ndiscLink.share)) copyOut(copies, d);
  }
  return count;
}

/** Copies the frame of descriptor `d` into the copies slot, flagged LINK_COPY. */
function copyOut(copies: usize, d: usize): void {
  const caplen = load<u32>(d + PKT_CAPLEN);
  const out = tx.reserve(copies, caplen);
  if (!out) {
    state.count(LINK_STAT_COPIES_LOST);
    return;
  }
  memory.copy(out, <usize>load<u32>(d + PKT_DATA), caplen);
  store<u32>(tx.descriptor + PKT_WIRELEN, load<u32>(d + PKT_WIRELEN));
  store<u16>(tx.descriptor + PKT_FLAGS, <u16>PacketFlag.LINK_COPY);
  state.count(LINK_STAT_COPIES_OUT);
}

/** One frame: PROCESSED, PASSED, or a LinkDrop. */
function input(d: usize, txSlot: usize, pass: usize, now: i64, copy: bool): i32 {
  arpLink.share = false;
  ndiscLink.share = false;
  const frame = <usize>load<u32>(d + PKT_DATA);
  const caplen = load<u32>(d + PKT_CAPLEN);
  const wirelen = load<u32>(d + PKT_WIRELEN);
  if (caplen == 0 || caplen > wirelen || <u32>load<u16>(d + PKT_LINKTYPE) != <u32>LinkType.ETHERNET) return LinkDrop.DESCRIPTOR;
  if (caplen < <u32>ethernet.HEADER_LENGTH) return LinkDrop.ETHERNET_TRUNCATED;
  if (ethernet.sameAddress(ethernet.source(frame), state.MAC)) return LinkDrop.OWN_FRAME;
  if (!forUs(ethernet.destination(frame))) return LinkDrop.OTHER_MAC;
  const type = ethernet.loadedType(frame);
  const p = frame + ethernet.HEADER_LENGTH;
  const captured = caplen - ethernet.HEADER_LENGTH, onWire = wirelen - ethernet.HEADER_LENGTH;
  if (type == ethernet.ETHERTYPE_ARP_LOADED) return arpLink.input(frame, p, captured, txSlot, now, copy);
  if (type == ethernet.ETHERTYPE_IPV4_LOADED) return input4(d, frame, p, captured, onWire, txSlot, pass);
  if (type == ethernet.ETHERTYPE_IPV6_LOADED) return input6(d, frame, p, captured, onWire, txSlot, pass, now, copy);
  return ethernet.isTagLoaded(type) ? LinkDrop.VLAN : LinkDrop.ETHERTYPE;
}

/**
 * Frames we take: to our MAC, broadcast, or to the IPv6 groups we are in: all nodes (33:33:0:0:0:1)
 * and the solicited-node groups of our addresses (33:33:ff and their last 24 bits).
 */
function forUs(dst: usize): bool {
  if (ethernet.sameAddress(dst, state.MAC) || ethernet.isBroadcast(dst)) return true;
  if (load<u16>(dst) != 0x3333 || !state.has(LinkFlag.IPV6)) return false;
  if (load<u32>(dst, 2) == 0x01000000) return true;
  if (load<u8>(dst, 2) != 0xff) return false;
  const low = <u32>load<u8>(dst, 3) | (<u32>load<u16>(dst, 4) << 8);
  const global = <u32>load<u8>(state.IPV6, 13) | (<u32>load<u16>(state.IPV6, 14) << 8);
  const local = <u32>load<u8>(state.LINK_LOCAL, 13) | (<u32>load<u16>(state.LINK_LOCAL, 14) << 8);
  return low == global || low == local;
}

function input4(d: usize, frame: usize, p: usize, captured: u32, onWire: u32, txSlot: usize, pass: usize): i32 {
  const status = ipv4.check(p, captured, onWire);
  if (status == ipv4.TRUNCATED) return LinkDrop.IPV4_TRUNCATED;
  if (status == ipv4.MALFORMED) return LinkDrop.IPV4_MALFORMED;
  if (!state.isOurIpv4(ipv4.destination(p))) return LinkDrop.OTHER_IP;
  if (!ipv4.checksumIsValid(p)) return LinkDrop.IPV4_BAD_CHECKSUM;
  if (ipv4.isFragment(p)) return LinkDrop.FRAGMENT;
  const protocol = ipv4.protocol(p);
  const header = ipv4.headerLength(p);
  if (protocol == PROTOCOL_ICMP) {
    const length = ipv4.totalLength(p) - header;
    const s = icmpv4.parse(p + header, captured - header, length);
    if (s == icmpv4.TRUNCATED) return LinkDrop.ICMP_TRUNCATED;
    if (s == icmpv4.BAD_CHECKSUM) return LinkDrop.ICMP_BAD_CHECKSUM;
    return echo.input4(frame, p, txSlot);
  }
  if (protocol == PROTOCOL_TCP) return handOn(d, pass);
  return protocol == PROTOCOL_UDP ? LinkDrop.UDP : LinkDrop.PROTOCOL;
}

function input6(d: usize, frame: usize, p: usize, captured: u32, onWire: u32, txSlot: usize, pass: usize, now: i64, copy: bool): i32 {
  const status = ipv6.check(p, captured, onWire);
  if (status == ipv6.TRUNCATED) return LinkDrop.IPV6_TRUNCATED;
  if (status == ipv6.MALFORMED) return LinkDrop.IPV6_MALFORMED;
  const dst = ipv6.destination(p);
  const unicast = state.isOurIpv6(dst);
  if (!unicast && !(state.has(LinkFlag.IPV6)
    && (ipv6.isAllNodes(dst) || ipv6.isSolicitedNodeOf(dst, state.IPV6) || ipv6.isSolicitedNodeOf(dst, state.LINK_LOCAL)))) {
    return LinkDrop.OTHER_IP;
  }
  if (ipv6.fragment) return LinkDrop.FRAGMENT;
  const protocol = ipv6.upperProtocol;
  const at = ipv6.upperOffset;
  if (protocol == icmpv6.NEXT_HEADER) {
    const length = <u32>ipv6.HEADER_LENGTH + ipv6.payloadLength(p) - at;
    const m = p + at;
    const s = icmpv6.parse(m, captured - at, length, ipv6.source(p), dst);
    if (s == icmpv6.TRUNCATED) return LinkDrop.ICMP_TRUNCATED;
    if (s == icmpv6.BAD_CHECKSUM) return LinkDrop.ICMPV6_BAD_CHECKSUM;
    const type = icmpv6.type;
    if (type == icmpv6.ECHO_REQUEST) return echo.input6(frame, p, txSlot);
    if (type == icmpv6.NEIGHBOR_SOLICITATION || type == icmpv6.NEIGHBOR_ADVERTISEMENT) {
      return ndiscLink.input(frame, p, m, length, txSlot, now, copy);
    }
    if (type >= icmpv6.ROUTER_SOLICITATION && type <= REDIRECT) return LinkDrop.ND_ROUTER;
    return LinkDrop.ICMP_UNSUPPORTED;
  }
  if (!unicast) return LinkDrop.OTHER_IP;
  if (protocol == PROTOCOL_TCP) return handOn(d, pass);
  return protocol == PROTOCOL_UDP ? LinkDrop.UDP : LinkDrop.PROTOCOL;
}

/** ICMPv6 redirect (RFC 4861 4.5): the last of the router messages 133 to 137. */
const REDIRECT: u32 = 137;

/** The frame of `d` is TCP to one of our addresses: its descriptor joins the pass list, if any. */
function handOn(d: usize, pass: usize): i32 {
  if (!pass) return LinkDrop.TCP;
  const n = load<u32>(LINK_STATE + LINK_PASS_COUNT);
  memory.copy(pass + <usize>n * PKT_DESCRIPTOR, d, PKT_DESCRIPTOR);
  store<u32>(LINK_STATE + LINK_PASS_COUNT, n + 1);
  state.count(LINK_STAT_PASSED);
  return PASSED;
}

// ---- timers ----

/**
 * Runs the neighbour timers that are due at `now` (ns): solicitations retransmitted, DELAY to
 * PROBE, REACHABLE to STALE, entries aged out or failed. What it sends goes into `txSlot`; a
 * solicitation that finds the slot full stays due and goes out at the next call.
 */
export function linkPoll(txSlot: usize, now: i64): void {
  if (now < load<i64>(state.NEXT_TIMER)) return;
  let soonest = i64.MAX_VALUE;
  const n = neighbour.capacity();
  for (let i: u32 = 0; i < n; i++) {
    const e = neighbour.entry(i);
    if (neighbour.stateOf(e) == NeighbourState.FREE) continue;
    if (neighbour.timer(e) <= now) fire(e, txSlot, now);
    const t = neighbour.timer(e);
    if (neighbour.stateOf(e) != NeighbourState.FREE && t != 0 && t < soonest) soonest = t;
  }
  store<i64>(state.NEXT_TIMER, soonest);
}

/** The timer of entry `e` fired. */
function fire(e: usize, txSlot: usize, now: i64): void {
  const s = neighbour.stateOf(e);
  if (s == NeighbourState.INCOMPLETE) {
    if (neighbour.probes(e) < state.multicastSolicit()) {
      solicitOrRetry(e, 0, txSlot, now);
    } else {
      // Given up: FAILED, kept a while so that whoever resolves it hears so.
      store<i64>(e + NB_CONFIRMED, now);
      neighbour.enter(e, NeighbourState.FAILED, now + state.failedNs());
      state.count(LINK_STAT_NEIGHBOURS_FAILED);
    }
  } else if (s == NeighbourState.REACHABLE) {
    neighbour.stale(e, now);
  } else if (s == NeighbourState.STALE) {
    const until = neighbour.used(e) + state.staleNs();
    if (until > now) neighbour.enter(e, NeighbourState.STALE, until);
    else expire(e);
  } else if (s == NeighbourState.DELAY) {
    neighbour.setProbes(e, 0);
    neighbour.enter(e, NeighbourState.PROBE, now);
    solicitOrRetry(e, neighbour.macOf(e), txSlot, now);
  } else if (s == NeighbourState.PROBE) {
    if (neighbour.probes(e) < state.unicastSolicit()) solicitOrRetry(e, neighbour.macOf(e), txSlot, now);
    else expire(e); // RFC 4861 7.3.3: no answer to the probes, the entry goes
  } else {
    neighbour.free(e); // FAILED, reported long enough
  }
}

function expire(e: usize): void {
  neighbour.free(e);
  state.count(LINK_STAT_NEIGHBOURS_EXPIRED);
}

/**
 * Sends a solicitation for entry `e` (multicast/broadcast with `mac` 0, else unicast to `mac`) and
 * sets the retransmission timer; with the slot full, the timer stays due. False if not sent.
 */
function solicitOrRetry(e: usize, mac: usize, txSlot: usize, now: i64): bool {
  const a = neighbour.addressOf(e);
  const sent = neighbour.familyOf(e) == 4 ? arpLink.request(a, mac, txSlot) : ndiscLink.solicit(a, mac, txSlot);
  if (!sent) {
    neighbour.enter(e, neighbour.stateOf(e), now); // due again at once
    return false;
  }
  neighbour.setProbes(e, neighbour.probes(e) + 1);
  neighbour.enter(e, neighbour.stateOf(e), now + state.retransNs());
  return true;
}

// ---- resolving ----

/**
 * The next hop of the `family` (4 or 6) address at LINK_ADDRESS: LinkResolve. RESOLVED puts its
 * MAC at LINK_RESOLVED_MAC; every status but NO_ADDRESS and BAD_ADDRESS puts the next hop at
 * LINK_NEXT_HOP; FAILED puts the solicitations sent and the ms waited at LINK_RESOLVE_PROBES and
 * LINK_RESOLVE_WAITED_MS. A first call sends the first solicitation into `txSlot`.
 */
export function linkResolve(family: u32, txSlot: usize, now: i64): i32 {
  return resolveNextHop(family, LINK_STATE + LINK_ADDRESS, txSlot, now);
}

/** linkResolve for an address anywhere in memory (for the endpoints above, in WASM). */
export function resolveNextHop(family: u32, a: usize, txSlot: usize, now: i64): i32 {
  const hop = LINK_STATE + LINK_NEXT_HOP;
  if (family == 4) {
    if (!state.has(LinkFlag.IPV4)) return LinkResolve.NO_ADDRESS;
    if (!ipv4.isUnicast(a) || state.isOurIpv4(a)) return LinkResolve.BAD_ADDRESS;
    v128.store(hop, i64x2(0, 0));
    if (onLink(4, a)) store<u32>(hop, load<u32>(a));
    else if (state.has(LinkFlag.GATEWAY4)) store<u32>(hop, load<u32>(state.GATEWAY4));
    else return LinkResolve.NO_ROUTE;
  } else if (family == 6) {
    if (!state.has(LinkFlag.IPV6)) return LinkResolve.NO_ADDRESS;
    if (ipv6.isMulticast(a) || ipv6.isUnspecified(a) || isLoopback6(a) || state.isOurIpv6(a)) return LinkResolve.BAD_ADDRESS;
    if (onLink(6, a)) ipv6.copyAddress(hop, a);
    else if (state.has(LinkFlag.GATEWAY6)) ipv6.copyAddress(hop, state.GATEWAY6);
    else return LinkResolve.NO_ROUTE;
  } else {
    return LinkResolve.BAD_ADDRESS;
  }
  let e = neighbour.find(family, hop);
  if (!e) {
    e = neighbour.create(family, hop, NeighbourState.INCOMPLETE, now);
    neighbour.enter(e, NeighbourState.INCOMPLETE, now);
    return solicitOrRetry(e, 0, txSlot, now) ? LinkResolve.PENDING : LinkResolve.DEFERRED;
  }
  const s = neighbour.stateOf(e);
  if (s == NeighbourState.INCOMPLETE) return LinkResolve.PENDING;
  if (s == NeighbourState.FAILED) {
    store<u32>(LINK_STATE + LINK_RESOLVE_PROBES, neighbour.probes(e));
    store<u32>(LINK_STATE + LINK_RESOLVE_WAITED_MS, <u32>((load<i64>(e + NB_CONFIRMED) - neighbour.started(e)) / 1_000_000));
    return LinkResolve.FAILED;
  }
  neighbour.touch(e, now);
  // RFC 4861 7.3.3: sending to a STALE neighbour starts the wait for a confirmation.
  if (s == NeighbourState.STALE) neighbour.enter(e, NeighbourState.DELAY, now + state.delayNs());
  ethernet.copyAddress(LINK_STATE + LINK_RESOLVED_MAC, neighbour.macOf(e));
  return LinkResolve.RESOLVED;
}

/** ::1 */
// @ts-ignore: decorator
@inline function isLoopback6(a: usize): bool {
  return load<u64>(a) == 0 && load<u64>(a, 8) == 0x0100000000000000;
}

/**
 * An upper layer's proof that the neighbour at LINK_ADDRESS (`family`) is reachable (TCP saw new
 * data acknowledged, RFC 4861 7.3.1): REACHABLE again without a probe. False when it has no entry
 * with a MAC.
 */
export function linkConfirm(family: u32, now: i64): bool {
  const e = neighbour.find(family, LINK_STATE + LINK_ADDRESS);
  if (!e || !neighbour.hasMac(e)) return false;
  neighbour.reachable(e, now);
  return true;
}
