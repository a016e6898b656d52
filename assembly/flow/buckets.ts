/**
 * Load per indirection-table entry ("bucket"): what `rssplane advise` reasons about. The table maps
 * buckets to queues, so a queue's load under any table is the sum of its buckets' loads, and a
 * table that fixes an imbalance is a different assignment of the same buckets.
 *
 * Counted per packet inside processBatch (packets, captured bytes: one row update), and per flow
 * as it leaves the table (flow directions, the heaviest flows, the ports deltas): no per-packet
 * work in JavaScript, no per-flow work anywhere but here. Layout and meaning of every count:
 * "load per indirection-table entry" in shared/abi.ts.
 *
 * A flow's two directions hash separately (unless the key is symmetric), so each direction is
 * one flow of the bucket its own hash selects: the flows of a queue are then the sum over its
 * buckets, and moving a bucket moves exactly the flow directions counted in it.
 */
import {
  BUCKET_BYTES, BUCKET_FLOWS, BUCKET_PACKETS, BUCKET_ROW, DIR_BYTES, DIR_PACKETS, FieldSet, FLOW_DIR, FLOW_STATE,
  OUT_BUCKET_DELTAS, OUT_BUCKET_SIZE, OUT_BUCKET_TOPS, OUT_BUCKETS, PKT_CAPLEN, PKT_HASH, PORTS_DELTAS, REC_CLIENT_ADDR,
  REC_CLIENT_PORT, REC_DIR, REC_FAMILY, REC_PROTO, REC_RSS_HASH, REC_SERVER_ADDR, REC_SERVER_PORT, Status, SYN_BYTES,
  TOP_BYTES, TOP_DPORT, TOP_DST, TOP_ENTRY, TOP_FAMILY, TOP_FLOWS, TOP_PACKETS, TOP_PROTO, TOP_SPORT, TOP_SRC,
} from "../shared/abi";
import { hashTuple } from "../rss/hash";
import { reserve, unreserve } from "../shared/reserve";
import { retaSize } from "../rss/reta";

const PROTOCOL_TCP: u8 = 6;

let counts: usize = 0;
let deltas: usize = 0;
let tops: usize = 0;
let scratch: usize = 0;
let size: u32 = 0;
let mask: u32 = 0;

/**
 * Sizes the counts for the table programmed now (configureReta) and clears them; `portsHashed`:
 * the field set includes ports (no ports deltas are kept then). Configuration time only.
 * Returns Status.BAD_SIZE when no table is programmed.
 */
export function configureBuckets(portsHashed: bool): i32 {
  const s = <u32>retaSize();
  if (s == 0) return Status.BAD_SIZE;
  // From shared/reserve.ts, as every configuration buffer (the host counts these at the largest
  // table, host/core/limits.ts): a large flow table may have left the allocator no room to grow.
  unreserve(counts);
  unreserve(deltas);
  unreserve(tops);
  counts = deltas = tops = size = 0;
  if (!scratch) scratch = reserve(64);
  const c = reserve(<usize>(s + 1) * BUCKET_ROW);
  const d: usize = portsHashed ? 1 : reserve(<usize>(PORTS_DELTAS * s) * BUCKET_ROW);
  const t = reserve(<usize>s * 2 * TOP_FLOWS * TOP_ENTRY);
  if (!scratch || !c || !d || !t) {
    unreserve(c);
    if (!portsHashed) unreserve(d);
    unreserve(t);
    store<u32>(FLOW_STATE + OUT_BUCKETS, 0);
    store<u32>(FLOW_STATE + OUT_BUCKET_DELTAS, 0);
    store<u32>(FLOW_STATE + OUT_BUCKET_TOPS, 0);
    store<u32>(FLOW_STATE + OUT_BUCKET_SIZE, 0);
    return Status.BAD_SIZE;
  }
  size = s;
  mask = s - 1;
  counts = c;
  deltas = portsHashed ? 0 : d;
  tops = t;
  clearBuckets();
  store<u32>(FLOW_STATE + OUT_BUCKETS, <u32>counts);
  store<u32>(FLOW_STATE + OUT_BUCKET_DELTAS, <u32>deltas);
  store<u32>(FLOW_STATE + OUT_BUCKET_TOPS, <u32>tops);
  store<u32>(FLOW_STATE + OUT_BUCKET_SIZE, size);
  return Status.OK;
}

