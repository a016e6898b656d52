/**
 * RSS-aligned source-port pools: for a peer (B, P) and local addresses a0 .. a0 + count - 1, the
 * local ports p of each core c whose *return* tuple (source B:P, destination a:p) the NIC steers
 * to a queue that core c serves. It hashes the tuple the NIC will see, so asymmetric keys are as
 * right as symmetric ones.
 *
 * The design is the hash's linearity. For a fixed (B, a, P) the hash of the return tuple, as a
 * function of the port p's 16 bits, is affine over GF(2):
 *
 *     hash(p) = hash(0) ^ L(p),    L(p) = XOR of delta[i] over the set bits i of p
 *
 * where delta[i] = hash(1 << i) ^ hash(0) is one column of the Toeplitz (or XOR) matrix. That
 * holds under every input transform: with P fixed, symmetric-xor feeds P ^ p twice and
 * symmetric-or-xor feeds P | p = P ^ (p & ~P) and P ^ p, each affine in p. delta[i] does not
 * depend on the address (it is the port bit's own contribution), so one pair of 256-entry tables
 * (high and low port byte) serves every address, and only the low log2(table size) bits matter:
 *
 *     entry(a, p) = base[a] ^ high[p >> 8] ^ low[p & 255]
 *
 * Building a pool is then one pass of table lookups (no Toeplitz per port, as mTCP does it), and
 * "which core owns this port" is O(1) at any time, so the pool keeps only free-port bitmaps.
 *
 * Slots: port p of address index a is slot (a << shift) + p - portBase, where portBase is the
 * range's low end rounded down to 64 and 2^shift the power-of-two span covering the range.
 */
import {
  FieldSet, IPV4_L4_INPUT, IPV6_L4_INPUT, POOL_SLOTS_MAX, POOL_TUPLE, PoolListing, PoolStatus,
  QUEUE_CORE, QUEUES_MAX, RETA,
} from "../shared/abi";
import { hashTuple } from "../rss/hash";
import { retaSize } from "../rss/reta";
import {
  CORE_AVAILABLE, CORE_BYTES, CORE_CURSOR, CORE_L0, CORE_L1, CORE_L2, CORE_SIZE, isFree, nextFree,
  setFree, setTaken, summarize,
} from "./bitmap";
import {
  coreRecord, P_BASES, P_BITMAPS, P_CORE_RECORDS, P_CORE_STRIDE, P_CORES, P_COUNT, P_DELTA,
  P_ENTRY_CORE, P_HI, P_LO, P_PORT_BASE, P_PORT_TABLES, P_QUEUE_CORE, P_QUEUES, P_RETA, P_RETA_SIZE,
  P_SHIFT, P_SLOTS, POOL_BYTES,
} from "./layout";
import { prepareSteering, releaseSteering } from "./steer";

/** The table entry port p of address index a lands on (a < count, any p). */
// @ts-ignore: decorator
@inline function entryOf(pool: usize, a: u32, p: u32): u32 {
  const tables = <usize>load<u32>(pool, P_PORT_TABLES);
  return <u32>load<u16>(<usize>load<u32>(pool, P_BASES) + (<usize>a << 1))
    ^ <u32>load<u16>(tables + (<usize>(p >> 8) << 1))
    ^ <u32>load<u16>(tables + 512 + (<usize>(p & 255) << 1));
}

// @ts-ignore: decorator
@inline function ownerOf(pool: usize, a: u32, p: u32): u32 {
  return load<u16>(<usize>load<u32>(pool, P_ENTRY_CORE) + (<usize>entryOf(pool, a, p) << 1));
}

// @ts-ignore: decorator
@inline function slotOf(pool: usize, a: u32, p: u32): u32 {
  return (a << load<u32>(pool, P_SHIFT)) + p - load<u32>(pool, P_PORT_BASE);
}

/** Whether address index a and port p are inside the pool. */
// @ts-ignore: decorator
@inline function inside(pool: usize, a: u32, p: u32): bool {
  return a < load<u32>(pool, P_COUNT) && p >= load<u32>(pool, P_LO) && p <= load<u32>(pool, P_HI);
}

function allocZeroed(bytes: usize): usize {
  const p = heap.alloc(bytes);
  memory.fill(p, 0, bytes);
  return p;
}

/**
 * Builds a pool. Reads the return tuple at POOL_TUPLE (port 0, first local address), the table
 * programmed at RETA and the queue -> core map at QUEUE_CORE (`queues` entries, each below
 * `cores`); the key, function and transform are the engine's (configureRss). The port range is
 * lo..hi inclusive. Returns the pool's address, or a negative PoolStatus.
 */
