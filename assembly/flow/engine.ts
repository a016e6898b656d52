/**
 * The per-core packet engine: one batch of packet descriptors per call, each packet parsed
 * (wire/), hashed and given its queue as the NIC would (rss/), and its flow updated (flow/).
 * JavaScript hands over the batch and reads counters, records and events back; it never sees a
 * packet.
 *
 * Per packet: parse -> RSS hash of the configured field set over the packet's family (an ipv4-l4
 * config hashes TCP/UDP over IPv6 as ipv6-l4; fragments and other protocols hash on addresses;
 * non-IP goes to queue 0 unhashed) -> queue counter -> flow lookup from either direction ->
 * counters, TCP observer, optional reassembly. A flow leaves the table when its 4-tuple opens a
 * new connection, when idle past the timeout (judged by packet timestamps), when evicted to make
 * room, or at flushFlows; it is then copied out as a record.
 */
import {
  CloseReason, DIR_ACK_TS, DIR_BYTES, DIR_FIRST_TS, DIR_FLAGS, DIR_ISN, DIR_LAST_TS, DIR_PACKETS, DIR_PAYLOAD, DIR_UNIQUE,
  DIR_WSCALE, DirFlag, DROP_REASONS, FieldSet, FLOW_RECORD, FLOW_STATE, FLOW_TUPLE, FLOW_TUPLE_REVERSED,
  FlowEvent, FlowFlag, FlowOption, FLUSH_NOW, OUT_QUEUE_COUNTS, PacketFlag, PKT_CAPLEN, PKT_DESCRIPTOR,
  PKT_FLAGS, PKT_HASH, PKT_QUEUE, PKT_TIMESTAMP, QUEUES_MAX, REC_CLIENT_ADDR, REC_CLIENT_PORT, REC_CORE,
  REC_CORE_REVERSE, REC_FAMILY, REC_FLAGS, REC_KEY_HASH, REC_LAST_TS, REC_PROTO, REC_QUEUE, REC_QUEUE_REVERSE,
  REC_RSS_HASH, REC_SERVER_ADDR, REC_SERVER_PORT, REC_SYN_TSVAL, STAT_BAD_IPV4_CHECKSUM, STAT_BAD_TCP_CHECKSUM,
  STAT_BAD_TCP_OPTIONS, STAT_BAD_UDP_CHECKSUM, STAT_BYTES, STAT_DROP, STAT_DROPPED, STAT_FLOWS_ACTIVE,
  STAT_FLOWS_CREATED, STAT_FLOWS_EVICTED, STAT_FLOWS_REUSED, STAT_FLOWS_TIMED_OUT, STAT_FRAGMENTS, STAT_IPV4,
  STAT_IPV6, STAT_NOW, STAT_OTHER_L4, STAT_PROCESSED, STAT_RECEIVED, STAT_TCP, STAT_UDP, STAT_UNHASHED,
  STAT_UNVERIFIED_CHECKSUM, STATS, Status, DropReason,
} from "../shared/abi";
import { hashTuple } from "../rss/hash";
import { coreOf, oneCore, queueOf } from "../rss/reta";
import * as tcpHeader from "../wire/tcp";
import * as packet from "../wire/packet";
import * as ahead from "./ahead";
import { AHEAD, lookAhead } from "./ahead";
import { countPacket, flowLeft, synLeft } from "./buckets";
import { directionOf, flowKeyHash } from "./key";
import { configureOutput, dataRoom, emitEvent, eventRoom, recordRoom } from "./output";
import { configureReassembly, reassemble, reassemblyWindow, releaseStream } from "./reassembly";
import { count, setStat, stat } from "./stats";
import { configureLeaving, countSyn, countsOnly, flowLeaves, keepsHalves } from "./tally";
import { reserve } from "../shared/reserve";
import * as table from "./table";
import * as syn from "./syn";
import { writeHeader } from "./syn";
import * as tcp from "./tcp";
import * as ipfix from "./ipfix";

let options: u32 = 0;
let idleTimeout: u64 = 0;
let closedTimeout: u64 = 0;
let now: u64 = 0;
/** Flow entries the idle sweep visits per packet of a batch. */
const SWEEP_PER_PACKET: u32 = 2;
/** Live flows sampled to pick the oldest when the table is full. */
const EVICTION_SAMPLE: u32 = 32;
let sweepCursor: u32 = 0;
/**
 * A lower bound on the last-packet time of every live flow entry, so that the sweep can skip the
 * flow pool while nothing in it can be idle yet. An entry's last-packet time never decreases, so
 * the bound holds until the entries it covers leave; it is renewed each time the cursor completes
 * a cycle of the pool: the least time seen on the way (every entry live at the cycle's start was
 * seen) and the least of the entries made during the cycle. (Lone SYNs need none: the oldest is
 * at the SYN ring's tail.)
 */
