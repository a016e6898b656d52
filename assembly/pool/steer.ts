/**
 * Predictable RSS: the local port that makes a return tuple land on a chosen queue, solved as a
 * linear system over GF(2) (the idea of DPDK's rte_thash_adjust_tuple) instead of trial hashing.
 *
 * pool.ts gives entry(a, p) = base[a] ^ L(p) with L linear from the port's 16 bits to the
 * table's k index bits (k = log2 table size). For a wanted entry e, the ports reaching it are
 * the solutions of L(p) = e ^ base[a]:
 *
 * - Gaussian elimination on the columns delta[0..15] gives a basis of L's image (rank r, with
 *   the port bits that make each basis vector) and a basis of its kernel (16 - r vectors: port
 *   changes that leave the entry alone).
 * - e is reachable iff e ^ base[a] reduces to zero against the image basis; the reduction's port
 *   bits are one solution x, and every solution is x ^ (a kernel vector): a coset of 2^(16-r)
 *   ports. If the r reachable index bits miss every entry of the wanted queue, no port at all can
 *   reach it; that is what a low-rank key does (0x05 repeated gives r <= 6: at most 64 of a
 *   128-entry table's entries, whatever the address).
 * - Nearest to a hint: with the kernel basis in reduced row echelon form (each vector's leading
 *   bit, its pivot, is clear in all the others) and x reduced to have zero pivot bits, the coset's
 *   ports in increasing order are x ^ span[0], x ^ span[1], ..., where span[j] is the XOR of the
 *   basis vectors picked by the bits of j: the highest differing pivot decides the order. So a
 *   binary search over j finds the first port at or above the hint in each coset, and a heap of
 *   cursors (one walking up and one down per coset) yields the queue's ports in order of distance
 *   from the hint, skipping ports the pool has handed out.
 */
import { PoolStatus, SteerFlag } from "../shared/abi";
import { CORE_L0 } from "./bitmap";
import {
  coreRecord, P_BASES, P_COUNT, P_DELTA, P_HI, P_LO, P_PORT_BASE, P_QUEUE_CORE, P_QUEUES, P_RETA, P_RETA_SIZE,
  P_SHIFT, P_STEER,
} from "./layout";

// Steering's fields in the pool record.

// @ts-ignore: decorator
@inline const S_RANK: usize = P_STEER;            // u32: rank r of L
// @ts-ignore: decorator
@inline const S_KERNEL_DIM: usize = P_STEER + 4;  // u32: 16 - r
// @ts-ignore: decorator
@inline const S_SPAN: usize = P_STEER + 8;        // u32 address: u16 x 2^(16-r), the kernel's span in order
// @ts-ignore: decorator
@inline const S_HEAP: usize = P_STEER + 12;       // u32 address: u64 x 2 x table size
// @ts-ignore: decorator
@inline const S_PIVOTS: usize = P_STEER + 16;     // u32: the kernel vectors' pivot bits
// @ts-ignore: decorator
@inline const S_IMAGE: usize = P_STEER + 32;      // u16 x 16: image basis vector with leading bit b, or 0
// @ts-ignore: decorator
@inline const S_IMAGE_PORT: usize = P_STEER + 64; // u16 x 16: the port bits that make it
// @ts-ignore: decorator
@inline const S_KERNEL: usize = P_STEER + 96;     // u16 x 16: kernel basis, ascending pivots

// @ts-ignore: decorator
@inline function u16At(base: usize, i: u32): u32 {
  return <u32>load<u16>(base + (<usize>i << 1));
}

