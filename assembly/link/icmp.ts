/**
 * Echo (ping) for our addresses: ICMP echo request (RFC 792) and ICMPv6 echo request (RFC 4443
 * 4.1) answered with a reply carrying the same identifier, sequence number and data, from the
 * address that was pinged, to the MAC the request came from (the sender, or the router that
 * forwarded it: the way back is the way it came). So `ping` works as a user's first check.
 * IPv4 replies have DF set (RFC 6864: an atomic datagram), as everything we send.
 */
import { LINK_STAT_ECHO6_REPLIES, LINK_STAT_ECHO_REPLIES, LinkDrop } from "../shared/abi";
import * as ethernet from "../wire/ethernet";
import * as icmpv4 from "../wire/icmpv4";
import * as icmpv6 from "../wire/icmpv6";
import * as ipv4 from "../wire/ipv4";
import * as ipv6 from "../wire/ipv6";
import { PROCESSED } from "./arp";
import * as state from "./state";
import * as tx from "./tx";

/** The hop limit (TTL) of what we send: Linux's default. */
const HOP_LIMIT: u32 = 64;
const PROTOCOL_ICMP: u32 = 1;

/** An ICMP message (parsed by icmpv4.parse) in IPv4 header `ip` of frame `frame`. */
export function input4(frame: usize, ip: usize, txSlot: usize): i32 {
  if (icmpv4.type != icmpv4.ECHO_REQUEST || icmpv4.code != 0) return LinkDrop.ICMP_UNSUPPORTED;
  const src = ipv4.source(ip);
  if (!ipv4.isUnicast(src) || state.isOurIpv4(src)) return LinkDrop.BAD_SOURCE;
  const length = <u32>ethernet.HEADER_LENGTH + <u32>ipv4.HEADER_LENGTH + <u32>icmpv4.ECHO_HEADER_LENGTH + icmpv4.dataLength;
  const out = tx.reserveReply(txSlot, length);
  if (!out) return PROCESSED;
  ethernet.emit(out, ethernet.source(frame), state.MAC, ethernet.ETHERTYPE_IPV4);
  const reply = out + ethernet.HEADER_LENGTH;
  icmpv4.type = icmpv4.ECHO_REPLY;
  const icmpLength = icmpv4.emitEcho(reply + ipv4.HEADER_LENGTH);
  const id = load<u32>(state.IP_ID);
  store<u32>(state.IP_ID, id + 1);
  ipv4.emit(reply, state.IPV4, src, PROTOCOL_ICMP, icmpLength, id, HOP_LIMIT);
  state.count(LINK_STAT_ECHO_REPLIES);
  return PROCESSED;
}

/** An ICMPv6 echo request (parsed by icmpv6.parse) in IPv6 header `ip` of frame `frame`. */
export function input6(frame: usize, ip: usize, txSlot: usize): i32 {
  const src = ipv6.source(ip), dst = ipv6.destination(ip);
  // Echo to a group (ff02::1) is not answered: the reply's source would have to be chosen, and
  // one answer per group member is the sender's business.
  if (ipv6.isMulticast(dst) || icmpv6.code != 0) return LinkDrop.ICMP_UNSUPPORTED;
  if (ipv6.isMulticast(src) || ipv6.isUnspecified(src) || state.isOurIpv6(src)) return LinkDrop.BAD_SOURCE;
  const length = <u32>ethernet.HEADER_LENGTH + <u32>ipv6.HEADER_LENGTH + <u32>icmpv6.ECHO_HEADER_LENGTH + icmpv6.dataLength;
  const out = tx.reserveReply(txSlot, length);
  if (!out) return PROCESSED;
  ethernet.emit(out, ethernet.source(frame), state.MAC, ethernet.ETHERTYPE_IPV6);
  const reply = out + ethernet.HEADER_LENGTH;
  icmpv6.type = icmpv6.ECHO_REPLY;
  // The request's addresses, swapped: dst is one of ours (global or link-local).
  const icmpLength = icmpv6.emitEcho(reply + ipv6.HEADER_LENGTH, dst, src);
  ipv6.emit(reply, dst, src, icmpv6.NEXT_HEADER, icmpLength, HOP_LIMIT, 0);
  state.count(LINK_STAT_ECHO6_REPLIES);
  return PROCESSED;
}