let flowBound: u64 = U64.MAX_VALUE;
let flowSeenMin: u64 = U64.MAX_VALUE;
let flowMadeMin: u64 = U64.MAX_VALUE;
let queueCounts: usize = 0;
/** The queue -> core map sends every queue to one core (configureFlows reads it): nothing splits. */
let unsplit = false;

/**
 * Sets up the flow engine (after configureRss, configureReta and the queue -> core map at
 * QUEUE_CORE, which it reads): a table of `flows` entries, idle timeouts in milliseconds
 * (`closedMs` for connections already closed by FIN or RST, so stray segments after the close
 * still find them), FlowOption bits, the largest batch (records and events are sized from it),
 * `streams` reassembly buffers of `window` bytes each (used with FlowOption.REASSEMBLY), and a
 * SYN cache of `synSlots` lone SYNs (0: the table's default, table.synCacheSlots; at most
 * `flows`). Clears every counter. Returns a Status.
 */
export function configureFlows(flows: u32, idleMs: u32, closedMs: u32, flowOptions: u32, batchMax: u32, streams: u32, window: u32, synSlots: u32): i32 {
  const status = table.configureTable(flows, synSlots);
  if (status != Status.OK) return status;
  flushingAll = false;
  resetSweep();
  if (batchMax < 1 || batchMax > (1 << 20)) return Status.BAD_SIZE;
  const reassembly = (flowOptions & FlowOption.REASSEMBLY) != 0;
  if (!configureReassembly(reassembly ? streams : 0, window)) return Status.BAD_SIZE;
  options = flowOptions;
  unsplit = oneCore();
  ipfix.stopExport();
  idleTimeout = <u64>idleMs * 1000000;
  closedTimeout = <u64>min(closedMs, idleMs) * 1000000;
  // Per packet at most two records (the flow it closes, the flow evicted for it), plus the sweep.
  const records = batchMax * (2 + SWEEP_PER_PACKET) + EVICTION_SAMPLE;
  const events = reassembly ? batchMax * 8 + 64 : 0;
  const data = reassembly ? max<u32>(batchMax * 2048, 4 * window + (1 << 17)) : 0;
  if (!configureOutput(records, events, data) || !configureLeaving(flowOptions)) return Status.BAD_SIZE;
  if (!queueCounts) queueCounts = reserve(QUEUES_MAX * 8);
  if (!queueCounts) return Status.BAD_SIZE;
  store<u32>(FLOW_STATE + OUT_QUEUE_COUNTS, <u32>queueCounts);
  resetCounters();
  return Status.OK;
}

/** Zeroes counters and queue counts (the table is untouched). */
export function resetCounters(): void {
  memory.fill(FLOW_STATE, 0, <usize>STATS << 3);
  memory.fill(queueCounts, 0, QUEUES_MAX * 8);
  now = 0;
  store<u64>(FLOW_STATE + FLUSH_NOW, 0);
}

// @ts-ignore: decorator
@inline function reassembling(): bool { return (options & FlowOption.REASSEMBLY) != 0; }

/**
 * Processes up to `n` descriptors at `descriptors`. Returns how many it took: all of them unless
 * an output buffer (records, events, stream bytes) is full, in which case the host drains the
 * outputs and calls again with the rest. Writes each packet's RSS hash and queue back into its
 * descriptor (PKT_HASH, PKT_QUEUE, PacketFlag.HASHED); a descriptor that arrives HASHED keeps its
 * hash, and its queue follows from it.
 *
 * A packet of a flow already in the table takes the flow's RSS hash for its direction: the hash
 * is a function of the tuple, so the NIC's answer for the flow's first packet is its answer for
 * every packet, and Toeplitz runs once per direction of a flow rather than once per packet.
 */