export function poolCreate(fields: i32, count: u32, lo: u32, hi: u32, cores: u32, queues: u32): i32 {
  if (fields != FieldSet.IPV4_L4 && fields != FieldSet.IPV6_L4) return -PoolStatus.BAD_ARGUMENT;
  const size = <u32>retaSize();
  if (size == 0 || lo > hi || hi > 65535 || count == 0) return -PoolStatus.BAD_ARGUMENT;
  if (cores == 0 || cores > <u32>QUEUES_MAX || queues == 0 || queues > <u32>QUEUES_MAX) return -PoolStatus.BAD_ARGUMENT;
  for (let q: u32 = 0; q < queues; q++) {
    if (<u32>load<u16>(QUEUE_CORE + (q << 1)) >= cores) return -PoolStatus.BAD_ARGUMENT;
  }
  for (let e: u32 = 0; e < size; e++) {
    if (<u32>load<u16>(RETA + (e << 1)) >= queues) return -PoolStatus.BAD_ARGUMENT;
  }
  const portBase = lo & ~63;
  const shift = max<u32>(6, 32 - clz(hi - portBase));
  if (count > <u32>(POOL_SLOTS_MAX >> shift)) return -PoolStatus.BAD_ARGUMENT;
  const slots = count << shift;

  const pool = allocZeroed(POOL_BYTES);
  store<u32>(pool, count, P_COUNT);
  store<u32>(pool, lo, P_LO);
  store<u32>(pool, hi, P_HI);
  store<u32>(pool, portBase, P_PORT_BASE);
  store<u32>(pool, shift, P_SHIFT);
  store<u32>(pool, slots, P_SLOTS);
  store<u32>(pool, cores, P_CORES);
  store<u32>(pool, queues, P_QUEUES);
  store<u32>(pool, size, P_RETA_SIZE);

  const reta = heap.alloc(<usize>size << 1);
  memory.copy(reta, RETA, <usize>size << 1);
  store<u32>(pool, <u32>reta, P_RETA);
  const queueCore = heap.alloc(<usize>queues << 1);
  memory.copy(queueCore, QUEUE_CORE, <usize>queues << 1);
  store<u32>(pool, <u32>queueCore, P_QUEUE_CORE);
  const entryCore = heap.alloc(<usize>size << 1);
  for (let e: u32 = 0; e < size; e++) {
    store<u16>(entryCore + (<usize>e << 1), load<u16>(queueCore + (<usize>load<u16>(reta + (<usize>e << 1)) << 1)));
  }
  store<u32>(pool, <u32>entryCore, P_ENTRY_CORE);

  computeTables(pool, fields, size - 1);
  prepareSteering(pool);

  // Bitmaps: per core, level 0 (a bit per slot), then levels 1 and 2.
  const words0 = slots >> 6, words1 = (words0 + 63) >> 6, words2 = (words1 + 63) >> 6;
  const stride = <usize>(words0 + words1 + words2) << 3;
  const bitmaps = allocZeroed(stride * cores);
  const records = allocZeroed(CORE_BYTES * cores);
  store<u32>(pool, <u32>bitmaps, P_BITMAPS);
  store<u32>(pool, <u32>stride, P_CORE_STRIDE);
  store<u32>(pool, <u32>records, P_CORE_RECORDS);
  for (let c: u32 = 0; c < cores; c++) {
    const r = records + <usize>c * CORE_BYTES, l0 = bitmaps + <usize>c * stride;
    store<u32>(r, <u32>l0, CORE_L0);
    store<u32>(r, <u32>(l0 + (<usize>words0 << 3)), CORE_L1);
    store<u32>(r, <u32>(l0 + (<usize>(words0 + words1) << 3)), CORE_L2);
  }
  build(pool);
  for (let c: u32 = 0; c < cores; c++) summarize(records + <usize>c * CORE_BYTES, words0);
  return <i32>pool;
}

/**
 * delta[i] (the columns of the port's bits), the two port-byte tables and base[a] for every
 * address, all masked to the table's index bits. The tuple at POOL_TUPLE is hashed with the
 * engine's own hashTuple, so key, function and transform are exactly the configured ones.
 */
