/**
 * The contract between the WebAssembly engine and its TypeScript host: enums and the memory plan.
 *
 * This file is plain TypeScript that both compilers accept (asc for assembly/, tsc and esbuild for
 * host/), so every number here is written once and read by both sides. It holds constants and
 * const enums only: each side has its own number types, so functions live on each side.
 *
 * ## Memory plan of one engine (one WebAssembly instance, one core)
 *
 * The hot path touches only the fixed regions below and buffers the host allocated at
 * configuration time; nothing is allocated while packets flow. The fixed regions sit under
 * `memoryBase` (asconfig.json), so the compiler's static data and the heap start above them and the
 * kernels can name table addresses as load/store immediates.
 *
 *   start     end       region
 *   0x00000   0x003ff   never used: address 0 is the null pointer
 *   0x00400   0x006ff   SCRATCH        one 16-tuple group transposed to byte vectors (48 x v128)
 *   0x00700   0x007ff   STAGE          the transpose's half-way point (16 x v128)
 *   0x00800   0x0087f   RSS_KEY        the RSS key, bytes, zero-filled past its length
 *   0x00880   0x008bf   TUPLE_TMP      one tuple after the input transform (scalar path)
 *   0x00a00   0x00e7f   RSS_COLUMNS    the hash of each single input bit: 288 x u32, the GF(2) matrix
 *   0x01000   0x09fff   BYTE_TABLES    per input byte position j < 36: 256 x u32 (the scalar path)
 *   0x0a000   0x0b1ff   NIBBLE_TABLES  per input byte position: 2 nibbles x 4 hash bytes x 16 (SIMD)
 *   0x0c000   0x0dfff   RETA           indirection table: u16 queue per entry, up to 4096 entries
 *   0x0e000   0x0e7ff   QUEUE_CORE     queue -> core map: u16 per queue, up to 1024 queues
 *   0x10000   0x10fff   CAPTURE_STATE  capture walker state: format, byte order, counters, interfaces
 *                                          (layout: CAP_* below)
 *   0x11000   0x11fff   FLOW_STATE     flow engine counters and parameters
 *   0x12000   0x12fff   POOL_STATE     port pool parameters
 *   0x13000   0x1ffff   reserved for later fixed regions
 *   0x20000   ...       MEMORY_BASE: compiler static data, then the heap (configuration-time buffers)
 */

// ---- enums (the numbers cross the boundary) ----

/** Which packet fields feed the hash, in the order NICs concatenate them (network byte order). */
export const enum FieldSet {
  /** source address, destination address: 8 bytes */
  IPV4 = 0,
  /** + source port, destination port: 12 bytes */
  IPV4_L4 = 1,
  /** source address, destination address: 32 bytes */
  IPV6 = 2,
  /** + source port, destination port: 36 bytes */
  IPV6_L4 = 3,
}

/** ethtool's `hfunc`. */
export const enum HashFunction {
  TOEPLITZ = 0,
  /** XOR of the input's big-endian 32-bit words (linear over GF(2), key unused). */
  XOR = 1,
}

/** ethtool's `xfrm`: input transforms applied to each source/destination field pair. */
export const enum InputTransform {
  NONE = 0,
  /** (src, dst) -> (src ^ dst, src ^ dst) */
  SYMMETRIC_XOR = 1,
  /** (src, dst) -> (src | dst, src ^ dst) */
  SYMMETRIC_OR_XOR = 2,
}

/** Status codes returned by configuration calls (0 is success). */
export const enum Status {
  OK = 0,
  /** the key is shorter than input length + 4 bytes for some field set in use */
  KEY_TOO_SHORT = 1,
  /** a size is not a power of two or is out of range */
  BAD_SIZE = 2,
  /** a table entry names a queue at or above the queue count */
  BAD_QUEUE = 3,
  /** an enum value out of range */
  BAD_ARGUMENT = 4,
}

/** Link types, with pcap's LINKTYPE_* numbers. */
export const enum LinkType {
  ETHERNET = 1,
  /** raw IPv4 or IPv6, version from the first nibble */
  RAW = 101,
}

// ---- packet descriptors ----
//
// Every source (a capture chunk walked in WASM, a ring filled by the dispatcher or by DPDK, the
// synthetic generator) hands packets to an engine as an array of 32-byte descriptors. The bytes a
// descriptor points at stay in place: nothing is copied to describe a packet.