export function processBatch(descriptors: usize, n: u32): u32 {
  sweep(n * SWEEP_PER_PACKET);
  const verify = (options & FlowOption.NO_CHECKSUMS) == 0;
  const reasm = reassembling();
  const window = reassemblyWindow();
  // The busiest counters stay in locals until the batch ends.
  let bytes: u64 = 0;
  let processed: u64 = 0;
  let ipv4: u64 = 0;
  let tcpPackets: u64 = 0;
  // A packet makes at most two records (the flow it ends, the flow evicted for it).
  const take = min(n, recordRoom() >> 1);
  let i: u32 = 0;
  for (; i < take; i++) {
    if (reasm && (eventRoom() < 8 || dataRoom() < 65536 + window)) break;
    if ((i & (AHEAD - 1)) == 0) lookAhead(descriptors + <usize>i * PKT_DESCRIPTOR, min(AHEAD, take - i));
    const d = descriptors + <usize>i * PKT_DESCRIPTOR;
    bytes += <u64>load<u32>(d + PKT_CAPLEN);
    const parsed = packet.parsePacket(d, verify);
    if (parsed != packet.PARSED) {
      drop(parsed);
      continue;
    }
    if (verify && !checksumsPass()) {
      drop(DropReason.BAD_CHECKSUM);
      continue;
    }
    const family = packet.family;
    let queue: u32 = 0;
    if (family == 0) {
      count(STAT_UNHASHED);
    } else {
      if (family == 4) ipv4++;
      else count(STAT_IPV6);
      const fields = fillTuple(family);
      const flags = <u32>load<u16>(d + PKT_FLAGS);
      const given = (flags & PacketFlag.HASHED) != 0;
      let hash: u32 = given ? load<u32>(d + PKT_HASH) : 0;
      const ts = load<u64>(d + PKT_TIMESTAMP);
      if (ts > now) now = ts;
      if (packet.fragment) {
        count(STAT_FRAGMENTS);
        if (!given) hash = hashTuple(FLOW_TUPLE, fields);
      } else if (!packet.hasPorts) {
        count(STAT_OTHER_L4);
        if (!given) hash = hashTuple(FLOW_TUPLE, fields);
      } else {
        if (packet.protocol == packet.PROTOCOL_TCP) tcpPackets++;
        else count(STAT_UDP);
        hash = trackFlow(d, ts, hash, given, fields);
      }
      if (!given) {
        store<u32>(d + PKT_HASH, hash);
        store<u16>(d + PKT_FLAGS, <u16>(flags | PacketFlag.HASHED));
      }
      queue = queueOf(hash);
    }
    store<u16>(d + PKT_QUEUE, <u16>queue);
    countPacket(d, family != 0);
    const qc = queueCounts + (<usize>queue << 3);
    store<u64>(qc, load<u64>(qc) + 1);
    processed++;
  }
  count(STAT_RECEIVED, <u64>i);
  count(STAT_BYTES, bytes);
  count(STAT_PROCESSED, processed);
  count(STAT_IPV4, ipv4);
  count(STAT_TCP, tcpPackets);
  setStat(STAT_NOW, now);
  setStat(STAT_FLOWS_ACTIVE, <u64>table.liveFlows());
  return i;
}

// @ts-ignore: decorator
@inline function drop(reason: i32): void {
  count(STAT_DROPPED);
  count(STAT_DROP + reason);
}

/** Counts bad checksums; false when the packet must be dropped for one. */
// @ts-ignore: decorator
@inline function checksumsPass(): bool {
  let bad = false;
  if (packet.badIpv4Checksum | packet.badL4Checksum | packet.unverifiedL4Checksum | packet.badTcpOptions) {
    if (packet.badIpv4Checksum) { count(STAT_BAD_IPV4_CHECKSUM); bad = true; }
    if (packet.badL4Checksum) {
      count(packet.protocol == packet.PROTOCOL_TCP ? STAT_BAD_TCP_CHECKSUM : STAT_BAD_UDP_CHECKSUM);
      bad = true;
    }
    if (packet.unverifiedL4Checksum) count(STAT_UNVERIFIED_CHECKSUM);
    if (packet.badTcpOptions) count(STAT_BAD_TCP_OPTIONS);
  }
  return !(bad && (options & FlowOption.DROP_BAD_CHECKSUM));
}

/**
 * Writes the packet's hash input to FLOW_TUPLE (addresses, then ports, network order: the ports
 * are there even when the field set leaves them out, for the flow lookup) and returns the field
 * set to hash: the packet's family, with ports when configured and the packet has them. Plain
 * loads and stores: memory.copy of a few bytes is a call out of the compiled code in V8.
 */
// @ts-ignore: decorator
@inline function fillTuple(family: u32): i32 {
  const ports = (<u32>bswap<u16>(<u16>packet.destinationPort) << 16) | <u32>bswap<u16>(<u16>packet.sourcePort);
  const withPorts = packet.hasPorts && (options & FlowOption.HASH_PORTS) != 0;
  if (family == 4) {
    store<u32>(FLOW_TUPLE, load<u32>(packet.sourceAddress));
    store<u32>(FLOW_TUPLE, load<u32>(packet.destinationAddress), 4);
    store<u32>(FLOW_TUPLE, ports, 8);
    return withPorts ? FieldSet.IPV4_L4 : FieldSet.IPV4;
  }
  v128.store(FLOW_TUPLE, v128.load(packet.sourceAddress));
  v128.store(FLOW_TUPLE, v128.load(packet.destinationAddress), 16);
  store<u32>(FLOW_TUPLE, ports, 32);
  return withPorts ? FieldSet.IPV6_L4 : FieldSet.IPV6;
}

/**
 * Finds or makes the packet's flow and updates it. `hash` is the packet's RSS hash when `given`
 * (the descriptor came hashed); returns the packet's hash: the given one, else the flow's for
 * this direction (computed here when the flow is new).
 */
