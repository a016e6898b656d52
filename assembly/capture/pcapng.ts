/**
 * pcapng (draft-ietf-opsawg-pcapng): a sequence of blocks,
 *
 *   type u32, total length u32, body, total length u32 (again; a multiple of 4, at least 12)
 *
 * in the byte order of the section they are in. A Section Header Block starts each section and
 * says its byte order; Interface Description Blocks number the section's interfaces from 0 and
 * give each a link type, a snapshot length and a clock (if_tsresol, if_tsoffset); packets come in
 * Enhanced Packet Blocks (interface, 64-bit timestamp, lengths), Simple Packet Blocks (interface
 * 0, no timestamp) or the obsolete Packet Block. Every other block is skipped whole, as the format
 * asks of readers that do not know it.
 *
 * Interfaces are numbered through the file (a section's interface i is PKT_IFACE base + i), so
 * two sections' interfaces 0 stay apart.
 */
import {
  CAP_ERROR_VALUE, CAP_IFACE_BASE, CAP_IFACE_COUNT, CAP_SECTIONS, CAP_SKIP,
  CAP_SKIP_LENGTH, CAP_SKIP_TRAILER, CAP_SKIPPED_BLOCKS, CAPTURE_CAPLEN_MAX, CAPTURE_IFACES_MAX,
  CAPTURE_RECORD_MAX, CaptureError, CaptureStop, IF_LINK, IF_LINKTYPE, IF_SNAPLEN, PKT_DESCRIPTOR,
} from "../shared/abi";
import {
  count, describe, describeInterface, dropped, fail, fileU16, fileU32, fileU64, lastTime, nanoseconds, needMore,
  setBigEndian, setStateU32, stateU32, stop, tally, usableInterface,
} from "./state";

export const SECTION_HEADER: u32 = 0x0a0d0d0a;
const INTERFACE_DESCRIPTION: u32 = 1;
const PACKET: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const NAME_RESOLUTION: u32 = 4;
const INTERFACE_STATISTICS: u32 = 5;
const ENHANCED_PACKET: u32 = 6;
const SYSTEMD_JOURNAL: u32 = 9;
const DECRYPTION_SECRETS: u32 = 10;
const CUSTOM: u32 = 0x00000bad;
const CUSTOM_NO_COPY: u32 = 0x40000bad;

const BYTE_ORDER_MAGIC: u32 = 0x1a2b3c4d;

// block fields
const BLOCK_LENGTH = 4;
/** type, length and the trailing length: the smallest block */
const BLOCK_MIN = 12;
// section header block
const SHB_BYTE_ORDER = 8;
const SHB_MAJOR = 12;
const SHB_SIZE = 28;
// interface description block
const IDB_LINKTYPE = 8;
const IDB_SNAPLEN = 12;
const IDB_OPTIONS = 16;
const IDB_SIZE = 20;
const OPT_END = 0;
const IF_TSRESOL_OPTION = 9;
const IF_TSOFFSET_OPTION = 14;
// enhanced packet block (the obsolete packet block has the same layout with a u16 interface)
const EPB_INTERFACE = 8;
const EPB_TS_HIGH = 12;
const EPB_TS_LOW = 16;
const EPB_CAPLEN = 20;
const EPB_WIRELEN = 24;
const EPB_DATA = 28;
const EPB_SIZE = 32;
// simple packet block
const SPB_WIRELEN = 8;
const SPB_DATA = 12;
const SPB_SIZE = 16;

/**
 * Checks the first section header's byte-order magic (12 bytes at `p`). Consumes nothing: the
 * walk reads the section header as a block. Returns 0 or a negative CaptureError.
 */
export function pcapngBegin(p: usize, length: usize): i32 {
  if (length < <usize>BLOCK_MIN) {
    setStateU32(CAP_ERROR_VALUE, BLOCK_MIN);
    return -CaptureError.SHORT_HEADER;
  }
  const magic = load<u32>(p + SHB_BYTE_ORDER);
  if (magic != BYTE_ORDER_MAGIC && magic != bswap<u32>(BYTE_ORDER_MAGIC)) {
    setStateU32(CAP_ERROR_VALUE, magic);
    return -CaptureError.BAD_BYTE_ORDER;
  }
  return 0;
}

/** Blocks that may be large and are only skipped: they stream through, never read whole. */
function streamable(type: u32): bool {
  return type == NAME_RESOLUTION || type == INTERFACE_STATISTICS || type == SYSTEMD_JOURNAL
    || type == DECRYPTION_SECRETS || type == CUSTOM || type == CUSTOM_NO_COPY;
}