function computeTables(pool: usize, fields: i32, mask: u32): void {
  const length = fields == FieldSet.IPV4_L4 ? IPV4_L4_INPUT : IPV6_L4_INPUT;
  const addressLength = (length - 4) >> 1;
  const port = <usize>POOL_TUPLE + <usize>(length - 2);
  store<u16>(port, 0);
  const h0 = hashTuple(POOL_TUPLE, fields);
  for (let i = 0; i < 16; i++) {
    store<u16>(port, bswap<u16>(<u16>(<u32>1 << i)));
    store<u16>(pool + P_DELTA + (<usize>i << 1), <u16>((hashTuple(POOL_TUPLE, fields) ^ h0) & mask));
  }
  store<u16>(port, 0);

  // high[v] / low[v]: L of the port byte v, grown from v without its lowest set bit.
  const tables = heap.alloc(1024);
  store<u32>(pool, <u32>tables, P_PORT_TABLES);
  for (let half = 0; half < 2; half++) {
    const t = tables + <usize>(half == 0 ? 0 : 512);
    const firstBit = half == 0 ? 8 : 0;
    store<u16>(t, 0);
    for (let v: u32 = 1; v < 256; v++) {
      const delta = load<u16>(pool + P_DELTA + (<usize>(firstBit + ctz(v)) << 1));
      store<u16>(t + (<usize>v << 1), load<u16>(t + (<usize>(v & (v - 1)) << 1)) ^ delta);
    }
  }

  // base[a]: the hash of (B, a, P, 0) for consecutive addresses a (big-endian increments).
  const count = load<u32>(pool, P_COUNT);
  const bases = heap.alloc(<usize>count << 1);
  store<u32>(pool, <u32>bases, P_BASES);
  const address = <usize>POOL_TUPLE + <usize>addressLength;
  const saved0 = load<u64>(address), saved1 = load<u64>(address, 8);
  for (let a: u32 = 0; a < count; a++) {
    store<u16>(bases + (<usize>a << 1), <u16>(hashTuple(POOL_TUPLE, fields) & mask));
    for (let j = addressLength - 1; j >= 0; j--) {
      const b = <u8>(load<u8>(address + j) + 1);
      store<u8>(address + j, b);
      if (b != 0) break;
    }
  }
  store<u64>(address, saved0); // leave the tuple as the host wrote it
  store<u64>(address, saved1, 8);
}

/**
 * One pass over every (address, port), a 64-port bitmap word at a time. The ports of a word share
 * their high bits, so by linearity entry(port j of the word) = y ^ low[j] with y = base[a] ^
 * high[hb] ^ low[first port & 0xc0]: the word's per-core masks depend on y alone (y < table
 * size). Each y's list of (core, mask) is computed once, on first use, with 64 lookups; a word
 * is then one store per core present, with the core's size and level-1 bit kept on the way.
 */
function build(pool: usize): void {
  const count = load<u32>(pool, P_COUNT), lo = load<u32>(pool, P_LO), hi = load<u32>(pool, P_HI);
  const shift = load<u32>(pool, P_SHIFT), portBase = load<u32>(pool, P_PORT_BASE);
  const size = load<u32>(pool, P_RETA_SIZE), cores = load<u32>(pool, P_CORES);
  const entryCore = <usize>load<u32>(pool, P_ENTRY_CORE);
  const bases = <usize>load<u32>(pool, P_BASES);
  const high = <usize>load<u32>(pool, P_PORT_TABLES), low = high + 512;
  const records = <usize>load<u32>(pool, P_CORE_RECORDS);

  // Memo per y: how many cores (0xffff: not yet), then up to 64 (core, mask) pairs.
  const listed = heap.alloc(<usize>size << 1);
  memory.fill(listed, 0xff, <usize>size << 1);
  const memoCore = heap.alloc(<usize>size << 7);
  const memoMask = heap.alloc(<usize>size << 9);
  const position = heap.alloc(<usize>cores << 1); // core -> its index in the list being made
  memory.fill(position, 0xff, <usize>cores << 1);

  for (let a: u32 = 0; a < count; a++) {
    const base = <u32>load<u16>(bases + (<usize>a << 1));
    for (let wp = lo & ~63; wp <= hi; wp += 64) {
      const y = base ^ <u32>load<u16>(high + (<usize>(wp >> 8) << 1)) ^ <u32>load<u16>(low + (<usize>(wp & 0xc0) << 1));
      let n = <u32>load<u16>(listed + (<usize>y << 1));
      const cs = memoCore + (<usize>y << 7), ms = memoMask + (<usize>y << 9);
      if (n == 0xffff) {
        n = 0;
        for (let j: u32 = 0; j < 64; j++) {
          const c = <u32>load<u16>(entryCore + (<usize>(y ^ <u32>load<u16>(low + (<usize>j << 1))) << 1));
          let i = <u32>load<u16>(position + (<usize>c << 1));
          if (i == 0xffff) {
            i = n++;
            store<u16>(position + (<usize>c << 1), <u16>i);
            store<u16>(cs + (<usize>i << 1), <u16>c);
            store<u64>(ms + (<usize>i << 3), 0);
          }
          const m = ms + (<usize>i << 3);
          store<u64>(m, load<u64>(m) | (<u64>1 << <u64>j));
        }
        for (let i: u32 = 0; i < n; i++) store<u16>(position + (<usize>load<u16>(cs + (<usize>i << 1)) << 1), 0xffff);
        store<u16>(listed + (<usize>y << 1), <u16>n);
      }
      // Ports of the word outside lo..hi stay out of every pool.
      let range: u64 = -1;
      if (wp < lo) range &= <u64>-1 << <u64>(lo - wp);
      if (wp + 63 > hi) range &= <u64>-1 >> <u64>(wp + 63 - hi);
      const w = ((a << shift) + wp - portBase) >> 6;
      for (let i: u32 = 0; i < n; i++) {
        const mask = load<u64>(ms + (<usize>i << 3)) & range;
        if (mask == 0) continue;
        const r = records + <usize>load<u16>(cs + (<usize>i << 1)) * CORE_BYTES;
        store<u64>(<usize>load<u32>(r, CORE_L0) + (<usize>w << 3), mask);
        store<u32>(r, load<u32>(r, CORE_SIZE) + <u32>popcnt(mask), CORE_SIZE);
        const l1 = <usize>load<u32>(r, CORE_L1) + (<usize>(w >> 6) << 3);
        store<u64>(l1, load<u64>(l1) | (<u64>1 << <u64>(w & 63)));
      }
    }
  }
  heap.free(position);
  heap.free(memoMask);
  heap.free(memoCore);
  heap.free(listed);
}