// @ts-ignore: decorator
@inline function trackFlow(d: usize, ts: u64, hash: u32, given: bool, fields: i32): u32 {
  const family = packet.family;
  const protocol = packet.protocol;
  const sport = packet.sourcePort, dport = packet.destinationPort;
  const isTcp = protocol == packet.PROTOCOL_TCP;
  // The previous packet's flow first; then the index.
  let n: i32 = table.recentEntry();
  let direction: i32 = n >= 0 ? directionOf(table.entry(<u32>n), family, protocol, sport, dport) : -1;
  let key: u32 = 0;
  let keyed = false;
  if (direction < 0) {
    key = flowKeyHash(family, protocol, sport, dport);
    keyed = true;
    ahead.indexed++;
    n = table.first(key);
    while (n >= 0) {
      direction = directionOf(table.entry(<u32>n), family, protocol, sport, dport);
      if (direction >= 0) break;
      n = table.next(key);
    }
  }
  const tcpFlags = isTcp ? tcpHeader.flags(packet.transport) : 0;
  let reused = false;
  if (n >= 0) {
    // A lone SYN's second packet: the flow moves to a full entry, and goes on as if it had been
    // in one from its first packet.
    let promoted = false;
    if (table.isSyn(<u32>n)) {
      if (!keyed) key = flowKeyHash(family, protocol, sport, dport);
      keyed = true;
      n = <i32>promote(<u32>n, key, false);
      promoted = true;
    }
    const e = table.flowEntry(<u32>n);
    if (idle(e, ts) || replayedSyn(e, <u32>direction, tcpFlags, ts)) {
      if (promoted) tcp.updateStates(e);
      leave(<u32>n, CloseReason.TIMEOUT);
      n = -1;
    } else if ((tcpFlags & (tcpHeader.SYN | tcpHeader.RST)) == tcpHeader.SYN
      && tcp.opensNewConnection(e, <u32>direction, tcpHeader.sequence(packet.transport), (tcpFlags & tcpHeader.ACK) != 0)) {
      // A SYN, or a SYN-ACK: the server's side of a new connection is all a core sees of it when
      // the key splits the flow (the client's SYN went to the other core).
      if (promoted) tcp.updateStates(e);
      leave(<u32>n, CloseReason.END);
      count(STAT_FLOWS_REUSED);
      reused = true;
      n = -1;
    }
  }
  if (n < 0) {
    // A SYN alone (no ACK, FIN, RST or payload) waits in one cache line for its second packet.
    // Not with reassembly, whose events name a flow by its entry for the flow's whole life, nor
    // while exporting IPFIX, whose records need the packet's IP octets and TCP flags (ipfix.ts).
    const lone = isTcp && (tcpFlags & (tcpHeader.SYN | tcpHeader.ACK | tcpHeader.FIN | tcpHeader.RST)) == tcpHeader.SYN
      && packet.payloadLength == 0 && !reassembling() && !ipfix.exporting;
    // At most one flow leaves to make room (a packet makes at most two records). A lone SYN that
    // finds the SYN ring full: when the cache is full too (at least half the ring live lone SYNs,
    // as under a flood), the oldest lone SYN leaves, which leaves the table room too; when the
    // ring is mostly holes (SYNs answered since), the oldest moves to a flow entry instead.
    if (lone && table.synRingFull() && table.synCacheFull()) {
      evictOldestSyn();
    } else {
      if (table.isFull()) evictOldest();
      if (lone && table.synRingFull()) moveOldestSyn();
    }
    const serverSent = isTcp && (tcpFlags & (tcpHeader.SYN | tcpHeader.ACK)) == (tcpHeader.SYN | tcpHeader.ACK);
    if (!keyed) key = flowKeyHash(family, protocol, sport, dport);
    if (!given) hash = hashTuple(FLOW_TUPLE, fields);
    count(STAT_FLOWS_CREATED);
    if (lone) {
      const h = table.insertSyn(key, tcpHeader.optionTsValue);
      const options = (tcpHeader.optionSackPermitted ? DirFlag.SACK_PERMITTED : 0) | (tcpHeader.optionTimestamps ? DirFlag.TIMESTAMPS : 0);
      syn.createSyn(table.entry(h), FLOW_TUPLE, family, sport, dport, hash, ts, tcpHeader.sequence(packet.transport),
        load<u32>(d + PKT_CAPLEN), tcpHeader.optionMss, tcpHeader.optionWindowScale, options, reused);
      table.setRecentEntry(h);
      return hash;
    }
    n = <i32>table.insert(key);
    direction = serverSent ? 1 : 0;
    createFlow(<u32>n, key, <u32>direction, hash, fields, isTcp && (tcpFlags & tcpHeader.SYN) != 0, reused);
    flowMade(ts);
    if (reassembling()) emitEvent(FlowEvent.NEW, <u32>direction, <u32>n, ts, 0, 0, 0);
  } else if (!given) {
    hash = direction == 0 ? load<u32>(table.flowEntry(<u32>n) + REC_RSS_HASH) : table.reverseHash(<u32>n);
  }
  table.setRecentEntry(<u32>n);
  const e = table.flowEntry(<u32>n);
  const b = tcp.dir(e, <u32>direction);
  const payload = packet.payloadLength;
  store<u32>(b + DIR_PACKETS, load<u32>(b + DIR_PACKETS) + 1);
  store<u64>(b + DIR_BYTES, load<u64>(b + DIR_BYTES) + <u64>load<u32>(d + PKT_CAPLEN));
  store<u64>(b + DIR_PAYLOAD, load<u64>(b + DIR_PAYLOAD) + <u64>payload);
  if (ipfix.exporting) ipfix.countPacket(e, <u32>direction, b, packet.network, family, tcpFlags);
  const f = <u32>load<u16>(b + DIR_FLAGS);
  if (!(f & DirFlag.SEEN)) {
    store<u64>(b + DIR_FIRST_TS, ts);
    store<u16>(b + DIR_FLAGS, <u16>(f | DirFlag.SEEN));
  }
  if (ts > load<u64>(b + DIR_LAST_TS)) store<u64>(b + DIR_LAST_TS, ts);
  if (ts > load<u64>(e + REC_LAST_TS)) store<u64>(e + REC_LAST_TS, ts);
  if (!isTcp) {
    store<u64>(b + DIR_UNIQUE, load<u64>(b + DIR_UNIQUE) + <u64>payload); // every datagram is new data
    return hash;
  }
  const before = tcp.states(e);
  const flagsBefore = <u32>load<u16>(b + DIR_FLAGS);
  const ackedBefore = before != tcp.BOTH_ESTABLISHED && load<u64>(b + DIR_ACK_TS) != 0; // (read only where it may be wanted)
  tcp.packetTransport = packet.transport;
  tcp.trackSegment(e, <u32>direction, ts, payload);
  if (tcpFlags & (tcpHeader.SYN | tcpHeader.FIN | tcpHeader.RST)
    || (before != tcp.BOTH_ESTABLISHED && tcp.statesMayMove(e, <u32>direction, before, ackedBefore))) tcp.updateStates(e);
  if (reassembling()) {
    const flagsAfter = <u32>load<u16>(b + DIR_FLAGS);
    if (before != tcp.BOTH_ESTABLISHED && tcp.states(e) == tcp.BOTH_ESTABLISHED) {
      emitEvent(FlowEvent.ESTABLISHED, <u32>direction, <u32>n, ts, 0, 0, 0);
    }
    if (!(tcpFlags & tcpHeader.RST)) {
      const syn: u32 = tcpFlags & tcpHeader.SYN ? 1 : 0;
      reassemble(b, <u32>direction, <u32>n, ts, tcpHeader.sequence(packet.transport) + syn, packet.payload, payload, packet.payloadCaptured);
    }
    if ((flagsAfter & ~flagsBefore) & DirFlag.FIN) emitEvent(FlowEvent.FIN, <u32>direction, <u32>n, ts, 0, 0, 0);
    if ((flagsAfter & ~flagsBefore) & DirFlag.RST) emitEvent(FlowEvent.RST, <u32>direction, <u32>n, ts, 0, 0, 0);
  }
  return hash;
}

