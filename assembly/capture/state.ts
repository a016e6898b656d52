/**
 * What the pcap and pcapng walkers share: their state in CAPTURE_STATE (layout in
 * shared/abi.ts), integers read in the file's byte order, interfaces and their clocks, and the
 * packet descriptor they write.
 */
import {
  CAP_BIG_ENDIAN, CAP_BYTES, CAP_RECORDS, CAP_CONSUMED, CAP_DROPPED, CAP_ERROR, CAP_ERROR_VALUE, CAP_IFACE_SIZE,
  CAP_IFACES, CAP_LAST_TIME, CAP_PACKETS, CAP_PENDING, CAP_STOP, CAP_UNSUPPORTED,
  CAP_UNSUPPORTED_TYPES, CAPTURE_IFACES_MAX, CAPTURE_STATE, CAPTURE_UNSUPPORTED_MAX, CaptureError,
  CaptureStop, IF_LINK, IF_LINK_NONE, IF_LINKTYPE, IF_NS_PER_UNIT, IF_OFFSET, IF_SHIFT, IF_SNAPLEN, IF_TSRESOL,
  IF_UNITS_PER_NS, LinkType, PKT_CAPLEN, PKT_DATA, PKT_HASH, PKT_IFACE, PKT_LINKTYPE, PKT_TIMESTAMP,
  PKT_WIRELEN,
} from "../shared/abi";

// ---- the file's byte order ----

/** The current section's byte order, cached from CAP_BIG_ENDIAN for the record loops. */
let bigEndian = false;

export function setBigEndian(big: bool): void {
  bigEndian = big;
  store<u32>(CAPTURE_STATE + CAP_BIG_ENDIAN, big ? 1 : 0);
}

/**
 * Takes the byte order from CAP_BIG_ENDIAN again: CAPTURE_STATE is the walk's whole state, and
 * another engine's may have been copied in to go on with its walk.
 */
export function loadBigEndian(): void {
  bigEndian = load<u32>(CAPTURE_STATE + CAP_BIG_ENDIAN) != 0;
}

/** u32 at `p` in the file's byte order. */
// @ts-ignore: decorator
@inline export function fileU32(p: usize): u32 {
  const v = load<u32>(p);
  return bigEndian ? bswap<u32>(v) : v;
}

// @ts-ignore: decorator
@inline export function fileU16(p: usize): u32 {
  const v = load<u16>(p);
  return <u32>(bigEndian ? bswap<u16>(v) : v);
}

// @ts-ignore: decorator
@inline export function fileU64(p: usize): u64 {
  const v = load<u64>(p);
  return bigEndian ? bswap<u64>(v) : v;
}

// ---- state words ----

// @ts-ignore: decorator
@inline export function stateU32(field: i32): u32 {
  return load<u32>(<usize>(CAPTURE_STATE + field));
}

// @ts-ignore: decorator
@inline export function setStateU32(field: i32, value: u32): void {
  store<u32>(<usize>(CAPTURE_STATE + field), value);
}

// @ts-ignore: decorator
@inline export function count(field: i32, n: u64 = 1): void {
  const p = <usize>(CAPTURE_STATE + field);
  store<u64>(p, load<u64>(p) + n);
}

/** Ends a walk call: why, and how many bytes of the chunk it took. */
// @ts-ignore: decorator
@inline export function stop(why: CaptureStop, consumed: usize): void {
  setStateU32(CAP_STOP, why);
  setStateU32(CAP_CONSUMED, <u32>consumed);
}

/** Ends a walk call waiting for a record of `pending` bytes (or its header) at `consumed`. */
export function needMore(consumed: usize, pending: u32): void {
  setStateU32(CAP_PENDING, pending);
  stop(CaptureStop.NEED_MORE, consumed);
}

/** Ends the walk on a damaged record at `consumed`. */
export function fail(consumed: usize, error: CaptureError, value: u32): void {
  setStateU32(CAP_ERROR, error);
  setStateU32(CAP_ERROR_VALUE, value);
  stop(CaptureStop.ERROR, consumed);
}

// ---- interfaces and their clocks ----

/** Address of interface record `i` of the current section (i < CAPTURE_IFACES_MAX). */
// @ts-ignore: decorator
@inline export function iface(i: u32): usize {
  return <usize>CAPTURE_STATE + <usize>CAP_IFACES + <usize>i * <usize>CAP_IFACE_SIZE;
}

/** The LinkType an engine parses a file's link type as; IF_LINK_NONE when it parses none. */
export function linkOf(linktype: u32): u32 {
  switch (linktype) {
    case LinkType.ETHERNET: case LinkType.NULL: case LinkType.LOOP: case LinkType.PPP: case LinkType.PPP_HDLC:
    case LinkType.LINUX_SLL: case LinkType.LINUX_SLL2:
      return linktype;
    // LINKTYPE_RAW; DLT_RAW as most systems (12) and OpenBSD (14) number it; LINKTYPE_IPV4, _IPV6
    case LinkType.RAW: case 12: case 14: case 228: case 229: return LinkType.RAW;
    default: return IF_LINK_NONE;
  }
}

/**
 * Sets interface `i`'s link type, snapshot length and clock. `tsresol` is pcapng's if_tsresol:
 * bit 7 clear, units of 10^-n s; set, units of 2^-n s (n = the low 7 bits). Returns false when
 * the unit is too small for a 64-bit count to mean anything (10^-20 s and below).
 */
