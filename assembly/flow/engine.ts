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
  CloseReason, DIR_BYTES, DIR_FIRST_TS, DIR_FLAGS, DIR_LAST_TS, DIR_PACKETS, DIR_PAYLOAD, DIR_UNIQUE,
  DIR_WSCALE, DirFlag, DROP_REASONS, FieldSet, FLOW_RECORD, FLOW_STATE, FLOW_TUPLE, FLOW_TUPLE_REVERSED,
  FlowEvent, FlowFlag, FlowOption, FLUSH_NOW, OUT_QUEUE_COUNTS, PacketFlag, PKT_CAPLEN, PKT_DESCRIPTOR,
  PKT_FLAGS, PKT_HASH, PKT_QUEUE, PKT_TIMESTAMP, QUEUES_MAX, REC_CLIENT_ADDR, REC_CLIENT_PORT, REC_CORE,
  REC_CORE_REVERSE, REC_FAMILY, REC_FLAGS, REC_KEY_HASH, REC_LAST_TS, REC_PROTO, REC_QUEUE, REC_QUEUE_REVERSE,
  REC_RSS_HASH, REC_SERVER_ADDR, REC_SERVER_PORT, STAT_BAD_IPV4_CHECKSUM, STAT_BAD_TCP_CHECKSUM,
  STAT_BAD_TCP_OPTIONS, STAT_BAD_UDP_CHECKSUM, STAT_BYTES, STAT_DROP, STAT_DROPPED, STAT_FLOWS_ACTIVE,
  STAT_FLOWS_CREATED, STAT_FLOWS_EVICTED, STAT_FLOWS_REUSED, STAT_FLOWS_TIMED_OUT, STAT_FRAGMENTS, STAT_IPV4,
  STAT_IPV6, STAT_NOW, STAT_OTHER_L4, STAT_PROCESSED, STAT_RECEIVED, STAT_TCP, STAT_UDP, STAT_UNHASHED,
  STAT_UNVERIFIED_CHECKSUM, STATS, Status, DropReason,
} from "../shared/abi";
import { hashTuple } from "../rss/hash";
import { coreOf, queueOf } from "../rss/reta";
import * as tcpHeader from "../wire/tcp";
import * as packet from "../wire/packet";
import { directionOf, flowKeyHash } from "./key";
import { configureOutput, dataRoom, emitEvent, emitRecord, eventRoom, recordRoom } from "./output";
import { configureReassembly, reassemble, reassemblyWindow, releaseStream } from "./reassembly";
import { count, setStat, stat } from "./stats";
import * as table from "./table";
import * as tcp from "./tcp";

let options: u32 = 0;
let idleTimeout: u64 = 0;
let closedTimeout: u64 = 0;
let now: u64 = 0;
/** Flow entries the idle sweep visits per packet of a batch. */
const SWEEP_PER_PACKET: u32 = 2;
/** Live flows sampled to pick the oldest when the table is full. */
const EVICTION_SAMPLE: u32 = 32;
let sweepCursor: u32 = 0;
let queueCounts: usize = 0;

/**
 * Sets up the flow engine (after configureRss and configureReta): a table of `flows` entries,
 * idle timeouts in milliseconds (`closedMs` for connections already closed by FIN or RST, so
 * stray segments after the close still find them), FlowOption bits, the largest batch (records
 * and events are sized from it), and `streams` reassembly buffers of `window` bytes each (used
 * with FlowOption.REASSEMBLY). Clears every counter. Returns a Status.
 */