/**
 * Entry `n` becomes the flow of the packet in FLOW_TUPLE, travelling in `direction` (1 when its
 * sender is the server: a SYN-ACK) with RSS hash `hash`. The reverse tuple is hashed here, once
 * per flow, so the record holds the queue and core of both directions and knows whether they
 * split, and later packets of either direction take their hash from the entry.
 */
function createFlow(n: u32, key: u32, direction: u32, hash: u32, fields: i32, bySyn: bool, reused: bool): void {
  const e = table.flowEntry(n);
  const zero = i64x2.splat(0);
  for (let o: usize = 0; o < <usize>FLOW_RECORD; o += 64) {
    v128.store(e + o, zero);
    v128.store(e + o, zero, 16);
    v128.store(e + o, zero, 32);
    v128.store(e + o, zero, 48);
  }
  const family = packet.family;
  const sport = packet.sourcePort, dport = packet.destinationPort;
  // The reverse tuple: destination first.
  const ports = load<u32>(<usize>FLOW_TUPLE + (family == 4 ? 8 : 32));
  const swapped = (ports >> 16) | (ports << 16);
  if (family == 4) {
    store<u32>(FLOW_TUPLE_REVERSED, load<u32>(FLOW_TUPLE, 4));
    store<u32>(FLOW_TUPLE_REVERSED, load<u32>(FLOW_TUPLE), 4);
    store<u32>(FLOW_TUPLE_REVERSED, swapped, 8);
  } else {
    v128.store(FLOW_TUPLE_REVERSED, v128.load(FLOW_TUPLE, 16));
    v128.store(FLOW_TUPLE_REVERSED, v128.load(FLOW_TUPLE), 16);
    store<u32>(FLOW_TUPLE_REVERSED, swapped, 32);
  }
  const reverseHash = hashTuple(FLOW_TUPLE_REVERSED, fields);
  const clientTuple: usize = direction == 0 ? <usize>FLOW_TUPLE : <usize>FLOW_TUPLE_REVERSED;
  const serverAddress = clientTuple + (family == 4 ? 4 : 16);
  let flags: u32 = 0;
  if (bySyn) flags |= FlowFlag.CLIENT_BY_SYN;
  if (reused) flags |= FlowFlag.REUSED;
  writeHeader(e, clientTuple, serverAddress, family, packet.protocol, direction == 0 ? sport : dport, direction == 0 ? dport : sport,
    key, direction == 0 ? hash : reverseHash, direction == 0 ? reverseHash : hash, flags);
  table.setReverseHash(n, direction == 0 ? reverseHash : hash);
}

