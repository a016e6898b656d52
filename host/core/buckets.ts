/**
 * Load per indirection-table entry ("bucket": the entry a packet went through, the hash's low
 * log2(S) bits), as the flow engine counts it (assembly/flow/buckets.ts; layout in
 * assembly/shared/abi.ts): read back after batches, summed over cores, and the heaviest flows of a
 * bucket decoded only when a report names them.
 */
import {
  BUCKET_BYTES, BUCKET_FLOWS, BUCKET_PACKETS, BUCKET_ROW, FLOW_STATE, OUT_BUCKET_DELTAS, OUT_BUCKET_SIZE,
  OUT_BUCKET_TOPS, OUT_BUCKETS, PORTS_DELTAS, TOP_BYTES, TOP_DPORT, TOP_DST, TOP_ENTRY, TOP_FAMILY, TOP_FLOWS, TOP_PACKETS,
  TOP_PROTO, TOP_SPORT, TOP_SRC,
} from '../../assembly/shared/abi.js';
import { formatEndpointAt } from './addr.js';

/**
 * One table entry's load. `flows` counts flow directions: each direction of a flow is one flow of
 * the entry its own hash selects (a connection's two directions may land on two entries), so a
 * queue's flows are the sum over its entries. Flows are counted as they leave the flow table
 * (all of them after `FlowEngine.finish()`); packets and bytes (captured) as they are processed.
 */
export interface BucketLoad {
  index: number;
  packets: number;
  bytes: number;
  flows: number;
}

/** What the engine keeps per bucket for advice, complete once every flow has left the table. */
export interface BucketDetail {
  /** the heaviest flow directions per bucket: S x 2 lists (by packets, by bytes) x TOP_FLOWS raw entries (abi TOP_*), a copy */
  tops: Uint8Array;
  /**
   * When the field set leaves ports out: per traffic class (PORTS_CLASSES: tcp4, tcp6, udp4,
   * udp6), per bucket, the packets, bytes and flows it would gain (negative: lose) were that
   * class's ports hashed too (4 x S x 3 numbers).
   */
  portDeltas?: Float64Array;
}

/** The ports delta tables, in order: ethtool's names for the traffic each holds. */
export const PORTS_CLASSES = ['tcp4', 'tcp6', 'udp4', 'udp6'] as const;

/** A flow direction as a bucket's top list holds it (decoded: only the few a report prints). */
export interface TopFlow {
  proto: 'tcp' | 'udp';
  family: 4 | 6;
  /** "ADDR:PORT", IPv6 as "[ADDR]:PORT": the sender of this direction, then its receiver */
  src: string;
  dst: string;
  packets: number;
  bytes: number;
  /** flows of this tuple among the heaviest (a connection reused, a capture replayed: 1 otherwise), packets and bytes summed */
  flows: number;
}

/** A little-endian u64 as a number (exact below 2^53), without a BigInt. */
const u64 = (dv: DataView, at: number) => dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32;
const i64 = (dv: DataView, at: number) => dv.getUint32(at, true) + dv.getInt32(at + 4, true) * 2 ** 32;

/** The table size the engine counts buckets for (0: not configured). */
export function bucketCount(dv: DataView): number {
  return dv.getUint32(FLOW_STATE + OUT_BUCKET_SIZE, true);
}

/** Reads the per-bucket counts and the row of packets that are not IP (which have no entry). */
export function readBuckets(dv: DataView): { buckets: BucketLoad[]; unhashed: { packets: number; bytes: number } } {
  const size = bucketCount(dv);
  const base = dv.getUint32(FLOW_STATE + OUT_BUCKETS, true);
  const buckets: BucketLoad[] = new Array(size);
  for (let i = 0; i < size; i++) {
    const row = base + i * BUCKET_ROW;
    buckets[i] = { index: i, packets: u64(dv, row + BUCKET_PACKETS), bytes: u64(dv, row + BUCKET_BYTES), flows: u64(dv, row + BUCKET_FLOWS) };
  }
  const last = base + size * BUCKET_ROW;
  return { buckets, unhashed: size ? { packets: u64(dv, last + BUCKET_PACKETS), bytes: u64(dv, last + BUCKET_BYTES) } : { packets: 0, bytes: 0 } };
}

