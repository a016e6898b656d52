/**
 * One packet, parsed layer by layer from its descriptor: link, network, transport. Each layer
 * is checked once for length (in its own file) and then read with plain loads; nothing is read
 * past the captured length. The results are module globals, overwritten by the next packet.
 *
 * Link layers (LinkType): Ethernet first and cheapest, untagged IP read where it stands; raw IP;
 * then Linux cooked (SLL, SLL2), BSD loopback (NULL, LOOP) and PPP, whose headers are skipped to
 * the network header. Bytes and lengths counted for a packet stay its captured frame's.
 */
import {
  DropReason, LinkType, PKT_CAPLEN, PKT_DATA, PKT_LINKTYPE, PKT_WIRELEN,
} from "../shared/abi";
import { pseudoHeaderSum, sumIsValid, sumWords } from "./checksum";
import * as ethernet from "./ethernet";
import * as ipv4 from "./ipv4";
import * as ipv6 from "./ipv6";
import * as loopback from "./loopback";
import * as ppp from "./ppp";
import * as sll from "./sll";
import * as sll2 from "./sll2";
import * as tcp from "./tcp";
import * as udp from "./udp";

export const PROTOCOL_TCP: u32 = 6;
export const PROTOCOL_UDP: u32 = 17;

/** 4 or 6; 0 for a packet that is not IP (it goes to queue 0 unhashed). */
export let family: u32 = 0;
/** Network header, and the addresses inside it (4 or 16 bytes each, network order). */
export let network: usize = 0;
export let sourceAddress: usize = 0;
export let destinationAddress: usize = 0;
/** Upper-layer protocol (after IPv6 extension headers). */
export let protocol: u32 = 0;
/** Part of a fragmented datagram: hashed on addresses, not tracked. */
export let fragment: bool = false;
/** Transport header, the bytes of segment the IP header announces, and how many were captured. */
export let transport: usize = 0;
export let segmentLength: u32 = 0;
export let segmentCaptured: u32 = 0;
/** TCP or UDP, not a fragment: ports and payload are valid. */
export let hasPorts: bool = false;
export let sourcePort: u32 = 0;
export let destinationPort: u32 = 0;
/** Both ports as one little-endian load of the transport header's first four bytes. */
export let portsLoaded: u32 = 0;
export let payloadLength: u32 = 0;
/** Payload start (readable for min(payloadLength, captured) bytes). */
export let payload: usize = 0;
export let payloadCaptured: u32 = 0;

/** Checksums: bad IPv4 header, bad TCP or UDP segment, segment not verifiable (cut short). */
export let badIpv4Checksum: bool = false;
export let badL4Checksum: bool = false;
export let unverifiedL4Checksum: bool = false;
/** TCP options ran past the header (the segment is still usable). */
export let badTcpOptions: bool = false;

/** No drop: the packet parsed. */
export const PARSED = -1;

/**
 * Parses the packet of descriptor `d`. Returns PARSED, or the DropReason that makes it unusable.
 * With `verify`, checksums are checked and the bad* flags set (they never cause a drop here).
 * Without `options`, TCP options are left unread (steering needs the tuple, not the options).
 */