/**
 * Lone SYN `h` (flow-key hash `key`) moves to a full entry; returns the entry's handle. With
 * `states` false the caller tracks a packet of the flow next, which works out both sides' states
 * (an entry whose states are not both ESTABLISHED always has them worked out).
 */
function promote(h: u32, key: u32, states: bool = true): u32 {
  const n = table.takeFlowEntry();
  table.setReverseHash(n, syn.expand(table.entry(h), table.flowEntry(n), key, table.synTsval(h), fieldSetOf(<u32>load<u8>(table.entry(h) + REC_FAMILY)), states));
  table.promote(h, key, n);
  flowMade(load<u64>(table.flowEntry(n) + REC_LAST_TS));
  return n;
}

/**
 * The SYN ring has come round to a lone SYN still waiting at its tail, in a ring at least half
 * full of lone SYNs: that SYN leaves, as a SYN cache drops its oldest entry, though the table may
 * have room (shared/abi.ts SYN_CACHE_MIN).
 */
function evictOldestSyn(): void {
  ahead.synAhead();
  evict(<u32>table.oldestSyn());
}

/** Flow `h` leaves to make room: evicted, or timed out when it was idle already. */
function evict(h: u32): void {
  leave(h, idleNow(h, now) ? CloseReason.TIMEOUT : CloseReason.EVICTED);
  ahead.evicted++;
}

/**
 * The SYN ring has come round to a lone SYN still waiting at its tail, in a ring mostly of holes
 * (the table has room: the caller made it): that SYN moves to a flow entry, as if its second
 * packet had come, and the ring goes on.
 */
function moveOldestSyn(): void {
  const h = <u32>table.oldestSyn();
  promote(h, table.synKeyHash(h));
}

/** The field set the tuples of a TCP or UDP flow of `family` hash with. */
function fieldSetOf(family: u32): i32 {
  const ports = (options & FlowOption.HASH_PORTS) != 0;
  if (family == 4) return ports ? FieldSet.IPV4_L4 : FieldSet.IPV4;
  return ports ? FieldSet.IPV6_L4 : FieldSet.IPV6;
}

/**
 * The record of flow `h` as it stands: its entry, or for a lone SYN the full record it stands
 * for, written out to a scratch buffer (and recordReverseHash: its reverse direction's hash).
 */
function recordOf(h: u32): usize {
  const e = table.entry(h);
  if (!table.isSyn(h)) {
    recordReverseHash = table.reverseHash(h);
    return e;
  }
  const r = table.recordScratch();
  recordReverseHash = syn.expand(e, r, table.synKeyHash(h), table.synTsval(h), fieldSetOf(<u32>load<u8>(e + REC_FAMILY)));
  return r;
}

/** The RSS hash of the server-to-client direction of the flow recordOf last returned. */
let recordReverseHash: u32 = 0;

/** Idle past its timeout at time `ts` (a closed connection lingers only closedTimeout). */
// @ts-ignore: decorator
@inline function idle(e: usize, ts: u64): bool {
  const last = load<u64>(e + REC_LAST_TS);
  if (ts <= last || ts - last <= closedTimeout) return false;
  if (ts - last > idleTimeout) return true;
  return load<u8>(e + REC_PROTO) == <u8>packet.PROTOCOL_TCP && tcp.isClosed(e);
}

/**
 * The packet (TCP flags `tcpFlags`, time `ts`) is a SYN that repeats the first SYN of direction
 * `d` of flow entry `e` exactly, ISN and TSval, more than the closed timeout after the flow's
 * last packet: the connection replayed (a capture looped, or copies of one put end to end), not
 * a retransmission, which carries a later TSval (shared/abi.ts REC_SYN_TSVAL). The flow is over
 * then, as if its close had been seen: it leaves as an idle closed flow does, and the SYN starts
 * the next one. This is what one core does when it has seen the close; a core that sees one
 * direction of a split flow (a refused SYN on one core, its RST on the other) sees only the SYN
 * again, and now decides the same. A SYN without a timestamp cannot be told apart, and stays a
 * retransmission.
 */
