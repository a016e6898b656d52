/**
 * The per-core flow table: a fixed pool of FLOW_RECORD-byte entries (the record layout of
 * shared/abi.ts) and an open-addressing index over them.
 *
 * The index has a power-of-two number of 8-byte slots, at least twice the pool, so linear
 * probing stays short: a slot holds the flow-key hash and the entry number + 1 (0: empty).
 * Removal shifts the following run back (no tombstones), so lookups never slow down as flows
 * come and go. Entries come from a free list, then from never-used pool memory: a pool sized
 * for a million flows costs only the pages its flows have touched.
 *
 * Beside the pool, one u32 per entry holds the RSS hash of the flow's server-to-client direction
 * (the client-to-server one is the record's REC_RSS_HASH): a packet of a known flow takes its
 * hash from there instead of hashing its tuple again, and records keep their layout.
 */
import { FLOW_RECORD, REC_FAMILY, REC_KEY_HASH, Status } from "../shared/abi";

const SLOT = 8;

/** The pool as allocated, and its first entry on a cache line: an entry's header is one line. */
let poolBlock: usize = 0;
let pool: usize = 0;
let reverseHashes: usize = 0;
let capacity: u32 = 0;
/** Entries ever handed out (the pool's high-water mark); entries below it are live or free. */
let used: u32 = 0;
/** Free list head: entry number + 1 (0: empty); a free entry holds the next one at offset 0. */
let freeHead: u32 = 0;
let live: u32 = 0;
let index: usize = 0;
let slotMask: u32 = 0;

/**
 * Sizes the table for `flows` entries (freeing a previous one). Returns Status.OK or BAD_SIZE
 * when the memory cannot be had.
 */
export function configureTable(flows: u32): i32 {
  if (poolBlock) heap.free(poolBlock);
  if (index) heap.free(index);
  if (reverseHashes) heap.free(reverseHashes);
  poolBlock = pool = index = reverseHashes = 0;
  capacity = 0;
  if (flows < 1 || flows > (1 << 24)) return Status.BAD_SIZE;
  let slots: u32 = 16;
  while (slots < flows * 2) slots <<= 1;
  // The index first: the allocator grows memory for it, and memory just grown is zero already
  // (WebAssembly's grow zero-fills), so only what it reuses needs clearing. Clearing all of a
  // large index would touch each of its pages at startup.
  const top = <usize>memory.size() << 16;
  const indexBytes = <usize>slots * SLOT;
  index = heap.alloc(indexBytes);
  if (index < top) memory.fill(index, 0, min(indexBytes, top - index));
  reverseHashes = heap.alloc(<usize>flows << 2);
  poolBlock = heap.alloc(<usize>flows * FLOW_RECORD + 64);
  pool = (poolBlock + 63) & ~<usize>63;
  capacity = flows;
  slotMask = slots - 1;
  used = 0;
  recent = 0;
  freeHead = 0;
  live = 0;
  return Status.OK;
}

export function tableCapacity(): u32 { return capacity; }
export function liveFlows(): u32 { return live; }
export function entriesUsed(): u32 { return used; }
export function isFull(): bool { return live == capacity; }

// @ts-ignore: decorator
@inline export function entry(n: u32): usize {
  return pool + <usize>n * FLOW_RECORD;
}

/** The RSS hash of entry `n`'s server-to-client direction. */
// @ts-ignore: decorator
@inline export function reverseHash(n: u32): u32 {
  return load<u32>(reverseHashes + (<usize>n << 2));
}

// @ts-ignore: decorator
@inline export function setReverseHash(n: u32, hash: u32): void {
  store<u32>(reverseHashes + (<usize>n << 2), hash);
}

/** True for an entry that holds a flow (free entries have family 0). */
// @ts-ignore: decorator
@inline export function isLive(e: usize): bool {
  return load<u8>(e + REC_FAMILY) != 0;
}

/**
 * The entry the last lookup found. Packets come in runs of one flow (a burst of segments, then
 * its ACKs), so the engine tries it before hashing: an entry whose tuple matches the packet's is
 * the packet's flow, as only one live entry holds a tuple.
 */
let recent: u32 = 0;

/** The entry of the last lookup, or -1 (none yet, or it lies past the entries ever used). */
// @ts-ignore: decorator
@inline export function recentEntry(): i32 {
  return recent < used ? <i32>recent : -1;
}

// @ts-ignore: decorator
@inline export function setRecentEntry(n: u32): void {
  recent = n;
}

/** The slot the probe path of `first`/`next` stands on. */
let probe: u32 = 0;

/** First entry number on the probe path of `hash`, continuing with `next()`; -1 at an empty slot. */
// @ts-ignore: decorator
@inline export function first(hash: u32): i32 {
  probe = hash & slotMask;
  return candidate(hash);
}

// @ts-ignore: decorator
@inline export function next(hash: u32): i32 {
  probe = (probe + 1) & slotMask;
  return candidate(hash);
}

// @ts-ignore: decorator
@inline function candidate(hash: u32): i32 {
  while (true) {
    const s = index + (<usize>probe << 3);
    const n = load<u32>(s, 4);
    if (n == 0) return -1;
    if (load<u32>(s) == hash) return <i32>(n - 1);
    probe = (probe + 1) & slotMask;
  }
}

/**
 * Loads the index slot of `hash` and, when it names an entry with that hash, the entry's first
 * line; returns what it read (for lookAhead's sink). Probing stops at the home slot: runs are
 * short, and this only warms the cache.
 */
// @ts-ignore: decorator
@inline export function touch(hash: u32): u32 {
  const v = load<u64>(index + (<usize>(hash & slotMask) << 3));
  const n = <u32>(v >> 32);
  if (<u32>v != hash || n == 0) return n;
  return load<u32>(entry(n - 1));
}

/** Takes a free entry for `hash` and indexes it (the caller makes room first: not full). */
export function insert(hash: u32): u32 {
  let n: u32;
  if (freeHead) {
    n = freeHead - 1;
    freeHead = load<u32>(entry(n));
  } else {
    n = used++;
  }
  let i = hash & slotMask;
  while (load<u32>(index + (<usize>i << 3), 4) != 0) i = (i + 1) & slotMask;
  const s = index + (<usize>i << 3);
  store<u32>(s, hash);
  store<u32>(s, n + 1, 4);
  live++;
  return n;
}

/** Removes entry `n` from the index and frees it (its family becomes 0). */
export function remove(n: u32): void {
  const e = entry(n);
  let i = load<u32>(e + REC_KEY_HASH) & slotMask;
  while (load<u32>(index + (<usize>i << 3), 4) != n + 1) i = (i + 1) & slotMask;
  // Backward shift: move each later member of the run whose home is not between the hole and it.
  let j = i;
  while (true) {
    j = (j + 1) & slotMask;
    const sj = index + (<usize>j << 3);
    if (load<u32>(sj, 4) == 0) break;
    const home = load<u32>(sj) & slotMask;
    const stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    store<u64>(index + (<usize>i << 3), load<u64>(sj));
    i = j;
  }
  store<u64>(index + (<usize>i << 3), 0);
  store<u8>(e + REC_FAMILY, 0);
  store<u32>(e, freeHead);
  freeHead = n + 1;
  live--;
}