/** Copies the top lists and (when kept) the ports deltas out of engine memory. */
export function readBucketDetail(dv: DataView): BucketDetail {
  const size = bucketCount(dv);
  const tops = dv.getUint32(FLOW_STATE + OUT_BUCKET_TOPS, true);
  // slice() copies into an ArrayBuffer of its own, also from a shared memory.
  const detail: BucketDetail = { tops: new Uint8Array(dv.buffer, tops, size * 2 * TOP_FLOWS * TOP_ENTRY).slice() };
  const deltas = dv.getUint32(FLOW_STATE + OUT_BUCKET_DELTAS, true);
  if (deltas) {
    const d = new Float64Array(PORTS_DELTAS * size * 3);
    for (let r = 0; r < PORTS_DELTAS * size; r++) {
      const row = deltas + r * BUCKET_ROW;
      d[r * 3] = i64(dv, row + BUCKET_PACKETS);
      d[r * 3 + 1] = i64(dv, row + BUCKET_BYTES);
      d[r * 3 + 2] = i64(dv, row + BUCKET_FLOWS);
    }
    detail.portDeltas = d;
  }
  return detail;
}

/** Bucket loads of several engines (cores) added entry by entry; all must count the same table size. */
export function sumBuckets(perCore: ReadonlyArray<readonly BucketLoad[]>): BucketLoad[] {
  const size = Math.max(0, ...perCore.map((b) => b.length));
  const sum = Array.from({ length: size }, (_, index) => ({ index, packets: 0, bytes: 0, flows: 0 }));
  for (const buckets of perCore) {
    for (const b of buckets) {
      const s = sum[b.index]!;
      s.packets += b.packets;
      s.bytes += b.bytes;
      s.flows += b.flows;
    }
  }
  return sum;
}

/** Ports deltas of several engines added up (undefined when none kept them). */
export function sumPortDeltas(details: readonly BucketDetail[]): Float64Array | undefined {
  const kept = details.filter((d) => d.portDeltas);
  if (!kept.length) return undefined;
  const sum = new Float64Array(kept[0]!.portDeltas!.length);
  for (const d of kept) d.portDeltas!.forEach((v, i) => (sum[i]! += v));
  return sum;
}

/**
 * The `n` heaviest flow directions of bucket `index` by `by`, over several engines' lists. Each
 * engine kept its TOP_FLOWS heaviest, and a flow direction lives on one engine, so the top n (n <=
 * TOP_FLOWS) of their union is exact. Only these n are decoded.
 */
export function topFlows(details: readonly BucketDetail[], index: number, by: 'packets' | 'bytes', n = TOP_FLOWS): TopFlow[] {
  const list = index * 2 * TOP_FLOWS + (by === 'bytes' ? TOP_FLOWS : 0);
  const candidates: Array<{ dv: DataView; at: number; value: number }> = [];
  for (const d of details) {
    const dv = new DataView(d.tops.buffer, d.tops.byteOffset, d.tops.byteLength);
    for (let k = 0; k < TOP_FLOWS; k++) {
      const at = (list + k) * TOP_ENTRY;
      if (at + TOP_ENTRY > d.tops.byteLength) break;
      const packets = dv.getUint32(at + TOP_PACKETS, true);
      if (!packets) break;
      candidates.push({ dv, at, value: by === 'bytes' ? u64(dv, at + TOP_BYTES) : packets });
    }
  }
  candidates.sort((a, b) => b.value - a.value);
  return candidates.slice(0, Math.min(n, TOP_FLOWS)).map(({ dv, at }) => {
    const bytes = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
    const family = dv.getUint8(at + TOP_FAMILY) as 4 | 6;
    return {
      proto: dv.getUint8(at + TOP_PROTO) === 6 ? 'tcp' : 'udp',
      family,
      src: formatEndpointAt(bytes, at + TOP_SRC, family, dv.getUint16(at + TOP_SPORT, true)),
      dst: formatEndpointAt(bytes, at + TOP_DST, family, dv.getUint16(at + TOP_DPORT, true)),
      packets: dv.getUint32(at + TOP_PACKETS, true),
      bytes: u64(dv, at + TOP_BYTES),
      flows: 1,
    };
  });
}

/** Flows of the same tuple (a reused or replayed connection) as one, their loads summed; heaviest first. */
export function byTuple(flows: readonly TopFlow[], by: 'packets' | 'bytes'): TopFlow[] {
  const out = new Map<string, TopFlow>();
  for (const f of flows) {
    const key = `${f.proto} ${f.src} ${f.dst}`;
    const seen = out.get(key);
    if (seen) {
      seen.packets += f.packets;
      seen.bytes += f.bytes;
      seen.flows += f.flows;
    } else {
      out.set(key, { ...f });
    }
  }
  return [...out.values()].sort((a, b) => b[by] - a[by]);
}
