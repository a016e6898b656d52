/**
 * Neighbour discovery's two address-resolution messages (RFC 4861 4.3, 4.4), inside ICMPv6:
 * neighbour solicitation (135) and neighbour advertisement (136). Both carry a target address and
 * options; the only option read or written here is the link-layer address option (4.6.1: source
 * for a solicitation, target for an advertisement), for Ethernet 8 bytes: type, length 1, MAC.
 * `parse` fills the representation below; `emit` writes a message from it.
 */
import * as icmpv6 from "./icmpv6";

// Field offsets from the ICMPv6 header's start (type, code and checksum are icmpv6.ts's).
const FLAGS = 4; // u32: solicitation: reserved; advertisement: R, S, O in the first byte's top bits
const TARGET = 8; // 16 bytes
const OPTIONS = 24;
export const MESSAGE_LENGTH = 24;

// Option fields: every option starts with a type and a length in units of 8 bytes (never 0).
const OPTION_TYPE = 0; // u8
const OPTION_LENGTH = 1; // u8
const OPTION_ADDRESS = 2; // 6 bytes for Ethernet
const OPTION_UNIT: u32 = 8;
export const SOURCE_LINK_ADDRESS: u32 = 1;
export const TARGET_LINK_ADDRESS: u32 = 2;
export const LINK_ADDRESS_OPTION_LENGTH: u32 = 8;

/** Advertisement flags, as the first byte of FLAGS holds them. */
export const ROUTER: u32 = 0x80;
export const SOLICITED: u32 = 0x40;
export const OVERRIDE: u32 = 0x20;

// The representation. `linkAddress` points at the MAC of the link-layer address option (source
// option of a solicitation, target option of an advertisement), 0 when there is none.
export let type: u32 = 0;
export let flags: u32 = 0;
export let target: usize = 0;
export let linkAddress: usize = 0;

export const OK = 0;
/** RFC 4861 7.1.1 / 7.1.2 on the message itself: code 0, length, a unicast target, sane options */
export const INVALID = 1;

/**
 * The solicitation or advertisement of `length` bytes at `p`, whole and checksummed already
 * (icmpv6.parse). Checks what RFC 4861 7.1 asks of the message: code 0, at least 24 bytes, a
 * target that is not multicast, every option of non-zero length and inside the message, a
 * link-layer address option of 8 bytes (for Ethernet).
 */
export function parse(p: usize, length: u32): i32 {
  type = icmpv6.type;
  if (icmpv6.code != 0 || length < <u32>MESSAGE_LENGTH) return INVALID;
  flags = <u32>load<u8>(p + FLAGS);
  target = p + TARGET;
  if (load<u8>(target) == 0xff) return INVALID;
  const wanted = type == icmpv6.NEIGHBOR_SOLICITATION ? SOURCE_LINK_ADDRESS : TARGET_LINK_ADDRESS;
  linkAddress = 0;
  for (let at = <u32>OPTIONS; at < length;) {
    if (at + 2 > length) return INVALID;
    const size = <u32>load<u8>(p + at + OPTION_LENGTH) * OPTION_UNIT;
    if (size == 0 || at + size > length) return INVALID;
    if (<u32>load<u8>(p + at + OPTION_TYPE) == wanted) {
      if (size != LINK_ADDRESS_OPTION_LENGTH) return INVALID;
      linkAddress = p + at + OPTION_ADDRESS;
    }
    at += size;
  }
  return OK;
}

/**
 * Writes the representation at `p` as a solicitation or advertisement (with its link-layer
 * address option when `linkAddress` is set), sealed for `src` to `dst`; returns its length.
 */
export function emit(p: usize, src: usize, dst: usize): u32 {
  icmpv6.emitHeader(p, type, 0);
  store<u32>(p + FLAGS, type == icmpv6.NEIGHBOR_ADVERTISEMENT ? flags : 0);
  v128.store(p + TARGET, v128.load(target));
  let length = <u32>MESSAGE_LENGTH;
  if (linkAddress) {
    const o = p + OPTIONS;
    store<u8>(o + OPTION_TYPE, <u8>(type == icmpv6.NEIGHBOR_SOLICITATION ? SOURCE_LINK_ADDRESS : TARGET_LINK_ADDRESS));
    store<u8>(o + OPTION_LENGTH, 1);
    store<u32>(o + OPTION_ADDRESS, load<u32>(linkAddress));
    store<u16>(o + OPTION_ADDRESS + 4, load<u16>(linkAddress, 4));
    length += LINK_ADDRESS_OPTION_LENGTH;
  }
  icmpv6.seal(p, length, src, dst);
  return length;
}
