/**
 * Configuration-time memory that says no instead of trapping.
 *
 * The allocator (TLSF) traps when a block exceeds its largest size (1 GiB) or when memory cannot
 * grow for it, and it grows memory by doubling it, which near wasm32's 4 GiB would waste what a
 * large flow table needs. Every buffer whose size a user can set (the flow table, record buffers,
 * reassembly windows, capture chunks, rings, what the host allocates) comes from here instead:
 *
 * - RESERVE_REGION bytes or more: whole pages grown for the buffer (memory.grow reports failure,
 *   it never traps), so a large buffer costs its size rounded up to a page. Freed ones are kept
 *   in a table and the smallest one a later buffer fits in is reused. Memory just grown is zero;
 *   a reused buffer is not.
 * - Smaller: an allocator block, refused when memory could not grow for it. The allocator starts
 *   (it takes the pages there are when it starts) with ALLOCATOR_START bytes of room, before the
 *   first large buffer, so that it never counts one as its own and small buffers rarely make it grow.
 *
 * A size the engine cannot hold is then a status the host turns into one line naming the maximum
 * (host/core/limits.ts computes the maxima from the same constants), never an engine abort.
 */
import { ALLOCATOR_START, MEMORY_MAX_PAGES, PAGE_BYTES, RESERVE_REGION } from "./abi";

/** Large buffers ever grown: each is at least RESERVE_REGION (1 MiB) of a 4 GiB memory. */
const REGIONS: u32 = 4096;
/** Per region: u32 start, u32 bytes (whole pages), u32 1 while handed out. The table is an
 *  allocator block taken when the allocator starts (as static data it would fill the binary). */
const ENTRY = 12;
let regions: usize = 0;
let count: u32 = 0;
let allocatorStarted = false;
/** Bytes of small buffers handed out (never decreased). */
let smallTaken: u64 = 0;

// @ts-ignore: decorator
@inline function pagesLeft(): u64 {
  return <u64>(MEMORY_MAX_PAGES - memory.size());
}

function startAllocator(): void {
  if (allocatorStarted) return;
  allocatorStarted = true;
  heap.free(heap.alloc(ALLOCATOR_START));
  regions = heap.alloc(<usize>(REGIONS * ENTRY));
}

/** `size` bytes (16-byte aligned; large ones page-aligned), or 0 when they cannot be had. */
export function reserve(size: usize): usize {
  startAllocator();
  if (size >= <usize>RESERVE_REGION) return region(size);
  // Within its starting room the allocator has a free block (small buffers taken so far are
  // counted, never given back: the count only errs towards growing). Past it, the allocator grows
  // memory by the block it needs, rounded up to its size class (at most a sixteenth more) plus
  // headers: refuse before it would have to grow past the maximum and trap.
  const cost = <u64>size + 64;
  if (smallTaken + cost > <u64>ALLOCATOR_START && (<u64>size + (<u64>size >> 4) + 0x1ffff) >> 16 > pagesLeft()) return 0;
  smallTaken += cost;
  return heap.alloc(size);
}

/** Gives back what `reserve` returned (0 is ignored). */
export function unreserve(p: usize): void {
  if (p == 0) return;
  for (let i: u32 = 0; i < count; i++) {
    const r = regions + <usize>(i * ENTRY);
    if (<usize>load<u32>(r) == p) {
      store<u32>(r, 0, 8);
      return;
    }
  }
  heap.free(p);
}

function region(size: usize): usize {
  const pages64 = (<u64>size + <u64>(PAGE_BYTES - 1)) >> 16;
  const bytes64 = pages64 << 16;
  // The smallest freed region it fits in.
  let best: i32 = -1;
  let bestBytes: u64 = U64.MAX_VALUE;
  for (let i: u32 = 0; i < count; i++) {
    const r = regions + <usize>(i * ENTRY);
    const b = <u64>load<u32>(r, 4);
    if (load<u32>(r, 8) == 0 && b >= bytes64 && b < bestBytes) {
      best = <i32>i;
      bestBytes = b;
    }
  }
  if (best >= 0) {
    const r = regions + <usize>(<u32>best * ENTRY);
    store<u32>(r, 1, 8);
    return <usize>load<u32>(r);
  }
  if (count == REGIONS || pages64 > pagesLeft()) return 0;
  const before = memory.grow(<i32>pages64);
  if (before < 0) return 0;
  const start = <usize>before << 16;
  const r = regions + <usize>(count * ENTRY);
  store<u32>(r, <u32>start);
  // At most MEMORY_MAX_PAGES - 1 pages here: a u32 holds the bytes.
  store<u32>(r, <u32>bytes64, 4);
  store<u32>(r, 1, 8);
  count++;
  return start;
}
