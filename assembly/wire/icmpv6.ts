/**
 * ICMPv6 (RFC 4443): a type, a code and a checksum over the message and the IPv6 pseudo-header
 * (RFC 8200 8.1), so a message is valid only between the two addresses it was sent between.
 * Echo request (128) and echo reply (129) carry an identifier, a sequence number and data;
 * neighbour discovery's messages (RFC 4861) are in ndisc.ts.
 */
import { fold, pseudoHeaderSum, sumIsValid, sumWords } from "./checksum";

// Field offsets.
const TYPE = 0; // u8
const CODE = 1; // u8
const CHECKSUM = 2; // u16: over the pseudo-header and the whole message
const IDENTIFIER = 4; // u16 (echo)
const SEQUENCE = 6; // u16 (echo)
const COMMON_LENGTH = 4;
export const ECHO_HEADER_LENGTH = 8;

export const NEXT_HEADER: u32 = 58;
export const ECHO_REQUEST: u32 = 128;
export const ECHO_REPLY: u32 = 129;
export const ROUTER_SOLICITATION: u32 = 133;
export const ROUTER_ADVERTISEMENT: u32 = 134;
export const NEIGHBOR_SOLICITATION: u32 = 135;
export const NEIGHBOR_ADVERTISEMENT: u32 = 136;

// The representation (echo fields only for echo types).
export let type: u32 = 0;
export let code: u32 = 0;
export let identifier: u32 = 0;
export let sequence: u32 = 0;
export let data: usize = 0;
export let dataLength: u32 = 0;

export const OK = 0;
/** shorter than its header, or not captured whole (the checksum covers every byte) */
export const TRUNCATED = 1;
export const BAD_CHECKSUM = 2;

/** The checksum sum of `length` bytes at `p` sent from `src` to `dst` (16 bytes each). */
// @ts-ignore: decorator
@inline function sum(p: usize, length: u32, src: usize, dst: usize): u64 {
  return pseudoHeaderSum(src, dst, 16, NEXT_HEADER, length) + sumWords(p, length);
}

/**
 * `length` bytes of message at `p` (`captured` readable), sent from `src` to `dst`: the length
 * check, type and code, the echo fields for echo types, then the checksum.
 */
export function parse(p: usize, captured: u32, length: u32, src: usize, dst: usize): i32 {
  if (length < <u32>COMMON_LENGTH || captured < length) return TRUNCATED;
  type = <u32>load<u8>(p + TYPE);
  code = <u32>load<u8>(p + CODE);
  if (type == ECHO_REQUEST || type == ECHO_REPLY) {
    if (length < <u32>ECHO_HEADER_LENGTH) return TRUNCATED;
    identifier = <u32>bswap<u16>(load<u16>(p + IDENTIFIER));
    sequence = <u32>bswap<u16>(load<u16>(p + SEQUENCE));
    data = p + ECHO_HEADER_LENGTH;
    dataLength = length - ECHO_HEADER_LENGTH;
  }
  if (!sumIsValid(sum(p, length, src, dst))) return BAD_CHECKSUM;
  return OK;
}

/**
 * Fills in the checksum of the `length`-byte message at `p` (type, code and body written) for
 * `src` to `dst`. Shared by every ICMPv6 message we send.
 */
export function seal(p: usize, length: u32, src: usize, dst: usize): void {
  store<u16>(p + CHECKSUM, 0);
  store<u16>(p + CHECKSUM, <u16>~fold(sum(p, length, src, dst)));
}

/** Writes type and code (the checksum is `seal`'s). */
// @ts-ignore: decorator
@inline export function emitHeader(p: usize, type: u32, code: u32): void {
  store<u8>(p + TYPE, <u8>type);
  store<u8>(p + CODE, <u8>code);
}

/**
 * Writes an echo or echo reply from the representation at `p` (the data may overlap it), sealed
 * for `src` to `dst`; returns its length.
 */
export function emitEcho(p: usize, src: usize, dst: usize): u32 {
  memory.copy(p + ECHO_HEADER_LENGTH, data, dataLength);
  emitHeader(p, type, code);
  store<u16>(p + IDENTIFIER, bswap<u16>(<u16>identifier));
  store<u16>(p + SEQUENCE, bswap<u16>(<u16>sequence));
  const length = <u32>ECHO_HEADER_LENGTH + dataLength;
  seal(p, length, src, dst);
  return length;
}
