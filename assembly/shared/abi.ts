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
 *   0x11000   0x11fff   FLOW_STATE     flow engine counters (STAT_*), output cursors (OUT_*), the
 *                                      parsed packet's hash tuples (FLOW_TUPLE, FLOW_TUPLE_REVERSED)
 *   0x12000   0x12fff   POOL_STATE     port pools: the return tuple a pool is built from, written by
 *                                      the host before poolCreate (POOL_TUPLE); pools live in the heap
 *   0x13000   0x13fff   TCP_STATE      TCP endpoints: configuration (CFG_*), counters (TcpStat), the
 *                                      host's cursors (TX_*, FWD_*); TCBs, buffers and timers live in
 *                                      the heap (see "TCP endpoints" below)
 *   0x14000   0x14fff   IPFIX_STATE    IPFIX export: output cursors (IPX_*), one message being filled
 *                                      per template (assembly/flow/ipfix.ts)
 *   0x15000   0x15fff   LINK_STATE     link layer (ARP, neighbour discovery, ICMP echo): our addresses,
 *                                      timers, resolve in/out, counters (layout: LINK_* below); the
 *                                      neighbour cache lives in the heap
 *   0x16000   0x1ffff   reserved for later fixed regions
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

/**
 * Link types the packet parser reads (assembly/wire/packet.ts), with pcap's LINKTYPE_* numbers.
 * A capture's other raw-IP numbers (DLT_RAW 12 and 14, LINKTYPE_IPV4 228, LINKTYPE_IPV6 229)
 * are described as RAW.
 */
export const enum LinkType {
  /** BSD loopback: a 4-byte address family in the capturing host's byte order (wire/loopback.ts) */
  NULL = 0,
  ETHERNET = 1,
  /** PPP, with or without HDLC-like address and control (wire/ppp.ts) */
  PPP = 9,
  /** PPP in HDLC-like framing (RFC 1662), or Cisco HDLC (wire/ppp.ts) */
  PPP_HDLC = 50,
  /** raw IPv4 or IPv6, version from the first nibble */
  RAW = 101,
  /** OpenBSD loopback: NULL's header in network byte order (wire/loopback.ts) */
  LOOP = 108,
  /** Linux cooked capture (`tcpdump -i any` before libpcap 1.10), 16-byte header (wire/sll.ts) */
  LINUX_SLL = 113,
  /** Linux cooked capture v2 (`tcpdump -i any`), 20-byte header (wire/sll2.ts) */
  LINUX_SLL2 = 276,
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
  /** a TCP endpoint core received it and sent it on to the core that owns its connection */
  FORWARDED = 2,
  /** a copy of an ARP or neighbour discovery frame another core received, sent so that this
   *  core's neighbour cache learns from it too (assembly/link): learned from, never answered or
   *  counted as received. */
  LINK_COPY = 4,
}

// ---- rings: packets from one producer to one core's engine, a batch slot at a time ----
//
// A single-producer single-consumer ring lives in the consuming engine's (shared) memory. It is an
// array of batch slots; the producer (a dispatcher thread, another core steering synthetic
// traffic, or a DPDK queue) fills a whole slot, then publishes it by advancing `head`; the consumer
// processes it and releases it by advancing `tail`. Both counters only grow (mod 2^32);
// head - tail is the number of full slots. Each counter has its own cache line.
//
//   ring + 0     RING_HEAD         i32  slots published (producer)
//   ring + 64    RING_TAIL         i32  slots released (consumer)
//   ring + 68    RING_ROOM_WAITER  i32  1 while the producer sleeps waiting for a free slot
//   ring + 128   RING_SLOTS        u32  slot count, a power of two
//   ring + 132   RING_SLOT_BYTES   u32  bytes per slot
//   ring + 136   RING_SLOT_PACKETS u32  descriptors per slot
//   ring + 140   RING_CLOSED       i32  1 when the producer will publish no more
//   ring + 256   slot 0, slot 1, ... (slot k at ring + RING_HEADER + k * slot bytes)
//
// A slot: SLOT_COUNT u32 packets, SLOT_BYTES u32 packet bytes used, descriptors from
// SLOT_DESCRIPTORS, packet bytes after `slot packets` descriptors. Producers stage a slot in their
// own memory with PKT_DATA relative to the slot's packet bytes; the consumer rebases it on take.

export const RING_HEAD = 0;
export const RING_TAIL = 64;
export const RING_ROOM_WAITER = 68;
export const RING_SLOTS = 128;
export const RING_SLOT_BYTES = 132;
export const RING_SLOT_PACKETS = 136;
export const RING_CLOSED = 140;
export const RING_HEADER = 256;
export const SLOT_COUNT = 0;
export const SLOT_BYTES = 4;
export const SLOT_DESCRIPTORS = 64;

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

// ---- flow engine (assembly/flow, assembly/wire) ----
//
// FLOW_STATE holds what the host reads between batches: u64 counters at STAT_* (index * 8), the
// output cursors at OUT_*, and two scratch tuples the engine hashes. The flow table, the queue
// counters and the record, event and stream-data buffers are allocated by configureFlows.

export const FLOW_STATE = 0x11000;

/** Why a packet was dropped (skipped and counted, never tracked). STAT_DROP + reason. */
export const enum DropReason {
  /** a link type the parser does not read (not a LinkType) */
  LINK_TYPE = 0,
  /** Ethernet header or a VLAN tag cut short by caplen */
  ETHERNET_TRUNCATED = 1,
  /** IPv4 header shorter than 20 bytes captured, or its options cut short */
  IPV4_TRUNCATED = 2,
  /** IPv4 version, IHL < 5, or total length outside [IHL * 4, frame] */
  IPV4_MALFORMED = 3,
  /** IPv6 fixed header cut short, or an extension header cut short */
  IPV6_TRUNCATED = 4,
  /** IPv6 version, payload length past the frame, or a chain of more than 8 extension headers */
  IPV6_MALFORMED = 5,
  /** TCP header (with options) cut short by caplen */
  TCP_TRUNCATED = 6,
  /** TCP data offset < 5 or past the IP payload */
  TCP_MALFORMED = 7,
  /** UDP header cut short by caplen */
  UDP_TRUNCATED = 8,
  /** UDP length < 8 or past the IP payload */
  UDP_MALFORMED = 9,
  /** a bad checksum, when the engine drops them (counted, not dropped, by default) */
  BAD_CHECKSUM = 10,
  /** caplen > wirelen, or a descriptor with no bytes */
  DESCRIPTOR = 11,
  /** a link header other than Ethernet's (cooked, loopback, PPP), or a VLAN tag after it, cut short */
  LINK_TRUNCATED = 12,
}
export const DROP_REASONS = 13;

// u64 counters, at FLOW_STATE + STAT_x * 8. received = processed + dropped, always.
/** packets handed to the engine */
export const STAT_RECEIVED = 0;
/** packets counted in a queue (tracked in a flow, or hashed and not tracked) */
export const STAT_PROCESSED = 1;
/** packets dropped, all reasons (STAT_DROP + reason for each) */
export const STAT_DROPPED = 2;
/** captured bytes of received packets */
export const STAT_BYTES = 3;
/** not IP: sent to queue 0 unhashed, as NICs do */
export const STAT_UNHASHED = 4;
/** IPv4 / IPv6 / TCP / UDP / other IP protocols (hashed on addresses, not tracked) */
export const STAT_IPV4 = 5;
export const STAT_IPV6 = 6;
export const STAT_TCP = 7;
export const STAT_UDP = 8;
export const STAT_OTHER_L4 = 9;
/** IP fragments (hashed on addresses, not tracked) */
export const STAT_FRAGMENTS = 10;
/** bad checksums seen (counted; dropped only with FlowOption.DROP_BAD_CHECKSUM) */
export const STAT_BAD_IPV4_CHECKSUM = 11;
export const STAT_BAD_TCP_CHECKSUM = 12;
export const STAT_BAD_UDP_CHECKSUM = 13;
/** L4 checksums not verifiable: the segment was cut short by the snap length */
export const STAT_UNVERIFIED_CHECKSUM = 14;
/** TCP options that run past the header (the segment is still tracked) */
export const STAT_BAD_TCP_OPTIONS = 15;
/** flows created; flows that left the table by idle timeout and by eviction (table full) */
export const STAT_FLOWS_CREATED = 16;
export const STAT_FLOWS_TIMED_OUT = 17;
export const STAT_FLOWS_EVICTED = 18;
/** flows now in the table */
export const STAT_FLOWS_ACTIVE = 19;
/** a SYN on a closed connection's 4-tuple: the old flow is recorded, a new one starts */
export const STAT_FLOWS_REUSED = 20;
/** out-of-order holes beyond the two a direction tracks (unique bytes may then be overcounted) */
export const STAT_HOLE_OVERFLOW = 21;
/** reassembly: segments beyond the window, and streams that found no free reassembly buffer */
export const STAT_REASSEMBLY_OVERFLOW = 22;
export const STAT_REASSEMBLY_NO_BUFFER = 23;
/** largest packet timestamp seen (ns since the epoch) */
export const STAT_NOW = 24;
/** the drop counters: STAT_DROP + DropReason */
export const STAT_DROP = 32;
export const STATS = STAT_DROP + DROP_REASONS;

