/**
 * libpcap's file format: a 24-byte file header, then records, each a 16-byte header and the
 * packet's captured bytes.
 *
 *   file header  magic u32, version major u16 (2), minor u16 (4), thiszone i32, sigfigs u32,
 *                snaplen u32, link type u32 (the low 16 bits; higher bits may carry FCS facts)
 *   record       seconds u32, fraction u32, caplen u32, wire length u32, then caplen bytes
 *
 * The magic, read in the writer's byte order, gives both the byte order and the fraction's
 * unit: 0xa1b2c3d4 microseconds, 0xa1b23c4d nanoseconds. The file is one interface: 0.
 */
import {
  CAP_ERROR_VALUE, CAP_IFACE_COUNT, CAPTURE_CAPLEN_MAX, CaptureError, CaptureStop, IF_LINK, IF_LINKTYPE, IF_NS_PER_UNIT,
  PKT_DESCRIPTOR,
} from "../shared/abi";
import {
  describe, describeInterface, fail, fileU16, fileU32, iface, lastTime, needMore, setBigEndian, setStateU32, stop, tally,
} from "./state";

const MAGIC_MICRO: u32 = 0xa1b2c3d4;
const MAGIC_NANO: u32 = 0xa1b23c4d;

const FILE_HEADER = 24;
// file header fields
const VERSION_MAJOR = 4;
const SNAPLEN = 16;
const LINKTYPE = 20;

const RECORD_HEADER = 16;
// record header fields
const SECONDS = 0;
const FRACTION = 4;
const CAPLEN = 8;
const WIRELEN = 12;

/** Whether the first four bytes (as loaded, little-endian) are a pcap magic in either byte order. */
export function isPcap(magic: u32): bool {
  return magic == MAGIC_MICRO || magic == MAGIC_NANO || magic == bswap<u32>(MAGIC_MICRO) || magic == bswap<u32>(MAGIC_NANO);
}

/** Reads the file header at `p`: its size, or a negative CaptureError. */
export function pcapBegin(p: usize, length: usize): i32 {
  if (length < <usize>FILE_HEADER) {
    setStateU32(CAP_ERROR_VALUE, FILE_HEADER);
    return -CaptureError.SHORT_HEADER;
  }
  const magic = load<u32>(p);
  setBigEndian(magic == bswap<u32>(MAGIC_MICRO) || magic == bswap<u32>(MAGIC_NANO));
  const major = fileU16(p + VERSION_MAJOR);
  if (major != 2) {
    setStateU32(CAP_ERROR_VALUE, major);
    return -CaptureError.BAD_VERSION;
  }
  const nano = fileU32(p) == MAGIC_NANO;
  describeInterface(0, fileU32(p + LINKTYPE) & 0xffff, fileU32(p + SNAPLEN), nano ? 9 : 6, 0);
  setStateU32(CAP_IFACE_COUNT, 1);
  return FILE_HEADER;
}

/**
 * Walks the whole records in `length` bytes at `chunk`, writing up to `max` descriptors at `out`.
 * Returns the descriptors written; CAP_STOP and CAP_CONSUMED say where and why it stopped.
 */
export function pcapWalk(chunk: usize, length: usize, out: usize, max: i32): i32 {
  const f = iface(0);
  const nsPerFraction = load<u64>(f, IF_NS_PER_UNIT);
  const link = load<u32>(f, IF_LINK);
  const linktype = load<u32>(f, IF_LINKTYPE);
  let p: usize = 0;
  let n = 0;
  let records: u64 = 0;
  let bytes: u64 = 0;
  let time: u64 = lastTime();
  let full = true;
  while (n < max) {
    const r = chunk + p;
    if (length - p < <usize>RECORD_HEADER) {
      needMore(p, RECORD_HEADER);
      full = false;
      break;
    }
    const caplen = fileU32(r + CAPLEN);
    if (caplen > <u32>CAPTURE_CAPLEN_MAX) {
      fail(p, CaptureError.BAD_CAPLEN, caplen);
      full = false;
      break;
    }
    const size = <usize>RECORD_HEADER + <usize>caplen;
    if (length - p < size) {
      needMore(p, <u32>size);
      full = false;
      break;
    }
    time = <u64>fileU32(r + SECONDS) * 1_000_000_000 + <u64>fileU32(r + FRACTION) * nsPerFraction;
    const written = describe(out + <usize>n * <usize>PKT_DESCRIPTOR, r + <usize>RECORD_HEADER, caplen, fileU32(r + WIRELEN), link, linktype, 0, time);
    n += written;
    bytes += written ? caplen : 0;
    records++;
    p += size;
  }
  if (full) stop(CaptureStop.FULL, p);
  tally(records, n, bytes, time);
  return n;
}