/**
 * Walks the whole blocks in `length` bytes at `chunk`, writing up to `max` descriptors at `out`.
 * Returns the descriptors written; CAP_STOP and CAP_CONSUMED say where and why it stopped.
 */
export function pcapngWalk(chunk: usize, length: usize, out: usize, max: i32): i32 {
  // the rest of a large skipped block from the previous chunk
  const skipped = passSkipped(chunk, length);
  if (skipped < 0) return 0;
  let p = <usize>skipped;
  let n = 0;
  let records: u64 = 0;
  let bytes: u64 = 0;
  let time: u64 = lastTime();
  let described = stateU32(CAP_IFACE_COUNT);
  let base = stateU32(CAP_IFACE_BASE);
  let full = true;
  while (n < max) {
    const b = chunk + p;
    const avail = length - p;
    if (avail < <usize>BLOCK_MIN) {
      needMore(p, BLOCK_MIN);
      full = false;
      break;
    }
    const type = fileU32(b);
    if (type == SECTION_HEADER) {
      // the section's byte order, needed to read even its length
      const magic = load<u32>(b + SHB_BYTE_ORDER);
      if (magic != BYTE_ORDER_MAGIC && magic != bswap<u32>(BYTE_ORDER_MAGIC)) {
        fail(p, CaptureError.BAD_BYTE_ORDER, magic);
        full = false;
        break;
      }
      setBigEndian(magic != BYTE_ORDER_MAGIC);
    }
    const size = fileU32(b + BLOCK_LENGTH);
    if (size < <u32>BLOCK_MIN || (size & 3) != 0) {
      fail(p, CaptureError.BAD_BLOCK_LENGTH, size);
      full = false;
      break;
    }
    if (<usize>size > avail) {
      if (size <= <u32>CAPTURE_RECORD_MAX) {
        needMore(p, size);
      } else if (streamable(type)) {
        startSkip(p, length, size);
        records++;
      } else {
        fail(p, CaptureError.BAD_BLOCK_LENGTH, size);
      }
      full = false;
      break;
    }
    const trailer = fileU32(b + <usize>size - 4);
    if (trailer != size) {
      fail(p, CaptureError.BAD_TRAILER, trailer);
      full = false;
      break;
    }
    let error = CaptureError.NONE;
    let value: u32 = 0;
    // a packet to describe: its interface record, bytes and lengths
    let f: usize = 0;
    let i: u32 = 0;
    let data: usize = 0;
    let caplen: u32 = 0;
    let wirelen: u32 = 0;
    if (type == ENHANCED_PACKET || type == PACKET) {
      if (size < <u32>EPB_SIZE) {
        error = CaptureError.BAD_BLOCK_LENGTH;
        value = size;
      } else {
        caplen = fileU32(b + EPB_CAPLEN);
        if (caplen > <u32>CAPTURE_CAPLEN_MAX || caplen > size - <u32>EPB_SIZE) {
          error = CaptureError.BAD_CAPLEN;
          value = caplen;
        } else {
          i = type == ENHANCED_PACKET ? fileU32(b + EPB_INTERFACE) : fileU16(b + EPB_INTERFACE);
          f = usableInterface(i, described);
          if (f != 0) {
            data = b + EPB_DATA;
            wirelen = fileU32(b + EPB_WIRELEN);
            time = nanoseconds(f, (<u64>fileU32(b + EPB_TS_HIGH) << 32) | <u64>fileU32(b + EPB_TS_LOW));
          }
        }
      }
    } else if (type == SIMPLE_PACKET) {
      if (size < <u32>SPB_SIZE) {
        error = CaptureError.BAD_BLOCK_LENGTH;
        value = size;
      } else {
        f = usableInterface(0, described);
        if (f != 0) {
          // no captured length: the wire length, cut to what the block holds and to the snaplen;
          // no timestamp either: the previous packet's, so that time never runs backwards
          data = b + SPB_DATA;
          wirelen = fileU32(b + SPB_WIRELEN);
          caplen = min(wirelen, size - <u32>SPB_SIZE);
          const snaplen = load<u32>(f, IF_SNAPLEN);
          if (snaplen != 0 && caplen > snaplen) caplen = snaplen;
          if (caplen > <u32>CAPTURE_CAPLEN_MAX) {
            error = CaptureError.BAD_CAPLEN;
            value = caplen;
          }
        }
      }
    } else if (type == INTERFACE_DESCRIPTION) {
      if (size < <u32>IDB_SIZE) {
        error = CaptureError.BAD_BLOCK_LENGTH;
        value = size;
      } else {
        error = readInterface(b, size, described);
        value = stateU32(CAP_ERROR_VALUE);
        described++;
      }
    } else if (type == SECTION_HEADER) {
      if (size < <u32>SHB_SIZE) {
        error = CaptureError.BAD_BLOCK_LENGTH;
        value = size;
      } else if (fileU16(b + SHB_MAJOR) != 1) {
        error = CaptureError.BAD_VERSION;
        value = fileU16(b + SHB_MAJOR);
      } else {
        count(CAP_SECTIONS);
        base += described;
        described = 0;
      }
    } else {
      count(CAP_SKIPPED_BLOCKS);
    }
    if (error != CaptureError.NONE) {
      fail(p, error, value);
      full = false;
      break;
    }
    if (type == ENHANCED_PACKET || type == PACKET || type == SIMPLE_PACKET) {
      // a packet on an interface the section never described has no link type: drop it
      if (f == 0) {
        dropped();
      } else {
        const written = describe(out + <usize>n * <usize>PKT_DESCRIPTOR, data, caplen, wirelen, load<u32>(f, IF_LINK), load<u32>(f, IF_LINKTYPE), base + i, time);
        n += written;
        bytes += written ? caplen : 0;
      }
    }
    records++;
    p += size;
  }
  if (full) stop(CaptureStop.FULL, p);
  setStateU32(CAP_IFACE_COUNT, described);
  setStateU32(CAP_IFACE_BASE, base);
  tally(records, n, bytes, time);
  return n;
}