// Output cursors at FLOW_STATE + OUT_x (u32): the host reads the counts after a batch, takes the
// records, events and stream bytes, and writes the counts back to zero.
export const OUT_RECORDS = 0x400;
export const OUT_RECORD_COUNT = 0x404;
export const OUT_RECORD_CAPACITY = 0x408;
export const OUT_EVENTS = 0x40c;
export const OUT_EVENT_COUNT = 0x410;
export const OUT_EVENT_CAPACITY = 0x414;
export const OUT_DATA = 0x418;
export const OUT_DATA_USED = 0x41c;
export const OUT_DATA_CAPACITY = 0x420;
/** u64 counters per queue (configureReta's queue count), packets */
export const OUT_QUEUE_COUNTS = 0x424;
/** u64 at FLOW_STATE + FLUSH_NOW: the time `flushFlows` judges idleness by (0: STAT_NOW) */
export const FLUSH_NOW = 0x428;

// ---- load per indirection-table entry (assembly/flow/buckets.ts) ----
//
// A bucket is a table entry: the hash's low log2(S) bits, S the table size when configureBuckets
// ran. Per bucket the engine counts the packets and captured bytes that went through it (per
// packet, in processBatch) and, as each flow leaves the table, the flow directions that did
// (a direction of a flow is one flow of the bucket its own hash selects: a queue's flow load is
// then the sum over its entries, and the two directions of a split connection count where each
// lands). Packets that are not IP have no entry (queue 0, unhashed): they are counted in row S.
// As flows leave, the engine also keeps, per bucket, the heaviest flow directions by packets and
// by bytes (TOP_FLOWS each, the tuple with them: only the few a report prints are decoded), and,
// when the field set leaves ports out, how much load would move between buckets were ports hashed.
//
//   FLOW_STATE + OUT_BUCKETS        u32  counts: S + 1 rows of BUCKET_ROW bytes (row S: not IP)
//   FLOW_STATE + OUT_BUCKET_DELTAS  u32  0, or ports deltas: PORTS_DELTAS tables (TCP over IPv4, TCP
//                                        over IPv6, UDP over IPv4, UDP over IPv6: ethtool's tcp4,
//                                        tcp6, udp4, udp6) x S rows of BUCKET_ROW (i64: load gained,
//                                        negative: lost, were that traffic's ports hashed too)
//   FLOW_STATE + OUT_BUCKET_TOPS    u32  top flows: S x 2 lists (by packets, by bytes) x TOP_FLOWS
//                                        entries of TOP_ENTRY bytes, heaviest first
//   FLOW_STATE + OUT_BUCKET_SIZE    u32  S
export const OUT_BUCKETS = 0x430;
export const OUT_BUCKET_DELTAS = 0x434;
export const OUT_BUCKET_TOPS = 0x438;
export const OUT_BUCKET_SIZE = 0x43c;
/** Row fields, u64 each: packets, captured bytes, flow directions. */
export const BUCKET_PACKETS = 0;
export const BUCKET_BYTES = 8;
export const BUCKET_FLOWS = 16;
export const BUCKET_ROW = 24;
/** Ports delta tables: (UDP ? 2 : 0) + (IPv6 ? 1 : 0). */
export const PORTS_DELTAS = 4;
/** Flow directions kept per bucket and list. */
export const TOP_FLOWS = 3;
/** Top entry: u64 bytes, u32 packets (0: empty), u16 source and destination port (host order
 *  numbers), u8 IP protocol, u8 family; the addresses (network order, IPv4 in the first 4 of 16). */
export const TOP_BYTES = 0;
export const TOP_PACKETS = 8;
export const TOP_SPORT = 12;
export const TOP_DPORT = 14;
export const TOP_PROTO = 16;
export const TOP_FAMILY = 17;
export const TOP_SRC = 32;
export const TOP_DST = 48;
export const TOP_ENTRY = 64;

/** The parsed packet's hash input (src, dst[, sport, dport]) and its reverse, for hashTuple. */
export const FLOW_TUPLE = 0x800;
export const FLOW_TUPLE_REVERSED = 0x840;

/** configureFlows options (bits). */
export const enum FlowOption {
  /** deliver in-order stream bytes and flow events (off by default) */
  REASSEMBLY = 1,
  /** drop packets with bad checksums instead of only counting them */
  DROP_BAD_CHECKSUM = 2,
  /** skip checksum verification (counted as neither good nor bad) */
  NO_CHECKSUMS = 4,
  /** the RSS field set includes ports (ipv4-l4, ipv6-l4) */
  HASH_PORTS = 8,
  /** copy each flow that leaves the table out as a record (OUT_RECORDS); without it flows are
   *  only counted (OUT_TALLY), and nothing per flow crosses to the host */
  RECORDS = 16,
  /** a flow whose directions land on two cores (FlowFlag.SPLIT) leaves as a raw half in
   *  OUT_RECORDS, uncounted: the run merges the halves of all cores and counts them then */
  SPLIT_HALVES = 32,
}

/** RFC 9293 connection states, as an observer tracks each side. NONE: UDP, or nothing seen. */
export const enum TcpState {
  NONE = 0, LISTEN = 1, SYN_SENT = 2, SYN_RECEIVED = 3, ESTABLISHED = 4, FIN_WAIT_1 = 5,
  FIN_WAIT_2 = 6, CLOSE_WAIT = 7, CLOSING = 8, LAST_ACK = 9, TIME_WAIT = 10, CLOSED = 11,
}

/** Why a flow ended: a TCP close seen (RST beats FIN), else how it left the table. */
export const enum CloseReason {
  OPEN = 0, FIN = 1, RST = 2, TIMEOUT = 3, EVICTED = 4, END = 5,
}

// ---- flow records ----
//
// A flow record is the flow table entry itself, copied out when the flow leaves the table:
// FLOW_RECORD bytes, a 64-byte header then one FLOW_DIR-byte block per direction (client to
// server first). Numbers are little-endian; addresses are bytes in network order (IPv4 in the
// first 4 of 16). Sequence numbers are as on the wire. Every field of a direction block comes
// from that direction's packets alone, so two engines that each saw one direction of a split
// flow hold the two halves of one record (see mergeRecords).

/** 16 bytes: client address (the sender of the first SYN, else of the first packet) */
export const REC_CLIENT_ADDR = 0;
export const REC_SERVER_ADDR = 16;
/** u16 ports, host order numbers */
export const REC_CLIENT_PORT = 32;
export const REC_SERVER_PORT = 34;
/** u8 IP protocol (6 TCP, 17 UDP), u8 family (4 or 6) */
export const REC_PROTO = 36;
export const REC_FAMILY = 37;
/** u8 FlowFlag bits */
export const REC_FLAGS = 38;
/** u8 CloseReason */
export const REC_CLOSE = 39;
/** u32 the flow-table hash (symmetric in the endpoints) */
export const REC_KEY_HASH = 40;
/** u32 the RSS hash of the client-to-server tuple */
export const REC_RSS_HASH = 44;
/** u64 last packet of either direction, ns */
export const REC_LAST_TS = 48;
/** u16 queue and core of each direction: client to server, server to client */
export const REC_QUEUE = 56;
export const REC_QUEUE_REVERSE = 58;
export const REC_CORE = 60;
export const REC_CORE_REVERSE = 62;
/** the direction blocks: client to server, then server to client */
export const REC_DIR = 64;
export const FLOW_DIR = 128;
/** the export block (REC_EXPORT, after the direction blocks): IPFIX counts, see below */
export const FLOW_RECORD = 384;

export const enum FlowFlag {
  /** the two directions land on different cores */
  SPLIT = 1,
  /** the client is known from the handshake (a SYN or SYN-ACK), not guessed as the first sender */
  CLIENT_BY_SYN = 2,
  /** started by a SYN on the 4-tuple of a connection that had closed */
  REUSED = 4,
}

// Direction block fields (offsets from its start); the sender of the direction is "this side".
/** u32 packets, retransmitted segments, out-of-order segments */
export const DIR_PACKETS = 0;
export const DIR_RETRANSMITS = 4;
export const DIR_OUT_OF_ORDER = 8;
/** u16 DirFlag bits, u8 window scale (0xff: none), u8 open holes in the sequence space */
export const DIR_FLAGS = 12;
export const DIR_WSCALE = 14;
export const DIR_HOLE_COUNT = 15;
/** u64 captured frame bytes, payload bytes, unique payload bytes (sequence space covered) */
export const DIR_BYTES = 16;
export const DIR_PAYLOAD = 24;
export const DIR_UNIQUE = 32;
/** u64 timestamps, ns (0: never): first and last packet, first SYN, first FIN, first RST, and
 *  the first ACK without SYN after this side's SYN (the handshake's third segment, for a client) */
export const DIR_FIRST_TS = 40;
export const DIR_LAST_TS = 48;
export const DIR_SYN_TS = 56;
export const DIR_FIN_TS = 64;
export const DIR_RST_TS = 72;
export const DIR_ACK_TS = 80;
/** u32 sequence numbers: initial (the SYN's, else the first seen), next after the highest sent,
 *  highest acknowledgment sent, the FIN's */
