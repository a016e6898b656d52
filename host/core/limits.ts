/**
 * What one engine can hold: the sizes a user sets (flow table, batch, reassembly, synthetic
 * conversations in progress, buffers of a run) against the engine's memory, so that a size it
 * cannot hold is refused with its maximum named, before the engine is asked.
 *
 * An engine is one wasm32 memory of at most MEMORY_MAX_PAGES pages (4 GiB); the fixed regions
 * and the program's static data sit under its heap. Buffers come from shared/reserve.ts: large
 * ones as whole pages, the rest from the allocator, which grows memory by a size class at a time.
 * Every figure is derived from assembly/shared/abi.ts, so a layout that changes there (a smaller
 * flow entry, say) moves the maxima with it.
 */
import {
  ALLOCATOR_START, IPFIX_MESSAGE_MAX, IPFIX_OUT_MESSAGES, FLOW_EVENT, FLOW_INDEX_LOAD, FLOW_INDEX_SLOT, FLOW_RECORD, FLOW_REVERSE_HASH, GEN_CONVERSATION, GEN_STATE_HEADER,
  MEMORY_BASE, MEMORY_MAX_PAGES, PAGE_BYTES, QUEUES_MAX, RESERVE_REGION, TALLY_COUNTERS, SYN_CACHE_MIN, SYN_CACHE_SHARE, SYN_ENTRY, SYN_SIDE,
  BUCKET_ROW, PORTS_DELTAS, RETA_MAX, TOP_ENTRY, TOP_FLOWS,
} from '../../assembly/shared/abi.js';

/**
 * Bytes of an engine's memory that buffers can have: wasm32's 4 GiB, less the memory an engine
 * starts with (the fixed regions under MEMORY_BASE, and two pages for the program's static data:
 * host/core/engine.ts engineMemory) and the allocator's starting room, where small buffers go
 * (ALLOCATOR_START, grown by the allocator's size-class rounding, a sixteenth more, and headers).
 * Tests configure engines at the maxima computed from it.
 */
export const ENGINE_BYTES = MEMORY_MAX_PAGES * PAGE_BYTES - (MEMORY_BASE + 2 * PAGE_BYTES) - (ALLOCATOR_START + ALLOCATOR_START / 16 + 2 * PAGE_BYTES);

/** Largest flow table configureFlows takes, whatever the memory (its index counts slots in 32 bits). */
export const FLOW_TABLE_LIMIT = 1 << 24;

/**
 * What a buffer of `bytes` takes of the engine's memory (shared/reserve.ts): whole pages for a
 * large one; a small one comes from the allocator's starting room, but is counted as if the
 * allocator had to grow for it (by the block, a sixteenth more, and headers).
 */
export function reservedBytes(bytes: number): number {
  if (bytes >= RESERVE_REGION) return Math.ceil(bytes / PAGE_BYTES) * PAGE_BYTES;
  return Math.ceil((bytes + bytes / 16 + 64) / PAGE_BYTES) * PAGE_BYTES;
}

/**
 * Lone SYNs a table of `flows` keeps: `asked` when given (a SYN cache size), else the default
 * (assembly/flow/table.ts synCacheSlots; shared/abi.ts says why).
 */
export function synCacheSlots(flows: number, asked?: number): number {
  return asked || Math.min(flows, Math.max(SYN_CACHE_MIN, Math.floor(flows / SYN_CACHE_SHARE)));
}

/**
 * The flow table's memory for `flows` flows (assembly/flow/table.ts): index (a power of two of
 * slots), reverse hashes, the lone SYNs' pool and what sits beside it (key hashes, timestamps),
 * the flow entries, and a record's scratch.
 */
export function flowTableBytes(flows: number, synCache?: number): number {
  let slots = 16;
  while (slots < flows * FLOW_INDEX_LOAD) slots *= 2;
  const syns = synCacheSlots(flows, synCache);
  return reservedBytes(slots * FLOW_INDEX_SLOT) + reservedBytes(flows * FLOW_REVERSE_HASH)
    + reservedBytes(syns * SYN_ENTRY + 64) + reservedBytes(syns * SYN_SIDE)
    + reservedBytes(flows * FLOW_RECORD + 64) + reservedBytes(FLOW_RECORD);
}

/** Sizes of a flow engine beyond its table (FlowEngineOptions). */
export interface FlowBuffers {
  /** most descriptors one call takes (default 8192) */
  batchMax?: number;
  reassembly?: { streams: number; window: number };
}

/** Largest batch a flow engine takes (configureFlows' own limit). */
export const BATCH_LIMIT = 1 << 20;
/** Largest reassembly window (a power of two; configureReassembly's own limit). */
export const WINDOW_LIMIT = 1 << 24;

/**
 * The load counts per indirection-table entry (assembly/flow/buckets.ts), for the largest table
 * (RETA_MAX entries) and ports deltas kept: a scratch line, counts, deltas, top flows.
 */
const bucketBytes = reservedBytes(64) + reservedBytes((RETA_MAX + 1) * BUCKET_ROW) + reservedBytes(PORTS_DELTAS * RETA_MAX * BUCKET_ROW)
  + reservedBytes(RETA_MAX * 2 * TOP_FLOWS * TOP_ENTRY);

/** The flow engine's buffers other than its table: records, events, stream bytes, reassembly, bucket counts. */
export function flowBufferBytes(o: FlowBuffers): number {
  const batch = o.batchMax ?? 8192;
  const r = o.reassembly;
  // assembly/flow/engine.ts: up to two records a packet, the idle sweep's two, an eviction's sample.
  const records = batch * 4 + 256;
  const events = r ? batch * 8 + 64 : 1;
  const data = r ? Math.max(batch * 2048, 4 * r.window + (1 << 17)) : 16;
  const streams = r ? r.streams * (32 + r.window + r.window / 8) : 0;
  return reservedBytes(records * FLOW_RECORD) + reservedBytes(events * FLOW_EVENT) + reservedBytes(data)
    + (streams ? reservedBytes(streams) : 0) + reservedBytes(QUEUES_MAX * 8) + reservedBytes(TALLY_COUNTERS * 8) + bucketBytes
    + reservedBytes(IPFIX_OUT_MESSAGES * IPFIX_MESSAGE_MAX); // IPFIX export's output, counted whether used or not
}

/**
 * The largest flow table that fits beside `other` bytes of other buffers (0 when not even one
 * flow does), with a SYN cache of `synCache` lone SYNs (else the default). Found by bisection:
 * the table's bytes grow with its size.
 */
export function maxFlowTable(other: number, synCache?: number): number {
  const room = ENGINE_BYTES - other;
  const fits = (n: number) => n * FLOW_RECORD + 64 < 2 ** 32 && flowTableBytes(n, synCache) <= room;
  if (!fits(1)) return 0;
  let lo = 1, hi = FLOW_TABLE_LIMIT;
  if (fits(hi)) return hi;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The synthetic generator's state for `conversations` in progress at once (one engine's share). */
export function generatorBytes(conversations: number): number {
  return reservedBytes(GEN_STATE_HEADER + conversations * GEN_CONVERSATION);
}

/** The most conversations in progress one engine's generator can keep beside `other` bytes. */
export function maxConversations(other: number): number {
  const room = ENGINE_BYTES - other - 2 * PAGE_BYTES;
  return Math.max(0, Math.floor((room / (1 + 1 / 16) - GEN_STATE_HEADER) / GEN_CONVERSATION));
}