/** u32: address of the packet's first byte (link layer) in engine memory */
export const PKT_DATA = 0;
/** u32: bytes captured (readable at PKT_DATA) */
export const PKT_CAPLEN = 4;
/** u32: bytes on the wire (>= caplen) */
export const PKT_WIRELEN = 8;
/** u16: LinkType */
export const PKT_LINKTYPE = 12;
/** u16: interface (pcapng) or port the packet came in on */
export const PKT_IFACE = 14;
/** u64: timestamp, nanoseconds since the Unix epoch */
export const PKT_TIMESTAMP = 16;
/** u32: RSS hash when the dispatcher or NIC computed one */
export const PKT_HASH = 24;
/** u16: receive queue, when known */
export const PKT_QUEUE = 28;
/** u16: PacketFlag bits */
export const PKT_FLAGS = 30;
export const PKT_DESCRIPTOR = 32;

export const enum PacketFlag {
  /** PKT_HASH holds a hash */
  HASHED = 1,
}

// ---- limits ----

/** Longest hash input: IPv6 addresses and ports. */
export const INPUT_MAX = 36;
/** Longest key accepted (NICs use 40 or 52). */
export const KEY_MAX = 128;
/** Largest indirection table. */
export const RETA_MAX = 4096;
/** Most queues (and so most cores) a table may name. */
export const QUEUES_MAX = 1024;
/** Tuples the SIMD kernel hashes per step. */
export const GROUP = 16;

// ---- fixed regions ----

export const SCRATCH = 0x00400;
export const STAGE = 0x00700;
export const RSS_KEY = 0x00800;
export const TUPLE_TMP = 0x00880;
export const RSS_COLUMNS = 0x00a00;
export const BYTE_TABLES = 0x01000;
export const NIBBLE_TABLES = 0x0a000;
export const RETA = 0x0c000;
export const QUEUE_CORE = 0x0e000;
/** Must equal asconfig.json's memoryBase. */
export const MEMORY_BASE = 0x20000;

/** Bytes of hash input per field set (addresses, then ports). */
export const IPV4_INPUT = 8;
export const IPV4_L4_INPUT = 12;
export const IPV6_INPUT = 32;
export const IPV6_L4_INPUT = 36;

// ---- capture files (assembly/capture) ----
//
// The host reads a capture file in large chunks into a buffer in engine memory; the walker
// recognises the file header (captureBegin), then walks whole records (captureWalk), writing a
// packet descriptor for each packet whose link type an engine parses, and stops at the first
// record the chunk does not hold whole. Its state lives in CAPTURE_STATE so that the host can
// read counters and the reason for a stop without a call.

export const enum CaptureFormat {
  NONE = 0,
  /** libpcap's format: one header, then 16-byte record headers */
  PCAP = 1,
  /** pcapng: blocks, sections, interfaces */
  PCAPNG = 2,
}

/** Why captureWalk returned (CAP_STOP). */
export const enum CaptureStop {
  /** the descriptor array is full: call again with the rest of the chunk */
  FULL = 0,
  /** the chunk ends inside a record: call again with more bytes (at the end of the file: cut short) */
  NEED_MORE = 1,
  /** a damaged record: CAP_ERROR says which check failed, CAP_ERROR_VALUE the value */
  ERROR = 2,
}

/** What was wrong (CAP_ERROR); CAP_ERROR_VALUE holds the offending value. */
export const enum CaptureError {
  NONE = 0,
  /** the first four bytes are no pcap or pcapng magic (value: those bytes, big-endian) */
  NOT_CAPTURE = 1,
  /** the data ends inside the file header (value: bytes the header needs) */
  SHORT_HEADER = 2,
  /** a format version this reader does not know (value: the major version) */
  BAD_VERSION = 3,
  /** a captured length over CAPTURE_CAPLEN_MAX, or past the end of its block (value: the length) */
  BAD_CAPLEN = 4,
  /** a pcapng block length under 12, not a multiple of 4, or over CAPTURE_RECORD_MAX for a block
   *  that must be read whole (value: the length) */
  BAD_BLOCK_LENGTH = 5,
  /** a pcapng block's trailing length differs from its leading one (value: the trailing one) */
  BAD_TRAILER = 6,
  /** a pcapng option that runs past the end of its block (value: the option code) */
  BAD_OPTION = 7,
  /** an if_tsresol whose unit a 64-bit count cannot hold (value: the option byte) */
  BAD_TSRESOL = 8,
  /** a section header whose byte-order magic is neither order (value: as read little-endian) */
  BAD_BYTE_ORDER = 9,
}

