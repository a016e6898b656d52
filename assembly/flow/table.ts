/**
 * The per-core flow table: two fixed pools of entries and one open-addressing index over both.
 *
 * - Flows: FLOW_RECORD-byte entries in the record layout of shared/abi.ts (a flow leaves the
 *   table as a copy of its entry).
 * - Lone SYNs: SYN_ENTRY-byte entries (one cache line, layout SYN_* in shared/abi.ts) for a
 *   connection that has sent one SYN and nothing else, as a SYN cache keeps them. Most SYNs are
 *   answered within a round trip and their flow moves to a full entry then (promotion); the SYNs
 *   of a flood never are, and each costs a sixth of a full entry's memory and cache lines. A lone
 *   SYN's line holds everything its record would say, and the record is written out in full
 *   when it leaves (syn.ts).
 *
 * A flow is named by a handle: its entry number in the flow pool, or SYN_HANDLE | its number in
 * the SYN pool. The flow pool holds `capacity` entries, so that it can hold every live flow, and
 * the table is full when `capacity` flows of both kinds live. The SYN pool holds `synCapacity`
 * (synCacheSlots: at most `capacity`, a sixty-fourth of it for large tables; shared/abi.ts says why).
 *
 * The SYN pool is a ring, filled in the order SYNs come: the oldest lone SYN is always the first
 * live entry from the tail (a lone SYN's activity is its one packet), so eviction and the idle
 * sweep take it without searching, and the entries about to be evicted are known ahead. A SYN
 * that moves on (promoted, or gone) leaves a hole, skipped when the tail reaches it (or given
 * back at once when it is the newest: the next SYN then takes the same line). When the ring has
 * come round to a lone SYN still waiting at its tail, that SYN leaves (the engine's
 * evictOldestSyn), as a SYN cache drops its oldest entry, when at least half the ring is live lone
 * SYNs (synCacheFull, as under a flood); in a ring mostly of holes it moves to a flow entry
 * (moveOldestSyn). Either way the ring goes on.
 *
 * The index has a power-of-two number of 8-byte slots, at least twice the live flows, so linear
 * probing stays short: a slot holds the flow-key hash and the handle + 1 (0: empty). Removal
 * shifts the following run back (no tombstones), so lookups never slow down as flows come and
 * go. Entries come from a free list, then from never-used pool memory: pools sized for a million
 * flows cost only the pages their flows have touched.
 *
 * The index grows with the live flows. Its region is reserved at configuration for the whole
 * table (FLOW_INDEX_LOAD slots a flow, rounded up to a power of two: 16 MiB for a million flows),
 * but only its first `slotMask + 1` slots are in use: INDEX_START of them at first (or the whole
 * region when that is smaller), doubled when an insert would make the live flows more than one
 * in FLOW_INDEX_LOAD of them. New flows land at random slots, so an index used at full size has
 * every page touched within a few batches, and a page's first touch is what costs (tens of us a
 * 4 KiB page on a VM, sometimes a millisecond or far more for a fresh huge page); a table that
 * never holds more than a few ten thousand flows now touches half a MiB of index, not 16.
 * Slots past the ones in use are always zero (never written, or cleared when configureTable
 * takes the table again), so a doubling moves each flow of the old slots to its home under the
 * wider mask, in place, in one ordered walk of the old slots (grow says why no probe run breaks).
 * Slots hold the flow-key hash, so the pools are not read, and handles do not change: nothing
 * else sees a doubling. It happens as a flow is indexed (index1), never on lookups. The
 * doublings of a table filled up walk fewer slots than its full size, sequentially (a few ms
 * for a million flows), where indexing a flow anew would be a random access each.
 *
 * Beside the flow pool, one u32 per entry holds the RSS hash of the flow's server-to-client
 * direction (the client-to-server one is the record's REC_RSS_HASH): a packet of a known flow
 * takes its hash from there instead of hashing its tuple again, and records keep their layout.
 */
