/**
 * IPv6 headers (RFC 8200): a 40-byte fixed header, then a chain of extension headers, each naming
 * the next. We walk hop-by-hop options (0), routing (43), fragment (44), destination options (60)
 * and the authentication header (51, RFC 4302) to the upper-layer header.
 */

// Field offsets of the fixed header.
const VERSION = 0; // u8: version in the high 4 bits
const PAYLOAD_LENGTH = 4; // u16: bytes after the fixed header (extension headers included)
const NEXT_HEADER = 6; // u8
const HOP_LIMIT = 7; // u8
const SOURCE = 8; // 16 bytes
const DESTINATION = 24; // 16 bytes
export const HEADER_LENGTH = 40;

// Extension header fields: every one starts with next header (u8) and a length (u8).
const EXT_NEXT_HEADER = 0;
const EXT_LENGTH = 1; // 8-byte units beyond the first 8 (AH: 4-byte units beyond the first 8)
const FRAGMENT_LENGTH = 8;

const HOP_BY_HOP: u32 = 0;
const ROUTING: u32 = 43;
const FRAGMENT: u32 = 44;
const AUTHENTICATION: u32 = 51;
const DESTINATION_OPTIONS: u32 = 60;
/** Longer chains are refused: a packet built to make parsers walk. */
const EXTENSIONS_MAX = 8;

// @ts-ignore: decorator
@inline export function version(p: usize): u32 { return <u32>load<u8>(p + VERSION) >> 4; }
// @ts-ignore: decorator
@inline export function payloadLength(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + PAYLOAD_LENGTH)); }
// @ts-ignore: decorator
@inline export function source(p: usize): usize { return p + SOURCE; }
// @ts-ignore: decorator
@inline export function destination(p: usize): usize { return p + DESTINATION; }

// ---- fields and addresses neighbour discovery needs (RFC 4291, RFC 4861) ----

export const ADDRESS_LENGTH = 16;

// @ts-ignore: decorator
@inline export function hopLimit(p: usize): u32 { return <u32>load<u8>(p + HOP_LIMIT); }
// @ts-ignore: decorator
@inline export function nextHeader(p: usize): u32 { return <u32>load<u8>(p + NEXT_HEADER); }

// @ts-ignore: decorator
@inline export function copyAddress(to: usize, from: usize): void {
  v128.store(to, v128.load(from));
}

// @ts-ignore: decorator
@inline export function sameAddress(a: usize, b: usize): bool {
  return !v128.any_true(v128.xor(v128.load(a), v128.load(b)));
}

/** ff00::/8 (RFC 4291 2.7). */
// @ts-ignore: decorator
@inline export function isMulticast(a: usize): bool { return load<u8>(a) == 0xff; }

/** :: */
// @ts-ignore: decorator
@inline export function isUnspecified(a: usize): bool { return !v128.any_true(v128.load(a)); }

/** fe80::/10 */
// @ts-ignore: decorator
@inline export function isLinkLocal(a: usize): bool {
  return load<u8>(a) == 0xfe && (load<u8>(a, 1) & 0xc0) == 0x80;
}

/** The first `bits` bits of two addresses are equal (an on-link test for a prefix). */
export function samePrefix(a: usize, b: usize, bits: u32): bool {
  let i: u32 = 0;
  for (; i + 8 <= bits; i += 8) if (load<u8>(a + (i >> 3)) != load<u8>(b + (i >> 3))) return false;
  if (i == bits) return true;
  const mask = <u32>(0xff00 >> (bits - i)) & 0xff;
  return ((<u32>load<u8>(a + (i >> 3)) ^ <u32>load<u8>(b + (i >> 3))) & mask) == 0;
}

/**
 * The solicited-node multicast address of `a` (RFC 4291 2.7.1): ff02::1:ff00:0/104 with the low
 * 24 bits of `a`. Neighbour solicitations for `a` are sent there.
 */
export function solicitedNode(to: usize, a: usize): void {
  v128.store(to, i64x2(0x02ff, 0x000000ff01000000) /* ff02::1:ff00:0 */);
  store<u8>(to, load<u8>(a, 13), 13);
  store<u16>(to, load<u16>(a, 14), 14);
}