export const DIR_ISN = 88;
export const DIR_SND_MAX = 92;
export const DIR_ACK_MAX = 96;
export const DIR_FIN_SEQ = 100;
/** u16 MSS option (0: none), u8 TcpState of this side, u8 the union of the TCP flags this side
 *  sent (IPFIX tcpControlBits; kept only while exporting IPFIX) */
export const DIR_MSS = 104;
export const DIR_STATE = 106;
export const DIR_TCP_FLAGS = 107;
/** u32 reassembly buffer + 1 (0: none) */
export const DIR_REASSEMBLY = 108;
/** two holes [start, end) below DIR_SND_MAX not yet covered: u32 pairs */
export const DIR_HOLES = 112;
export const HOLES_MAX = 2;

export const enum DirFlag {
  SEEN = 1, SYN = 2, SYN_ACK = 4, FIN = 8, RST = 16, ACKED = 32, SACK_PERMITTED = 64,
  TIMESTAMPS = 128, SEQ_VALID = 256,
  /** this side's first SYN carried a timestamp option: its TSval is at REC_SYN_TSVAL */
  SYN_TSVAL = 512,
}

// ---- lone SYNs (assembly/flow/table.ts, syn.ts) ----
//
// A TCP connection that has sent one SYN (no ACK, FIN, RST or data) and nothing else yet is kept
// in a SYN_ENTRY-byte entry, one cache line, instead of a FLOW_RECORD-byte one, as SYN caches
// keep half-open connections: a flood of SYNs from spoofed sources touches a sixth of the memory.
// Its first 40 bytes are the record header's (client and server, ports, protocol, family, flags:
// the flow lookup reads them the same way in both kinds of entry), and so are REC_RSS_HASH and
// REC_LAST_TS (the SYN's time); the rest holds the SYN's direction block in short. An IPv4
// address fills 4 bytes of its 16 and the other 12 are zero, as in a record. When a second
// packet of the connection comes, the flow moves to a full entry; a lone SYN that leaves the
// table is written out as the full record it stands for, or, when no record is wanted, counted
// from this line alone (flow/engine.ts leaveSyn).
//
// Lone SYNs wait in a ring of their own, smaller than the table as a SYN cache is: a table of
// F flows keeps min(F, max(SYN_CACHE_MIN, F / SYN_CACHE_SHARE)) of them (16,384 for the default
// table of 1,048,576, about FreeBSD's syncache default of 15,360). When the ring is full and at
// least half of it is live lone SYNs, its oldest lone SYN leaves (evicted, or timed out when
// idle) even while the table has room; when it is mostly holes, the oldest moves to a flow entry.
// A SYN is answered within a round trip, long before that many more come (8,192 unanswered at
// once on one core: 82,000 new connections a second on that core at a 100 ms round trip); a
// flood's SYNs never are, and they then touch about 1.6 MiB of ring, hashes and index, not the
// whole table, and displace no established flow while the table has room for the established
// ones. The size is what a flood's speed depends on: each SYN writes one ring line and takes one
// out of the index, so the ring and the index are the flood's working set. At 16,384 they sit
// mostly in a core's L2 (1 MiB of ring read and written in order, 512 KiB of index at random);
// at 65,536 (4 MiB of ring, 1 MiB of index) every eviction was a load from L3, and a flood's
// engine ran 1.24-1.34x slower (BENCHMARKS.md, "A SYN cache sized for L2").
export const SYN_ENTRY = 64;
// Beside the ring, SYN_SIDE bytes a slot, for what its line has no room for: the flow-key hash
// (u32), which taking the SYN out of the index needs (its home slot), and the SYN's TSval (u32,
// valid when SYN_OPTIONS has DirFlag.TIMESTAMPS; REC_SYN_TSVAL says what it is for). A flood
// evicts the ring's oldest SYN per packet: read in ring order, these hashes are a stream the
// processor fetches ahead, where hashing the key again would read the SYN's line, written 16,384
// SYNs before (flow/table.ts).
export const SYN_SIDE = 8;
export const SYN_SIDE_KEY_HASH = 0;
export const SYN_SIDE_TSVAL = 4;
export const SYN_CACHE_MIN = 16384;
export const SYN_CACHE_SHARE = 64;
/** u8: the SYN's window scale option (0xff: none), as DIR_WSCALE */
export const SYN_WSCALE = 39;
/** u16: the SYN's MSS option (0: none), as DIR_MSS */
export const SYN_MSS = 40;
/** u8: DirFlag.SACK_PERMITTED and DirFlag.TIMESTAMPS when the SYN carried those options */
export const SYN_OPTIONS = 42;
/** u32: the SYN's sequence number (the client's ISN) */
export const SYN_ISN = 56;
/** u32: the SYN's captured frame bytes */
export const SYN_BYTES = 60;

// ---- flow events (reassembly on) ----
// FLOW_EVENT bytes each: u8 FlowEvent, u8 direction (0 client to server), u16 reserved, u32 flow
// (table slot, stable while the flow lives; a CLOSED event ends it), u64 timestamp ns, u32 address
// of stream bytes (DATA: in the data buffer), u32 length, u64 stream offset of the first byte.
export const EV_TYPE = 0;
export const EV_DIRECTION = 1;
export const EV_FLOW = 4;
export const EV_TS = 8;
export const EV_DATA = 16;
export const EV_LENGTH = 20;
export const EV_OFFSET = 24;
export const FLOW_EVENT = 32;

export const enum FlowEvent {
  NEW = 1, ESTABLISHED = 2, DATA = 3, FIN = 4, RST = 5, CLOSED = 6,
}
// ---- link layer: ARP, neighbour discovery, ICMP echo (assembly/link) ----
//
// Each core's engine answers ARP requests and neighbour solicitations for our addresses and echo
// requests to them, resolves next hops (its own neighbour cache), and counts and drops everything
// else. linkBatch takes a batch of descriptors and writes its replies as frames into a transmit
// slot (the ring slot layout above: PKT_DATA relative to the slot's packet bytes), which the DPDK
// shim's TxQueue.send takes as it is. TCP segments to our addresses are handed on as descriptors
// (the pass list) to whatever runs above; with no pass list they are counted and dropped.
//
// LINK_STATE holds the configuration the host writes before linkConfigure, what linkConfigure
// derives, the resolve call's input and output, and u64 counters. The neighbour cache (capacity a
// power of two, NEIGHBOUR_ENTRY bytes an entry) is allocated in the heap by linkConfigure.
// Addresses are bytes in network order; IPv4 addresses 4 bytes, IPv6 16, MACs 6.

export const LINK_STATE = 0x15000;
// Written by the host before linkConfigure (byte offsets from LINK_STATE).
/** 6 bytes: our MAC (the port's, or --mac) */
export const LINK_MAC = 0x000;
/** u32 LinkFlag bits: which of the addresses below are set */
export const LINK_FLAGS = 0x008;
/** 4 bytes: our IPv4 address (--ip), then u32 its prefix length, then 4 bytes the IPv4 gateway */
export const LINK_IPV4 = 0x010;
export const LINK_IPV4_PREFIX = 0x014;
export const LINK_GATEWAY4 = 0x018;
/** 16 bytes: our IPv6 address (--ip6), u32 its prefix length, 16 bytes the IPv6 gateway */
export const LINK_IPV6 = 0x020;
export const LINK_IPV6_PREFIX = 0x030;
export const LINK_GATEWAY6 = 0x040;
// Derived by linkConfigure.
/** 16 bytes: our link-local address, fe80::/64 with the modified EUI-64 of LINK_MAC (RFC 4291 2.5.6) */
export const LINK_IPV6_LINK_LOCAL = 0x050;
/** u32: the IPv4 prefix as a mask over the address's loaded (little-endian) u32 */
export const LINK_IPV4_MASK = 0x060;
/** u32: the neighbour cache's address and capacity (entries, a power of two) */
export const LINK_NEIGHBOURS = 0x064;
export const LINK_NEIGHBOUR_CAPACITY = 0x068;
/** u32: the shape of transmit slots (and of the copies slot): descriptors and bytes per slot */
export const LINK_SLOT_PACKETS = 0x06c;
export const LINK_SLOT_BYTES = 0x070;
/** u32: the next IPv4 identification we send */
export const LINK_IP_ID = 0x074;
// Timers and limits (u32), RFC 4861 10's defaults set by linkConfigure, changed by linkTimers.
/** RetransTimer: ms between solicitations of one address */
export const LINK_RETRANS_MS = 0x080;
/** ReachableTime: ms an entry stays REACHABLE after a confirmation */
export const LINK_REACHABLE_MS = 0x084;
/** DELAY_FIRST_PROBE_TIME: ms in DELAY before the first unicast probe */
export const LINK_DELAY_MS = 0x088;
/** ms a STALE entry nobody uses is kept (Linux's gc_stale_time); ARP entries age the same way */
export const LINK_STALE_MS = 0x08c;
/** ms a FAILED entry is kept, so that resolving again reports the failure rather than retrying at once */
export const LINK_FAILED_MS = 0x090;
/** MAX_MULTICAST_SOLICIT (broadcast ARP requests for ARP), MAX_UNICAST_SOLICIT */
export const LINK_MULTICAST_SOLICIT = 0x094;
export const LINK_UNICAST_SOLICIT = 0x098;
/** u64 ns: the earliest neighbour timer (linkPoll does nothing before it) */
export const LINK_NEXT_TIMER = 0x0a0;
// linkResolve: the address to resolve (written by the caller), and what it found.
/** 16 bytes in: the destination (IPv4 in the first 4) */
export const LINK_ADDRESS = 0x100;
/** 6 bytes out: the next hop's MAC, when RESOLVED */
export const LINK_RESOLVED_MAC = 0x110;
/** 16 bytes out: the next hop (the destination on the link, else the gateway) */
export const LINK_NEXT_HOP = 0x120;
/** u32 out, for FAILED: solicitations sent, and ms from the first to the failure */
export const LINK_RESOLVE_PROBES = 0x130;
export const LINK_RESOLVE_WAITED_MS = 0x134;
/** u32: descriptors in the pass list (linkBatch appends; whoever takes them sets it back to 0) */
export const LINK_PASS_COUNT = 0x140;
/** u64 counters at LINK_STATE + LINK_STATS + LINK_STAT_x * 8 */
export const LINK_STATS = 0x200;