export function poolDestroy(pool: usize): void {
  releaseSteering(pool);
  for (let f = P_BASES; f <= P_BITMAPS; f += 4) heap.free(<usize>load<u32>(pool + f));
  heap.free(pool);
}

/** How a slot decodes: port = portBase + (slot & (2^shift - 1)), address index = slot >> shift. */
export function poolSlotShift(pool: usize): u32 {
  return load<u32>(pool, P_SHIFT);
}

export function poolPortBase(pool: usize): u32 {
  return load<u32>(pool, P_PORT_BASE);
}

export function poolSize(pool: usize, core: u32): u32 {
  return load<u32>(coreRecord(pool, core), CORE_SIZE);
}

export function poolAvailable(pool: usize, core: u32): u32 {
  return load<u32>(coreRecord(pool, core), CORE_AVAILABLE);
}

/** The core whose pool holds port p of address index a, or -OUT_OF_RANGE. */
export function poolCoreOf(pool: usize, a: u32, p: u32): i32 {
  if (!inside(pool, a, p)) return -PoolStatus.OUT_OF_RANGE;
  return <i32>ownerOf(pool, a, p);
}

/** The queue the return tuple of port p of address index a lands on (any port 0-65535). */
export function poolQueueOf(pool: usize, a: u32, p: u32): i32 {
  if (a >= load<u32>(pool, P_COUNT) || p > 65535) return -PoolStatus.OUT_OF_RANGE;
  return <i32>load<u16>(<usize>load<u32>(pool, P_RETA) + (<usize>entryOf(pool, a, p) << 1));
}

// @ts-ignore: decorator
@inline function alloc(pool: usize, core: usize): i32 {
  if (load<u32>(core, CORE_AVAILABLE) == 0) return -PoolStatus.EXHAUSTED;
  let s = nextFree(core, load<u32>(core, CORE_CURSOR));
  if (s < 0) s = nextFree(core, 0);
  setTaken(core, <u32>s);
  const next = <u32>s + 1;
  store<u32>(core, next == load<u32>(pool, P_SLOTS) ? 0 : next, CORE_CURSOR);
  store<u32>(core, load<u32>(core, CORE_AVAILABLE) - 1, CORE_AVAILABLE);
  return s;
}

// @ts-ignore: decorator
@inline function free(pool: usize, core: u32, a: u32, p: u32): i32 {
  if (!inside(pool, a, p)) return -PoolStatus.OUT_OF_RANGE;
  if (ownerOf(pool, a, p) != core) return -PoolStatus.OTHER_CORE;
  const r = coreRecord(pool, core), s = slotOf(pool, a, p);
  if (isFree(r, s)) return -PoolStatus.NOT_IN_USE;
  setFree(r, s);
  store<u32>(r, load<u32>(r, CORE_AVAILABLE) + 1, CORE_AVAILABLE);
  return 0;
}