/** An address is the solicited-node multicast address of `a`. */
// @ts-ignore: decorator
@inline export function isSolicitedNodeOf(m: usize, a: usize): bool {
  return load<u64>(m) == 0x02ff && load<u32>(m, 8) == 0x01000000 && load<u8>(m, 12) == 0xff
    && load<u8>(m, 13) == load<u8>(a, 13) && load<u16>(m, 14) == load<u16>(a, 14);
}

/** ff02::1, all nodes on the link. */
// @ts-ignore: decorator
@inline export function isAllNodes(a: usize): bool {
  return load<u64>(a) == 0x02ff && load<u64>(a, 8) == 0x0100000000000000;
}

/** Writes ff02::1. */
// @ts-ignore: decorator
@inline export function allNodes(to: usize): void {
  v128.store(to, i64x2(0x02ff, 0x0100000000000000) /* ff02::1 */);
}

/** The Ethernet address a multicast IPv6 address maps to: 33:33 and its last 32 bits (RFC 2464 7). */
// @ts-ignore: decorator
@inline export function multicastMac(to: usize, a: usize): void {
  store<u16>(to, 0x3333);
  store<u32>(to, load<u32>(a, 12), 2);
}

/** After `check`: the upper-layer protocol, its offset from the fixed header, and fragmentation. */
export let upperProtocol: u32 = 0;
export let upperOffset: u32 = 0;
export let fragment: bool = false;

export const OK = 0;
export const TRUNCATED = 1;
export const MALFORMED = 2;

/**
 * The length checks and the extension walk: version, payload within the frame (`onWire` bytes
 * from `p`), every extension header captured (`captured` bytes readable) and inside the payload.
 */
export function check(p: usize, captured: u32, onWire: u32): i32 {
  if (captured < <u32>HEADER_LENGTH) return TRUNCATED;
  if (version(p) != 6) return MALFORMED;
  const end = <u32>HEADER_LENGTH + payloadLength(p);
  if (end > onWire) return MALFORMED;
  let next = <u32>load<u8>(p + NEXT_HEADER);
  let at = <u32>HEADER_LENGTH;
  fragment = false;
  for (let n = 0; ; n++) {
    let length: u32 = 0;
    if (next == HOP_BY_HOP || next == ROUTING || next == DESTINATION_OPTIONS) {
      if (at + 2 > captured) return TRUNCATED;
      length = (<u32>load<u8>(p + at + EXT_LENGTH) + 1) << 3;
    } else if (next == FRAGMENT) {
      if (at + FRAGMENT_LENGTH > captured) return TRUNCATED;
      fragment = true; // the first fragment too: its upper header may not be whole
      length = FRAGMENT_LENGTH;
    } else if (next == AUTHENTICATION) {
      if (at + 2 > captured) return TRUNCATED;
      length = (<u32>load<u8>(p + at + EXT_LENGTH) + 2) << 2;
    } else {
      break;
    }
    if (n == EXTENSIONS_MAX || at + length > end) return MALFORMED;
    if (at + length > captured) return TRUNCATED;
    next = <u32>load<u8>(p + at + EXT_NEXT_HEADER);
    at += length;
  }
  upperProtocol = next;
  upperOffset = at;
  return OK;
}

/**
 * Writes the 40-byte fixed header at `p`: version 6, traffic class 0, `flowLabel` (20 bits,
 * RFC 6437: the same for every packet of a flow), payload length, `nextHeader`, `hopLimit`, the
 * addresses (16 bytes each, read at `src` and `dst`). Returns HEADER_LENGTH.
 */
// @ts-ignore: decorator
@inline export function emit(p: usize, src: usize, dst: usize, nextHeader: u32, payloadLength: u32, hopLimit: u32, flowLabel: u32): u32 {
  store<u32>(p + VERSION, bswap<u32>(0x60000000 | (flowLabel & 0xfffff)));
  store<u16>(p + PAYLOAD_LENGTH, bswap<u16>(<u16>payloadLength));
  store<u8>(p + NEXT_HEADER, <u8>nextHeader);
  store<u8>(p + HOP_LIMIT, <u8>hopLimit);
  v128.store(p + SOURCE, v128.load(src));
  v128.store(p + DESTINATION, v128.load(dst));
  return HEADER_LENGTH;
}
