/**
 * The TCB table and the 4-tuple index.
 *
 * TCBs are a fixed array with a free list threaded through TCB_OUTPUT_NEXT. The index maps a
 * 4-tuple (local address and port, remote address and port) to a TCB or a TIME-WAIT entry: open
 * addressing with linear probing over u64 slots (tuple hash << 32 | reference), at most half
 * full, deletions by backward shift (no tombstones, so probes stay short however long the run).
 * A reference is TCB index + 1, or TW_REF | TIME-WAIT entry; 0 is an empty slot.
 *
 * The tuple hash is a multiplicative mix, not the RSS hash: it only has to spread tuples over the
 * index, and the full tuple is compared on every hit.
 */
import {
  TCB_BYTES, TCB_FAMILY, TW_BYTES, TCB_HASH, TCB_LOCAL_ADDR, TCB_LOCAL_PORT, TCB_OUTPUT_NEXT, TcpStat,
} from "../shared/abi";
import { setCount, setTcbTable, tcbAt, tcbBase } from "./state";

export const TW_REF: u32 = 0x80000000;

let index: usize = 0;
let indexMask: u32 = 0;
let freeHead: u32 = 0; // TCB index + 1
let used: u32 = 0;

/** Lays out `tcbs` TCBs (all free) and an index for them and `timeWaits` TIME-WAIT entries. */
export function configureTable(tcbs: u32, timeWaits: u32): void {
  setTcbTable(heap.alloc(<usize>tcbs * TCB_BYTES), tcbs);
  memory.fill(tcbBase, 0, <usize>tcbs * TCB_BYTES);
  for (let i: u32 = 0; i < tcbs; i++) store<u32>(tcbAt(i) + TCB_OUTPUT_NEXT, i + 2 <= tcbs ? i + 2 : 0);
  freeHead = tcbs > 0 ? 1 : 0;
  used = 0;
  let size: u32 = 64;
  while (size < (tcbs + timeWaits) * 2) size <<= 1;
  index = heap.alloc(<usize>size << 3);
  memory.fill(index, 0, <usize>size << 3);
  indexMask = size - 1;
  setCount(TcpStat.TCBS_ACTIVE, 0);
}

/** A free TCB, zeroed, or 0 when none is left. */
export function tcbTake(): usize {
  if (freeHead == 0) return 0;
  const t = tcbAt(freeHead - 1);
  freeHead = load<u32>(t + TCB_OUTPUT_NEXT);
  memory.fill(t, 0, TCB_BYTES);
  used++;
  setCount(TcpStat.TCBS_ACTIVE, used);
  return t;
}

export function tcbGive(t: usize): void {
  store<u8>(t, 11); // TcpState.CLOSED: code still holding t sees it gone
  store<u32>(t + TCB_OUTPUT_NEXT, freeHead);
  freeHead = <u32>((t - tcbBase) / TCB_BYTES) + 1;
  used--;
  setCount(TcpStat.TCBS_ACTIVE, used);
}

export function tcbsUsed(): u32 {
  return used;
}

// @ts-ignore: decorator
@inline function mix(h: u32): u32 {
  h ^= h >> 16;
  h *= 0x7feb352d;
  h ^= h >> 15;
  h *= 0x846ca68b;
  return h ^ (h >> 16);
}

/**
 * The index hash of a tuple: `local` and `remote` addresses (4 or 16 bytes by `family`),
 * ports as one u32 (local port | remote port << 16, host order values).
 */
export function tupleHash(family: u32, local: usize, remote: usize, ports: u32): u32 {
  let h = mix(ports ^ 0x9e3779b9);
  if (family == 4) return mix(h ^ load<u32>(local) ^ mix(load<u32>(remote) + 0x632be5ab));
  for (let i: usize = 0; i < 16; i += 4) h = mix(h ^ load<u32>(local + i) ^ mix(load<u32>(remote + i) + <u32>i));
  return h;
}

/**
 * Whether the entry at `e` (a TCB or a TIME-WAIT entry: both keep the tuple at the TCB's
 * offsets) holds this tuple.
 */
// @ts-ignore: decorator
@inline function holds(e: usize, family: u32, local: usize, remote: usize, ports: u32): bool {
  if (load<u32>(e + TCB_LOCAL_PORT) != ports || <u32>load<u8>(e + TCB_FAMILY) != family) return false;
  if (family == 4) return load<u32>(e + TCB_LOCAL_ADDR) == load<u32>(local) && load<u32>(e + TCB_LOCAL_ADDR + 16) == load<u32>(remote);
  return v128.all_true<i8>(v128.and(
    i8x16.eq(v128.load(e + TCB_LOCAL_ADDR), v128.load(local)),
    i8x16.eq(v128.load(e + TCB_LOCAL_ADDR + 16), v128.load(remote)),
  ));
}

/** Where the TIME-WAIT entries live (timewait.ts lays them out). */
let timeWaitBase: usize = 0;

export function setTimeWaitBase(base: usize): void {
  timeWaitBase = base;
}

// @ts-ignore: decorator
@inline export function entryOf(ref: u32): usize {
  return ref & TW_REF ? timeWaitBase + <usize>(ref & ~TW_REF) * TW_BYTES : tcbAt(ref - 1);
}

/** The reference of the entry holding this tuple, or 0. */
export function indexFind(hash: u32, family: u32, local: usize, remote: usize, ports: u32): u32 {
  let i = hash & indexMask;
  for (;;) {
    const v = load<u64>(index + (<usize>i << 3));
    const ref = <u32>v;
    if (ref == 0) return 0;
    if (<u32>(v >> 32) == hash && holds(entryOf(ref), family, local, remote, ports)) return ref;
    i = (i + 1) & indexMask;
  }
  return 0; // not reached: the index is never full
}

export function indexInsert(hash: u32, ref: u32): void {
  let i = hash & indexMask;
  while (<u32>load<u64>(index + (<usize>i << 3)) != 0) i = (i + 1) & indexMask;
  store<u64>(index + (<usize>i << 3), (<u64>hash << 32) | <u64>ref);
}

/** The slot holding `ref` (which is in the index). */
function slotOf(hash: u32, ref: u32): u32 {
  let i = hash & indexMask;
  while (<u32>load<u64>(index + (<usize>i << 3)) != ref) i = (i + 1) & indexMask;
  return i;
}

/** Points the slot of `from` at `to` (a TCB becoming a TIME-WAIT entry, or back). */
export function indexReplace(hash: u32, from: u32, to: u32): void {
  store<u64>(index + (<usize>slotOf(hash, from) << 3), (<u64>hash << 32) | <u64>to);
}

/** Removes `ref`, shifting later entries of its probe run back so that no search stops early. */
export function indexRemove(hash: u32, ref: u32): void {
  let hole = slotOf(hash, ref);
  let i = hole;
  for (;;) {
    i = (i + 1) & indexMask;
    const v = load<u64>(index + (<usize>i << 3));
    if (<u32>v == 0) break;
    const home = <u32>(v >> 32) & indexMask;
    // The entry at i may move to the hole when its home is not in (hole, i] (cyclically).
    if (((i - home) & indexMask) >= ((i - hole) & indexMask)) {
      store<u64>(index + (<usize>hole << 3), v);
      hole = i;
    }
  }
  store<u64>(index + (<usize>hole << 3), 0);
}

/** The index hash a TCB was filed under. */
// @ts-ignore: decorator
@inline export function hashOf(t: usize): u32 {
  return load<u32>(t + TCB_HASH);
}