export const enum LinkFlag {
  IPV4 = 1,
  IPV6 = 2,
  GATEWAY4 = 4,
  GATEWAY6 = 8,
}

// Counters. received = processed + dropped, always (copies from other cores are not received).
/** frames handed to linkBatch (copies excluded) */
export const LINK_STAT_RECEIVED = 0;
/** frames the link layer answered or learned from, and segments passed on */
export const LINK_STAT_PROCESSED = 1;
/** frames dropped, all reasons (LINK_STAT_DROP + LinkDrop for each) */
export const LINK_STAT_DROPPED = 2;
/** TCP segments to our addresses put in the pass list */
export const LINK_STAT_PASSED = 3;
/** captured bytes of received frames */
export const LINK_STAT_BYTES = 4;
/** ARP replies we sent (to requests for our address) and received (to ours) */
export const LINK_STAT_ARP_REPLIES_SENT = 5;
export const LINK_STAT_ARP_REPLIES_RECEIVED = 6;
/** ARP requests we sent (broadcast to resolve, unicast to probe) */
export const LINK_STAT_ARP_REQUESTS_SENT = 7;
/** neighbour advertisements we sent (to solicitations for our addresses) and received */
export const LINK_STAT_NA_SENT = 8;
export const LINK_STAT_NA_RECEIVED = 9;
/** neighbour solicitations we sent (multicast to resolve, unicast to probe) */
export const LINK_STAT_NS_SENT = 10;
/** echo replies we sent, IPv4 and IPv6 */
export const LINK_STAT_ECHO_REPLIES = 11;
export const LINK_STAT_ECHO6_REPLIES = 12;
/** gratuitous ARP and unsolicited advertisements seen (they update entries, never create them) */
export const LINK_STAT_GRATUITOUS = 13;
/** neighbour entries created, whose MAC changed, that resolved, that failed (no answer), that
 *  aged out (stale and unused, or no answer to probes), evicted because the cache was full */
export const LINK_STAT_NEIGHBOURS_CREATED = 14;
export const LINK_STAT_NEIGHBOURS_CHANGED = 15;
export const LINK_STAT_NEIGHBOURS_RESOLVED = 16;
export const LINK_STAT_NEIGHBOURS_FAILED = 17;
export const LINK_STAT_NEIGHBOURS_EXPIRED = 18;
export const LINK_STAT_NEIGHBOURS_EVICTED = 19;
/** frames copied out for the other cores' caches, frames taken in from them */
export const LINK_STAT_COPIES_OUT = 20;
export const LINK_STAT_COPIES_IN = 21;
/** copies that found the copies slot full (the other cores then resolve by themselves) */
export const LINK_STAT_COPIES_LOST = 22;
/** replies not sent because the frame would not fit an empty transmit slot */
export const LINK_STAT_TX_TOO_BIG = 23;
/** the drop counters: LINK_STAT_DROP + LinkDrop */
export const LINK_STAT_DROP = 32;

/** Why a frame was dropped. The not-for-us reasons are OTHER_MAC, OTHER_IP and *_OTHER_TARGET. */
export const enum LinkDrop {
  /** caplen 0 or > wirelen, or a link type other than Ethernet */
  DESCRIPTOR = 0,
  /** shorter than an Ethernet header */
  ETHERNET_TRUNCATED = 1,
  /** to a MAC that is neither ours, broadcast, nor one of our IPv6 multicast groups */
  OTHER_MAC = 2,
  /** from our own MAC: our transmission seen again */
  OWN_FRAME = 3,
  /** an EtherType other than IPv4, IPv6, ARP */
  ETHERTYPE = 4,
  /** VLAN-tagged (the link layer is untagged) */
  VLAN = 5,
  /** ARP cut short, or not Ethernet/IPv4, or an unknown operation */
  ARP_MALFORMED = 6,
  /** ARP about another address (our cache still learns from its sender, RFC 826) */
  ARP_OTHER_TARGET = 7,
  /** another station claims one of our addresses (ARP sender, or an advertisement's target) */
  ADDRESS_CONFLICT = 8,
  IPV4_TRUNCATED = 9,
  IPV4_MALFORMED = 10,
  IPV4_BAD_CHECKSUM = 11,
  IPV6_TRUNCATED = 12,
  IPV6_MALFORMED = 13,
  /** IP to an address that is not ours (or to a family we have no address in) */
  OTHER_IP = 14,
  /** a fragment to us (we do not reassemble) */
  FRAGMENT = 15,
  /** ICMP or ICMPv6 shorter than its header or not captured whole */
  ICMP_TRUNCATED = 16,
  ICMP_BAD_CHECKSUM = 17,
  ICMPV6_BAD_CHECKSUM = 18,
  /** ICMP types we do not answer (echo replies, unreachables...), echo to a multicast address */
  ICMP_UNSUPPORTED = 19,
  /** neighbour discovery that fails RFC 4861 7.1's checks (hop limit 255, code 0, options...) */
  ND_INVALID = 20,
  /** a solicitation for an address that is not ours */
  ND_OTHER_TARGET = 21,
  /** router solicitations and advertisements, redirects (static addresses: nothing to learn) */
  ND_ROUTER = 22,
  /** a source we must not answer: multicast, broadcast, unspecified, loopback, our own */
  BAD_SOURCE = 23,
  /** UDP to us: no UDP service here */
  UDP = 24,
  /** TCP to us with no TCP endpoint above the link layer (no pass list) */
  TCP = 25,
  /** other IP protocols to us */
  PROTOCOL = 26,
}
export const LINK_DROP_REASONS = 27;
export const LINK_STATS_COUNT = LINK_STAT_DROP + LINK_DROP_REASONS;

/** What linkResolve says about the next hop of LINK_ADDRESS. */
export const enum LinkResolve {
  /** LINK_RESOLVED_MAC holds the next hop's MAC */
  RESOLVED = 0,
  /** a solicitation is out; call again (after a batch or a poll) */
  PENDING = 1,
  /** no answer to LINK_MULTICAST_SOLICIT solicitations (LINK_RESOLVE_PROBES, _WAITED_MS say how many, how long) */
  FAILED = 2,
  /** off the link and no gateway for the family */
  NO_ROUTE = 3,
  /** the family has no address of ours (no --ip / --ip6) */
  NO_ADDRESS = 4,
  /** not an address a neighbour can have: multicast, unspecified, loopback, ours */
  BAD_ADDRESS = 5,
  /** the transmit slot had no room for the solicitation: it goes out at the next linkPoll */
  DEFERRED = 6,
}

// ---- the neighbour cache (heap, linkConfigure) ----
// NEIGHBOUR_ENTRY bytes an entry; an address's entry is one of NEIGHBOUR_PROBE consecutive slots
// from its hash (so a lookup reads at most that many and needs no tombstones; a full window
// evicts its least recently used entry).
/** u8 NeighbourState, u8 family (4, 6), u8 solicitations sent in this state, u8 reserved */
export const NB_STATE = 0;
export const NB_FAMILY = 1;
export const NB_PROBES = 2;
export const NB_FLAGS = 3;
/** 6 bytes: the neighbour's MAC (valid in every state but INCOMPLETE and FAILED) */
export const NB_MAC = 4;
/** 16 bytes: its address (IPv4 in the first 4, the rest zero) */
export const NB_ADDRESS = 16;
/** u64 ns: when this state's timer fires (0: none) */
export const NB_TIMER = 32;
/** u64 ns: the last confirmation that it is reachable (an answer to a solicitation); FAILED: when it failed */
export const NB_CONFIRMED = 40;
/** u64 ns: the last time it was resolved for sending, or learned */
export const NB_USED = 48;
/** u64 ns: when resolution (or the current probing) started */
export const NB_STARTED = 56;
export const NEIGHBOUR_ENTRY = 64;
export const NEIGHBOUR_PROBE = 8;
/** Largest cache a core may have (entries). */
export const NEIGHBOURS_MAX = 1 << 16;

/** RFC 4861 7.3.2's states (ARP entries use the same), FREE for an unused slot, FAILED for an
 *  address that did not answer (kept LINK_FAILED_MS so that the failure can be reported). */