/** Largest captured length a record may have: libpcap's MAXIMUM_SNAPLEN. */
export const CAPTURE_CAPLEN_MAX = 262144;
/**
 * Largest record the walker needs whole in one chunk: a packet of CAPTURE_CAPLEN_MAX with its
 * block header and up to 64 KiB of options. The host keeps this much room past each chunk, so a
 * record never waits for bytes that cannot come. Larger blocks the walker only skips stream through.
 */
export const CAPTURE_RECORD_MAX = 0x50000;
/** pcapng interfaces one section may describe; packets on others are counted in CAP_DROPPED. */
export const CAPTURE_IFACES_MAX = 64;
/** Distinct unsupported link types counted one by one (CAP_UNSUPPORTED_TYPES). */
export const CAPTURE_UNSUPPORTED_MAX = 16;

export const CAPTURE_STATE = 0x10000;
// CAPTURE_STATE layout: byte offsets; u32 unless noted. The file's integers are converted to
// native order as they are read; nothing here is in the file's byte order.
/** CaptureFormat */
export const CAP_FORMAT = 0;
/** 1 when the current section (pcap: the file) is big-endian */
export const CAP_BIG_ENDIAN = 4;
/** CaptureStop of the last captureWalk */
export const CAP_STOP = 8;
/** bytes of its chunk the last call consumed (whole records, plus any block it skipped) */
export const CAP_CONSUMED = 12;
/** CaptureError, when CAP_STOP is ERROR or captureBegin failed */
export const CAP_ERROR = 16;
export const CAP_ERROR_VALUE = 20;
/** when CAP_STOP is NEED_MORE: the bytes the waiting record (or its header) needs in all */
export const CAP_PENDING = 24;
/** bytes of a large skipped block still to pass over (the walk streams through them) */
export const CAP_SKIP = 28;
/** sections seen (pcapng) */
export const CAP_SECTIONS = 32;
/** interfaces described before the current section: its interface i is PKT_IFACE base + i */
export const CAP_IFACE_BASE = 36;
/** interfaces the current section described so far */
export const CAP_IFACE_COUNT = 40;
/** 1 while a skipped block's trailing length is still to be checked */
export const CAP_SKIP_TRAILER = 44;
/** the leading length of that block */
export const CAP_SKIP_LENGTH = 48;
/** u64: records walked (packets and other pcapng blocks) */
export const CAP_RECORDS = 64;
/** u64: packets described */
export const CAP_PACKETS = 72;
/** u64: captured bytes of the packets described */
export const CAP_BYTES = 80;
/** u64: packets not described because their link type is not one an engine parses */
export const CAP_UNSUPPORTED = 88;
/** u64: pcapng blocks skipped (neither packets nor descriptions a reader needs) */
export const CAP_SKIPPED_BLOCKS = 96;
/** u64: packets dropped because their interface was never described (or beyond CAPTURE_IFACES_MAX) */
export const CAP_DROPPED = 104;
/** u64: the last packet's timestamp (a simple packet block, which has none, takes it) */
export const CAP_LAST_TIME = 112;
/** CAPTURE_UNSUPPORTED_MAX pairs of u32 (link type, packets): which link types were skipped */
export const CAP_UNSUPPORTED_TYPES = 128;
/** CAPTURE_IFACES_MAX interface records of CAP_IFACE_SIZE bytes, the current section's */
export const CAP_IFACES = 256;
export const CAP_IFACE_SIZE = 48;
// interface record layout
/** u32: link type as the file gives it */
export const IF_LINKTYPE = 0;
/** u32: LinkType an engine parses it as, 0 when none */
export const IF_LINK = 4;
/** u32: snapshot length (0: none) */
export const IF_SNAPLEN = 8;
/** u32: if_tsresol as the file gives it (pcap: 6 or 9) */
export const IF_TSRESOL = 12;
/** u64: for a power of 10 up to 10^-9: nanoseconds per unit */
export const IF_NS_PER_UNIT = 16;
/** u64: for a power of 10 past 10^-9: units per nanosecond (0 otherwise) */
export const IF_UNITS_PER_NS = 24;
/** u32: for a power of 2: the exponent (units are 2^-shift s), 0xff otherwise */
export const IF_SHIFT = 32;
/** i64: if_tsoffset, seconds added to every timestamp */
export const IF_OFFSET = 40;