/**
 * Hands out core `core`'s next free slot after the last one it handed out (next fit: a port
 * just freed, whose 4-tuple may still be in the peer's TIME-WAIT, is reused last), or
 * -EXHAUSTED. O(1): a bounded number of word operations.
 */
export function poolAlloc(pool: usize, core: u32): i32 {
  return alloc(pool, coreRecord(pool, core));
}

/** Returns port p of address index a to core `core`'s pool: 0, or a negative PoolStatus. */
export function poolFree(pool: usize, core: u32, a: u32, p: u32): i32 {
  return free(pool, core, a, p);
}

/**
 * Takes port p of address index a out of core `core`'s pool for an explicit bind: 0, or
 * -OUT_OF_RANGE, -OTHER_CORE (its return tuple lands on another core), -IN_USE.
 */
export function poolReserve(pool: usize, core: u32, a: u32, p: u32): i32 {
  if (!inside(pool, a, p)) return -PoolStatus.OUT_OF_RANGE;
  if (ownerOf(pool, a, p) != core) return -PoolStatus.OTHER_CORE;
  const r = coreRecord(pool, core), s = slotOf(pool, a, p);
  if (!isFree(r, s)) return -PoolStatus.IN_USE;
  setTaken(r, s);
  store<u32>(r, load<u32>(r, CORE_AVAILABLE) - 1, CORE_AVAILABLE);
  return 0;
}

/**
 * Writes up to `max` slots of core `core` at or after slot `from` to `out` (u32 each), in slot
 * order: its free ports (PoolListing.FREE) or all its ports (MEMBERS). Returns how many; the
 * host continues from the last one + 1.
 */
export function poolList(pool: usize, core: u32, from: u32, which: i32, out: usize, max: u32): u32 {
  const slots = load<u32>(pool, P_SLOTS);
  let n: u32 = 0;
  if (which == PoolListing.FREE) {
    const r = coreRecord(pool, core);
    let s = from;
    while (n < max && s < slots) {
      const f = nextFree(r, s);
      if (f < 0) break;
      store<u32>(out + (<usize>n << 2), <u32>f);
      n++;
      s = <u32>f + 1;
    }
    return n;
  }
  const shift = load<u32>(pool, P_SHIFT), portBase = load<u32>(pool, P_PORT_BASE);
  const lo = load<u32>(pool, P_LO), hi = load<u32>(pool, P_HI);
  const spanMask = (<u32>1 << shift) - 1;
  for (let s = from; n < max && s < slots; s++) {
    const a = s >> shift, p = portBase + (s & spanMask);
    if (p < lo) {
      s = (a << shift) + lo - portBase - 1;
      continue;
    }
    if (p > hi) {
      s = ((a + 1) << shift) - 1;
      continue;
    }
    if (ownerOf(pool, a, p) == core) {
      store<u32>(out + (<usize>n << 2), s);
      n++;
    }
  }
  return n;
}

/**
 * Benchmark: `pairs` alloc + free pairs on core `core` in one call, with `window` ports (a power
 * of two, ring of u32 slots at `ring`) held at any time: each step frees the oldest port held
 * and allocates one. Returns the pairs done (fewer if the pool ran dry).
 */
export function poolBenchAllocFree(pool: usize, core: u32, pairs: u32, ring: usize, window: u32): u32 {
  const r = coreRecord(pool, core);
  const shift = load<u32>(pool, P_SHIFT), portBase = load<u32>(pool, P_PORT_BASE);
  const spanMask = (<u32>1 << shift) - 1;
  for (let i: u32 = 0; i < window; i++) {
    const s = alloc(pool, r);
    if (s < 0) return 0;
    store<u32>(ring + (<usize>i << 2), <u32>s);
  }
  let done: u32 = 0;
  for (; done < pairs; done++) {
    const slot = ring + (<usize>(done & (window - 1)) << 2);
    const old = load<u32>(slot);
    if (free(pool, core, old >> shift, portBase + (old & spanMask)) != 0) break;
    const s = alloc(pool, r);
    if (s < 0) break;
    store<u32>(slot, <u32>s);
  }
  for (let i: u32 = 0; i < window; i++) {
    const old = load<u32>(ring + (<usize>i << 2));
    free(pool, core, old >> shift, portBase + (old & spanMask));
  }
  return done;
}