// @ts-ignore: decorator
@inline export function parsePacket(d: usize, verify: bool, options: bool = true): i32 {
  const data = <usize>load<u32>(d + PKT_DATA);
  const caplen = load<u32>(d + PKT_CAPLEN);
  const wirelen = load<u32>(d + PKT_WIRELEN);
  family = 0;
  hasPorts = false;
  fragment = false;
  badIpv4Checksum = false;
  badL4Checksum = false;
  unverifiedL4Checksum = false;
  badTcpOptions = false;
  if (caplen == 0 || caplen > wirelen) return DropReason.DESCRIPTOR;

  let at: u32 = 0;
  let version: u32 = 0;
  const link = <u32>load<u16>(d + PKT_LINKTYPE);
  if (link == LinkType.ETHERNET) {
    if (caplen < <u32>ethernet.HEADER_LENGTH) return DropReason.ETHERNET_TRUNCATED;
    // Most frames carry no VLAN tag: their EtherType is read where it stands, unswapped.
    const loaded = ethernet.loadedType(data);
    if (loaded == ethernet.ETHERTYPE_IPV4_LOADED) {
      at = ethernet.HEADER_LENGTH;
      version = 4;
    } else if (loaded == ethernet.ETHERTYPE_IPV6_LOADED) {
      at = ethernet.HEADER_LENGTH;
      version = 6;
    } else {
      const offset = ethernet.payloadOffset(data, caplen);
      if (offset < 0) return DropReason.ETHERNET_TRUNCATED;
      at = <u32>offset;
      if (ethernet.etherType == ethernet.ETHERTYPE_IPV4) version = 4;
      else if (ethernet.etherType == ethernet.ETHERTYPE_IPV6) version = 6;
      else return PARSED; // not IP: ARP, LLDP...
    }
  } else if (link == LinkType.RAW) {
    version = <u32>load<u8>(data) >> 4;
    if (version != 4 && version != 6) return version < 4 ? DropReason.IPV4_MALFORMED : DropReason.IPV6_MALFORMED;
  } else {
    const status = otherLink(data, caplen, link);
    if (status != PARSED) return status;
    if (linkVersion == 0) return PARSED; // not IP: ARP, LCP, another address family...
    at = linkLength;
    version = linkVersion;
  }

  const p = data + at;
  const captured = caplen - at;
  const onWire = wirelen - at;
  let upper: u32;
  if (version == 4) {
    const status = ipv4.check(p, captured, onWire);
    if (status == ipv4.TRUNCATED) return DropReason.IPV4_TRUNCATED;
    if (status == ipv4.MALFORMED) return DropReason.IPV4_MALFORMED;
    sourceAddress = ipv4.source(p);
    destinationAddress = ipv4.destination(p);
    protocol = ipv4.protocol(p);
    fragment = ipv4.isFragment(p);
    upper = ipv4.headerLength(p);
    segmentLength = ipv4.totalLength(p) - upper;
    if (verify) badIpv4Checksum = !ipv4.checksumIsValid(p);
  } else {
    const status = ipv6.check(p, captured, onWire);
    if (status == ipv6.TRUNCATED) return DropReason.IPV6_TRUNCATED;
    if (status == ipv6.MALFORMED) return DropReason.IPV6_MALFORMED;
    sourceAddress = ipv6.source(p);
    destinationAddress = ipv6.destination(p);
    protocol = ipv6.upperProtocol;
    fragment = ipv6.fragment;
    upper = ipv6.upperOffset;
    segmentLength = <u32>ipv6.HEADER_LENGTH + ipv6.payloadLength(p) - upper;
  }
  family = version;
  network = p;
  transport = p + upper;
  segmentCaptured = min(captured - upper, segmentLength);
  if (fragment) return PARSED;

  if (protocol == PROTOCOL_TCP) {
    const status = tcp.check(transport, segmentCaptured, segmentLength);
    if (status == tcp.TRUNCATED) return DropReason.TCP_TRUNCATED;
    if (status == tcp.MALFORMED) return DropReason.TCP_MALFORMED;
    const ports = load<u32>(transport); // both ports, network order, as the hash input holds them
    portsLoaded = ports;
    sourcePort = <u32>bswap<u16>(<u16>ports);
    destinationPort = <u32>bswap<u16>(<u16>(ports >> 16));
    const header = tcp.headerLength(transport);
    payloadLength = segmentLength - header;
    payload = transport + header;
    payloadCaptured = segmentCaptured - header;
    if (options) badTcpOptions = !tcp.parseOptions(transport);
  } else if (protocol == PROTOCOL_UDP) {
    const status = udp.check(transport, segmentCaptured, segmentLength);
    if (status == udp.TRUNCATED) return DropReason.UDP_TRUNCATED;
    if (status == udp.MALFORMED) return DropReason.UDP_MALFORMED;
    const ports = load<u32>(transport);
    portsLoaded = ports;
    sourcePort = <u32>bswap<u16>(<u16>ports);
    destinationPort = <u32>bswap<u16>(<u16>(ports >> 16));
    segmentLength = udp.length(transport); // the UDP length rules; IP may carry padding
    segmentCaptured = min(segmentCaptured, segmentLength);
    payloadLength = segmentLength - udp.HEADER_LENGTH;
    payload = transport + udp.HEADER_LENGTH;
    payloadCaptured = segmentCaptured - udp.HEADER_LENGTH;
  } else {
    return PARSED;
  }
  hasPorts = true;
  if (verify) verifySegment(version);
  return PARSED;
}

