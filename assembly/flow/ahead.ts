/**
 * Looking ahead: before a group of packets is processed, each one's flow-index slot (and, when
 * the slot names a flow, that flow's first cache line) is loaded, so that the group's cache
 * misses overlap instead of each packet waiting for its own in turn. On traffic with many flows
 * (a flood of new ones, or many connections interleaved) the index lookup is the one load per
 * packet that misses every cache: the index is 16 bytes a flow, 16 MiB for the default table.
 *
 * WebAssembly has no prefetch instruction; plain loads issued back to back, whose results only
 * feed a sink, do the same job. Only the common shapes are read (Ethernet or raw IP, IPv4 with
 * any header length or IPv6 without extension headers, then a port pair), and nothing is read
 * past the captured length; a packet of another shape, or a damaged one, is simply not looked
 * ahead for (at worst an unrelated slot is loaded). The packet's own lookup comes later, in
 * trackFlow, and finds the lines in cache.
 */
import { LinkType, PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR, PKT_LINKTYPE } from "../shared/abi";
import * as ethernet from "../wire/ethernet";
import { endpoint4, endpoint6, keyOf } from "./key";
import * as table from "./table";

/**
 * Flows (full entries and lone SYNs) and index slots in use, in bytes, below which the table
 * stays in the processor's caches and looking ahead costs more than the misses it would hide: it
 * parses each packet twice and loads its slot twice. Measured on an AMD EPYC (Zen 5, 32 MiB of
 * L3), `bench flows` with N connections interleaved, looking ahead against not: 20,000 flows
 * (8 MiB) 0.78x, 40,000 (16 MiB) 0.84x, 60,000 (24 MiB) 0.89x to 1.05x, 80,000 (32 MiB) 1.22x,
 * 240,000 1.32x; a SYN flood held in the SYN cache (4 MiB of ring, 2 MiB of index) 0.89x. The
 * line is drawn low (a processor with less cache gains from looking ahead sooner).
 */
const CACHED_BYTES: u64 = 16 << 20;

/** Packets looked ahead for at once: enough misses in flight to hide each other. */
export const AHEAD: u32 = 32;
const AHEAD_MAX = 32;

/** Where the loads' results go, so that none is optimized away. */
let sink: u32 = 0;

/**
 * How far down the SYN ring a flood's eviction loads the SYN that will leave then: about as many
 * packets as the processor's window of outstanding loads takes in (4, 8 and 16 measure alike).
 */
const SYN_AHEAD: u32 = 8;

/**
 * Before the ring's oldest lone SYN is evicted (a flood evicts one a packet): loads the index
 * slot and line of the one that leaves SYN_AHEAD packets later (table.touchSynAhead). Unlike
 * lookAhead, whose parse costs more than it saves while the table sits in cache, this costs two
 * loads and runs whatever the table's size.
 */
export function synAhead(): void {
  sink += table.touchSynAhead(SYN_AHEAD);
}

/**
 * Packets of the group just processed that went to the index (trackFlow counts them). When few
 * did (a run of one connection's packets, which find their flow as the previous packet's),
 * looking ahead costs more than it saves, and the next group goes without.
 */
export let indexed: u32 = AHEAD;
const WORTH: u32 = AHEAD / 4;
/**
 * Flows evicted while the last group was processed (evictOldest counts them). Under a flood
 * each new flow evicts the oldest lone SYN, whose index slot is as far from the cache as the new
 * flow's: the next that many are looked ahead for too.
 */
export let evicted: u32 = 0;

/** The group's flow-key hashes, then what their slots held. */
const keys = memory.data(AHEAD_MAX * 2 * 4, 16);
const slots = memory.data(AHEAD_MAX * 2 * 8, 16);
const victims = memory.data(AHEAD_MAX * 4, 16);

/**
 * Loads the index slot (and flow) of each of the `n` packets whose descriptors start at `d`,
 * when the last group made it worth while, and the slots of the lone SYNs next in line for
 * eviction when the last group evicted. Passes, so that the loads that miss come back to back
 * with nothing between them (the processor keeps only so many instructions in flight, and a
 * miss only overlaps the misses issued within that window): the packets' keys, then their
 * slots, then the index lines after the slots' (a probe run crosses into it about a third of
 * the time: an insert under a flood, every eviction's backward shift; 9% of a SYN flood's time
 * here), then the entries the slots name.
 */
export function lookAhead(d: usize, n: u32): void {
  const worth = indexed >= WORTH && table.bytesInUse() > CACHED_BYTES;
  const evictions = min(evicted, n);
  indexed = evicted = 0;
  if (!worth) return;
  let k: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const desc = d + <usize>i * PKT_DESCRIPTOR;
    const data = <usize>load<u32>(desc + PKT_DATA);
    const caplen = load<u32>(desc + PKT_CAPLEN);
    const link = <u32>load<u16>(desc + PKT_LINKTYPE);
    let at: u32 = 0;
    if (link == LinkType.ETHERNET) {
      if (caplen < <u32>ethernet.HEADER_LENGTH + 1) continue;
      const type = ethernet.loadedType(data);
      if (type != ethernet.ETHERTYPE_IPV4_LOADED && type != ethernet.ETHERTYPE_IPV6_LOADED) continue;
      at = ethernet.HEADER_LENGTH;
    } else if (link != LinkType.RAW || caplen == 0) {
      continue;
    }
    const p = data + at;
    const version = <u32>load<u8>(p) >> 4;
    let key: u32;
    if (version == 4) {
      const ports = at + ((<u32>load<u8>(p) & 15) << 2);
      if (caplen < ports + 4 || caplen < at + 20) continue;
      const sport = <u32>bswap<u16>(load<u16>(data + ports)), dport = <u32>bswap<u16>(load<u16>(data + ports, 2));
      key = keyOf(endpoint4(p + 12, sport), endpoint4(p + 16, dport), <u32>load<u8>(p, 9));
    } else if (version == 6) {
      if (caplen < at + 44) continue;
      const sport = <u32>bswap<u16>(load<u16>(p, 40)), dport = <u32>bswap<u16>(load<u16>(p, 42));
      key = keyOf(endpoint6(p + 8, sport), endpoint6(p + 24, dport), <u32>load<u8>(p, 6));
    } else {
      continue;
    }
    store<u32>(keys + (<usize>k << 2), key);
    k++;
  }
  if (evictions != 0) {
    const m = table.nextSyns(victims, evictions);
    for (let i: u32 = 0; i < m; i++) {
      store<u32>(keys + (<usize>k << 2), table.synKeyHash(load<u32>(victims + (<usize>i << 2))));
      k++;
    }
  }
  let s = sink;
  for (let i: u32 = 0; i < k; i++) store<u64>(slots + (<usize>i << 3), table.slotOf(load<u32>(keys + (<usize>i << 2))));
  for (let i: u32 = 0; i < k; i++) s += table.nextLineOf(load<u32>(keys + (<usize>i << 2)));
  for (let i: u32 = 0; i < k; i++) s += table.touchFlow(load<u64>(slots + (<usize>i << 3)), load<u32>(keys + (<usize>i << 2)));
  sink = s;
}