export function describeInterface(i: u32, linktype: u32, snaplen: u32, tsresol: u32, offset: i64): bool {
  const f = iface(i);
  const n = tsresol & 0x7f;
  store<u32>(f, linktype, IF_LINKTYPE);
  store<u32>(f, linkOf(linktype), IF_LINK);
  store<u32>(f, snaplen, IF_SNAPLEN);
  store<u32>(f, tsresol, IF_TSRESOL);
  store<i64>(f, offset, IF_OFFSET);
  store<u64>(f, 0, IF_NS_PER_UNIT);
  store<u64>(f, 0, IF_UNITS_PER_NS);
  store<u32>(f, 0xff, IF_SHIFT);
  if (tsresol & 0x80) {
    store<u32>(f, n, IF_SHIFT);
  } else if (n <= 9) {
    store<u64>(f, pow10(9 - n), IF_NS_PER_UNIT);
  } else if (n <= 19) {
    store<u64>(f, pow10(n - 9), IF_UNITS_PER_NS);
  } else {
    return false;
  }
  return true;
}

function pow10(n: u32): u64 {
  let x: u64 = 1;
  for (let k: u32 = 0; k < n; k++) x *= 10;
  return x;
}

/**
 * Nanoseconds since the epoch of a timestamp of `units` in interface `f`'s clock, rounded down,
 * plus its if_tsoffset. For units of 2^-k s, frac * 10^9 can pass 64 bits when k > 34: the
 * product is then formed from the fraction's 32-bit halves, each times 10^9 under 2^62.
 */
export function nanoseconds(f: usize, units: u64): u64 {
  const offset = <u64>(load<i64>(f, IF_OFFSET) * 1_000_000_000);
  const perUnit = load<u64>(f, IF_NS_PER_UNIT);
  if (perUnit) return units * perUnit + offset;
  const perNs = load<u64>(f, IF_UNITS_PER_NS);
  if (perNs) return units / perNs + offset;
  const k = <u64>load<u32>(f, IF_SHIFT);
  const seconds = k < 64 ? units >> k : 0;
  const frac = k < 64 ? units & ((<u64>1 << k) - 1) : units;
  let ns: u64;
  if (k <= 34) {
    ns = (frac * 1_000_000_000) >> k;
  } else if (k < 96) {
    // floor((hi * 2^32 + lo) * 10^9 / 2^k) = floor((hi * 10^9 + floor(lo * 10^9 / 2^32)) / 2^(k-32))
    const hi = (frac >> 32) * 1_000_000_000;
    const lo = ((frac & 0xffffffff) * 1_000_000_000) >> 32;
    ns = (hi + lo) >> (k - 32);
  } else {
    ns = 0;
  }
  return seconds * 1_000_000_000 + ns + offset;
}

// ---- descriptors and counters ----

/**
 * Writes the descriptor of a packet of `caplen` bytes at `data` (wire length at least caplen) on
 * an interface whose LinkType is `link`; when that is IF_LINK_NONE (no engine parses the file's `linktype`),
 * counts the packet instead and writes nothing. Returns the descriptors written (0 or 1). The
 * caller counts packets, bytes and the last time in locals: this is the per-packet path.
 */
// @ts-ignore: decorator
@inline export function describe(out: usize, data: usize, caplen: u32, wirelen: u32, link: u32, linktype: u32, ifaceId: u32, time: u64): i32 {
  if (link == IF_LINK_NONE) {
    unsupported(linktype);
    return 0;
  }
  store<u32>(out, <u32>data, PKT_DATA);
  store<u32>(out, caplen, PKT_CAPLEN);
  store<u32>(out, wirelen > caplen ? wirelen : caplen, PKT_WIRELEN);
  store<u16>(out, <u16>link, PKT_LINKTYPE);
  store<u16>(out, <u16>ifaceId, PKT_IFACE);
  store<u64>(out, time, PKT_TIMESTAMP);
  // hash, queue and flags: nobody has looked at the packet yet
  store<u64>(out, 0, PKT_HASH);
  return 1;
}

/** Adds a walk call's tallies to the counters. */
export function tally(records: u64, packets: u64, bytes: u64, lastTime: u64): void {
  count(CAP_RECORDS, records);
  count(CAP_PACKETS, packets);
  count(CAP_BYTES, bytes);
  store<u64>(<usize>(CAPTURE_STATE + CAP_LAST_TIME), lastTime);
}

/** The time of the last packet walked (0 before any). */
export function lastTime(): u64 {
  return load<u64>(<usize>(CAPTURE_STATE + CAP_LAST_TIME));
}

/** Counts a packet of a link type no engine parses, by link type (the first few distinct ones). */
function unsupported(linktype: u32): void {
  count(CAP_UNSUPPORTED);
  for (let i = 0; i < CAPTURE_UNSUPPORTED_MAX; i++) {
    const e = <usize>(CAPTURE_STATE + CAP_UNSUPPORTED_TYPES + (i << 3));
    const n = load<u32>(e, 4);
    if (n == 0) store<u32>(e, linktype);
    if (n == 0 || load<u32>(e) == linktype) {
      store<u32>(e, n + 1, 4);
      return;
    }
  }
}

/** Counts a packet dropped because its interface was never described. */
export function dropped(): void {
  count(CAP_DROPPED);
}

/** The interface record for section interface `i`, or 0 when there is none to use. */
// @ts-ignore: decorator
@inline export function usableInterface(i: u32, described: u32): usize {
  return i < described && i < <u32>CAPTURE_IFACES_MAX ? iface(i) : 0;
}

/** Clears the state for a new file. */
export function resetState(): void {
  memory.fill(<usize>CAPTURE_STATE, 0, <usize>CAP_IFACES);
  bigEndian = false;
}
