/**
 * The neighbour cache: IPv4 (ARP) and IPv6 (neighbour discovery) next hops and their MACs, with
 * the reachability states of RFC 4861 7.3.2 for both families (Linux does the same for ARP).
 *
 *   INCOMPLETE  solicited, no answer yet; FAILED after LINK_MULTICAST_SOLICIT tries
 *   REACHABLE   confirmed by an answer within LINK_REACHABLE_MS, then STALE
 *   STALE       MAC known, reachability not confirmed; dropped after LINK_STALE_MS unused
 *   DELAY       used while STALE: wait LINK_DELAY_MS for a confirmation, then PROBE
 *   PROBE       unicast solicitations; REACHABLE on an answer, dropped after LINK_UNICAST_SOLICIT
 *
 * The table is a power-of-two array in the heap (linkConfigure); an address lives in one of the
 * NEIGHBOUR_PROBE slots from its hash, so a lookup reads at most that many and needs no
 * tombstones, and a full window evicts its least recently used entry. This file keeps the table
 * and moves entries between states; what is sent on a timer is link.ts's.
 */
import {
  LINK_NEIGHBOUR_CAPACITY, LINK_NEIGHBOURS, LINK_STAT_NEIGHBOURS_CHANGED, LINK_STAT_NEIGHBOURS_CREATED,
  LINK_STAT_NEIGHBOURS_EVICTED, LINK_STAT_NEIGHBOURS_RESOLVED, LINK_STATE, NB_CONFIRMED, NB_FAMILY, NB_MAC,
  NB_ADDRESS, NB_PROBES, NB_STARTED, NB_STATE, NB_TIMER, NB_USED, NEIGHBOUR_ENTRY, NEIGHBOUR_PROBE, NeighbourState,
} from "../shared/abi";
import * as ethernet from "../wire/ethernet";
import * as state from "./state";

const TABLE: usize = LINK_STATE + LINK_NEIGHBOURS;
const CAPACITY: usize = LINK_STATE + LINK_NEIGHBOUR_CAPACITY;

/** Allocates (or reuses) and clears a table of `capacity` entries, a power of two. */
export function configure(capacity: u32): void {
  let table = <usize>load<u32>(TABLE);
  if (table && load<u32>(CAPACITY) != capacity) {
    heap.free(table);
    table = 0;
  }
  if (!table) table = heap.alloc(<usize>capacity * NEIGHBOUR_ENTRY);
  memory.fill(table, 0, <usize>capacity * NEIGHBOUR_ENTRY);
  store<u32>(TABLE, <u32>table);
  store<u32>(CAPACITY, capacity);
}

// @ts-ignore: decorator
@inline export function capacity(): u32 { return load<u32>(CAPACITY); }
// @ts-ignore: decorator
@inline export function entry(i: u32): usize { return <usize>load<u32>(TABLE) + <usize>i * NEIGHBOUR_ENTRY; }

// Entry fields.
// @ts-ignore: decorator
@inline export function stateOf(e: usize): u32 { return <u32>load<u8>(e + NB_STATE); }
// @ts-ignore: decorator
@inline export function familyOf(e: usize): u32 { return <u32>load<u8>(e + NB_FAMILY); }
// @ts-ignore: decorator
@inline export function macOf(e: usize): usize { return e + NB_MAC; }
// @ts-ignore: decorator
@inline export function addressOf(e: usize): usize { return e + NB_ADDRESS; }
// @ts-ignore: decorator
@inline export function probes(e: usize): u32 { return <u32>load<u8>(e + NB_PROBES); }
// @ts-ignore: decorator
@inline export function timer(e: usize): i64 { return load<i64>(e + NB_TIMER); }
// @ts-ignore: decorator
@inline export function hasMac(e: usize): bool {
  const s = stateOf(e);
  return s != NeighbourState.INCOMPLETE && s != NeighbourState.FAILED && s != NeighbourState.FREE;
}

/** The 16 address bytes an entry holds: IPv4 in the first 4, zeros after. */
// @ts-ignore: decorator
@inline function key(family: u32, a: usize): v128 {
  return family == 4 ? i32x4.replace_lane(i32x4.splat(0), 0, load<i32>(a)) : v128.load(a);
}

/** The first of an address's NEIGHBOUR_PROBE slots: its words folded, Fibonacci-hashed. */
// @ts-ignore: decorator
@inline function home(k: v128): u32 {
  const h = <u32>(i32x4.extract_lane(k, 0) ^ i32x4.extract_lane(k, 1) ^ i32x4.extract_lane(k, 2) ^ i32x4.extract_lane(k, 3));
  return ((h * 0x9e3779b1) >> 8) & (capacity() - 1);
}