/**
 * Reads interface `i`'s description from the IDB at `b`: link type, snaplen and the options
 * that set its clock (if_tsresol, default microseconds; if_tsoffset, default 0).
 */
function readInterface(b: usize, size: u32, i: u32): CaptureError {
  let tsresol: u32 = 6;
  let offset: i64 = 0;
  const end = b + <usize>size - 4;
  let o = b + <usize>IDB_OPTIONS;
  while (o + 4 <= end) {
    const code = fileU16(o);
    const length = fileU16(o + 2);
    if (code == OPT_END) break;
    if (o + 4 + <usize>length > end) {
      setStateU32(CAP_ERROR_VALUE, code);
      return CaptureError.BAD_OPTION;
    }
    if (code == IF_TSRESOL_OPTION && length >= 1) tsresol = load<u8>(o + 4);
    if (code == IF_TSOFFSET_OPTION && length >= 8) offset = <i64>fileU64(o + 4);
    o += 4 + ((<usize>length + 3) & ~3);
  }
  if (i >= <u32>CAPTURE_IFACES_MAX) return CaptureError.NONE;
  if (!describeInterface(i, fileU16(b + IDB_LINKTYPE), fileU32(b + IDB_SNAPLEN), tsresol, offset)) {
    setStateU32(CAP_ERROR_VALUE, tsresol);
    return CaptureError.BAD_TSRESOL;
  }
  return CaptureError.NONE;
}

/**
 * Starts streaming through a skipped block of `size` bytes at `p` that the chunk does not hold:
 * consumes what the chunk has of it up to its trailing length, and leaves the rest to
 * passSkipped on the next chunks, which checks the trailing length when it arrives.
 */
function startSkip(p: usize, length: usize, size: u32): void {
  const body = <usize>size - 4;
  const take = min(length - p, body);
  count(CAP_SKIPPED_BLOCKS);
  setStateU32(CAP_SKIP, <u32>(body - take));
  setStateU32(CAP_SKIP_TRAILER, 1);
  setStateU32(CAP_SKIP_LENGTH, size);
  needMore(p + take, size);
}

/**
 * Passes over the rest of a streamed block at the start of a chunk. Returns the bytes it used
 * (0 when no block was being skipped), or -1 when the walk stopped (more needed, or a bad
 * trailing length).
 */
function passSkipped(chunk: usize, length: usize): i32 {
  if (stateU32(CAP_SKIP_TRAILER) == 0) return 0;
  const rest = <usize>stateU32(CAP_SKIP);
  const take = min(length, rest);
  setStateU32(CAP_SKIP, <u32>(rest - take));
  if (rest > take || length - take < 4) {
    needMore(take, rest > take ? stateU32(CAP_SKIP_LENGTH) : 4);
    return -1;
  }
  const trailer = fileU32(chunk + take);
  if (trailer != stateU32(CAP_SKIP_LENGTH)) {
    fail(take, CaptureError.BAD_TRAILER, trailer);
    return -1;
  }
  setStateU32(CAP_SKIP_TRAILER, 0);
  return <i32>(take + 4);
}