/** Zeroes every count, delta and top list (the sizes stay). */
export function clearBuckets(): void {
  if (!counts) return;
  memory.fill(counts, 0, <usize>(size + 1) * BUCKET_ROW);
  if (deltas) memory.fill(deltas, 0, <usize>(PORTS_DELTAS * size) * BUCKET_ROW);
  memory.fill(tops, 0, <usize>size * 2 * TOP_FLOWS * TOP_ENTRY);
}

/**
 * A processed packet (descriptor `d`, its PKT_HASH final): one more packet and its captured bytes
 * in the bucket of its hash; `hashed` false (not IP) counts it in row S, which has no entry.
 */
// @ts-ignore: decorator
@inline export function countPacket(d: usize, hashed: bool): void {
  if (!counts) return;
  const bucket: u32 = hashed ? load<u32>(d + PKT_HASH) & mask : size;
  const row = counts + <usize>bucket * BUCKET_ROW;
  store<u64>(row + BUCKET_PACKETS, load<u64>(row + BUCKET_PACKETS) + 1);
  store<u64>(row + BUCKET_BYTES, load<u64>(row + BUCKET_BYTES) + <u64>load<u32>(d + PKT_CAPLEN));
}

/**
 * The flow in entry `e` leaves the table (`reverseHash`: the RSS hash of its server-to-client
 * direction; the record holds the other). Each direction that carried packets is one flow of its
 * bucket, a candidate for the bucket's heaviest, and, when ports are not hashed, load that would
 * move to the bucket its tuple with ports selects.
 */
export function flowLeft(e: usize, reverseHash: u32): void {
  if (!counts) return;
  for (let d: u32 = 0; d < 2; d++) {
    const dir = e + REC_DIR + <usize>d * FLOW_DIR;
    const packets = load<u32>(dir + DIR_PACKETS);
    if (packets == 0) continue;
    directionLeft(e, d, (d == 0 ? load<u32>(e + REC_RSS_HASH) : reverseHash) & mask, packets, load<u64>(dir + DIR_BYTES));
  }
}

/**
 * flowLeft for lone SYN `s` (its SYN_ENTRY, syn.ts, whose header is a record's): one direction,
 * the client's, of one packet.
 */
export function synLeft(s: usize): void {
  if (!counts) return;
  directionLeft(s, 0, load<u32>(s + REC_RSS_HASH) & mask, 1, <u64>load<u32>(s + SYN_BYTES));
}

/** Direction `d` of flow `e` (its header: tuple, protocol, family) leaves bucket `bucket`. */
// @ts-ignore: decorator
@inline function directionLeft(e: usize, d: u32, bucket: u32, packets: u32, bytes: u64): void {
  const row = counts + <usize>bucket * BUCKET_ROW;
  store<u64>(row + BUCKET_FLOWS, load<u64>(row + BUCKET_FLOWS) + 1);
  const list = tops + <usize>bucket * (2 * TOP_FLOWS * TOP_ENTRY);
  offer(list, false, <u64>packets, e, d, packets, bytes);
  offer(list + TOP_FLOWS * TOP_ENTRY, true, bytes, e, d, packets, bytes);
  if (deltas) movePorts(e, d, bucket, packets, bytes);
}

// @ts-ignore: decorator
@inline function metricOf(entry: usize, byBytes: bool): u64 {
  return byBytes ? load<u64>(entry + TOP_BYTES) : <u64>load<u32>(entry + TOP_PACKETS);
}