/** Eliminates delta[0..15] into image and kernel bases; fills the kernel's ordered span. */
export function prepareSteering(pool: usize): void {
  let rank: u32 = 0, dim: u32 = 0;
  for (let i: u32 = 0; i < 16; i++) {
    let v = u16At(pool + P_DELTA, i);
    let port: u32 = 1 << i;
    while (v != 0) {
      const b = 31 - clz(v);
      const basis = u16At(pool + S_IMAGE, b);
      if (basis == 0) {
        store<u16>(pool + S_IMAGE + (<usize>b << 1), <u16>v);
        store<u16>(pool + S_IMAGE_PORT + (<usize>b << 1), <u16>port);
        rank++;
        break;
      }
      v ^= basis;
      port ^= u16At(pool + S_IMAGE_PORT, b);
    }
    // A column that reduced to zero gives a kernel vector. Its highest bit is i (the image
    // vectors' ports use only earlier bits), so the kernel arrives in echelon form, ascending.
    if (v == 0) {
      store<u16>(pool + S_KERNEL + (<usize>dim << 1), <u16>port);
      dim++;
    }
  }
  // Reduce: clear each pivot from the vectors above it (lower vectors have no bit that high).
  let pivots: u32 = 0;
  for (let j: u32 = 0; j < dim; j++) {
    let v = u16At(pool + S_KERNEL, j);
    for (let i: u32 = 0; i < j; i++) {
      const k = u16At(pool + S_KERNEL, i);
      if (v & (1 << (31 - clz(k)))) v ^= k;
    }
    store<u16>(pool + S_KERNEL + (<usize>j << 1), <u16>v);
    pivots |= 1 << (31 - clz(v));
  }
  const span = heap.alloc(<usize>2 << dim);
  store<u16>(span, 0);
  for (let j: u32 = 1; j < (<u32>1 << dim); j++) {
    store<u16>(span + (<usize>j << 1), <u16>(u16At(span, j & (j - 1)) ^ u16At(pool + S_KERNEL, ctz(j))));
  }
  store<u32>(pool, rank, S_RANK);
  store<u32>(pool, dim, S_KERNEL_DIM);
  store<u32>(pool, <u32>span, S_SPAN);
  store<u32>(pool, pivots, S_PIVOTS);
  store<u32>(pool, <u32>heap.alloc(<usize>load<u32>(pool, P_RETA_SIZE) << 4), S_HEAP);
}

export function releaseSteering(pool: usize): void {
  heap.free(<usize>load<u32>(pool, S_SPAN));
  heap.free(<usize>load<u32>(pool, S_HEAP));
}

/** Rank of L: the port reaches 2^rank of the table's entries from any one address. */
export function poolPortRank(pool: usize): u32 {
  return load<u32>(pool, S_RANK);
}

/** A port p with L(p) = t, reduced to zero pivot bits; -1 if t is not in L's image. */
function solve(pool: usize, t: u32): i32 {
  let port: u32 = 0;
  while (t != 0) {
    const b = 31 - clz(t);
    const basis = u16At(pool + S_IMAGE, b);
    if (basis == 0) return -1;
    t ^= basis;
    port ^= u16At(pool + S_IMAGE_PORT, b);
  }
  const dim = load<u32>(pool, S_KERNEL_DIM);
  for (let j: u32 = 0; j < dim; j++) {
    const k = u16At(pool + S_KERNEL, j);
    if (port & (1 << (31 - clz(k)))) port ^= k;
  }
  return <i32>port;
}