// @ts-ignore: decorator
@inline function replayedSyn(e: usize, d: u32, tcpFlags: u32, ts: u64): bool {
  if ((tcpFlags & (tcpHeader.SYN | tcpHeader.RST)) != tcpHeader.SYN || !tcpHeader.optionTimestamps) return false;
  const b = tcp.dir(e, d);
  if (!(<u32>load<u16>(b + DIR_FLAGS) & DirFlag.SYN_TSVAL)) return false;
  const last = load<u64>(e + REC_LAST_TS);
  return ts > last && ts - last > closedTimeout
    && load<u32>(b + DIR_ISN) == tcpHeader.sequence(packet.transport)
    && load<u32>(e + REC_SYN_TSVAL + (<usize>d << 2)) == tcpHeader.optionTsValue;
}

/** Entry `n` leaves the table as a record: close reason from TCP if it closed, else `how`. */
function leave(n: u32, how: u32): void {
  if (table.isSyn(n) && leaveSyn(n, how)) return;
  const e = recordOf(n);
  flowLeft(e, recordReverseHash);
  const fromTcp = load<u8>(e + REC_PROTO) == <u8>packet.PROTOCOL_TCP ? tcp.tcpClose(e) : CloseReason.OPEN;
  flowLeaves(e, fromTcp != CloseReason.OPEN ? fromTcp : how);
  if (how == CloseReason.TIMEOUT) count(STAT_FLOWS_TIMED_OUT);
  else if (how == CloseReason.EVICTED) count(STAT_FLOWS_EVICTED);
  if (reassembling()) {
    releaseStream(tcp.dir(e, 0));
    releaseStream(tcp.dir(e, 1));
    emitEvent(FlowEvent.CLOSED, 0, n, load<u64>(e + REC_LAST_TS), 0, 0, 0);
  }
  if (flushingAll) table.release(n);
  else table.remove(n);
}

/**
 * Lone SYN `h` leaves, closed for `how`, without writing out its full record when nothing reads
 * the record: no records wanted, no IPFIX export, no reassembly events, and not a split flow's
 * half kept for merging. Its counts come from its one cache line (tally.ts countSyn, buckets.ts
 * synLeft), the same counts its full record gives (a lone SYN's TCP close is OPEN, so `how`
 * stands). Under a flood that is nearly every packet's eviction: the 384-byte record, its
 * states and its reading back are skipped. Returns false when the record is needed.
 */
function leaveSyn(h: u32, how: u32): bool {
  if (!countsOnly() || ipfix.exporting || reassembling()) return false;
  const s = table.entry(h);
  // (On one core nothing splits, and the reverse direction's hash is not needed at all.)
  const split = !unsplit && syn.synSplit(s, syn.reverseHashOf(s, fieldSetOf(<u32>load<u8>(s + REC_FAMILY))));
  if (split && keepsHalves()) return false;
  synLeft(s);
  countSyn(split, how);
  if (how == CloseReason.TIMEOUT) count(STAT_FLOWS_TIMED_OUT);
  else if (how == CloseReason.EVICTED) count(STAT_FLOWS_EVICTED);
  if (flushingAll) table.release(h);
  else table.remove(h);
  return true;
}

/**
 * A flush of every flow (flushFlows) that releases entries without their index slots and clears
 * the index when the last has left: at the end of a large table, taking each flow out of the
 * index was most of the flush (a miss a flow).
 */
let flushingAll = false;

/** The sweep's state for an empty table. */
function resetSweep(): void {
  sweepCursor = 0;
  flowBound = flowSeenMin = flowMadeMin = U64.MAX_VALUE;
}

/** A flow entry was made (or a lone SYN promoted into one) whose last packet came at `ts`. */
// @ts-ignore: decorator
@inline function flowMade(ts: u64): void {
  if (ts < flowMadeMin) flowMadeMin = ts;
  if (ts < flowBound) flowBound = ts;
}

/** The flow pool's cursor at `used`: a cycle is complete, and the bound renewed. */
// @ts-ignore: decorator
@inline function flowCycle(): void {
  sweepCursor = 0;
  flowBound = min(flowSeenMin, flowMadeMin);
  flowSeenMin = flowMadeMin = U64.MAX_VALUE;
}

/**
 * Visits up to `budget` flow entries from the sweep cursor, recording those idle past their
 * timeout (none while every flow is younger than the shortest timeout), and records up to
 * `budget` lone SYNs idle past the idle timeout.
 */
