/**
 * The buffer pool: fixed-size chunks (a power of two, CFG_CHUNK_SHIFT) allocated once at
 * configuration and shared by every connection's send and receive buffers, handed out and taken
 * back through a stack of free chunk numbers: O(1) both ways, nothing allocated per packet.
 */
import { TcpStat } from "../shared/abi";
import { setCount } from "./state";

let base: usize = 0;
let stack: usize = 0;
let free: u32 = 0;
export let chunkShift: u32 = 12;
export let chunkBytes: u32 = 4096;

/** Lays out `count` chunks of 1 << shift bytes, all free. */
export function configureChunks(count: u32, shift: u32): void {
  chunkShift = shift;
  chunkBytes = <u32>1 << shift;
  base = heap.alloc(<usize>count << shift);
  stack = heap.alloc(<usize>count << 2);
  for (let i: u32 = 0; i < count; i++) store<u32>(stack + (<usize>i << 2), count - i); // chunk 1 on top
  free = count;
  setCount(TcpStat.CHUNKS_FREE, free);
}

/** A free chunk's number + 1, or 0 when none is left. */
// @ts-ignore: decorator
@inline export function chunkTake(): u32 {
  if (free == 0) return 0;
  free--;
  setCount(TcpStat.CHUNKS_FREE, free);
  return load<u32>(stack + (<usize>free << 2));
}

/** Gives chunk `ref` (number + 1) back. */
// @ts-ignore: decorator
@inline export function chunkGive(ref: u32): void {
  store<u32>(stack + (<usize>free << 2), ref);
  free++;
  setCount(TcpStat.CHUNKS_FREE, free);
}

// @ts-ignore: decorator
@inline export function chunkAddress(ref: u32): usize {
  return base + (<usize>(ref - 1) << chunkShift);
}

export function chunksFree(): u32 {
  return free;
}
