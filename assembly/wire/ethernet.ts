/**
 * Ethernet II frames (IEEE 802.3) and their VLAN tags: 802.1Q (TPID 0x8100), 802.1ad service
 * tags (0x88a8) and the older 0x9100 Q-in-Q. A tag is 4 bytes (TPID, TCI) inserted where the
 * EtherType was, so tags stack: TPID, TCI, TPID, TCI, ..., EtherType.
 */

// Field offsets (bytes from the frame start).
const DESTINATION = 0; // 6 bytes
const SOURCE = 6; // 6 bytes
const ETHERTYPE = 12; // u16, big-endian
export const HEADER_LENGTH = 14;
/**
 * A VLAN tag: TPID (u16) then TCI (u16), where the EtherType was; the EtherType field moves 4
 * bytes on. Seen from the payload's side, a tag is the TCI and the next EtherType.
 */
const TAG_LENGTH = 4;
const TAG_TYPE = 2; // u16 after the TCI, big-endian
/** More stacked tags than this is not a frame any switch forwards. */
const TAGS_MAX = 4;

export const ETHERTYPE_IPV4: u32 = 0x0800;
export const ETHERTYPE_IPV6: u32 = 0x86dd;
/** The same two as `load<u16>` reads them (little-endian): untagged frames need no byte swap. */
export const ETHERTYPE_IPV4_LOADED: u32 = 0x0008;
export const ETHERTYPE_IPV6_LOADED: u32 = 0xdd86;
const TPID_8021Q: u32 = 0x8100;
const TPID_8021AD: u32 = 0x88a8;
const TPID_QINQ: u32 = 0x9100;

// @ts-ignore: decorator
@inline export function destination(frame: usize): usize { return frame + DESTINATION; }
// @ts-ignore: decorator
@inline export function source(frame: usize): usize { return frame + SOURCE; }

/**
 * Writes an untagged header at `frame`: destination and source MACs (6 bytes each, read at `dst`
 * and `src`) and the EtherType (host order, written big-endian). The mirror of payloadOffset for
 * a frame without tags. Returns HEADER_LENGTH.
 */
// @ts-ignore: decorator
@inline export function emit(frame: usize, dst: usize, src: usize, type: u32): u32 {
  store<u32>(frame + DESTINATION, load<u32>(dst));
  store<u16>(frame + DESTINATION + 4, load<u16>(dst, 4));
  store<u32>(frame + SOURCE, load<u32>(src));
  store<u16>(frame + SOURCE + 4, load<u16>(src, 4));
  store<u16>(frame + ETHERTYPE, bswap<u16>(<u16>type));
  return HEADER_LENGTH;
}

// @ts-ignore: decorator
@inline function isTag(type: u32): bool {
  return type == TPID_8021Q || type == TPID_8021AD || type == TPID_QINQ;
}

/** The EtherType field of an untagged frame, as loaded (compare with ETHERTYPE_*_LOADED). */
// @ts-ignore: decorator
@inline export function loadedType(frame: usize): u32 { return <u32>load<u16>(frame + ETHERTYPE); }

/** The EtherType after the tags (valid after `payloadOffset` or `skipTags` returned >= 0). */
export let etherType: u32 = 0;
/** VLAN tags skipped. */
export let tags: i32 = 0;

/**
 * Walks the tags of the frame at `frame` (`caplen` bytes readable) and returns the offset of the
 * network-layer header, setting `etherType`; -1 when the header or a tag is cut short.
 */
export function payloadOffset(frame: usize, caplen: u32): i32 {
  if (caplen < <u32>HEADER_LENGTH) return -1;
  return skipTags(frame, HEADER_LENGTH, caplen, <u32>bswap<u16>(load<u16>(frame + ETHERTYPE)));
}

/**
 * Skips the VLAN tags at `at` (`caplen` bytes readable from `p`) that `type`, the EtherType just
 * before them, announces: each tag is its TCI and the next EtherType. Returns the offset past the
 * tags, setting `etherType` and `tags`; -1 when a tag is cut short. Linux cooked captures carry
 * tags this way too, after their own header (see sll.ts).
 */
export function skipTags(p: usize, at: u32, caplen: u32, type: u32): i32 {
  tags = 0;
  while (isTag(type) && tags < TAGS_MAX) {
    if (at + <u32>TAG_LENGTH > caplen) return -1;
    type = <u32>bswap<u16>(load<u16>(p + at + TAG_TYPE));
    at += TAG_LENGTH;
    tags++;
  }
  etherType = type;
  return <i32>at;
}

// ---- what the link layer adds: ARP's EtherType, tests on MAC addresses ----

export const ETHERTYPE_ARP: u32 = 0x0806;
export const ETHERTYPE_ARP_LOADED: u32 = 0x0608;
export const ADDRESS_LENGTH = 6;

/** The type field of a tagged frame's first tag, as loaded: 802.1Q, 802.1ad, Q-in-Q. */
// @ts-ignore: decorator
@inline export function isTagLoaded(loaded: u32): bool {
  return isTag(<u32>bswap<u16>(<u16>loaded));
}

/** Copies a 6-byte MAC address. */
// @ts-ignore: decorator
@inline export function copyAddress(to: usize, from: usize): void {
  store<u32>(to, load<u32>(from));
  store<u16>(to, load<u16>(from, 4), 4);
}

/** Two 6-byte MAC addresses are equal. */
// @ts-ignore: decorator
@inline export function sameAddress(a: usize, b: usize): bool {
  return load<u32>(a) == load<u32>(b) && load<u16>(a, 4) == load<u16>(b, 4);
}

/** ff:ff:ff:ff:ff:ff */
// @ts-ignore: decorator
@inline export function isBroadcast(a: usize): bool {
  return load<u32>(a) == 0xffffffff && load<u16>(a, 4) == 0xffff;
}

/** The group bit (the first octet's least significant bit): multicast or broadcast. */
// @ts-ignore: decorator
@inline export function isGroup(a: usize): bool {
  return (load<u8>(a) & 1) != 0;
}