import {
  FLOW_INDEX_LOAD, FLOW_INDEX_SLOT, FLOW_RECORD, FLOW_REVERSE_HASH, FLOW_STATE, OUT_FLOW_INDEX_SLOTS, REC_FAMILY, REC_KEY_HASH, Status,
  SYN_CACHE_MIN, SYN_CACHE_SHARE, SYN_ENTRY, SYN_SIDE, SYN_SIDE_KEY_HASH, SYN_SIDE_TSVAL,
} from "../shared/abi";
import { reserve, unreserve } from "../shared/reserve";

const SLOT = FLOW_INDEX_SLOT;
/** Slots the index starts with (512 KiB: a few ten thousand flows before the first doubling). */
const INDEX_START: u32 = 1 << 16;
/** The handle bit that names an entry of the SYN pool. */
export const SYN_HANDLE: u32 = 1 << 30;

/** The flow pool as allocated, and its first entry on a cache line: an entry's header is one line. */
let poolBlock: usize = 0;
let pool: usize = 0;
let synBlock: usize = 0;
let synPool: usize = 0;
/** Beside each SYN ring slot, its flow-key hash and its SYN's TSval (shared/abi.ts SYN_SIDE). */
let synSide: usize = 0;
let reverseHashes: usize = 0;
let capacity: u32 = 0;
/** Entries of the SYN ring (synCacheSlots of capacity). */
let synCapacity: u32 = 0;
/** Entries ever handed out in the flow pool (its high-water mark); below it: live or free. */
let used: u32 = 0;
/** Free list head of the flow pool: entry number + 1 (0: empty); a free entry holds the next. */
let freeHead: u32 = 0;
/** The SYN ring: its oldest slot in use, and how many slots from there are in use (live or holes). */
let synTail: u32 = 0;
let synCount: u32 = 0;
/** Live flows: both kinds, and lone SYNs alone. */
let live: u32 = 0;
let synLive: u32 = 0;
let index: usize = 0;
/** The slots in use - 1 (a power of two - 1), and the region's slots - 1 (its largest). */
let slotMask: u32 = 0;
let fullMask: u32 = 0;
/** Live flows at which the next insert doubles the index (never, at its largest). */
let growAt: u32 = 0;
/** Where a lone SYN's record is written out before it is copied (FLOW_RECORD bytes). */
let scratch: usize = 0;

/** The SYN ring's entries for a table of `flows` by default (host/core/limits.ts synCacheSlots says the same). */
export function synCacheSlots(flows: u32): u32 {
  return min(flows, max(SYN_CACHE_MIN, flows / SYN_CACHE_SHARE));
}

/**
 * Sizes the table for `flows` entries and a SYN ring of `syns` (0: synCacheSlots of `flows`; at
 * most `flows`), freeing a previous one. Returns Status.OK, or BAD_SIZE for a size out of range
 * or memory that cannot be had.
 */
export function configureTable(flows: u32, syns: u32 = 0): i32 {
  const ring = syns != 0 ? syns : synCacheSlots(flows);
  // The same sizes again (a benchmark's fresh table each round, a test's second run): the same
  // memory, its pages touched already, and only the index slots in use to clear (past them the
  // index is zero). Entries are written before they are read (nothing reads past the pools'
  // high-water marks, reset here). The index starts small again.
  if (flows == capacity && ring == synCapacity && poolBlock) {
    clearIndex();
    reset();
    return Status.OK;
  }
  releaseTable();
  if (flows < 1 || flows > (1 << 24) || ring > flows) return Status.BAD_SIZE;
  // wasm32 sizes are 32-bit: a table past 4 GiB would wrap around, so it is refused here.
  if (<u64>flows * <u64>FLOW_RECORD + 64 > <u64>U32.MAX_VALUE) return Status.BAD_SIZE;
  let slots: u32 = 16;
  while (slots < flows * FLOW_INDEX_LOAD) slots <<= 1;
  // The index first: the allocator grows memory for it, and memory just grown is zero already
  // (WebAssembly's grow zero-fills), so only what it reuses needs clearing (all of it: past the
  // slots in use the index must be zero). Clearing all of a large index would touch each of its
  // pages at startup.
  const top = <usize>memory.size() << 16;
  const indexBytes = <usize>slots * SLOT;
  index = reserve(indexBytes);
  reverseHashes = reserve(<usize>flows * FLOW_REVERSE_HASH);
  if (!scratch) scratch = reserve(FLOW_RECORD);
  synBlock = reserve(<usize>ring * SYN_ENTRY + 64);
  synSide = reserve(<usize>ring * SYN_SIDE);
  poolBlock = reserve(<usize>flows * FLOW_RECORD + 64);
  if (!index || !reverseHashes || !scratch || !synBlock || !synSide || !poolBlock) {
    // More than the engine's memory holds (shared/reserve.ts): the caller says so.
    releaseTable();
    return Status.BAD_SIZE;
  }
  if (index < top) memory.fill(index, 0, min(indexBytes, top - index));
  synPool = (synBlock + 63) & ~<usize>63;
  pool = (poolBlock + 63) & ~<usize>63;
  capacity = flows;
  synCapacity = ring;
  fullMask = slots - 1;
  reset();
  return Status.OK;
}

