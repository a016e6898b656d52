/**
 * TCP headers (RFC 9293 section 3.1) and the options an observer needs: MSS (kind 2), window
 * scale (3, RFC 7323), SACK-permitted (4) and SACK blocks (5, RFC 2018), timestamps (8, RFC 7323).
 */

// Field offsets.
const SOURCE_PORT = 0; // u16
const DESTINATION_PORT = 2; // u16
const SEQUENCE = 4; // u32
const ACKNOWLEDGMENT = 8; // u32
const DATA_OFFSET = 12; // u8: header length in 32-bit words, high 4 bits
const FLAGS = 13; // u8: CWR ECE URG ACK PSH RST SYN FIN
const WINDOW = 14; // u16
export const HEADER_LENGTH = 20;

export const FIN: u32 = 0x01;
export const SYN: u32 = 0x02;
export const RST: u32 = 0x04;
export const PSH: u32 = 0x08;
export const ACK: u32 = 0x10;

// @ts-ignore: decorator
@inline export function sourcePort(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + SOURCE_PORT)); }
// @ts-ignore: decorator
@inline export function destinationPort(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + DESTINATION_PORT)); }
// @ts-ignore: decorator
@inline export function sequence(p: usize): u32 { return bswap<u32>(load<u32>(p + SEQUENCE)); }
// @ts-ignore: decorator
@inline export function acknowledgment(p: usize): u32 { return bswap<u32>(load<u32>(p + ACKNOWLEDGMENT)); }
// @ts-ignore: decorator
@inline export function headerLength(p: usize): u32 { return (<u32>load<u8>(p + DATA_OFFSET) >> 4) << 2; }
// @ts-ignore: decorator
@inline export function flags(p: usize): u32 { return <u32>load<u8>(p + FLAGS); }
// @ts-ignore: decorator
@inline export function window(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + WINDOW)); }

export const OK = 0;
export const TRUNCATED = 1;
export const MALFORMED = 2;

/** `captured` bytes readable at `p`, `length` bytes of segment (the IP payload). */
export function check(p: usize, captured: u32, length: u32): i32 {
  if (length < <u32>HEADER_LENGTH) return length > captured ? TRUNCATED : MALFORMED;
  if (captured < <u32>HEADER_LENGTH) return TRUNCATED;
  const header = headerLength(p);
  if (header < <u32>HEADER_LENGTH || header > length) return MALFORMED;
  if (header > captured) return TRUNCATED;
  return OK;
}

// Option kinds and lengths.
const END = 0;
const NOP = 1;
const MSS = 2;
const MSS_LENGTH = 4;
const WINDOW_SCALE = 3;
const WINDOW_SCALE_LENGTH = 3;
const SACK_PERMITTED = 4;
const SACK = 5;
const TIMESTAMPS = 8;
const TIMESTAMPS_LENGTH = 10;

/** Parsed options of the last segment `parseOptions` read (0 / false when absent). */
export let optionMss: u32 = 0;
/** Window shift count, 0xff when the option is absent. */
export let optionWindowScale: u32 = 0xff;
export let optionSackPermitted: bool = false;
/** SACK blocks (left, right edge pairs) and where the first one is. */
export let optionSackBlocks: u32 = 0;
export let optionSackAt: usize = 0;
export let optionTimestamps: bool = false;
export let optionTsValue: u32 = 0;
export let optionTsEcho: u32 = 0;

/**
 * Reads the options of the segment at `p` (header already checked). Returns false when an option
 * runs past the header or has a length below 2 (what was read before it is kept).
 */
export function parseOptions(p: usize): bool {
  optionMss = 0;
  optionWindowScale = 0xff;
  optionSackPermitted = false;
  optionSackBlocks = 0;
  optionTimestamps = false;
  const end = p + headerLength(p);
  let at = p + HEADER_LENGTH;
  while (at < end) {
    const kind = <u32>load<u8>(at);
    if (kind == END) return true;
    if (kind == NOP) { at++; continue; }
    if (at + 2 > end) return false;
    const length = <u32>load<u8>(at, 1);
    if (length < 2 || at + length > end) return false;
    if (kind == MSS && length == MSS_LENGTH) {
      optionMss = <u32>bswap<u16>(load<u16>(at, 2));
    } else if (kind == WINDOW_SCALE && length == WINDOW_SCALE_LENGTH) {
      optionWindowScale = min<u32>(<u32>load<u8>(at, 2), 14); // RFC 7323 2.3: larger is taken as 14
    } else if (kind == SACK_PERMITTED) {
      optionSackPermitted = true;
    } else if (kind == SACK) {
      optionSackBlocks = (length - 2) >> 3;
      optionSackAt = at + 2;
    } else if (kind == TIMESTAMPS && length == TIMESTAMPS_LENGTH) {
      optionTimestamps = true;
      optionTsValue = bswap<u32>(load<u32>(at, 2));
      optionTsEcho = bswap<u32>(load<u32>(at, 6));
    }
    at += length;
  }
  return true;
}
