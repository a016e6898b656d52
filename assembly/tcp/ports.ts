/**
 * Where a client connection's local port comes from, and which core owns a port.
 *
 * A destination is a peer (address, port). Its ports come from a pool built the first time a
 * connection goes there, and kept:
 * - PortMode.POOL: assembly/pool's RSS-aligned pool, hashed from the return tuple (peer as
 *   source) with this engine's own RSS (key, field set, table, queue -> core map), so every reply
 *   lands on this core. poolAlloc is next fit: a port just freed is reused last.
 * - PortMode.RANDOM: as a kernel picks an ephemeral port: a random place in the range, then the
 *   next free port. Engines share no memory, so the port space is partitioned by owner: core c
 *   owns the ports p with p % cores == c, and any core can tell which core owns a segment. The
 *   free ports are a bitmap of the same shape as a pool's (assembly/pool/bitmap.ts).
 * A port is handed out once: a connection holds it from SYN to the end of its TIME-WAIT.
 */
import {
  CFG_CORE, CFG_CORES, CFG_FIELDS4, CFG_FIELDS6, CFG_LOCAL4, CFG_LOCAL6, CFG_PORT_HI, CFG_PORT_LO, CFG_PORT_MODE,
  CFG_QUEUES, DEST_BYTES, DEST_FAMILY, DEST_MODE, DEST_NEIGHBOR, DEST_POOL, DEST_PORT, DEST_PORT_BASE, DEST_REMOTE,
  DEST_SHIFT, DEST_SIZE, FieldSet, POOL_TUPLE, PortMode, TcpStatus,
} from "../shared/abi";
import {
  CORE_AVAILABLE, CORE_BYTES, CORE_L0, CORE_L1, CORE_L2, CORE_SIZE, nextFree, setFree, setTaken, summarize,
} from "../pool/bitmap";
import { poolAlloc, poolAvailable, poolCoreOf, poolCreate, poolFree, poolPortBase, poolSize, poolSlotShift } from "../pool/pool";
import { localCount } from "./address";
import { neighborFor } from "./neighbor";
import { cfg32, cfgAt } from "./state";

let dests: usize = 0;
let destCount: u32 = 0;
let destMax: u32 = 0;
let random: u64 = 0;

export function configurePorts(max: u32, seed: u64): void {
  destMax = max;
  destCount = 0;
  dests = heap.alloc(<usize>max * DEST_BYTES);
  memory.fill(dests, 0, <usize>max * DEST_BYTES);
  random = seed | 1;
}

// @ts-ignore: decorator
@inline export function destAt(i: u32): usize { return dests + <usize>i * DEST_BYTES; }

/** xorshift64*: where a random-mode search starts. */
function nextRandom(): u64 {
  let x = random;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  random = x;
  return x * 0x2545f4914f6cdd1d;
}

/** The destination (family, remote address, port), or -1. */
export function destFind(family: u32, remote: usize, port: u32): i32 {
  for (let i: u32 = 0; i < destCount; i++) {
    const d = destAt(i);
    if (<u32>load<u8>(d + DEST_FAMILY) != family || <u32>load<u16>(d + DEST_PORT) != port) continue;
    if (family == 4 ? load<u32>(d + DEST_REMOTE) == load<u32>(remote) : memory.compare(d + DEST_REMOTE, remote, 16) == 0) return <i32>i;
  }
  return -1;
}

/**
 * The destination for (family, remote, port), built on first use: its pool made and kept.
 * Returns its index, or -TcpStatus.NO_DESTINATION (the table is full), -BAD_ADDRESS (no local
 * address of the family, or a pool the RSS field set cannot build: it must hash ports).
 */