/** The entry of (`family`, address at `a`), or 0. */
export function find(family: u32, a: usize): usize {
  const k = key(family, a);
  const mask = capacity() - 1;
  let i = home(k);
  for (let n = 0; n < NEIGHBOUR_PROBE; n++, i = (i + 1) & mask) {
    const e = entry(i);
    if (stateOf(e) != NeighbourState.FREE && familyOf(e) == family && !v128.any_true(v128.xor(v128.load(e + NB_ADDRESS), k))) return e;
  }
  return 0;
}

/**
 * A new entry for an address `find` did not find, in state `s`: a free slot of its window, else
 * the window's least recently used entry (an INCOMPLETE one only if all are), counted as evicted.
 */
export function create(family: u32, a: usize, s: NeighbourState, now: i64): usize {
  const k = key(family, a);
  const mask = capacity() - 1;
  let i = home(k);
  let victim: usize = 0;
  let victimUsed = i64.MAX_VALUE;
  let victimPending = true;
  for (let n = 0; n < NEIGHBOUR_PROBE; n++, i = (i + 1) & mask) {
    const e = entry(i);
    if (stateOf(e) == NeighbourState.FREE) {
      victim = e;
      break;
    }
    const pending = stateOf(e) == NeighbourState.INCOMPLETE;
    const used = load<i64>(e + NB_USED);
    if ((victimPending && !pending) || (pending == victimPending && used < victimUsed)) {
      victim = e;
      victimUsed = used;
      victimPending = pending;
    }
  }
  if (stateOf(victim) != NeighbourState.FREE) state.count(LINK_STAT_NEIGHBOURS_EVICTED);
  memory.fill(victim, 0, NEIGHBOUR_ENTRY);
  store<u8>(victim + NB_STATE, <u8>s);
  store<u8>(victim + NB_FAMILY, <u8>family);
  v128.store(victim + NB_ADDRESS, k);
  store<i64>(victim + NB_USED, now);
  store<i64>(victim + NB_STARTED, now);
  state.count(LINK_STAT_NEIGHBOURS_CREATED);
  return victim;
}

export function free(e: usize): void {
  memory.fill(e, 0, NEIGHBOUR_ENTRY);
}

/** Enters state `s` with its timer at `at` (0: none). */
export function enter(e: usize, s: NeighbourState, at: i64): void {
  store<u8>(e + NB_STATE, <u8>s);
  store<i64>(e + NB_TIMER, at);
  if (at) state.schedule(at);
}

export function setProbes(e: usize, n: u32): void { store<u8>(e + NB_PROBES, <u8>n); }
export function setStarted(e: usize, at: i64): void { store<i64>(e + NB_STARTED, at); }
export function started(e: usize): i64 { return load<i64>(e + NB_STARTED); }
export function used(e: usize): i64 { return load<i64>(e + NB_USED); }
export function touch(e: usize, now: i64): void { store<i64>(e + NB_USED, now); }
export function confirmed(e: usize): i64 { return load<i64>(e + NB_CONFIRMED); }

/** Confirmed reachable now: REACHABLE for LINK_REACHABLE_MS. */
export function reachable(e: usize, now: i64): void {
  store<i64>(e + NB_CONFIRMED, now);
  enter(e, NeighbourState.REACHABLE, now + state.reachableNs());
}

/** Known but unconfirmed: STALE, collected after LINK_STALE_MS unused. */
export function stale(e: usize, now: i64): void {
  enter(e, NeighbourState.STALE, max(now, used(e)) + state.staleNs());
}

/**
 * Records `mac` for the entry; true when it differs from the one held (an entry without a MAC
 * counts as resolved, one whose MAC changed as changed).
 */
export function setMac(e: usize, mac: usize): bool {
  if (!hasMac(e)) {
    ethernet.copyAddress(e + NB_MAC, mac);
    state.count(LINK_STAT_NEIGHBOURS_RESOLVED);
    return true;
  }
  if (ethernet.sameAddress(e + NB_MAC, mac)) return false;
  ethernet.copyAddress(e + NB_MAC, mac);
  state.count(LINK_STAT_NEIGHBOURS_CHANGED);
  return true;
}

/**
 * What an answer to our solicitation (an ARP reply to us, a solicited advertisement with a MAC)
 * does to an entry: MAC recorded, REACHABLE.
 */
export function answered(e: usize, mac: usize, now: i64): void {
  setMac(e, mac);
  reachable(e, now);
}

/**
 * What a station's own announcement of its MAC does (an ARP request or gratuitous ARP from it, a
 * solicitation with its source address option, RFC 4861 7.2.3): the MAC recorded; STALE when it
 * was unknown or changed, the state kept otherwise.
 */
export function announced(e: usize, mac: usize, now: i64): void {
  const had = hasMac(e);
  if (setMac(e, mac) || !had) stale(e, now);
}