/** The first j in [0, 2^dim] with x ^ span[j] >= hint (2^dim if none). */
function lowerBound(span: usize, dim: u32, x: u32, hint: u32): u32 {
  let lo: u32 = 0, hi: u32 = 1 << dim;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((x ^ u16At(span, mid)) < hint) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Heap items, u64, smallest first: distance from the hint (17 bits), direction (0 = down, so a
// tie goes to the lower port), cursor j (16 bits), coset representative x (16 bits).
// @ts-ignore: decorator
@inline function item(distance: u32, up: u32, j: u32, x: u32): u64 {
  return (<u64>distance << 33) | (<u64>up << 32) | (<u64>j << 16) | <u64>x;
}

function push(heapBase: usize, n: u32, v: u64): u32 {
  let i = n;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = load<u64>(heapBase + (<usize>parent << 3));
    if (p <= v) break;
    store<u64>(heapBase + (<usize>i << 3), p);
    i = parent;
  }
  store<u64>(heapBase + (<usize>i << 3), v);
  return n + 1;
}

/** Removes the smallest item (heapBase[0]); returns the new count. */
function pop(heapBase: usize, n: u32): u32 {
  n--;
  const v = load<u64>(heapBase + (<usize>n << 3));
  let i: u32 = 0;
  while (true) {
    let child: u32 = 2 * i + 1;
    if (child >= n) break;
    let c = load<u64>(heapBase + (<usize>child << 3));
    if (child + 1 < n) {
      const d = load<u64>(heapBase + (<usize>(child + 1) << 3));
      if (d < c) { c = d; child++; }
    }
    if (v <= c) break;
    store<u64>(heapBase + (<usize>i << 3), c);
    i = child;
  }
  if (n > 0) store<u64>(heapBase + (<usize>i << 3), v);
  return n;
}

/**
 * The slot of the port of address index `a` nearest to `hint` (ties: the lower port) whose
 * return tuple lands on `queue` and that the serving core's pool has free; with
 * SteerFlag.UPWARD only ports >= hint, with ANY_STATE handed-out ports too. Returns a slot,
 * -UNREACHABLE (no port of this address can reach the queue), -EXHAUSTED (all that can are
 * taken) or -OUT_OF_RANGE (a queue the table does not name, a bad address index or hint).
 */
export function poolSteer(pool: usize, queue: u32, a: u32, hint: u32, flags: i32): i32 {
  const size = load<u32>(pool, P_RETA_SIZE);
  if (a >= load<u32>(pool, P_COUNT) || hint > 65535 || queue >= load<u32>(pool, P_QUEUES)) return -PoolStatus.OUT_OF_RANGE;
  const reta = <usize>load<u32>(pool, P_RETA);
  const base = u16At(<usize>load<u32>(pool, P_BASES), a);
  const span = <usize>load<u32>(pool, S_SPAN), dim = load<u32>(pool, S_KERNEL_DIM);
  const heapBase = <usize>load<u32>(pool, S_HEAP);
  const end: u32 = 1 << dim;
  const upward = (flags & SteerFlag.UPWARD) != 0;

  let n: u32 = 0, reachable = false;
  for (let e: u32 = 0; e < size; e++) {
    if (u16At(reta, e) != queue) continue;
    const x = solve(pool, e ^ base);
    if (x < 0) continue;
    reachable = true;
    const j = lowerBound(span, dim, <u32>x, hint);
    if (j < end) n = push(heapBase, n, item((<u32>x ^ u16At(span, j)) - hint, 1, j, <u32>x));
    if (!upward && j > 0) n = push(heapBase, n, item(hint - (<u32>x ^ u16At(span, j - 1)), 0, j - 1, <u32>x));
  }
  if (!reachable) return -PoolStatus.UNREACHABLE;

  const lo = load<u32>(pool, P_LO), hi = load<u32>(pool, P_HI);
  const shift = load<u32>(pool, P_SHIFT), portBase = load<u32>(pool, P_PORT_BASE);
  const core = u16At(<usize>load<u32>(pool, P_QUEUE_CORE), queue);
  const l0 = <usize>load<u32>(coreRecord(pool, core), CORE_L0);
  const anyState = (flags & SteerFlag.ANY_STATE) != 0;
  while (n > 0) {
    const v = load<u64>(heapBase);
    n = pop(heapBase, n);
    const up = <u32>(v >> 32) & 1, j = <u32>(v >> 16) & 0xffff, x = <u32>v & 0xffff;
    const p = x ^ u16At(span, j);
    if (up) {
      if (p > hi) continue; // the rest of this coset upward is further out
    } else if (p < lo) {
      continue;
    }
    if (p >= lo && p <= hi) {
      const s = (a << shift) + p - portBase;
      if (anyState || ((load<u64>(l0 + (<usize>(s >> 6) << 3)) >> <u64>(s & 63)) & 1) != 0) return <i32>s;
    }
    if (up) {
      if (j + 1 < end) n = push(heapBase, n, item((x ^ u16At(span, j + 1)) - hint, 1, j + 1, x));
    } else if (j > 0) {
      n = push(heapBase, n, item(hint - (x ^ u16At(span, j - 1)), 0, j - 1, x));
    }
  }
  return -PoolStatus.EXHAUSTED;
}