export function destOpen(family: u32, remote: usize, port: u32): i32 {
  const found = destFind(family, remote, port);
  if (found >= 0) return found;
  if (destCount == destMax) return -TcpStatus.NO_DESTINATION;
  const count = localCount(family);
  if (count == 0) return -TcpStatus.BAD_ADDRESS;
  const d = destAt(destCount);
  const mode = cfg32(CFG_PORT_MODE);
  const lo = cfg32(CFG_PORT_LO), hi = cfg32(CFG_PORT_HI);
  const core = cfg32(CFG_CORE), cores = cfg32(CFG_CORES);
  const addressLength: u32 = family == 4 ? 4 : 16;
  if (mode == PortMode.POOL) {
    const fields = <i32>cfg32(family == 4 ? CFG_FIELDS4 : CFG_FIELDS6);
    if (fields != FieldSet.IPV4_L4 && fields != FieldSet.IPV6_L4) return -TcpStatus.BAD_ADDRESS;
    // The return tuple: the peer as source, our first address as destination, our port 0.
    memory.copy(POOL_TUPLE, remote, addressLength);
    memory.copy(POOL_TUPLE + addressLength, cfgAt(family == 4 ? CFG_LOCAL4 : CFG_LOCAL6), addressLength);
    store<u16>(POOL_TUPLE + 2 * addressLength, bswap<u16>(<u16>port));
    store<u16>(POOL_TUPLE + 2 * addressLength + 2, 0);
    const pool = poolCreate(fields, count, lo, hi, cores, cfg32(CFG_QUEUES));
    if (pool <= 0) return -TcpStatus.BAD_ADDRESS;
    store<u32>(d + DEST_POOL, <u32>pool);
    store<u32>(d + DEST_SHIFT, poolSlotShift(<usize>pool));
    store<u32>(d + DEST_PORT_BASE, poolPortBase(<usize>pool));
    store<u32>(d + DEST_SIZE, poolSize(<usize>pool, core));
  } else {
    const portBase = lo & ~63;
    const shift = max<u32>(6, 32 - clz(hi - portBase));
    const record = partition(count, lo, hi, portBase, shift, core, cores);
    store<u32>(d + DEST_POOL, <u32>record);
    store<u32>(d + DEST_SHIFT, shift);
    store<u32>(d + DEST_PORT_BASE, portBase);
    store<u32>(d + DEST_SIZE, load<u32>(record + CORE_SIZE));
  }
  store<u8>(d + DEST_FAMILY, <u8>family);
  store<u8>(d + DEST_MODE, <u8>mode);
  store<u16>(d + DEST_PORT, <u16>port);
  memory.copy(d + DEST_REMOTE, remote, addressLength);
  store<u32>(d + DEST_NEIGHBOR, neighborFor(family, remote));
  destCount++;
  return <i32>(destCount - 1);
}

/**
 * A bitmap record (pool/bitmap.ts) of the ports p in [lo, hi] with p % cores == core, for
 * `count` addresses: slot (a << shift) + p - portBase, as a pool numbers its slots.
 */
function partition(count: u32, lo: u32, hi: u32, portBase: u32, shift: u32, core: u32, cores: u32): usize {
  const slots = count << shift;
  const words0 = slots >> 6, words1 = (words0 + 63) >> 6, words2 = (words1 + 63) >> 6;
  const bytes = <usize>(words0 + words1 + words2) << 3;
  const bitmaps = heap.alloc(bytes);
  memory.fill(bitmaps, 0, bytes);
  const r = heap.alloc(CORE_BYTES);
  memory.fill(r, 0, CORE_BYTES);
  const l0 = bitmaps, l1 = l0 + (<usize>words0 << 3);
  store<u32>(r, <u32>l0, CORE_L0);
  store<u32>(r, <u32>l1, CORE_L1);
  store<u32>(r, <u32>(l1 + (<usize>words1 << 3)), CORE_L2);
  let size: u32 = 0;
  for (let a: u32 = 0; a < count; a++) {
    // The first port of the range this core owns, then every cores-th one.
    let p = lo + (core + cores - lo % cores) % cores;
    for (; p <= hi; p += cores) {
      const s = (a << shift) + p - portBase;
      const w = l0 + (<usize>(s >> 6) << 3);
      store<u64>(w, load<u64>(w) | (<u64>1 << <u64>(s & 63)));
      size++;
    }
  }
  for (let i: u32 = 0; i < words0; i++) {
    if (load<u64>(l0 + (<usize>i << 3)) == 0) continue;
    const w = l1 + (<usize>(i >> 6) << 3);
    store<u64>(w, load<u64>(w) | (<u64>1 << <u64>(i & 63)));
  }
  store<u32>(r, size, CORE_SIZE);
  summarize(r, words0);
  return r;
}

