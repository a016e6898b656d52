/**
 * The record of one pool (POOL_BYTES, in the heap, made by poolCreate): u32 fields and the
 * addresses of the pool's other heap buffers. Read by pool.ts and steer.ts.
 */
import { CORE_BYTES } from "./bitmap";

// @ts-ignore: decorator
@inline export const P_COUNT: usize = 0;       // local addresses
// @ts-ignore: decorator
@inline export const P_LO: usize = 4;          // port range, inclusive
// @ts-ignore: decorator
@inline export const P_HI: usize = 8;
// @ts-ignore: decorator
@inline export const P_PORT_BASE: usize = 12;  // lo rounded down to 64
// @ts-ignore: decorator
@inline export const P_SHIFT: usize = 16;      // log2 of the span of slots per address
// @ts-ignore: decorator
@inline export const P_SLOTS: usize = 20;      // count << shift
// @ts-ignore: decorator
@inline export const P_CORES: usize = 24;
// @ts-ignore: decorator
@inline export const P_QUEUES: usize = 28;
// @ts-ignore: decorator
@inline export const P_RETA_SIZE: usize = 32;
// @ts-ignore: decorator
@inline export const P_BASES: usize = 36;      // u16 per address: hash(a, port 0) & mask
// @ts-ignore: decorator
@inline export const P_PORT_TABLES: usize = 40; // u16 x 256 for the high port byte, then the low
// @ts-ignore: decorator
@inline export const P_RETA: usize = 44;       // u16 per entry: the table, copied
// @ts-ignore: decorator
@inline export const P_ENTRY_CORE: usize = 48; // u16 per entry: the core serving its queue
// @ts-ignore: decorator
@inline export const P_QUEUE_CORE: usize = 52; // u16 per queue: the map, copied
// @ts-ignore: decorator
@inline export const P_CORE_RECORDS: usize = 56;
// @ts-ignore: decorator
@inline export const P_BITMAPS: usize = 60;
// @ts-ignore: decorator
@inline export const P_CORE_STRIDE: usize = 64; // bitmap bytes per core
// @ts-ignore: decorator
@inline export const P_DELTA: usize = 68;      // u16 x 16: delta[i], the port bits' columns & mask
// Steering (steer.ts) keeps its fields from P_STEER on.
// @ts-ignore: decorator
@inline export const P_STEER: usize = 128;
// @ts-ignore: decorator
@inline export const POOL_BYTES: usize = 256;

// @ts-ignore: decorator
@inline export function coreRecord(pool: usize, core: u32): usize {
  return <usize>load<u32>(pool, P_CORE_RECORDS) + <usize>core * CORE_BYTES;
}

