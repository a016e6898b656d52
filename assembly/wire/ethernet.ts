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
/** A VLAN tag: TPID (u16) then TCI (u16); the EtherType field moves 4 bytes on. */
const TAG_LENGTH = 4;
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

/** The EtherType after the tags (valid after `payloadOffset` returned >= 0). */
export let etherType: u32 = 0;
/** VLAN tags skipped. */
export let tags: i32 = 0;

/**
 * Walks the tags of the frame at `frame` (`caplen` bytes readable) and returns the offset of the
 * network-layer header, setting `etherType`; -1 when the header or a tag is cut short.
 */
export function payloadOffset(frame: usize, caplen: u32): i32 {
  if (caplen < <u32>HEADER_LENGTH) return -1;
  let at: u32 = ETHERTYPE;
  let type = <u32>bswap<u16>(load<u16>(frame + at));
  tags = 0;
  while (isTag(type) && tags < TAGS_MAX) {
    at += TAG_LENGTH;
    if (at + 2 > caplen) return -1;
    type = <u32>bswap<u16>(load<u16>(frame + at));
    tags++;
  }
  etherType = type;
  return <i32>at + 2;
}