/** After `otherLink`: the link header's length (the network header follows), and 4, 6 or 0 (not IP). */
let linkLength: u32 = 0;
let linkVersion: u32 = 0;

/**
 * The link types after Ethernet and raw IP: cooked, loopback, PPP. Sets `linkLength` and
 * `linkVersion`; returns PARSED, or the DropReason (a header cut short, a link type not read).
 * A call, not inlined: Ethernet, the common case, keeps its short path in parsePacket.
 */
function otherLink(data: usize, caplen: u32, link: u32): i32 {
  let type: u32;
  let header: u32;
  switch (link) {
    case LinkType.LINUX_SLL2: {
      if (caplen < <u32>sll2.HEADER_LENGTH) return DropReason.LINK_TRUNCATED;
      type = sll2.protocol(data);
      header = sll2.HEADER_LENGTH;
      break;
    }
    case LinkType.LINUX_SLL: {
      if (caplen < <u32>sll.HEADER_LENGTH) return DropReason.LINK_TRUNCATED;
      type = sll.protocol(data);
      header = sll.HEADER_LENGTH;
      break;
    }
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (caplen < <u32>loopback.HEADER_LENGTH) return DropReason.LINK_TRUNCATED;
      const family = link == LinkType.NULL ? loopback.familyEitherOrder(data) : loopback.familyNetworkOrder(data);
      linkLength = loopback.HEADER_LENGTH;
      linkVersion = loopback.ipVersion(family);
      return PARSED;
    }
    case LinkType.PPP:
    case LinkType.PPP_HDLC: {
      const offset = ppp.networkOffset(data, caplen);
      if (offset < 0) return DropReason.LINK_TRUNCATED;
      linkLength = <u32>offset;
      linkVersion = ppp.ipVersion;
      return PARSED;
    }
    default:
      return DropReason.LINK_TYPE;
  }
  // cooked: the protocol is an EtherType, with VLAN tags after the header as in Ethernet
  const offset = ethernet.skipTags(data, header, caplen, type);
  if (offset < 0) return DropReason.LINK_TRUNCATED;
  linkLength = <u32>offset;
  const inner = ethernet.etherType;
  linkVersion = inner == ethernet.ETHERTYPE_IPV4 ? 4 : inner == ethernet.ETHERTYPE_IPV6 ? 6 : 0;
  return PARSED;
}

/** TCP or UDP checksum over pseudo header and segment, when the whole segment was captured. */
// @ts-ignore: decorator
@inline function verifySegment(version: u32): void {
  if (segmentCaptured < segmentLength) {
    unverifiedL4Checksum = true;
    return;
  }
  if (protocol == PROTOCOL_UDP && udp.checksum(transport) == 0) {
    badL4Checksum = version == 6; // "no checksum" is IPv4 only
    return;
  }
  const addressLength: u32 = version == 4 ? 4 : 16;
  const sum = pseudoHeaderSum(sourceAddress, destinationAddress, addressLength, protocol, segmentLength)
    + sumWords(transport, segmentLength);
  badL4Checksum = !sumIsValid(sum);
}
