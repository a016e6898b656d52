/**
 * Configuration-time memory that says no instead of trapping.
 *
 * The allocator (TLSF) traps when a block exceeds its largest size (1 GiB) or when memory cannot
 * grow for it. Every buffer whose size a user can set (the flow table, record buffers, reassembly
 * windows, capture chunks, rings) comes from here instead, so a size the engine cannot hold is a
 * status the host turns into one line naming the maximum, never an engine abort.
 *
 * Buffers of RESERVE_REGION bytes or more are whole pages grown for them (memory.grow reports
 * failure; it never traps), kept in a small table so that a later buffer reuses a freed one it
 * fits in. Memory just grown is zero, and a region is never handed back to the allocator: the
 * allocator, when it grows later, adds the pages after it as memory of its own.
 */
import { MEMORY_MAX_PAGES, PAGE_BYTES, RESERVE_REGION } from "./abi";

/** Regions ever grown: each is at least RESERVE_REGION (64 MiB) of a 4 GiB memory, so fewer than 64. */
const REGIONS: u32 = 64;
/** Per region: u32 start, u32 bytes (whole pages), u32 1 while handed out. */
const REGION = 12;
const regions = memory.data(<i32>(REGIONS * REGION));
let regionCount: u32 = 0;

/** Pages memory can still grow by. */
// @ts-ignore: decorator
@inline function pagesLeft(): u32 {
  return <u32>MEMORY_MAX_PAGES - <u32>memory.size();
}

/**
 * `size` bytes (16-byte aligned), or 0 when they cannot be had. Memory grown for a large buffer
 * is zero; a reused region or allocator block is not.
 */
export function reserve(size: usize): usize {
  if (size >= <usize>RESERVE_REGION) return region(size);
  // The allocator grows memory by the block it needs, rounded up to its size class (at most a
  // sixteenth more) plus headers, when no free block fits. Refuse before it would have to trap.
  const pages = <u32>((<u64>size + (<u64>size >> 4) + 0x1ffff) >> 16);
  if (pages > pagesLeft()) return 0;
  return heap.alloc(size);
}

/** Gives back what `reserve` returned (0 is ignored). */
export function unreserve(p: usize): void {
  if (p == 0) return;
  for (let i: u32 = 0; i < regionCount; i++) {
    const r = regions + <usize>(i * REGION);
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
  for (let i: u32 = 0; i < regionCount; i++) {
    const r = regions + <usize>(i * REGION);
    const b = <u64>load<u32>(r, 4);
    if (load<u32>(r, 8) == 0 && b >= bytes64 && b < bestBytes) {
      best = <i32>i;
      bestBytes = b;
    }
  }
  if (best >= 0) {
    const r = regions + <usize>(<u32>best * REGION);
    store<u32>(r, 1, 8);
    return <usize>load<u32>(r);
  }
  if (pages64 > <u64>pagesLeft()) return 0;
  const before = memory.grow(<i32>pages64);
  if (before < 0) return 0;
  const start = <usize>before << 16;
  const r = regions + <usize>(regionCount * REGION);
  store<u32>(r, <u32>start);
  // bytes64 is at most 4 GiB - 64 KiB here (MEMORY_MAX_PAGES - 1 pages): a u32 holds it.
  store<u32>(r, <u32>bytes64, 4);
  store<u32>(r, 1, 8);
  regionCount++;
  return start;
}
