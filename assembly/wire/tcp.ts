/**
 * TCP headers (RFC 9293 section 3.1) and the options an observer and an endpoint need: MSS
 * (kind 2), window scale (3, RFC 7323), SACK-permitted (4) and SACK blocks (5, RFC 2018),
 * timestamps (8, RFC 7323). Parsing (check, parseOptions) and building (emit*) side by side.
 */
import { fold, sumWords } from "./checksum";

// Field offsets.
const SOURCE_PORT = 0; // u16
const DESTINATION_PORT = 2; // u16
const SEQUENCE = 4; // u32
const ACKNOWLEDGMENT = 8; // u32
const DATA_OFFSET = 12; // u8: header length in 32-bit words, high 4 bits
const FLAGS = 13; // u8: CWR ECE URG ACK PSH RST SYN FIN
const WINDOW = 14; // u16
const CHECKSUM = 16; // u16
const URGENT = 18; // u16
export const HEADER_LENGTH = 20;
/** The longest header: data offset 15 words. */
export const HEADER_MAX = 60;

export const FIN: u32 = 0x01;
export const SYN: u32 = 0x02;
export const RST: u32 = 0x04;
export const PSH: u32 = 0x08;
export const ACK: u32 = 0x10;

// Sequence space (RFC 9293 section 3.4): comparisons modulo 2^32, a before b when b - a, taken
// as a signed 32-bit number, is positive. Shared by the observer (flow/) and the endpoint (tcp/).
// @ts-ignore: decorator
@inline export function seqLt(a: u32, b: u32): bool { return <i32>(a - b) < 0; }
// @ts-ignore: decorator
@inline export function seqLe(a: u32, b: u32): bool { return <i32>(a - b) <= 0; }
// @ts-ignore: decorator
@inline export function seqGt(a: u32, b: u32): bool { return <i32>(a - b) > 0; }
// @ts-ignore: decorator
@inline export function seqGe(a: u32, b: u32): bool { return <i32>(a - b) >= 0; }
/** The later of two sequence numbers. */
// @ts-ignore: decorator
@inline export function seqMax(a: u32, b: u32): u32 { return seqGt(a, b) ? a : b; }

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
// @ts-ignore: decorator
@inline export function check(p: usize, captured: u32, length: u32): i32 {
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
const SACK_PERMITTED_LENGTH = 2;
/** SACK blocks an option can carry next to timestamps (RFC 2018 3: 40 - 12 - 2 bytes). */
export const SACK_BLOCKS_MAX = 3;

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

/** NOP, NOP, timestamps (kind 8, length 10) as one little-endian u32: RFC 7323 appendix A's layout. */
const NOP_NOP_TIMESTAMPS: u32 = 0x0a080101;

/**
 * Reads the options of the segment at `p` (header already checked). Returns false when an option
 * runs past the header or has a length below 2 (what was read before it is kept). No options,
 * and the layout nearly every segment after the handshake carries (NOP, NOP, timestamps), are
 * recognised without walking the list.
 */
// @ts-ignore: decorator
@inline export function parseOptions(p: usize): bool {
  optionMss = 0;
  optionWindowScale = 0xff;
  optionSackPermitted = false;
  optionSackBlocks = 0;
  optionTimestamps = false;
  const header = headerLength(p);
  if (header == <u32>HEADER_LENGTH) return true;
  if (header == <u32>HEADER_LENGTH + 12 && load<u32>(p + HEADER_LENGTH) == NOP_NOP_TIMESTAMPS) {
    optionTimestamps = true;
    optionTsValue = bswap<u32>(load<u32>(p + HEADER_LENGTH, 4));
    optionTsEcho = bswap<u32>(load<u32>(p + HEADER_LENGTH, 8));
    return true;
  }
  return parseOptionList(p);
}

function parseOptionList(p: usize): bool {
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

// ---- emit: the mirror of check and parseOptions ----

/**
 * Writes a header at `p`: ports, sequence and acknowledgment numbers (host order values), data
 * offset for `headerLength` bytes (20 + options, a multiple of 4), `flags`, `window` (already
 * scaled down), checksum and urgent pointer 0. Options go at p + HEADER_LENGTH (emit* below).
 */
// @ts-ignore: decorator
@inline export function emitHeader(p: usize, srcPort: u32, dstPort: u32, seq: u32, ack: u32, flags: u32, window: u32, headerLength: u32): void {
  store<u32>(p + SOURCE_PORT, <u32>bswap<u16>(<u16>srcPort) | (<u32>bswap<u16>(<u16>dstPort) << 16));
  store<u32>(p + SEQUENCE, bswap<u32>(seq));
  store<u32>(p + ACKNOWLEDGMENT, bswap<u32>(ack));
  store<u8>(p + DATA_OFFSET, <u8>((headerLength >> 2) << 4));
  store<u8>(p + FLAGS, <u8>flags);
  store<u16>(p + WINDOW, bswap<u16>(<u16>window));
  store<u32>(p + CHECKSUM, 0); // checksum and urgent pointer
}

/**
 * SYN options at `at`, as Linux lays them out: MSS; SACK-permitted with timestamps (or NOP, NOP,
 * timestamps, or NOP, NOP, SACK-permitted); NOP, window scale. Returns their length (a multiple
 * of 4: at most 20).
 */
export function emitSynOptions(at: usize, mss: u32, sackPermitted: bool, timestamps: bool, tsValue: u32, tsEcho: u32, windowScale: i32): u32 {
  store<u32>(at, <u32>MSS | (MSS_LENGTH << 8) | (<u32>bswap<u16>(<u16>mss) << 16));
  let n: u32 = 4;
  if (timestamps) {
    if (sackPermitted) store<u16>(at + n, <u16>(SACK_PERMITTED | (SACK_PERMITTED_LENGTH << 8)));
    else store<u16>(at + n, <u16>(NOP | (NOP << 8)));
    store<u16>(at + n + 2, <u16>(TIMESTAMPS | (TIMESTAMPS_LENGTH << 8)));
    store<u32>(at + n + 4, bswap<u32>(tsValue));
    store<u32>(at + n + 8, bswap<u32>(tsEcho));
    n += 12;
  } else if (sackPermitted) {
    store<u32>(at + n, <u32>NOP | (<u32>NOP << 8) | (<u32>SACK_PERMITTED << 16) | (SACK_PERMITTED_LENGTH << 24));
    n += 4;
  }
  if (windowScale >= 0) {
    store<u32>(at + n, <u32>NOP | (<u32>WINDOW_SCALE << 8) | (WINDOW_SCALE_LENGTH << 16) | (<u32>windowScale << 24));
    n += 4;
  }
  return n;
}

/** NOP, NOP, timestamps at `at` (RFC 7323 appendix A). Returns 12. */
// @ts-ignore: decorator
@inline export function emitTimestamps(at: usize, tsValue: u32, tsEcho: u32): u32 {
  store<u32>(at, NOP_NOP_TIMESTAMPS);
  store<u32>(at + 4, bswap<u32>(tsValue));
  store<u32>(at + 8, bswap<u32>(tsEcho));
  return 12;
}

/**
 * NOP, NOP, SACK with `count` blocks (left, right edge pairs of u32 host-order values read at
 * `blocks`) at `at`. Returns 4 + 8 * count.
 */
export function emitSack(at: usize, blocks: usize, count: u32): u32 {
  store<u32>(at, <u32>NOP | (<u32>NOP << 8) | (<u32>SACK << 16) | ((2 + (count << 3)) << 24));
  for (let i: u32 = 0; i < count; i++) {
    store<u32>(at + 4 + (i << 3), bswap<u32>(load<u32>(blocks + (i << 3))));
    store<u32>(at + 8 + (i << 3), bswap<u32>(load<u32>(blocks + (i << 3), 4)));
  }
  return 4 + (count << 3);
}

/** Writes the checksum of the `length`-byte segment at `p` whose pseudo-header sum is `pseudo`. */
// @ts-ignore: decorator
@inline export function fillChecksum(p: usize, length: u32, pseudo: u64): void {
  store<u16>(p + CHECKSUM, 0);
  store<u16>(p + CHECKSUM, <u16>~fold(pseudo + sumWords(p, length)));
}

/** The left edge of SACK block i of the last parsed segment (i < optionSackBlocks). */
// @ts-ignore: decorator
@inline export function sackLeft(i: u32): u32 { return bswap<u32>(load<u32>(optionSackAt + (<usize>i << 3))); }
// @ts-ignore: decorator
@inline export function sackRight(i: u32): u32 { return bswap<u32>(load<u32>(optionSackAt + (<usize>i << 3), 4)); }