function sweep(budget: u32): void {
  if (now == 0) return;
  const used = table.entriesUsed();
  // (An active timeout visits every flow: the longest-lived ones are the busiest.)
  if (used != 0 && ((now > flowBound && now - flowBound > closedTimeout) || ipfix.activeTimeouts)) {
    const n = min(budget, used);
    for (let k: u32 = 0; k < n && recordRoom() > 2; k++) {
      if (sweepCursor >= used) flowCycle();
      const e = table.flowEntry(sweepCursor);
      if (table.isLive(e)) {
        if (idleAt(e, now)) {
          leave(sweepCursor, CloseReason.TIMEOUT);
        } else {
          const last = load<u64>(e + REC_LAST_TS);
          if (last < flowSeenMin) flowSeenMin = last;
          if (ipfix.activeTimeouts) ipfix.exportIfActive(e, now, (options & FlowOption.SPLIT_HALVES) != 0);
        }
      }
      sweepCursor++;
    }
  }
  // Lone SYNs leave oldest first, from the SYN ring's tail.
  for (let k: u32 = 0; k < budget && recordRoom() > 2; k++) {
    const h = table.oldestSyn();
    if (h < 0 || !synIdleAt(table.entry(<u32>h), now)) break;
    leave(<u32>h, CloseReason.TIMEOUT);
  }
}

// @ts-ignore: decorator
@inline function idleAt(e: usize, t: u64): bool {
  const last = load<u64>(e + REC_LAST_TS);
  if (t <= last || t - last <= closedTimeout) return false;
  return t - last > idleTimeout || (load<u8>(e + REC_PROTO) == <u8>packet.PROTOCOL_TCP && tcp.isClosed(e));
}

/** idleAt for a lone SYN: its connection is not closed (no FIN, no RST). */
// @ts-ignore: decorator
@inline function synIdleAt(e: usize, t: u64): bool {
  const last = load<u64>(e + REC_LAST_TS);
  return t > last && t - last > idleTimeout;
}

/** The handle's idleAt, either kind of entry. */
function idleNow(h: u32, t: u64): bool {
  const e = table.entry(h);
  return table.isSyn(h) ? synIdleAt(e, t) : idleAt(e, t);
}

/**
 * The table is full: the least recently active of EVICTION_SAMPLE live flows leaves. The flow
 * pool's share of the sample is drawn from the sweep cursor in proportion to the flows it holds;
 * the lone SYNs' share is the oldest of them (the SYN ring's tail), which stands for any sample
 * of them. Under a SYN flood that is nearly always the one to go, and established flows are only
 * as exposed as their share of the table.
 */
function evictOldest(): void {
  const flows = table.liveFlows() - table.liveSyns();
  const fromFlows = <u32>((<u64>EVICTION_SAMPLE * flows + (table.liveFlows() >> 1)) / table.liveFlows());
  let oldest: u32 = 0;
  let oldestTs: u64 = U64.MAX_VALUE;
  const synOldest = table.oldestSyn();
  if (synOldest >= 0) {
    oldest = <u32>synOldest;
    oldestTs = load<u64>(table.entry(oldest) + REC_LAST_TS);
  }
  const used = table.entriesUsed();
  let seen: u32 = 0;
  for (let k: u32 = 0; k < used && seen < fromFlows; k++) {
    if (sweepCursor >= used) flowCycle();
    const e = table.flowEntry(sweepCursor);
    if (table.isLive(e)) {
      seen++;
      const last = load<u64>(e + REC_LAST_TS);
      if (last < flowSeenMin) flowSeenMin = last;
      if (last < oldestTs) {
        oldestTs = last;
        oldest = sweepCursor;
      }
    }
    sweepCursor++;
  }
  evict(oldest);
}

/**
 * End of input: records every flow still in the table, as `end` (or `timeout` when idle past its
 * timeout at FLUSH_NOW, or at the latest packet time when that is 0). Returns the flows left:
 * when the record buffer fills first, drain it and call again.
 */
export function flushFlows(): u32 {
  let t = load<u64>(FLOW_STATE + FLUSH_NOW);
  if (t == 0) t = now;
  // Decided at the flush's first call (it may take several: each ends when the record buffer is full).
  if (!flushingAll && table.clearingPays(table.liveFlows())) flushingAll = true;
  const used = table.entriesUsed();
  for (let k: u32 = 0; k < used && table.liveFlows() > table.liveSyns(); k++) {
    if (recordRoom() == 0) break;
    const e = table.flowEntry(k);
    if (table.isLive(e)) leave(k, idleAt(e, t) ? CloseReason.TIMEOUT : CloseReason.END);
  }
  while (recordRoom() != 0) {
    const h = table.oldestSyn();
    if (h < 0) break;
    leave(<u32>h, synIdleAt(table.entry(<u32>h), t) ? CloseReason.TIMEOUT : CloseReason.END);
  }
  if (flushingAll && table.liveFlows() == 0) {
    table.clearIndex();
    flushingAll = false;
  }
  setStat(STAT_FLOWS_ACTIVE, <u64>table.liveFlows());
  return table.liveFlows();
}

/** Flows in the table now. */
export function activeFlows(): u32 {
  return table.liveFlows();
}

/** Flows the table's index names (a walk of the whole index: for tests, equal to activeFlows). */
export function indexedFlows(): u32 {
  return table.indexOccupied();
}