/** Gives the table's memory back (the scratch record stays: it is one record, reused). */
function releaseTable(): void {
  unreserve(poolBlock);
  unreserve(synBlock);
  unreserve(synSide);
  unreserve(index);
  unreserve(reverseHashes);
  poolBlock = pool = synBlock = synPool = synSide = index = reverseHashes = 0;
  capacity = synCapacity = 0;
}

/** An empty table, its index at its starting size (zero past it: the caller sees to that). */
function reset(): void {
  useSlots(min(INDEX_START, fullMask + 1));
  used = 0;
  synTail = synCount = 0;
  recent = -1;
  freeHead = 0;
  live = synLive = 0;
}

export function tableCapacity(): u32 { return capacity; }
export function liveFlows(): u32 { return live; }
export function liveSyns(): u32 { return synLive; }
/** Entries ever used in the flow pool (the sweep and flush walk them). */
export function entriesUsed(): u32 { return used; }
export function isFull(): bool { return live == capacity; }
/** Bytes of the table that live flows and the index's slots in use take (ahead.ts weighs them). */
export function bytesInUse(): u64 {
  return <u64>(live - synLive) * FLOW_RECORD + <u64>synLive * SYN_ENTRY + (<u64>slotMask + 1) * SLOT;
}
/** A buffer of FLOW_RECORD bytes for writing one record out. */
export function recordScratch(): usize { return scratch; }

// @ts-ignore: decorator
@inline export function isSyn(h: u32): bool {
  return (h & SYN_HANDLE) != 0;
}

/** The entry of handle `h`, in either pool. */
// @ts-ignore: decorator
@inline export function entry(h: u32): usize {
  return isSyn(h) ? synPool + (<usize>(h & ~SYN_HANDLE) << 6) : pool + <usize>h * FLOW_RECORD;
}

/** Entry `n` of the flow pool (a handle without the SYN bit). */
// @ts-ignore: decorator
@inline export function flowEntry(n: u32): usize {
  return pool + <usize>n * FLOW_RECORD;
}

/** Entry `n` of the SYN pool. */
// @ts-ignore: decorator
@inline export function synEntry(n: u32): usize {
  return synPool + (<usize>n << 6);
}

/** Lone SYN `h`'s flow-key hash, as it was indexed (insertSyn). */
// @ts-ignore: decorator
@inline export function synKeyHash(h: u32): u32 {
  return load<u32>(synSide + <usize>(h & ~SYN_HANDLE) * SYN_SIDE + SYN_SIDE_KEY_HASH);
}

/** Lone SYN `h`'s TSval (valid when its SYN carried a timestamp: SYN_OPTIONS). */
// @ts-ignore: decorator
@inline export function synTsval(h: u32): u32 {
  return load<u32>(synSide + <usize>(h & ~SYN_HANDLE) * SYN_SIDE + SYN_SIDE_TSVAL);
}

/**
 * Loads what taking out the lone SYN `k` places from the ring's tail will read: its index slot
 * and its line. Under a flood the oldest SYN leaves at every packet, so the SYN a few places on
 * is one a few packets from leaving; both loads may miss the cache (the SYN was indexed and
 * written 16,384 SYNs ago, by default) and overlap with this packet's work instead of stalling
 * that one's. Returns what it read, for the caller to keep (a load whose value goes nowhere may
 * be dropped).
 */