export const enum NeighbourState {
  FREE = 0, INCOMPLETE = 1, REACHABLE = 2, STALE = 3, DELAY = 4, PROBE = 5, FAILED = 6,
}

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
/** u32: LinkType an engine parses it as, IF_LINK_NONE when none */
export const IF_LINK = 4;
/**
 * IF_LINK of a link type no engine parses. Not 0, which is LINKTYPE_NULL; no LinkType is 0xffff
 * (pcap's link type numbers end in the low hundreds).
 */
export const IF_LINK_NONE = 0xffff;
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

// ---- what leaves the flow table, counted in WASM (assembly/flow/tally.ts) ----
//
// Every flow that leaves an engine's table is counted as it leaves: TCP and UDP flows, split
// flows, TCP flows by close reason and by both sides' states. The host reads the tally once, at
// the end of a run; it copies records out of OUT_RECORDS only when it asked for them
// (FlowOption.RECORDS: --flows-out, or a later consumer). Split flows' halves (FlowOption
// SPLIT_HALVES) are counted when mergeHalves has made them whole. The tally is a heap buffer
// allocated by configureFlows (or configureTally, for an engine that only merges), announced at
// FLOW_STATE + OUT_TALLY: TALLY_COUNTERS u64 counters, counter i at byte i * 8.

/** u32 at FLOW_STATE + OUT_TALLY: the tally's address */
export const OUT_TALLY = 0x440;
/** flows by protocol, and flows whose two directions land on different cores (any protocol) */
export const TALLY_TCP = 0;
export const TALLY_UDP = 1;
export const TALLY_SPLIT = 2;
/** TALLY_CLOSE + CloseReason: TCP flows by close reason */
export const TALLY_CLOSE = 8;
export const CLOSE_REASONS = 6;
/** TALLY_STATES + client TcpState * TCP_STATES + server TcpState: TCP flows by both sides' states */
export const TALLY_STATES = 16;
export const TCP_STATES = 12;
export const TALLY_COUNTERS = TALLY_STATES + TCP_STATES * TCP_STATES;

/** u32 at FLOW_STATE + OUT_FLOW_INDEX_SLOTS: the flow index's slots in use (it doubles as the
 *  live flows grow, up to its region's: assembly/flow/table.ts) */
export const OUT_FLOW_INDEX_SLOTS = 0x444;

// ---- memory limits (assembly/shared/reserve.ts) ----
//
// Configuration-time buffers come from `reserve`, which says no (returns 0) instead of trapping
// when a buffer does not fit: every size a user can set is checked against what an engine can
// hold (host/core/limits.ts), and the host names the maximum. An engine's memory is one wasm32
// memory of at most MEMORY_MAX_PAGES 64 KiB pages (4 GiB; the shared builds declare it as their
// maximum). Buffers of RESERVE_REGION bytes or more are whole pages of their own (memory.grow),
// not allocator blocks (the allocator's blocks end at 1 GiB, and it grows memory by doubling it);
// smaller ones come from the allocator, which starts with ALLOCATOR_START bytes of room.

export const MEMORY_MAX_PAGES = 65536;
export const PAGE_BYTES = 65536;
export const RESERVE_REGION = 1 << 20;
export const ALLOCATOR_START = 4 << 20;

// The flow table's memory per flow, as table.ts lays it out (keep in step with it): the entry
// (FLOW_RECORD), the RSS hash of its server-to-client direction, and index slots, a power of two
// and at least FLOW_INDEX_LOAD slots a flow. The index's region is reserved at that size, but
// only as many of its slots are used as keep FLOW_INDEX_LOAD slots a live flow: it starts at
// 2^16 slots and doubles as the live flows grow (its pages are touched as it grows).
export const FLOW_INDEX_SLOT = 8;
export const FLOW_INDEX_LOAD = 2;
export const FLOW_REVERSE_HASH = 4;

// The synthetic generator's memory (assembly/gen/synthetic.ts): a header, then one slot per
// conversation in progress; frames are written into a batch buffer of GEN_FRAME bytes a packet.
export const GEN_STATE_HEADER = 64;
export const GEN_CONVERSATION = 96;
export const GEN_FRAME = 1616;

// A run whose cores walk a capture file in turns (host/node/runner/core.ts: chunk j walked by
// core j % cores, each shipping the others their packets of it): u32 in a ring slot's header,
// 1 + the index of the chunk whose packets this slot is the last of (0: not the last), so that
// the consumer takes the chunks in the file's order.
export const SLOT_CHUNK_END = 8;

// ---- IPFIX export (RFC 7011, biflows RFC 5103; assembly/flow/ipfix.ts, host/core/ipfix.ts) ----
//
// While exporting (configureIpfix), each flow that leaves the table (and each long-lived flow
// every active timeout) becomes one IPFIX data record, encoded here in WASM into whole IPFIX
// messages: the host only stamps each message's export time and sequence number and writes the
// bytes to files and sockets. Templates are the host's (host/core/ipfix.ts builds them from the
// element lists there); their IDs and record lengths are fixed here.
//
// The record's export block (REC_EXPORT, 64 bytes after the direction blocks), kept only while
// exporting: per direction the IP octets (IP header and payload, IPFIX's octetDeltaCount: not the
// frame); what earlier records of a long-lived flow already reported; where its next record starts.
export const REC_EXPORT = 320;
/** u64 IP octets, client to server and back */
export const REC_IP_OCTETS = 320;
export const REC_IP_OCTETS_REVERSE = 328;
/** u64 octets and u32 packets earlier records (active timeout) reported, each direction */
export const REC_SENT_OCTETS = 336;
export const REC_SENT_OCTETS_REVERSE = 344;
export const REC_SENT_PACKETS = 352;
export const REC_SENT_PACKETS_REVERSE = 356;
/** u64 ns: the end of the last record exported (0: none yet); the next record starts after it */
export const REC_SENT_UNTIL = 360;
/**
 * u32 each direction (client to server first), after the export block and kept always: the TSval
 * of that side's first SYN when it carried a timestamp (DirFlag.SYN_TSVAL). A SYN that repeats it
 * with the same ISN long after the flow's last packet is the connection replayed (a capture
 * looped or copied), not retransmitted: a retransmission carries the sender's timestamp clock as
 * it is then (RFC 7323), a later TSval (flow/engine.ts replayedSyn). 8 bytes of the record's
 * 384 are left after it.
 */
export const REC_SYN_TSVAL = 368;

export const IPFIX_STATE = 0x14000;
/** u32: the output buffer: whole messages back to back, IPX_USED bytes of them */
export const IPX_OUT = 0x00;
export const IPX_USED = 0x04;
export const IPX_CAPACITY = 0x08;
/** u32: records encoded since configureIpfix (the host reads them as a counter) */
export const IPX_RECORDS = 0x0c;
/** u32: the observation domain written in every message header */
export const IPX_DOMAIN = 0x10;
/** u32: bytes of the message being filled for template IPFIX_TEMPLATE_V4 / _V6 (0: none) */
export const IPX_FILL_V4 = 0x14;
export const IPX_FILL_V6 = 0x18;
/** the messages being filled, IPFIX_MESSAGE_MAX bytes each */
export const IPX_MESSAGE_V4 = 0x100;
export const IPX_MESSAGE_V6 = 0x700;
/** Largest message: fits a UDP datagram on a 1500-byte MTU with IPv6 and UDP headers. */
export const IPFIX_MESSAGE_MAX = 1400;
export const IPFIX_HEADER = 16;
export const IPFIX_SET_HEADER = 4;
export const IPFIX_VERSION = 10;
/** Template IDs (data set IDs) and the record length of each. */
export const IPFIX_TEMPLATE_V4 = 256;
export const IPFIX_TEMPLATE_V6 = 257;
export const IPFIX_RECORD_V4 = 74;
export const IPFIX_RECORD_V6 = 98;
/** The output buffer: room for this many messages (the engine stops a batch before it fills). */
export const IPFIX_OUT_MESSAGES = 512;

/** flowEndReason (IANA): why a record was exported. */
export const enum FlowEndReason {
  IDLE_TIMEOUT = 1, ACTIVE_TIMEOUT = 2, END_OF_FLOW = 3, FORCED_END = 4, LACK_OF_RESOURCES = 5,
}

// u64 counters at FLOW_STATE (STAT_*, indices 80-89 are the export's)
/** IPFIX records encoded (each ends up in a message the host hands to every exporter) */
export const STAT_IPFIX_RECORDS = 80;
/** IPFIX messages completed */
export const STAT_IPFIX_MESSAGES = 81;
/** active-timeout records (long-lived flows' counts so far) */
export const STAT_IPFIX_ACTIVE = 82;