/** A free port of destination `dest` as a slot (address index << shift | port - base), or -1. */
export function portTake(dest: u32): i32 {
  const d = destAt(dest);
  const pool = <usize>load<u32>(d + DEST_POOL);
  if (<u32>load<u8>(d + DEST_MODE) == PortMode.POOL) {
    const s = poolAlloc(pool, cfg32(CFG_CORE));
    return s < 0 ? -1 : s;
  }
  const available = load<u32>(pool + CORE_AVAILABLE);
  if (available == 0) return -1;
  const slots = localCount(<u32>load<u8>(d + DEST_FAMILY)) << load<u32>(d + DEST_SHIFT);
  let s = nextFree(pool, <u32>(((nextRandom() >> 32) * <u64>slots) >> 32));
  if (s < 0) s = nextFree(pool, 0);
  setTaken(pool, <u32>s);
  store<u32>(pool + CORE_AVAILABLE, available - 1);
  return s;
}

// @ts-ignore: decorator
@inline export function slotAddress(dest: u32, slot: u32): u32 {
  return slot >> load<u32>(destAt(dest) + DEST_SHIFT);
}
// @ts-ignore: decorator
@inline export function slotPort(dest: u32, slot: u32): u32 {
  const d = destAt(dest);
  return load<u32>(d + DEST_PORT_BASE) + (slot & ((<u32>1 << load<u32>(d + DEST_SHIFT)) - 1));
}

/** Gives port `port` of address index `a` back to destination `dest`'s pool. */
export function portGive(dest: u32, a: u32, port: u32): void {
  const d = destAt(dest);
  const pool = <usize>load<u32>(d + DEST_POOL);
  if (<u32>load<u8>(d + DEST_MODE) == PortMode.POOL) {
    poolFree(pool, cfg32(CFG_CORE), a, port);
    return;
  }
  const s = (a << load<u32>(d + DEST_SHIFT)) + port - load<u32>(d + DEST_PORT_BASE);
  setFree(pool, s);
  store<u32>(pool + CORE_AVAILABLE, load<u32>(pool + CORE_AVAILABLE) + 1);
}

/** Ports of destination `dest` free on this core, and in its pool. */
export function portsAvailable(dest: u32): u32 {
  const d = destAt(dest);
  const pool = <usize>load<u32>(d + DEST_POOL);
  if (<u32>load<u8>(d + DEST_MODE) == PortMode.POOL) return poolAvailable(pool, cfg32(CFG_CORE));
  return load<u32>(pool + CORE_AVAILABLE);
}

/**
 * The core that owns local port `port` of address index `a` for segments from (family, remote,
 * rport): random mode partitions by port; a pool says which core its port belongs to. A port no
 * destination of ours hands out is this core's (a listener's, or nobody's).
 */
export function ownerOf(family: u32, remote: usize, rport: u32, a: i32, port: u32): u32 {
  const self = cfg32(CFG_CORE);
  if (cfg32(CFG_PORT_MODE) == PortMode.RANDOM) {
    const lo = cfg32(CFG_PORT_LO), hi = cfg32(CFG_PORT_HI);
    return port >= lo && port <= hi ? port % cfg32(CFG_CORES) : self;
  }
  const dest = destFind(family, remote, rport);
  if (dest < 0 || a < 0) return self;
  const owner = poolCoreOf(<usize>load<u32>(destAt(<u32>dest) + DEST_POOL), <u32>a, port);
  return owner < 0 ? self : <u32>owner;
}

export function destinations(): u32 {
  return destCount;
}
