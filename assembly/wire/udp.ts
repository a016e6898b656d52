/**
 * UDP headers (RFC 768): ports, a length covering header and data, a checksum that may be zero
 * ("none") over IPv4 but not over IPv6 (RFC 8200 section 8.1).
 */

// Field offsets.
const SOURCE_PORT = 0; // u16
const DESTINATION_PORT = 2; // u16
const LENGTH = 4; // u16: header and data, bytes
const CHECKSUM = 6; // u16
export const HEADER_LENGTH = 8;

// @ts-ignore: decorator
@inline export function sourcePort(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + SOURCE_PORT)); }
// @ts-ignore: decorator
@inline export function destinationPort(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + DESTINATION_PORT)); }
// @ts-ignore: decorator
@inline export function length(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + LENGTH)); }
// @ts-ignore: decorator
@inline export function checksum(p: usize): u32 { return <u32>load<u16>(p + CHECKSUM); }

export const OK = 0;
export const TRUNCATED = 1;
export const MALFORMED = 2;

/** `captured` bytes readable at `p`; `available` bytes of IP payload. UDP length in [8, available]. */
export function check(p: usize, captured: u32, available: u32): i32 {
  if (captured < <u32>HEADER_LENGTH) return available < <u32>HEADER_LENGTH ? MALFORMED : TRUNCATED;
  const l = length(p);
  if (l < <u32>HEADER_LENGTH || l > available) return MALFORMED;
  return OK;
}