// ---- TCP endpoints (assembly/tcp, assembly/app) ----
//
// One endpoint engine per core opens (client) and accepts (server) TCP connections: it takes the
// PKT_* batches every source produces, and writes whole Ethernet frames into a transmit slot in
// the ring slot format above (SLOT_COUNT, SLOT_BYTES, descriptors with PKT_DATA relative to the
// slot's packet bytes), which goes unchanged into another core's ring (the in-memory wire) or to
// a DPDK TxQueue.send. Every emitted descriptor carries PKT_HASH (HASHED): the RSS hash the peer's
// NIC computes for the frame's tuple under the shared key, so a wire can steer it with the peer's
// table without hashing again.
//
// Memory plan of an endpoint (all sizes fixed by tcpConfigure, nothing allocated per packet):
//
//   TCP_STATE + 0x000  CFG_*        configuration, written by the host before tcpConfigure
//   TCP_STATE + 0x200  TcpStat      u64 counters (TCP_STATS + index * 8), read between batches
//   TCP_STATE + 0x600  TX_PENDING, FWD_COUNT, APP_*: what the host drains and reads (the
//                                   application's buffers' addresses, its done flag)
//   TCP_STATE + 0x700  TCP_TUPLE, TCP_LOCAL_SCRATCH, TCP_SCRATCH_ENTRY: scratch (a hash input,
//                                   a local address, a stand-in entry for answers no TCB sends)
//   heap               TCBs         CFG_TCBS x TCB_BYTES
//                      index        4-tuple -> TCB or TIME-WAIT entry: open addressing, u64 slots
//                      TIME-WAIT    CFG_TIME_WAITS x TW_BYTES, a FIFO (they all last as long)
//                      chunks       CFG_CHUNKS x (1 << CFG_CHUNK_SHIFT) bytes + a free stack
//                      timer wheel  WHEEL_SLOTS list heads + a bitmap of the non-empty ones
//                      destinations CFG_DESTINATIONS x DEST_BYTES (a client's port pool each)
//                      neighbours   NEIGHBORS_MAX x NEIGH_BYTES (next-hop MACs)
//                      app          HTTP request templates, status counts, two histograms, digests
//
// A TCB (TCB_BYTES) holds one connection's whole state; its send and receive buffers are at
// most TCB_CHUNK_SLOTS chunks each, taken from the shared chunk pool as bytes arrive and given
// back as they are acknowledged (send) or read (receive), so a 1 MiB response needs no 1 MiB
// buffer. A connection entering TIME-WAIT leaves its TCB for a TW_BYTES entry (Linux's timewait
// bucket idea): the index slot stays, pointing at the entry instead.

export const TCP_STATE = 0x13000;

// Configuration (byte offsets from TCP_STATE). u32 unless noted.
/** TCBs (connections at once, all states but TIME-WAIT) */
export const CFG_TCBS = 0x00;
/** TIME-WAIT entries (rounded up to a power of two); when full the oldest ends early (TcpStat.TIME_WAIT_RECYCLED) */
export const CFG_TIME_WAITS = 0x04;
/** chunks in the buffer pool, and log2 of a chunk's bytes */
export const CFG_CHUNKS = 0x08;
export const CFG_CHUNK_SHIFT = 0x0c;
/** per-connection send and receive buffer bytes (at most (TCB_CHUNK_SLOTS - 1) chunks) */
export const CFG_SNDBUF = 0x10;
export const CFG_RCVBUF = 0x14;
/** our window shift (RFC 7323); TcpOption bits (the MSS we announce comes from CFG_MTU) */
export const CFG_WSCALE = 0x1c;
export const CFG_OPTIONS = 0x20;
/** RFC 6298 timers, ms: minimum, initial and maximum RTO; retries before a connection is given up
 *  (SYN, then data); delayed-ACK delay; TIME-WAIT length; initial window in segments */
export const CFG_RTO_MIN = 0x24;
export const CFG_RTO_INITIAL = 0x28;
export const CFG_RTO_MAX = 0x2c;
export const CFG_SYN_RETRIES = 0x30;
export const CFG_DATA_RETRIES = 0x34;
export const CFG_DELACK = 0x38;
export const CFG_TIME_WAIT = 0x3c;
export const CFG_INIT_CWND = 0x40;
/** this engine's core and the cores of its side (ports are owned per core) */
export const CFG_CORE = 0x44;
export const CFG_CORES = 0x48;
/** PortMode, and the local port range (inclusive) connections take their ports from */
export const CFG_PORT_MODE = 0x4c;
export const CFG_PORT_LO = 0x50;
export const CFG_PORT_HI = 0x54;
/** RFC 5961 challenge ACKs allowed per second (0: no limit) */
export const CFG_CHALLENGE_LIMIT = 0x58;
/** destinations (port pools) a client may open connections to */
export const CFG_DESTINATIONS = 0x5c;
/** FieldSet the RSS hash uses for IPv4 and for IPv6 traffic (the peer hash of emitted frames) */
export const CFG_FIELDS4 = 0x60;
export const CFG_FIELDS6 = 0x64;
/** u64 ns since the epoch of the engine's clock zero (timers count ms from it) */
export const CFG_EPOCH = 0x68;
/** 16 bytes: the key of the ISN and timestamp-offset function (RFC 6528) */
export const CFG_SECRET = 0x70;
/** our MAC (6 bytes), the default next hop's MAC (6 bytes) and 1 when that is known */
export const CFG_MAC = 0x80;
export const CFG_NEXT_HOP_MAC = 0x88;
export const CFG_NEXT_HOP_VALID = 0x8e;
/** local IPv4 addresses: the first (4 bytes, network order) and how many follow it */
export const CFG_LOCAL4 = 0x90;
export const CFG_LOCAL4_COUNT = 0x94;
/** local IPv6 addresses: the first (16 bytes) and how many */
export const CFG_LOCAL6 = 0x98;
export const CFG_LOCAL6_COUNT = 0xa8;
/** the transmit slot: address, descriptors and bytes (a ring slot: abi "rings") */
export const CFG_TX_SLOT = 0xac;
export const CFG_SLOT_PACKETS = 0xb0;
export const CFG_SLOT_BYTES = 0xb4;
/** the forward list: descriptors of segments another core owns, and a u16 core each */
export const CFG_FORWARD = 0xb8;
export const CFG_FORWARD_CORES = 0xbc;
export const CFG_FORWARD_MAX = 0xc0;
/** link MTU (IP packet bytes) */
export const CFG_MTU = 0xc4;
/** queues the indirection table at RETA names (QUEUE_CORE maps each to a core) */
export const CFG_QUEUES = 0xc8;
/**
 * the link layer's transmit slot (assembly/link, issue 12), or 0. When set, every frame's next
 * hop comes from the link's neighbour cache (ARP, ND: resolveNextHop, with the gateway when the
 * peer is off-link), on the TCP clock, and a first solicitation goes into that slot; the
 * neighbour table (tcpSetNeighbor, CFG_NEXT_HOP_MAC) is then unused.
 */
export const CFG_LINK_TX = 0xcc;
// The application (AppKind) and its settings.
export const CFG_APP = 0xd0;
/** client: the peer (16 bytes, IPv4 in the first 4), its family (4 or 6) and port */
export const CFG_APP_REMOTE = 0xd4;
export const CFG_APP_FAMILY = 0xe4;
export const CFG_APP_PORT = 0xe8;
/** client: connections open at once on this core; requests per connection; CloseMode */
export const CFG_APP_CONCURRENCY = 0xec;
export const CFG_APP_REQUESTS = 0xf0;
export const CFG_APP_CLOSE = 0xf4;
/** client: a connection or a request that takes longer than this fails (ms) */
export const CFG_APP_TIMEOUT = 0xf8;
/** client: u64 connections to open on this core (0: until tcpStopOpening) */
export const CFG_APP_CONNECTIONS = 0x100;
/** client: the request bytes (address, length), and the one sent last on a connection
 *  (with `Connection: close`) */
export const CFG_APP_REQUEST = 0x108;
export const CFG_APP_REQUEST_LENGTH = 0x10c;
export const CFG_APP_LAST_REQUEST = 0x110;
export const CFG_APP_LAST_REQUEST_LENGTH = 0x114;
/** client: 1 to keep a CRC-32 of every response body */
export const CFG_APP_DIGEST = 0x118;
/** server: the port it listens on; u64 body bytes of every response; idle keep-alive ms */
export const CFG_APP_LISTEN = 0x11c;
export const CFG_APP_RESPONSE_BYTES = 0x120;
export const CFG_APP_IDLE = 0x128;
/** raw app: up to 4 ports it listens on (u16 each, 0: none) */
export const CFG_APP_RAW_LISTEN = 0x12c;

/** TcpOption bits (CFG_OPTIONS): what we offer on SYN (each is used only if the peer offers it too). */
export const enum TcpOption {
  SACK = 1,
  TIMESTAMPS = 2,
  WINDOW_SCALE = 4,
  /** verify IPv4 header and TCP checksums of what arrives (bad ones are dropped, counted) */
  VERIFY_CHECKSUMS = 8,
  /** send an ACK for every segment instead of delaying (RFC 9293 3.8.6.3 allows either) */
  QUICK_ACK = 16,
}

/** How a client picks its local ports. */
export const enum PortMode {
  /** from the core's RSS-aligned pool: the peer's replies land on this core */
  POOL = 0,
  /** at random, as a kernel picks ephemeral ports; core c owns ports p with p % cores == c */
  RANDOM = 1,
}

/** Which application runs on the connections. */
export const enum AppKind {
  /** bytes in and out through tcpSend/tcpRecv (tests, library users) */
  RAW = 0,
  HTTP_CLIENT = 1,
  HTTP_SERVER = 2,
}