export function touchSynAhead(k: u32): u32 {
  if (k >= synCount) return 0;
  const n = synSlot(k) & ~SYN_HANDLE;
  const hash = load<u32>(synSide + <usize>n * SYN_SIDE + SYN_SIDE_KEY_HASH);
  return load<u32>(index + (<usize>(hash & slotMask) << 3), 4) + <u32>load<u8>(synEntry(n) + REC_FAMILY);
}

/** The RSS hash of flow entry `n`'s server-to-client direction. */
// @ts-ignore: decorator
@inline export function reverseHash(n: u32): u32 {
  return load<u32>(reverseHashes + (<usize>n << 2));
}

// @ts-ignore: decorator
@inline export function setReverseHash(n: u32, hash: u32): void {
  store<u32>(reverseHashes + (<usize>n << 2), hash);
}

/** True for an entry that holds a flow (free entries of both pools have family 0). */
// @ts-ignore: decorator
@inline export function isLive(e: usize): bool {
  return load<u8>(e + REC_FAMILY) != 0;
}

/**
 * The handle the last lookup found. Packets come in runs of one flow (a burst of segments, then
 * its ACKs), so the engine tries it before hashing: an entry whose tuple matches the packet's is
 * the packet's flow, as only one live entry holds a tuple (a freed one has family 0 and matches
 * nothing).
 */
let recent: i32 = -1;

/** The handle of the last lookup, or -1 (none yet). */
// @ts-ignore: decorator
@inline export function recentEntry(): i32 {
  return recent;
}

// @ts-ignore: decorator
@inline export function setRecentEntry(h: u32): void {
  recent = <i32>h;
}

/** The slot the probe path of `first`/`next` stands on. */
let probe: u32 = 0;

/** First handle on the probe path of `hash`, continuing with `next()`; -1 at an empty slot. */
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

/** The home slot of `hash` as it stands (lookAhead loads it early; probing stops there). */
// @ts-ignore: decorator
@inline export function slotOf(hash: u32): u64 {
  return load<u64>(index + (<usize>(hash & slotMask) << 3));
}

/**
 * The first slot of the cache line after `hash`'s home slot's line (lookAhead loads it early):
 * at the index's load of at most one half, a probe run from the home slot (an insert's search
 * for an empty slot, a removal's backward shift) goes on into the next line about a third of
 * the time.
 */
// @ts-ignore: decorator
@inline export function nextLineOf(hash: u32): u32 {
  return load<u32>(index + (<usize>((((hash & slotMask) | 7) + 1) & slotMask) << 3));
}

/** When `slot` (slotOf `hash`) names an entry of that hash, loads the entry's first line. */
// @ts-ignore: decorator
@inline export function touchFlow(slot: u64, hash: u32): u32 {
  const h = <u32>(slot >> 32);
  if (<u32>slot != hash || h == 0) return h;
  return load<u32>(entry(h - 1));
}

/** Takes a free flow entry for `hash` and indexes it (the caller makes room first: not full). */
export function insert(hash: u32): u32 {
  const n = takeFlowEntry();
  index1(hash, n);
  return n;
}

/** Uses the index's first `slots` slots (a power of two, at most the region's). */
function useSlots(slots: u32): void {
  slotMask = slots - 1;
  growAt = slots - 1 == fullMask ? U32.MAX_VALUE : slots / FLOW_INDEX_LOAD;
  store<u32>(FLOW_STATE + OUT_FLOW_INDEX_SLOTS, slots);
}