/** Puts direction `d` of flow `e` into `list` (heaviest first) if it beats the lightest there. */
function offer(list: usize, byBytes: bool, value: u64, e: usize, d: u32, packets: u32, bytes: u64): void {
  if (value <= metricOf(list + (TOP_FLOWS - 1) * TOP_ENTRY, byBytes)) return;
  let i: usize = 0;
  while (value <= metricOf(list + i * TOP_ENTRY, byBytes)) i++;
  const at = list + i * TOP_ENTRY;
  memory.copy(at + TOP_ENTRY, at, (<usize>TOP_FLOWS - 1 - i) * TOP_ENTRY);
  store<u64>(at + TOP_BYTES, bytes);
  store<u32>(at + TOP_PACKETS, packets);
  const client = d == 0;
  store<u16>(at + TOP_SPORT, load<u16>(e + (client ? REC_CLIENT_PORT : REC_SERVER_PORT)));
  store<u16>(at + TOP_DPORT, load<u16>(e + (client ? REC_SERVER_PORT : REC_CLIENT_PORT)));
  store<u8>(at + TOP_PROTO, load<u8>(e + REC_PROTO));
  store<u8>(at + TOP_FAMILY, load<u8>(e + REC_FAMILY));
  v128.store(at + TOP_SRC, v128.load(e + (client ? REC_CLIENT_ADDR : REC_SERVER_ADDR)));
  v128.store(at + TOP_DST, v128.load(e + (client ? REC_SERVER_ADDR : REC_CLIENT_ADDR)));
}

/**
 * The field set leaves ports out: hashes direction `d` of flow `e` with its ports too (the same
 * key, function and transform) and, when that selects another bucket, records the load moving
 * there (per protocol and family: `ethtool -N rx-flow-hash tcp4|tcp6|udp4|udp6` sets each one's fields).
 */
function movePorts(e: usize, d: u32, bucket: u32, packets: u32, bytes: u64): void {
  const family = load<u8>(e + REC_FAMILY);
  const client = d == 0;
  const src = e + (client ? REC_CLIENT_ADDR : REC_SERVER_ADDR);
  const dst = e + (client ? REC_SERVER_ADDR : REC_CLIENT_ADDR);
  const sport = load<u16>(e + (client ? REC_CLIENT_PORT : REC_SERVER_PORT));
  const dport = load<u16>(e + (client ? REC_SERVER_PORT : REC_CLIENT_PORT));
  const ports = (<u32>bswap<u16>(dport) << 16) | <u32>bswap<u16>(sport);
  let fields: i32;
  if (family == 4) {
    store<u32>(scratch, load<u32>(src));
    store<u32>(scratch, load<u32>(dst), 4);
    store<u32>(scratch, ports, 8);
    fields = FieldSet.IPV4_L4;
  } else {
    v128.store(scratch, v128.load(src));
    v128.store(scratch, v128.load(dst), 16);
    store<u32>(scratch, ports, 32);
    fields = FieldSet.IPV6_L4;
  }
  const moved = hashTuple(scratch, fields) & mask;
  if (moved == bucket) return;
  const which: u32 = (load<u8>(e + REC_PROTO) == PROTOCOL_TCP ? 0 : 2) + (family == 4 ? 0 : 1);
  const table = deltas + <usize>which * size * BUCKET_ROW;
  add(table + <usize>bucket * BUCKET_ROW, -<i64>packets, -<i64>bytes, -1);
  add(table + <usize>moved * BUCKET_ROW, <i64>packets, <i64>bytes, 1);
}

// @ts-ignore: decorator
@inline function add(row: usize, packets: i64, bytes: i64, flows: i64): void {
  store<i64>(row + BUCKET_PACKETS, load<i64>(row + BUCKET_PACKETS) + packets);
  store<i64>(row + BUCKET_BYTES, load<i64>(row + BUCKET_BYTES) + bytes);
  store<i64>(row + BUCKET_FLOWS, load<i64>(row + BUCKET_FLOWS) + flows);
}