/** How a client ends a connection after its last response. */
export const enum CloseMode {
  /** the last request says `Connection: close`; the server closes first, we answer its FIN */
  FIN = 0,
  /** abort with RST after the last response (no TIME-WAIT on either side) */
  RST = 1,
}

// u64 counters at TCP_STATE + TCP_STATS + index * 8. received = processed + forwarded + dropped.
export const TCP_STATS = 0x200;
export const enum TcpStat {
  /** frames handed to tcpInput */
  RECEIVED = 0,
  /** segments the state machine took (a TCB, a listener, a TIME-WAIT entry, or answered by RST) */
  PROCESSED = 1,
  /** frames dropped, all reasons (the DROP_* counters below, and the parse drops at PARSE_DROP) */
  DROPPED = 2,
  /** segments of connections another core owns, sent on to it through the rings */
  FORWARDED = 3,
  /** segments of this core's connections that arrived through another core (forwarded to us) */
  MISDELIVERED = 4,
  /** not addressed to one of our addresses */
  DROP_NOT_OURS = 5,
  /** frames for the link layer (ARP, ICMP, ND, other EtherTypes): counted and dropped here */
  DROP_LINK = 6,
  /** IPv4 header or TCP checksum wrong */
  DROP_BAD_CHECKSUM = 7,
  /** a SYN for a listener when no TCB was free */
  DROP_NO_TCB = 8,
  /** a fragment, or another IP protocol */
  DROP_NOT_TCP = 9,
  /** PAWS (RFC 7323 5): a timestamp older than the connection's */
  DROP_PAWS = 10,
  /** an out-of-order segment no chunk could hold */
  DROP_NO_CHUNK = 11,
  /** a segment with neither SYN, RST nor ACK in a synchronized state, and the like */
  DROP_INVALID = 12,
  /** frames and payload bytes written to the transmit slot */
  SEGMENTS_SENT = 13,
  BYTES_SENT = 14,
  /** segments sent again (by the retransmission timer, or fast retransmit) */
  RETRANSMITS = 15,
  FAST_RETRANSMITS = 16,
  /** retransmission timer expiries */
  TIMEOUTS = 17,
  RST_SENT = 18,
  RST_RECEIVED = 19,
  /** RFC 5961 challenge ACKs sent, and not sent for the rate limit */
  CHALLENGE_ACKS = 20,
  CHALLENGE_ACKS_LIMITED = 21,
  /** unacceptable segments answered with an ACK and dropped (RFC 9293 3.10.7.4 first check) */
  OUT_OF_WINDOW = 22,
  DUPACKS = 23,
  /** segments held out of order, and payload bytes received in order */
  OUT_OF_ORDER = 24,
  BYTES_RECEIVED = 25,
  ZERO_WINDOW_PROBES = 26,
  /** ACKs sent alone (no data), and those a delayed-ACK timer sent */
  ACKS_SENT = 27,
  DELAYED_ACKS = 28,
  /** connections opened (active), accepted (passive), that reached ESTABLISHED */
  OPENED = 29,
  ACCEPTED = 30,
  ESTABLISHED = 31,
  /** connections ended by an RST, by the retry limit, by their application (abort) */
  RESETS = 32,
  RETRY_LIMIT = 33,
  ABORTS = 34,
  /** TIME-WAIT: entered, ended by its timer, ended early because the table was full, ended
   *  because a new SYN reused the 4-tuple (RFC 6191), ended by an RST */
  TIME_WAIT_ENTERED = 35,
  TIME_WAIT_ENDED = 36,
  TIME_WAIT_RECYCLED = 37,
  TIME_WAIT_REUSED = 38,
  TIME_WAIT_RESET = 39,
  /** a connection could not open: no free port (the core's pool was empty), no TCB */
  PORT_EXHAUSTED = 40,
  TCB_EXHAUSTED = 41,
  /** the application found no chunk to write into (it tries again later) */
  CHUNK_STALLS = 42,
  /** a frame not sent: the next hop's MAC is unknown (the link layer resolves it) */
  NO_NEIGHBOR = 43,
  /** gauges: TCBs in use, TIME-WAIT entries in use, free chunks, the clock (ms since CFG_EPOCH) */
  TCBS_ACTIVE = 44,
  TIME_WAITS_ACTIVE = 45,
  CHUNKS_FREE = 46,
  NOW_MS = 47,
  /** SACK blocks sent and received (RFC 2018) */
  SACKS_SENT = 48,
  SACKS_RECEIVED = 49,
  /** connections that went through CLOSED and freed their TCB */
  CLOSED = 50,
  /** an out-of-order segment that would have made more than TCB_OOO_MAX holes */
  DROP_OOO_LIMIT = 51,
  // ---- the application's (assembly/app) ----
  /** client: connections started, completed (every request answered, closed as asked) */
  APP_STARTED = 56,
  APP_COMPLETED = 57,
  /** client: responses read to their end, and their body bytes */
  APP_RESPONSES = 58,
  APP_BODY_BYTES = 59,
  /** client errors (the JSON's `errors`): no connection within the timeout, reset by the peer,
   *  a request not answered within the timeout, a response that is not HTTP/1.x */
  APP_CONNECT_TIMEOUT = 60,
  APP_RESET = 61,
  APP_TIMEOUT = 62,
  APP_BAD_RESPONSE = 63,
  /** server: connections, requests answered, response bytes written (headers and bodies) */
  APP_SERVED_CONNECTIONS = 64,
  APP_SERVED_REQUESTS = 65,
  APP_SERVED_BYTES = 66,
  /** server: connections closed for idling past CFG_APP_IDLE, and requests it could not parse */
  APP_IDLE_CLOSED = 67,
  APP_BAD_REQUEST = 68,
  /** client: connections open now */
  APP_OPEN = 69,
  /** the parse drops: PARSE_DROP + DropReason */
  PARSE_DROP = 72,
}
export const TCP_STAT_COUNT = 72 + 12;

// What the host drains after each call (TCP_STATE + offset, u32).
/** 1 while TCBs wait on the output list (call tcpOutput again after shipping the slot) */
export const TX_PENDING = 0x600;
/** descriptors on the forward list (FWD descriptors at CFG_FORWARD, u16 cores at CFG_FORWARD_CORES) */
export const FWD_COUNT = 0x604;
/** client: 1 once it has opened every connection it will and they have all ended */
export const APP_DONE = 0x608;
/** client: 1 after tcpStopOpening */
export const APP_STOPPED = 0x60c;
/** heap addresses the host reads at the end: status counts (u32 per code 0-599), the latency
 *  and connect-time histograms (HIST_BUCKETS u64 each), body digests (DIGESTS_MAX x (u32 crc,
 *  u32 count)) and the count of responses whose digest found no free entry */
export const APP_STATUS = 0x610;
export const APP_LATENCY = 0x614;
export const APP_CONNECT_TIME = 0x618;
export const APP_DIGESTS = 0x61c;
export const APP_DIGEST_OVERFLOW = 0x620;
/** u64 largest latency and connect time seen, ns */
export const APP_LATENCY_MAX = 0x628;
export const APP_CONNECT_MAX = 0x630;
/** scratch hash input (36 bytes) */
export const TCP_TUPLE = 0x700;
/** scratch: our local address while a connection is being opened (16 bytes) */
export const TCP_LOCAL_SCRATCH = 0x760;
/** scratch: a stand-in entry (TCB layout up to TCB_PEER_HASH + 8) for answers no TCB sends */
export const TCP_SCRATCH_ENTRY = 0x780;

/** Log-linear histogram: values below 64 ns have a bucket each; above, 32 buckets per power of
 *  two (3% wide). Bucket b >= 64 covers [(32 + s) << (e - 5), (33 + s) << (e - 5)) with
 *  e = 6 + (b - 64) / 32, s = (b - 64) % 32. */
export const HIST_BUCKETS = 64 + 58 * 32;
/** distinct body digests kept with a count each */
export const DIGESTS_MAX = 16;

/** Chunk slots per direction in a TCB (a buffer spans at most this many chunks). */
export const TCB_CHUNK_SLOTS = 16;
/** Out-of-order intervals a TCB holds (and so at most the SACK blocks it can report). */
export const TCB_OOO_MAX = 4;

// The TCB (TCB_BYTES each, in the TCB table). Sequence numbers as on the wire (host order
// values); ports host order; addresses network order, IPv4 in the first 4 of 16 bytes.
/** u8 TcpState (RFC 9293 names); u8 family 4/6; u8 AppKind; u8 window shifts: ours (low 4 bits)
 *  and the peer's (high 4) */
export const TCB_STATE = 0;
export const TCB_FAMILY = 1;
export const TCB_APP = 2;
export const TCB_WSCALE = 3;
/** u32 TcbFlag bits */
export const TCB_FLAGS = 4;
export const TCB_LOCAL_PORT = 8;
export const TCB_REMOTE_PORT = 10;
/** u32 the index hash of the 4-tuple */
export const TCB_HASH = 12;
export const TCB_LOCAL_ADDR = 16;
export const TCB_REMOTE_ADDR = 32;
/** u32 RSS hash of our frames' tuple as the peer's NIC computes it (PKT_HASH of what we send) */
export const TCB_PEER_HASH = 48;
/** u16 neighbour (next hop) index; u16 destination index + 1 (0: none: an accepted connection) */
export const TCB_NEIGHBOR = 52;
export const TCB_DEST = 54;
/** u16 local address index (from the first local address of the family); u16 send MSS (payload
 *  bytes a segment may carry, options excluded) */
