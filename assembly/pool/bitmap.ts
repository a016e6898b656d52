/**
 * One core's free ports: a 64-ary tree of bitmaps over the pool's slots.
 *
 * Level 0 has one bit per slot (1 = free). Each level above has one bit per word below it, set
 * while that word is non-zero; level 3 is a single word, because a pool has at most 2^24 slots
 * (64^4). So "the first free slot at or after s" climbs at most three levels and descends with
 * count-trailing-zeros: a bounded number of word operations, never a scan, whatever the fill.
 *
 * A core's record (CORE_BYTES, in the pool's heap buffer):
 *   0   u64  level 3 word
 *   8   u32  level 0 words (address)
 *   12  u32  level 1 words
 *   16  u32  level 2 words
 *   20  u32  cursor: alloc() looks for the next free slot from here (next fit)
 *   24  u32  size: slots in this core's pool
 *   28  u32  available: free slots
 */

// @ts-ignore: decorator
@inline export const CORE_L3: usize = 0;
// @ts-ignore: decorator
@inline export const CORE_L0: usize = 8;
// @ts-ignore: decorator
@inline export const CORE_L1: usize = 12;
// @ts-ignore: decorator
@inline export const CORE_L2: usize = 16;
// @ts-ignore: decorator
@inline export const CORE_CURSOR: usize = 20;
// @ts-ignore: decorator
@inline export const CORE_SIZE: usize = 24;
// @ts-ignore: decorator
@inline export const CORE_AVAILABLE: usize = 28;
// @ts-ignore: decorator
@inline export const CORE_BYTES: usize = 32;

// @ts-ignore: decorator
@inline function word(level: usize, i: u32): usize {
  return level + (<usize>i << 3);
}

/** Bits strictly above bit `b` of a word (0 for b = 63). */
// @ts-ignore: decorator
@inline function above(b: u32): u64 {
  return (<u64>-1 << <u64>b) << 1;
}

/** Whether slot `s` is free. */
// @ts-ignore: decorator
@inline export function isFree(core: usize, s: u32): bool {
  return ((load<u64>(word(load<u32>(core, CORE_L0), s >> 6)) >> <u64>(s & 63)) & 1) != 0;
}

/** Marks slot `s` free: its bit, and the summary bits above it that were clear (a word that was
 *  non-zero already has its bit set in the level above). */
// @ts-ignore: decorator
@inline export function setFree(core: usize, s: u32): void {
  const w0 = word(load<u32>(core, CORE_L0), s >> 6);
  const v0 = load<u64>(w0);
  store<u64>(w0, v0 | (<u64>1 << <u64>(s & 63)));
  if (v0 != 0) return;
  const w1 = word(load<u32>(core, CORE_L1), s >> 12);
  const v1 = load<u64>(w1);
  store<u64>(w1, v1 | (<u64>1 << <u64>((s >> 6) & 63)));
  if (v1 != 0) return;
  const w2 = word(load<u32>(core, CORE_L2), s >> 18);
  const v2 = load<u64>(w2);
  store<u64>(w2, v2 | (<u64>1 << <u64>((s >> 12) & 63)));
  if (v2 != 0) return;
  store<u64>(core, load<u64>(core, CORE_L3) | (<u64>1 << <u64>(s >> 18)), CORE_L3);
}

/** Marks free slot `s` taken, clearing summary bits whose word became empty. */
// @ts-ignore: decorator
@inline export function setTaken(core: usize, s: u32): void {
  const w0 = word(load<u32>(core, CORE_L0), s >> 6);
  const v0 = load<u64>(w0) & ~(<u64>1 << <u64>(s & 63));
  store<u64>(w0, v0);
  if (v0 != 0) return;
  const w1 = word(load<u32>(core, CORE_L1), s >> 12);
  const v1 = load<u64>(w1) & ~(<u64>1 << <u64>((s >> 6) & 63));
  store<u64>(w1, v1);
  if (v1 != 0) return;
  const w2 = word(load<u32>(core, CORE_L2), s >> 18);
  const v2 = load<u64>(w2) & ~(<u64>1 << <u64>((s >> 12) & 63));
  store<u64>(w2, v2);
  if (v2 != 0) return;
  store<u64>(core, load<u64>(core, CORE_L3) & ~(<u64>1 << <u64>(s >> 18)), CORE_L3);
}

/** The first free slot at or after `s` (s below the slot count), or -1. */
// @ts-ignore: decorator
@inline export function nextFree(core: usize, s: u32): i32 {
  const l0 = load<u32>(core, CORE_L0), l1 = load<u32>(core, CORE_L1), l2 = load<u32>(core, CORE_L2);
  let i0 = s >> 6;
  let m = load<u64>(word(l0, i0)) & (<u64>-1 << <u64>(s & 63));
  if (m == 0) {
    let i1 = i0 >> 6;
    m = load<u64>(word(l1, i1)) & above(i0 & 63);
    if (m == 0) {
      let i2 = i1 >> 6;
      m = load<u64>(word(l2, i2)) & above(i1 & 63);
      if (m == 0) {
        m = load<u64>(core, CORE_L3) & above(i2);
        if (m == 0) return -1;
        i2 = <u32>ctz(m);
        m = load<u64>(word(l2, i2));
      }
      i1 = (i2 << 6) | <u32>ctz(m);
      m = load<u64>(word(l1, i1));
    }
    i0 = (i1 << 6) | <u32>ctz(m);
    m = load<u64>(word(l0, i0));
  }
  return <i32>((i0 << 6) | <u32>ctz(m));
}

/**
 * Finishes a core after the build pass wrote level 0, level 1 and its size: levels 2 and 3 from
 * level 1, the cursor, and every port available.
 */
export function summarize(core: usize, words0: u32): void {
  const l1 = load<u32>(core, CORE_L1), l2 = load<u32>(core, CORE_L2);
  const words1 = (words0 + 63) >> 6, words2 = (words1 + 63) >> 6;
  let top: u64 = 0;
  for (let i: u32 = 0; i < words2; i++) {
    let summary: u64 = 0;
    const end = min(words1, (i + 1) << 6);
    for (let j = i << 6; j < end; j++) summary |= <u64>(load<u64>(word(l1, j)) != 0) << <u64>(j & 63);
    store<u64>(word(l2, i), summary);
    top |= <u64>(summary != 0) << <u64>i;
  }
  store<u64>(core, top, CORE_L3);
  store<u32>(core, 0, CORE_CURSOR);
  store<u32>(core, load<u32>(core, CORE_SIZE), CORE_AVAILABLE);
}
