/**
 * IPv4 headers (RFC 791): a 20-byte fixed part, options up to IHL * 4 bytes, the header checksum
 * over exactly those bytes. Fragments (MF set or a non-zero offset) carry no usable L4 header
 * but in the first, so the engine hashes them on addresses, as NICs do.
 */
import { fold, sumIsValid, sumWords } from "./checksum";

// Field offsets.
const VERSION_IHL = 0; // u8: version (4 bits), header length in 32-bit words (4 bits)
const TOS = 1; // u8: DSCP and ECN
const TOTAL_LENGTH = 2; // u16: header and payload, bytes
const IDENTIFICATION = 4; // u16
const FLAGS_FRAGMENT = 6; // u16: reserved, DF, MF, fragment offset (13 bits, 8-byte units)
const TTL = 8; // u8
const PROTOCOL = 9; // u8
const CHECKSUM = 10; // u16
const SOURCE = 12; // 4 bytes
const DESTINATION = 16; // 4 bytes
export const HEADER_LENGTH = 20;

const DONT_FRAGMENT: u32 = 0x4000;
const MORE_FRAGMENTS: u32 = 0x2000;
const OFFSET_MASK: u32 = 0x1fff;

// @ts-ignore: decorator
@inline export function version(p: usize): u32 { return <u32>load<u8>(p + VERSION_IHL) >> 4; }
// @ts-ignore: decorator
@inline export function headerLength(p: usize): u32 { return (<u32>load<u8>(p + VERSION_IHL) & 15) << 2; }
// @ts-ignore: decorator
@inline export function totalLength(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + TOTAL_LENGTH)); }
// @ts-ignore: decorator
@inline export function protocol(p: usize): u32 { return <u32>load<u8>(p + PROTOCOL); }
// @ts-ignore: decorator
@inline export function source(p: usize): usize { return p + SOURCE; }
// @ts-ignore: decorator
@inline export function destination(p: usize): usize { return p + DESTINATION; }
/** MF set or a non-zero offset: part of a fragmented datagram. */
// @ts-ignore: decorator
@inline export function isFragment(p: usize): bool {
  return (<u32>bswap<u16>(load<u16>(p + FLAGS_FRAGMENT)) & (MORE_FRAGMENTS | OFFSET_MASK)) != 0;
}

/**
 * An address (4 bytes at `a`) a host may answer: not 0.0.0.0/8 ("this network"), not loopback
 * (127/8), not multicast or reserved (224/3, which holds 255.255.255.255). RFC 1122 3.2.1.3.
 */
// @ts-ignore: decorator
@inline export function isUnicast(a: usize): bool {
  const first = <u32>load<u8>(a);
  return first != 0 && first != 127 && first < 224;
}
/**
 * The header checksum is right (the sum over the header, checksum included, is 0xffff). A header
 * without options is five little-endian u32s, each two of the words (see checksum.ts).
 */
// @ts-ignore: decorator
@inline export function checksumIsValid(p: usize): bool {
  const ihl = headerLength(p);
  if (ihl == <u32>HEADER_LENGTH) {
    return sumIsValid(<u64>load<u32>(p) + <u64>load<u32>(p, 4) + <u64>load<u32>(p, 8) + <u64>load<u32>(p, 12) + <u64>load<u32>(p, 16));
  }
  return sumIsValid(sumWords(p, ihl));
}

/** Outcome of `check`. */
export const OK = 0;
export const TRUNCATED = 1;
export const MALFORMED = 2;

/**
 * The one length check: `captured` bytes are readable at `p`, `onWire` bytes were on the wire
 * from `p` on. Version, IHL >= 5, the whole header captured, total length within the frame
 * (Ethernet pads short frames, so it may be shorter).
 */
// @ts-ignore: decorator
@inline export function check(p: usize, captured: u32, onWire: u32): i32 {
  if (captured < <u32>HEADER_LENGTH) return TRUNCATED;
  const ihl = headerLength(p);
  if (version(p) != 4 || ihl < <u32>HEADER_LENGTH) return MALFORMED;
  if (ihl > captured) return TRUNCATED;
  const total = totalLength(p);
  if (total < ihl || total > onWire) return MALFORMED;
  return OK;
}

/**
 * Writes a 20-byte header (no options) at `p`: version 4, IHL 5, TOS 0, total length 20 +
 * `payloadLength`, identification `id`, DF set (RFC 6864: an atomic datagram), TTL `ttl`,
 * `protocol`, the addresses (4 bytes each, network order, read at `src` and `dst`) and the header
 * checksum. The mirror of `check` for a header without options. Returns HEADER_LENGTH.
 */
// @ts-ignore: decorator
@inline export function emit(p: usize, src: usize, dst: usize, protocol: u32, payloadLength: u32, id: u32, ttl: u32): u32 {
  store<u8>(p + VERSION_IHL, 0x45);
  store<u8>(p + TOS, 0);
  store<u16>(p + TOTAL_LENGTH, bswap<u16>(<u16>(HEADER_LENGTH + payloadLength)));
  store<u16>(p + IDENTIFICATION, bswap<u16>(<u16>id));
  store<u16>(p + FLAGS_FRAGMENT, bswap<u16>(<u16>DONT_FRAGMENT));
  store<u8>(p + TTL, <u8>ttl);
  store<u8>(p + PROTOCOL, <u8>protocol);
  store<u16>(p + CHECKSUM, 0);
  store<u32>(p + SOURCE, load<u32>(src));
  store<u32>(p + DESTINATION, load<u32>(dst));
  // The sum of the five words, complemented: stored as loaded, it is the big-endian checksum.
  const sum = <u64>load<u32>(p) + <u64>load<u32>(p, 4) + <u64>load<u32>(p, 8) + <u64>load<u32>(p, 12) + <u64>load<u32>(p, 16);
  store<u16>(p + CHECKSUM, <u16>~fold(sum));
  return HEADER_LENGTH;
}
