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
 *   0x10000   0x10fff   CAPTURE_STATE  capture walker state: format, byte order, pcapng interfaces
 *   0x11000   0x11fff   FLOW_STATE     flow engine counters and parameters
 *   0x12000   0x12fff   POOL_STATE     port pools: the return tuple a pool is built from (host writes
 *                                      it before poolCreate), then the pool's scratch (steering heap)
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

// ---- port pools (assembly/pool) ----
//
// A pool's own state (bitmaps per core, tables) lives in heap buffers poolCreate allocates at
// configuration time; POOL_STATE holds only what crosses the boundary to create one.

export const POOL_STATE = 0x12000;
/** The return tuple a pool is built from, field-set input bytes in network order: source = the
 *  peer (address, port), destination = the first local address, destination port 0. */
export const POOL_TUPLE = POOL_STATE;

/** Largest slot space per core: source addresses x the power-of-two port span (2^24 slots, so
 *  four 64-ary bitmap levels end in one summary word and no search ever loops). */
export const POOL_SLOTS_MAX = 1 << 24;

/**
 * What pool calls return, negated (a non-negative result is a slot or a core). The host turns
 * each into an RssplaneError with the errno name given here.
 */
export const enum PoolStatus {
  /** EADDRNOTAVAIL: no free port left (mTCP's connect() says EAGAIN) */
  EXHAUSTED = 1,
  /** EADDRINUSE: reserve() of a port that is handed out already */
  IN_USE = 2,
  /** EINVAL: address index or port outside the pool */
  OUT_OF_RANGE = 3,
  /** EINVAL: the port's return tuple lands on a queue another core serves */
  OTHER_CORE = 4,
  /** EINVAL: free() of a port that is not handed out */
  NOT_IN_USE = 5,
  /** EADDRNOTAVAIL: no port of this address can reach the queue (a low-rank key) */
  UNREACHABLE = 6,
  /** EINVAL: a parameter poolCreate cannot take (field set without ports, sizes, map) */
  BAD_ARGUMENT = 7,
}

/** poolSteer flags. */
export const enum SteerFlag {
  /** only ports at or above the hint (the first one from the hint up) */
  UPWARD = 1,
  /** any port reaching the queue, handed out or not (the RSS answer alone) */
  ANY_STATE = 2,
}

/** poolList: which ports of a core. */
export const enum PoolListing {
  /** ports free to hand out */
  FREE = 0,
  /** every port of the core's pool, handed out or not */
  MEMBERS = 1,
}