/**
 * Doubles the slots in use, in place: S slots become 2S. A flow of home slot `a` under the old
 * mask has home `a` or `a + S` under the new one, so the old slots are walked in order and each
 * flow is taken out of its slot and put back from its new home; the new half is zero. Walked from
 * the first empty slot `t` onwards, no probe run of the old index wraps round, and:
 * - a flow that stays in the old half (home `a`, found at `q` >= `a`) probes only slots already
 *   walked, and lands at `q` at the latest (just emptied);
 * - a flow that moves to the new half (home `a + S`) lands at `q + S` at the latest, as each of
 *   those before it landed before `q + S`; so no probe wraps round, and none passes a slot that
 *   still holds a flow not yet walked.
 * Then the slots before `t` (the end of a run that wrapped round the old end, if any), in order.
 * There are at most S / 2 flows (the index doubles before it holds more), so no probe that
 * starts in the old half, nor one that starts at `a + S` for a home `a` < `t`, can fill the rest
 * of the index and wrap round; a flow whose home is near the old end and that moves to the new
 * half's end may wrap round to slot 0, and meets only slots already walked up to its own (just
 * emptied). So no probe ever passes a flow not yet walked, every probe run is unbroken at the
 * end, reads and writes go through the index in two sequential streams, and the pools are not
 * read.
 */
function grow(): void {
  const half = slotMask + 1;
  useSlots(half << 1);
  let t: u32 = 0;
  while (load<u32>(index + (<usize>t << 3), 4) != 0) t++;
  for (let q = t + 1; q < half; q++) rehome(q);
  for (let q: u32 = 0; q < t; q++) rehome(q);
}

/** Takes the flow in slot `q` (if any) out and puts it in the first empty slot from its home. */
// @ts-ignore: decorator
@inline function rehome(q: u32): void {
  const s = index + (<usize>q << 3);
  const v = load<u64>(s);
  if (v >> 32 == 0) return;
  store<u64>(s, 0);
  let i = <u32>v & slotMask;
  while (load<u32>(index + (<usize>i << 3), 4) != 0) i = (i + 1) & slotMask;
  store<u64>(index + (<usize>i << 3), v);
}

// ---- the SYN ring ----

/** Skips the holes at the ring's tail. */
// @ts-ignore: decorator
@inline function settleTail(): void {
  while (synCount != 0 && load<u8>(synEntry(synTail) + REC_FAMILY) == 0) {
    synTail = synTail + 1 == synCapacity ? 0 : synTail + 1;
    synCount--;
  }
}

/** The oldest lone SYN's handle, or -1 when there is none. */
export function oldestSyn(): i32 {
  settleTail();
  return synCount != 0 ? <i32>(synTail | SYN_HANDLE) : -1;
}

/**
 * True when the SYN cache is full: at least half its ring is live lone SYNs (the rest holes).
 * When the ring is full too, the oldest lone SYN leaves (the engine's evictOldestSyn); in a ring
 * mostly of holes it moves to a flow entry instead (moveOldestSyn).
 */
export function synCacheFull(): bool {
  return synLive >= synCapacity - (synCapacity >> 1);
}

/** True when a new lone SYN has no slot until the oldest one moves on (evictOldestSyn, moveOldestSyn). */
export function synRingFull(): bool {
  if (synCount != synCapacity) return false;
  settleTail();
  return synCount == synCapacity;
}

/** Slots of the ring in use, oldest first: the handle of the `k`th (live or a hole). */
export function synSlots(): u32 { return synCount; }
// @ts-ignore: decorator
@inline export function synSlot(k: u32): u32 {
  const i = synTail + k;
  return (i >= synCapacity ? i - synCapacity : i) | SYN_HANDLE;
}

/**
 * The handles of up to `n` live lone SYNs from the oldest, into `out` (u32 each): the next to be
 * evicted under a flood. Looks at no more than 2n slots. Returns how many it wrote.
 */
export function nextSyns(out: usize, n: u32): u32 {
  settleTail();
  const end = min(synCount, n << 1);
  let k: u32 = 0;
  for (let j: u32 = 0; j < end && k < n; j++) {
    const h = synSlot(j);
    if (load<u8>(entry(h) + REC_FAMILY) != 0) {
      store<u32>(out + (<usize>k << 2), h);
      k++;
    }
  }
  return k;
}

/**
 * Takes the ring's next slot for `hash` and indexes it (not full, not synRingFull); its handle.
 * `tsval`: the SYN's timestamp value (anything when it had none).
 */