export const TCB_ADDR_INDEX = 56;
export const TCB_MSS = 58;
/** u8 duplicate ACKs in a row; u8 retransmissions of the same segment (backoff exponent) */
export const TCB_DUPACKS = 60;
export const TCB_RETRIES = 61;
/** u8 out-of-order intervals held; u8 full segments received since our last ACK */
export const TCB_OOO_COUNT = 62;
export const TCB_UNACKED_SEGMENTS = 63;
/** RFC 9293 3.3.1 variables, u32 */
export const TCB_ISS = 64;
export const TCB_IRS = 68;
export const TCB_SND_UNA = 72;
export const TCB_SND_NXT = 76;
/** highest sequence number sent + 1 (SND.NXT goes back to SND.UNA on a timeout) */
export const TCB_SND_MAX = 80;
/** peer's window, scaled (bytes) */
export const TCB_SND_WND = 84;
export const TCB_SND_WL1 = 88;
export const TCB_SND_WL2 = 92;
/** largest window the peer ever offered (RFC 5961 5.2's MAX.SND.WND; sender SWS) */
export const TCB_MAX_SND_WND = 96;
/** send stream offset of the end of what the application wrote (offset 0 = ISS + 1) */
export const TCB_SND_END = 100;
/** NewReno (RFC 6582): recover; cwnd; ssthresh; bytes acked in congestion avoidance */
export const TCB_RECOVER = 104;
export const TCB_CWND = 108;
export const TCB_SSTHRESH = 112;
export const TCB_BYTES_ACKED = 116;
export const TCB_RCV_NXT = 120;
/** right edge of the window we last advertised (RCV.NXT + RCV.WND then) */
export const TCB_RCV_ADV = 124;
/** receive stream offset the application has read up to (raw app; offset 0 = IRS + 1) */
export const TCB_RCV_READ = 128;
/** RFC 7323: TS.Recent, and our timestamps' offset from the clock (per connection, RFC 7323 5.4) */
export const TCB_TS_RECENT = 132;
export const TCB_TS_OFFSET = 136;
/** RFC 6298: SRTT and RTTVAR (us), RTO (ms); without timestamps, the segment being timed and when */
export const TCB_SRTT = 140;
export const TCB_RTTVAR = 144;
export const TCB_RTO = 148;
export const TCB_RTT_SEQ = 152;
export const TCB_RTT_START = 156;
/** timers (ms since CFG_EPOCH; 0: off): the wheel entry's time and its links (TCB index + 1) */
export const TCB_TIMER_AT = 160;
export const TCB_TIMER_NEXT = 164;
export const TCB_TIMER_PREV = 168;
/** retransmission (or SYN, or zero-window probe) timer, delayed ACK, the application's */
export const TCB_RTO_AT = 172;
export const TCB_DELACK_AT = 176;
export const TCB_APP_AT = 180;
/** output list link (TCB index + 1) */
export const TCB_OUTPUT_NEXT = 184;
/** the peer's FIN, when it arrived out of order (TcbFlag.FIN_AHEAD): its sequence number */
export const TCB_FIN_SEQ = 188;
/** TCB_OOO_MAX out-of-order intervals [start, end) as sequence numbers, in order */
export const TCB_OOO = 192;
/** 64 bytes of application state (assembly/app) */
export const TCB_APP_STATE = 256;
/** TCB_CHUNK_SLOTS u32 chunk numbers + 1 (0: none) per direction: chunk slot k holds stream
 *  bytes [k' * chunk, (k' + 1) * chunk) for the k' with k' % TCB_CHUNK_SLOTS == k */
export const TCB_SND_CHUNKS = 320;
export const TCB_RCV_CHUNKS = 384;
export const TCB_BYTES = 448;

export const enum TcbFlag {
  /** send an ACK at the next output (alone if nothing else carries it) */
  ACK_NOW = 1,
  /** an ACK is owed and the delayed-ACK timer runs */
  ACK_DELAYED = 2,
  /** on the output list */
  OUTPUT = 4,
  /** the application closed: FIN after the data */
  FIN_QUEUED = 8,
  /** our FIN has been sent (at TCB_SND_END's sequence number) */
  FIN_SENT = 16,
  /** the peer's FIN has been received in order */
  FIN_RECEIVED = 32,
  /** both sides use timestamps / SACK / window scaling */
  TIMESTAMPS = 64,
  SACK = 128,
  WINDOW_SCALE = 256,
  /** we opened it (active open) */
  ACTIVE = 512,
  /** NewReno fast recovery */
  RECOVERY = 1024,
  /** send the segment at SND.UNA again now (fast retransmit, partial ACK) */
  RETRANSMIT_ONE = 2048,
  /** the peer's window is zero and the timer probes it */
  PERSIST = 4096,
  /** a round-trip sample is being timed (no timestamps) */
  RTT_TIMING = 8192,
  /** the application wants to write more when room appears */
  APP_WANTS_ROOM = 16384,
  /** on the timer wheel */
  TIMER = 32768,
  /** send RST and free the TCB at the next output (abort) */
  RST_QUEUED = 65536,
  /** a window update is due (the application read enough to open the window) */
  WINDOW_UPDATE = 131072,
  /** the peer offered SACK (we may send SACK blocks) */
  PEER_SACK = 262144,
  /** the peer's FIN arrived ahead of data still missing (at TCB_FIN_SEQ) */
  FIN_AHEAD = 524288,
  /** released while on the output list: the output pass frees it */
  RELEASED = 1048576,
  /** send a zero-window probe (one byte at SND.UNA) at the next output */
  PROBE = 2097152,
}

// A TIME-WAIT entry (TW_BYTES each, a FIFO in the order they started). The 4-tuple, family and
// hashes sit where the TCB keeps them, so one comparison serves both in the index.
/** u8 family; u8 TwFlag; u8 window shifts as TCB_WSCALE; u16 the window field it sends */
export const TW_FAMILY = 1;
export const TW_FLAGS = 2;
export const TW_WSCALE = 3;
export const TW_WINDOW = 4;
export const TW_LOCAL_PORT = 8;
export const TW_REMOTE_PORT = 10;
export const TW_HASH = 12;
export const TW_LOCAL_ADDR = 16;
export const TW_REMOTE_ADDR = 32;
export const TW_PEER_HASH = 48;
export const TW_NEIGHBOR = 52;
/** u16 destination index + 1 (a client's port to give back when it ends, 0: none); u16 address index */
export const TW_DEST = 54;
export const TW_ADDR_INDEX = 56;
export const TW_SND_NXT = 60;
export const TW_RCV_NXT = 64;
export const TW_TS_RECENT = 68;
export const TW_TS_OFFSET = 72;
/** u32 ms since CFG_EPOCH when it ends */
export const TW_EXPIRES = 76;
export const TW_BYTES = 80;

export const enum TwFlag {
  /** in the index (cleared when it ended early) */
  LIVE = 1,
  TIMESTAMPS = 2,
}

// A destination (DEST_BYTES): a peer (address, port) a client connects to, with its port pool.
export const DEST_FAMILY = 0;
/** u8 PortMode of its pool */
export const DEST_MODE = 1;
export const DEST_PORT = 2;
export const DEST_REMOTE = 4;
/** u32 the pool (assembly/pool: POOL mode) or the core record of a partition bitmap (RANDOM) */
export const DEST_POOL = 20;
/** u32 slot -> (address index, port): shift and port base */
export const DEST_SHIFT = 24;
export const DEST_PORT_BASE = 28;
/** u32 the pool's slots for this core, and this core's neighbour index for the peer */
export const DEST_SIZE = 32;
export const DEST_NEIGHBOR = 36;
export const DEST_BYTES = 64;

// A neighbour (NEIGH_BYTES): a next hop's MAC. Entry 0 is the default next hop (CFG_NEXT_HOP_MAC).
export const NEIGH_FAMILY = 0;
export const NEIGH_VALID = 1;
export const NEIGH_MAC = 2;
export const NEIGH_ADDR = 8;
export const NEIGH_BYTES = 24;
export const NEIGHBORS_MAX = 256;

/** Timer wheel: slots of 1 ms; timers further out than the wheel turns wait a turn. */
export const WHEEL_SLOTS = 4096;

/** What tcpConfigure and tcpConnect return, negated. */
export const enum TcpStatus {
  /** a size or count out of range (the host checks them first and names the limit) */
  BAD_SIZE = 1,
  /** no free TCB */
  NO_TCB = 2,
  /** no free port in this core's pool */
  NO_PORT = 3,
  /** no room for another destination */
  NO_DESTINATION = 4,
  /** an address family with no local address, or a port pool the RSS field set cannot build */
  BAD_ADDRESS = 5,
  /** the 4-tuple is in use */
  IN_USE = 6,
}
