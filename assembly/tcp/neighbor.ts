/**
 * Next hops: which MAC a frame for a peer goes to. Entry 0 is the default next hop
 * (CFG_NEXT_HOP_MAC: the in-memory wire's peer, or a gateway); entries 1 and up are neighbours
 * the host (or the link layer, assembly/link, with ARP and ND) has resolved for one address.
 * A connection picks its entry once, when it opens; frames read the MAC through it, so an entry
 * resolved later serves connections already open. A frame whose next hop is not known is not
 * sent (TcpStat.NO_NEIGHBOR): the retransmission timer tries again.
 */
import {
  CFG_MAC, CFG_NEXT_HOP_MAC, CFG_NEXT_HOP_VALID, NEIGH_ADDR, NEIGH_BYTES, NEIGH_FAMILY, NEIGH_MAC, NEIGH_VALID,
  NEIGHBORS_MAX, LINK_STATE, LINK_RESOLVED_MAC, LinkResolve,
} from "../shared/abi";
import { resolveNextHop } from "../link/link";
import { cfgAt } from "./state";

let table: usize = 0;
let used: u32 = 1;

export function configureNeighbors(): void {
  table = heap.alloc(NEIGHBORS_MAX * NEIGH_BYTES);
  memory.fill(table, 0, NEIGHBORS_MAX * NEIGH_BYTES);
  used = 1;
  refreshDefault();
}

/** Entry 0 from the configuration (called again when the host changes the default next hop). */
export function refreshDefault(): void {
  memory.copy(table + NEIGH_MAC, cfgAt(CFG_NEXT_HOP_MAC), 6);
  store<u8>(table + NEIGH_VALID, load<u8>(cfgAt(CFG_NEXT_HOP_VALID)));
}

// @ts-ignore: decorator
@inline function entry(i: u32): usize { return table + <usize>i * NEIGH_BYTES; }

/** The entry for `address` (4 or 16 bytes by family), or 0 (the default next hop). */
export function neighborFor(family: u32, address: usize): u32 {
  for (let i: u32 = 1; i < used; i++) {
    const e = entry(i);
    if (<u32>load<u8>(e + NEIGH_FAMILY) != family) continue;
    if (family == 4 ? load<u32>(e + NEIGH_ADDR) == load<u32>(address) : memory.compare(e + NEIGH_ADDR, address, 16) == 0) return i;
  }
  return 0;
}

/** Where entry i's MAC is, or 0 when it is not resolved. */
// @ts-ignore: decorator
@inline export function neighborMac(i: u32): usize {
  const e = entry(i);
  return load<u8>(e + NEIGH_VALID) ? e + NEIGH_MAC : 0;
}

/** Our own MAC. */
// @ts-ignore: decorator
@inline export function ourMac(): usize { return cfgAt(CFG_MAC); }

/**
 * Sets the MAC of `address` (`mac`: 6 bytes, or 0 to mark it unresolved), adding an entry when
 * it has none. Returns the entry, or -1 when the table is full.
 */
export function tcpSetNeighbor(family: u32, address: usize, mac: usize): i32 {
  let i = neighborFor(family, address);
  if (i == 0) {
    if (used == NEIGHBORS_MAX) return -1;
    i = used++;
    const e = entry(i);
    store<u8>(e + NEIGH_FAMILY, <u8>family);
    memory.copy(e + NEIGH_ADDR, address, family == 4 ? 4 : 16);
  }
  const e = entry(i);
  if (mac != 0) memory.copy(e + NEIGH_MAC, mac, 6);
  store<u8>(e + NEIGH_VALID, mac != 0 ? 1 : 0);
  return <i32>i;
}

/**
 * On a link (CFG_LINK_TX set): the MAC of the next hop towards `remote` from the link layer's
 * neighbour cache, or 0 while it is not resolved (the first call sends a solicitation into the
 * link's transmit slot `linkTx`; the retransmission timer tries the segment again). A STALE
 * entry starts RFC 4861's wait for confirmation, as any use of it does.
 */
export function linkNextHopMac(family: u32, remote: usize, linkTx: usize, now: u64): usize {
  return resolveNextHop(family, remote, linkTx, <i64>now) == LinkResolve.RESOLVED ? <usize>(LINK_STATE + LINK_RESOLVED_MAC) : 0;
}