export function configureFlows(flows: u32, idleMs: u32, closedMs: u32, flowOptions: u32, batchMax: u32, streams: u32, window: u32): i32 {
  const status = table.configureTable(flows);
  if (status != Status.OK) return status;
  if (batchMax < 1 || batchMax > (1 << 20)) return Status.BAD_SIZE;
  const reassembly = (flowOptions & FlowOption.REASSEMBLY) != 0;
  if (!configureReassembly(reassembly ? streams : 0, window)) return Status.BAD_SIZE;
  options = flowOptions;
  idleTimeout = <u64>idleMs * 1000000;
  closedTimeout = <u64>min(closedMs, idleMs) * 1000000;
  // Per packet at most two records (the flow it closes, the flow evicted for it), plus the sweep.
  const records = batchMax * (2 + SWEEP_PER_PACKET) + EVICTION_SAMPLE;
  const events = reassembly ? batchMax * 8 + 64 : 0;
  const data = reassembly ? max<u32>(batchMax * 2048, 4 * window + (1 << 17)) : 0;
  configureOutput(records, events, data);
  if (!queueCounts) queueCounts = heap.alloc(QUEUES_MAX * 8);
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
 * descriptor (PKT_HASH, PKT_QUEUE, PacketFlag.HASHED).
 */
export function processBatch(descriptors: usize, n: u32): u32 {
  sweep(n * SWEEP_PER_PACKET);
  const verify = (options & FlowOption.NO_CHECKSUMS) == 0;
  const reasm = reassembling();
  const window = reassemblyWindow();
  let i: u32 = 0;
  for (; i < n; i++) {
    if (recordRoom() < 2) break;
    if (reasm && (eventRoom() < 8 || dataRoom() < 65536 + window)) break;
    const d = descriptors + <usize>i * PKT_DESCRIPTOR;
    count(STAT_RECEIVED);
    count(STAT_BYTES, <u64>load<u32>(d + PKT_CAPLEN));
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
      count(family == 4 ? STAT_IPV4 : STAT_IPV6);
      const fields = fillTuple(family);
      const flags = <u32>load<u16>(d + PKT_FLAGS);
      let hash: u32;
      if (flags & PacketFlag.HASHED) {
        hash = load<u32>(d + PKT_HASH);
      } else {
        hash = hashTuple(FLOW_TUPLE, fields);
        store<u32>(d + PKT_HASH, hash);
        store<u16>(d + PKT_FLAGS, <u16>(flags | PacketFlag.HASHED));
      }
      queue = queueOf(hash);
      const ts = load<u64>(d + PKT_TIMESTAMP);
      if (ts > now) now = ts;
      if (packet.fragment) count(STAT_FRAGMENTS);
      else if (!packet.hasPorts) count(STAT_OTHER_L4);
      else trackFlow(d, ts, hash, queue, fields);
    }
    store<u16>(d + PKT_QUEUE, <u16>queue);
    const qc = queueCounts + (<usize>queue << 3);
    store<u64>(qc, load<u64>(qc) + 1);
    count(STAT_PROCESSED);
  }
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
function checksumsPass(): bool {
  let bad = false;
  if (packet.badIpv4Checksum) { count(STAT_BAD_IPV4_CHECKSUM); bad = true; }
  if (packet.badL4Checksum) {
    count(packet.protocol == packet.PROTOCOL_TCP ? STAT_BAD_TCP_CHECKSUM : STAT_BAD_UDP_CHECKSUM);
    bad = true;
  }
  if (packet.unverifiedL4Checksum) count(STAT_UNVERIFIED_CHECKSUM);
  if (packet.badTcpOptions) count(STAT_BAD_TCP_OPTIONS);
  return !(bad && (options & FlowOption.DROP_BAD_CHECKSUM));
}

/**
 * Writes the packet's hash input to FLOW_TUPLE (addresses, then ports, network order: the ports
 * are there even when the field set leaves them out, for the flow lookup) and returns the field
 * set to hash: the packet's family, with ports when configured and the packet has them.
 */
function fillTuple(family: u32): i32 {
  const a: usize = family == 4 ? 4 : 16;
  memory.copy(FLOW_TUPLE, packet.sourceAddress, a);
  memory.copy(<usize>FLOW_TUPLE + a, packet.destinationAddress, a);
  store<u16>(<usize>FLOW_TUPLE + 2 * a, bswap<u16>(<u16>packet.sourcePort));
  store<u16>(<usize>FLOW_TUPLE + 2 * a + 2, bswap<u16>(<u16>packet.destinationPort));
  const ports = packet.hasPorts && (options & FlowOption.HASH_PORTS) != 0;
  if (family == 4) return ports ? FieldSet.IPV4_L4 : FieldSet.IPV4;
  return ports ? FieldSet.IPV6_L4 : FieldSet.IPV6;
}

function trackFlow(d: usize, ts: u64, hash: u32, queue: u32, fields: i32): void {
  const family = packet.family;
  const protocol = packet.protocol;
  const sport = packet.sourcePort, dport = packet.destinationPort;
  const isTcp = protocol == packet.PROTOCOL_TCP;
  count(isTcp ? STAT_TCP : STAT_UDP);
  const key = flowKeyHash(family, protocol, sport, dport);
  let n: i32 = table.first(key);
  let direction: i32 = -1;
  while (n >= 0) {
    direction = directionOf(table.entry(<u32>n), family, protocol, sport, dport);
    if (direction >= 0) break;
    n = table.next(key);
  }
  const tcpFlags = isTcp ? tcpHeader.flags(packet.transport) : 0;
  const pureSyn = (tcpFlags & (tcpHeader.SYN | tcpHeader.ACK)) == tcpHeader.SYN;
  let reused = false;
  if (n >= 0) {
    const e = table.entry(<u32>n);
    if (idle(e, ts)) {
      leave(<u32>n, CloseReason.TIMEOUT);
      n = -1;
    } else if (pureSyn && tcp.opensNewConnection(e, <u32>direction, tcpHeader.sequence(packet.transport))) {
      leave(<u32>n, CloseReason.END);
      count(STAT_FLOWS_REUSED);
      reused = true;
      n = -1;
    }
  }
  if (n < 0) {
    if (table.isFull()) evictOldest();
    const serverSent = isTcp && (tcpFlags & (tcpHeader.SYN | tcpHeader.ACK)) == (tcpHeader.SYN | tcpHeader.ACK);
    n = <i32>table.insert(key);
    direction = serverSent ? 1 : 0;
    createFlow(table.entry(<u32>n), key, <u32>direction, hash, queue, fields, isTcp && (tcpFlags & tcpHeader.SYN) != 0, reused);
    count(STAT_FLOWS_CREATED);
    if (reassembling()) emitEvent(FlowEvent.NEW, <u32>direction, <u32>n, ts, 0, 0, 0);
  }
  const e = table.entry(<u32>n);
  const b = tcp.dir(e, <u32>direction);
  const payload = packet.payloadLength;
  store<u32>(b + DIR_PACKETS, load<u32>(b + DIR_PACKETS) + 1);
  store<u64>(b + DIR_BYTES, load<u64>(b + DIR_BYTES) + <u64>load<u32>(d + PKT_CAPLEN));
  store<u64>(b + DIR_PAYLOAD, load<u64>(b + DIR_PAYLOAD) + <u64>payload);
  const f = <u32>load<u16>(b + DIR_FLAGS);
  if (!(f & DirFlag.SEEN)) {
    store<u64>(b + DIR_FIRST_TS, ts);
    store<u16>(b + DIR_FLAGS, <u16>(f | DirFlag.SEEN));
  }
  if (ts > load<u64>(b + DIR_LAST_TS)) store<u64>(b + DIR_LAST_TS, ts);
  if (ts > load<u64>(e + REC_LAST_TS)) store<u64>(e + REC_LAST_TS, ts);
  if (!isTcp) {
    store<u64>(b + DIR_UNIQUE, load<u64>(b + DIR_UNIQUE) + <u64>payload); // every datagram is new data
    return;
  }
  const before = tcp.states(e);
  const flagsBefore = <u32>load<u16>(b + DIR_FLAGS);
  tcp.packetTransport = packet.transport;
  tcp.trackSegment(e, <u32>direction, ts, payload);
  if (tcpFlags & (tcpHeader.SYN | tcpHeader.FIN | tcpHeader.RST) || before != tcp.BOTH_ESTABLISHED) tcp.updateStates(e);
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
}

/**
 * A new entry for the packet in FLOW_TUPLE, travelling in `direction` (1 when its sender is the
 * server: a SYN-ACK). The reverse tuple is hashed here, once per flow, so the record holds the
 * queue and core of both directions and knows whether they split.
 */
function createFlow(e: usize, key: u32, direction: u32, hash: u32, queue: u32, fields: i32, bySyn: bool, reused: bool): void {
  memory.fill(e, 0, FLOW_RECORD);
  const family = packet.family;
  const a: usize = family == 4 ? 4 : 16;
  const sport = packet.sourcePort, dport = packet.destinationPort;
  // The reverse tuple: destination first.
  memory.copy(FLOW_TUPLE_REVERSED, <usize>FLOW_TUPLE + a, a);
  memory.copy(<usize>FLOW_TUPLE_REVERSED + a, FLOW_TUPLE, a);
  store<u16>(<usize>FLOW_TUPLE_REVERSED + 2 * a, load<u16>(<usize>FLOW_TUPLE + 2 * a + 2));
  store<u16>(<usize>FLOW_TUPLE_REVERSED + 2 * a + 2, load<u16>(<usize>FLOW_TUPLE + 2 * a));
  const reverseHash = hashTuple(FLOW_TUPLE_REVERSED, fields);
  const reverseQueue = queueOf(reverseHash);
  const clientTuple: usize = direction == 0 ? <usize>FLOW_TUPLE : <usize>FLOW_TUPLE_REVERSED;
  memory.copy(e + REC_CLIENT_ADDR, clientTuple, a);
  memory.copy(e + REC_SERVER_ADDR, clientTuple + a, a);
  store<u16>(e + REC_CLIENT_PORT, <u16>(direction == 0 ? sport : dport));
  store<u16>(e + REC_SERVER_PORT, <u16>(direction == 0 ? dport : sport));
  store<u8>(e + REC_PROTO, <u8>packet.protocol);
  store<u8>(e + REC_FAMILY, <u8>family);
  store<u32>(e + REC_KEY_HASH, key);
  const c2sQueue = direction == 0 ? queue : reverseQueue;
  const s2cQueue = direction == 0 ? reverseQueue : queue;
  store<u32>(e + REC_RSS_HASH, direction == 0 ? hash : reverseHash);
  store<u16>(e + REC_QUEUE, <u16>c2sQueue);
  store<u16>(e + REC_QUEUE_REVERSE, <u16>s2cQueue);
  const c2sCore = coreOf(c2sQueue), s2cCore = coreOf(s2cQueue);
  store<u16>(e + REC_CORE, <u16>c2sCore);
  store<u16>(e + REC_CORE_REVERSE, <u16>s2cCore);
  let flags: u32 = 0;
  if (c2sCore != s2cCore) flags |= FlowFlag.SPLIT;
  if (bySyn) flags |= FlowFlag.CLIENT_BY_SYN;
  if (reused) flags |= FlowFlag.REUSED;
  store<u8>(e + REC_FLAGS, <u8>flags);
  store<u8>(tcp.dir(e, 0) + DIR_WSCALE, 0xff);
  store<u8>(tcp.dir(e, 1) + DIR_WSCALE, 0xff);
}

/** Idle past its timeout at time `ts` (a closed connection lingers only closedTimeout). */
function idle(e: usize, ts: u64): bool {
  const last = load<u64>(e + REC_LAST_TS);
  if (ts <= last || ts - last <= closedTimeout) return false;
  if (ts - last > idleTimeout) return true;
  return load<u8>(e + REC_PROTO) == <u8>packet.PROTOCOL_TCP && tcp.isClosed(e);
}

/** Entry `n` leaves the table as a record: close reason from TCP if it closed, else `how`. */
function leave(n: u32, how: u32): void {
  const e = table.entry(n);
  const fromTcp = load<u8>(e + REC_PROTO) == <u8>packet.PROTOCOL_TCP ? tcp.tcpClose(e) : CloseReason.OPEN;
  emitRecord(e, fromTcp != CloseReason.OPEN ? fromTcp : how);
  if (how == CloseReason.TIMEOUT) count(STAT_FLOWS_TIMED_OUT);
  else if (how == CloseReason.EVICTED) count(STAT_FLOWS_EVICTED);
  if (reassembling()) {
    releaseStream(tcp.dir(e, 0));
    releaseStream(tcp.dir(e, 1));
    emitEvent(FlowEvent.CLOSED, 0, n, load<u64>(e + REC_LAST_TS), 0, 0, 0);
  }
  table.remove(n);
}

/** Visits up to `budget` entries from the sweep cursor, recording those idle past their timeout. */
function sweep(budget: u32): void {
  const used = table.entriesUsed();
  if (used == 0 || now == 0) return;
  budget = min(budget, used);
  for (let k: u32 = 0; k < budget && recordRoom() > 2; k++) {
    if (sweepCursor >= used) sweepCursor = 0;
    const e = table.entry(sweepCursor);
    if (table.isLive(e) && idleAt(e, now)) leave(sweepCursor, CloseReason.TIMEOUT);
    sweepCursor++;
  }
}

// @ts-ignore: decorator
@inline function idleAt(e: usize, t: u64): bool {
  const last = load<u64>(e + REC_LAST_TS);
  if (t <= last || t - last <= closedTimeout) return false;
  return t - last > idleTimeout || (load<u8>(e + REC_PROTO) == <u8>packet.PROTOCOL_TCP && tcp.isClosed(e));
}

/** The table is full: the least recently active of EVICTION_SAMPLE live flows leaves. */
function evictOldest(): void {
  const used = table.entriesUsed();
  let oldest: u32 = 0;
  let oldestTs: u64 = U64.MAX_VALUE;
  let seen: u32 = 0;
  for (let k: u32 = 0; k < used && seen < EVICTION_SAMPLE; k++) {
    if (sweepCursor >= used) sweepCursor = 0;
    const e = table.entry(sweepCursor);
    if (table.isLive(e)) {
      seen++;
      const last = load<u64>(e + REC_LAST_TS);
      if (last < oldestTs) {
        oldestTs = last;
        oldest = sweepCursor;
      }
    }
    sweepCursor++;
  }
  leave(oldest, idleAt(table.entry(oldest), now) ? CloseReason.TIMEOUT : CloseReason.EVICTED);
}

/**
 * End of input: records every flow still in the table, as `end` (or `timeout` when idle past its
 * timeout at FLUSH_NOW, or at the latest packet time when that is 0). Returns the flows left:
 * when the record buffer fills first, drain it and call again.
 */
export function flushFlows(): u32 {
  let t = load<u64>(FLOW_STATE + FLUSH_NOW);
  if (t == 0) t = now;
  const used = table.entriesUsed();
  for (let k: u32 = 0; k < used && table.liveFlows() > 0; k++) {
    if (recordRoom() == 0) break;
    const e = table.entry(k);
    if (table.isLive(e)) leave(k, idleAt(e, t) ? CloseReason.TIMEOUT : CloseReason.END);
  }
  setStat(STAT_FLOWS_ACTIVE, <u64>table.liveFlows());
  return table.liveFlows();
}

/** Flows in the table now. */
export function activeFlows(): u32 {
  return table.liveFlows();
}