export function insertSyn(hash: u32, tsval: u32): u32 {
  // The ring may be full of slots with a hole at its tail: evictOldestSyn or moveOldestSyn has just made one there
  // (freeSyn gives back holes at the head end only). The new SYN's slot is past the settled tail.
  if (synCount == synCapacity) settleTail();
  const i = synTail + synCount;
  const n = i >= synCapacity ? i - synCapacity : i;
  synCount++;
  synLive++;
  const h = n | SYN_HANDLE;
  const side = synSide + <usize>n * SYN_SIDE;
  store<u32>(side + SYN_SIDE_KEY_HASH, hash);
  store<u32>(side + SYN_SIDE_TSVAL, tsval);
  index1(hash, h);
  return h;
}

// @ts-ignore: decorator
@inline function index1(hash: u32, h: u32): void {
  if (live >= growAt) grow();
  let i = hash & slotMask;
  while (load<u32>(index + (<usize>i << 3), 4) != 0) i = (i + 1) & slotMask;
  const s = index + (<usize>i << 3);
  store<u32>(s, hash);
  store<u32>(s, h + 1, 4);
  live++;
}

/** Takes a free flow entry without indexing it (for promote; the live count stays). */
export function takeFlowEntry(): u32 {
  if (freeHead) {
    const n = freeHead - 1;
    freeHead = load<u32>(flowEntry(n));
    return n;
  }
  return used++;
}

/**
 * Lone SYN `h` (flow-key hash `hash`) has become flow entry `n` (takeFlowEntry, filled by the
 * caller from the SYN entry): the index slot names `n` now, and the SYN entry is freed.
 */
export function promote(h: u32, hash: u32, n: u32): void {
  let i = hash & slotMask;
  while (load<u32>(index + (<usize>i << 3), 4) != h + 1) i = (i + 1) & slotMask;
  store<u32>(index + (<usize>i << 3), n + 1, 4);
  freeSyn(h);
}

/**
 * Lone SYN `h` has gone: its slot is a hole until the tail passes it; holes at the head end are
 * given back at once. Most SYNs are answered before the next one comes, so the next SYN takes
 * the same slot, still in cache, rather than a line of the ring last written a million SYNs ago.
 */
// @ts-ignore: decorator
@inline function freeSyn(h: u32): void {
  store<u8>(entry(h) + REC_FAMILY, 0);
  synLive--;
  while (synCount != 0 && load<u8>(entry(synSlot(synCount - 1)) + REC_FAMILY) == 0) synCount--;
}

/** Removes flow `h` (either kind) from the index and frees its entry (its family becomes 0). */
export function remove(h: u32): void {
  const e = entry(h);
  const hash = isSyn(h) ? synKeyHash(h) : load<u32>(e + REC_KEY_HASH);
  let i = hash & slotMask;
  while (load<u32>(index + (<usize>i << 3), 4) != h + 1) i = (i + 1) & slotMask;
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
  release(h);
}

/**
 * Frees flow `h`'s entry (either kind) and leaves its index slot as it is: only while every flow
 * leaves at the end (flushFlows), which then clears the whole index at once (clearIndex).
 */
export function release(h: u32): void {
  live--;
  if (isSyn(h)) {
    freeSyn(h);
    return;
  }
  const e = entry(h);
  store<u8>(e + REC_FAMILY, 0);
  store<u32>(e, freeHead);
  freeHead = h + 1;
}

/**
 * True when clearing the whole index costs less than taking `flows` flows out of it one by one:
 * each removal is a miss in a random slot (hundreds of ns), clearing is a few ns a slot. At one
 * flow in 64 slots every page of the index holds flows, so clearing touches no page afresh.
 */
export function clearingPays(flows: u32): bool {
  return <u64>flows * 64 >= <u64>slotMask + 1;
}

/**
 * Index slots that name a flow: the flows in the table, always (tests hold it). Walks the whole
 * region, past the slots in use too (zero there, always), so a slot left behind counts.
 */
export function indexOccupied(): u32 {
  let n: u32 = 0;
  for (let i: u32 = 0; i <= fullMask; i++) if (load<u32>(index + (<usize>i << 3), 4) != 0) n++;
  return n;
}

/** Empties the index (every entry released: release); it keeps the slots it has grown to. */
export function clearIndex(): void {
  memory.fill(index, 0, (<usize>slotMask + 1) * SLOT);
}
