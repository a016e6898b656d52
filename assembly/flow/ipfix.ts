/**
 * IPFIX export (RFC 7011) of biflows (RFC 5103), encoded where the flows are: a flow that leaves
 * the table, or a long-lived one at each active timeout, becomes one data record written straight
 * into an IPFIX message. One message per template (IPv4, IPv6) is filled in IPFIX_STATE; a full
 * one moves to the output buffer, which the host takes after each batch and hands, as it is, to
 * files and sockets (it stamps each message's export time and sequence number, per exporter).
 *
 * A message as written here: the 16-byte header (version 10, length, export time 0, in the
 * sequence-number field the count of records in the message for the host to replace, the
 * observation domain), one data set (set ID = template ID, length), records. Every number is in
 * network byte order. The record layouts are host/core/ipfix.ts's templates; both follow the
 * offsets below.
 */
import {
  CloseReason, DIR_FIRST_TS, DIR_PACKETS, DIR_TCP_FLAGS, FLOW_DIR, FLOW_RECORD, FLOW_STATE, REC_CLOSE, REC_FLAGS, FlowFlag, FlowEndReason, IPFIX_HEADER,
  IPFIX_MESSAGE_MAX, IPFIX_OUT_MESSAGES, IPFIX_RECORD_V4, IPFIX_RECORD_V6, IPFIX_SET_HEADER, IPFIX_STATE,
  IPFIX_TEMPLATE_V4, IPFIX_TEMPLATE_V6, IPFIX_VERSION, IPX_CAPACITY, IPX_DOMAIN, IPX_FILL_V4, IPX_FILL_V6,
  IPX_MESSAGE_V4, IPX_MESSAGE_V6, IPX_OUT, IPX_RECORDS, IPX_USED, REC_CLIENT_ADDR, REC_CLIENT_PORT, REC_DIR,
  REC_FAMILY, REC_IP_OCTETS, REC_LAST_TS, REC_PROTO, REC_QUEUE, REC_QUEUE_REVERSE, REC_SENT_OCTETS,
  REC_SENT_PACKETS, REC_SENT_UNTIL, REC_SERVER_ADDR, REC_SERVER_PORT, STAT_IPFIX_ACTIVE, STAT_IPFIX_MESSAGES,
  STAT_IPFIX_RECORDS, Status,
} from "../shared/abi";
import { reserve, unreserve } from "../shared/reserve";

// Offsets in a record after the addresses (4 + 4 bytes for IPv4, 16 + 16 for IPv6).
const R_SOURCE_PORT = 0;
const R_DESTINATION_PORT = 2;
const R_PROTOCOL = 4;
const R_END_REASON = 5;
const R_TCP_FLAGS = 6;
const R_TCP_FLAGS_REVERSE = 8;
const R_INGRESS = 10;
const R_INGRESS_REVERSE = 14;
const R_OCTETS = 18;
const R_PACKETS = 26;
const R_OCTETS_REVERSE = 34;
const R_PACKETS_REVERSE = 42;
const R_START = 50;
const R_END = 58;

/** True while exporting: the engine keeps the export block and the TCP flags then. */
export let exporting = false;
/** True while exporting with an active timeout: the sweep visits every flow then. */
export let activeTimeouts = false;
/** The active timeout, ns (0: none). */
let activeTimeout: u64 = 0;

// @ts-ignore: decorator
@inline function state32(field: i32): u32 { return load<u32>(<usize>IPFIX_STATE + <usize>field); }
// @ts-ignore: decorator
@inline function setState32(field: i32, v: u32): void { store<u32>(<usize>IPFIX_STATE + <usize>field, v); }
// @ts-ignore: decorator
@inline function bump(stat: i32): void {
  const p = <usize>FLOW_STATE + (<usize>stat << 3);
  store<u64>(p, load<u64>(p) + 1);
}

/**
 * Starts exporting (after configureFlows): `domain` is the observation domain every message
 * names, `activeMs` the active timeout in ms (0: none). Returns a Status (BAD_SIZE: no memory).
 */
export function configureIpfix(domain: u32, activeMs: u32): i32 {
  unreserve(<usize>state32(IPX_OUT));
  memory.fill(IPFIX_STATE, 0, IPX_MESSAGE_V4);
  for (let s = STAT_IPFIX_RECORDS; s <= STAT_IPFIX_ACTIVE; s++) store<u64>(<usize>FLOW_STATE + (<usize>s << 3), 0);
  const capacity: u32 = IPFIX_OUT_MESSAGES * IPFIX_MESSAGE_MAX;
  const out = reserve(<usize>capacity);
  if (!out) {
    exporting = activeTimeouts = false;
    return Status.BAD_SIZE;
  }
  setState32(IPX_OUT, <u32>out);
  setState32(IPX_CAPACITY, capacity);
  setState32(IPX_DOMAIN, domain);
  activeTimeout = <u64>activeMs * 1000000;
  exporting = true;
  activeTimeouts = activeMs > 0;
  return Status.OK;
}

/** Stops exporting (configureFlows: an engine configured again exports only when told to again). */
export function stopExport(): void {
  exporting = activeTimeouts = false;
  setState32(IPX_USED, 0);
  setState32(IPX_FILL_V4, 0);
  setState32(IPX_FILL_V6, 0);
}

/**
 * Records the output buffer has room for, for sure: each record adds at most an IPv6 record and a
 * message's headers, and the two messages being filled may move out whole. The engine asks before
 * each packet (output.ts's recordRoom), as it does for its record buffer.
 */
export function ipfixRoom(): u32 {
  if (!exporting) return U32.MAX_VALUE;
  const free = <i64>state32(IPX_CAPACITY) - <i64>state32(IPX_USED) - 2 * <i64>IPFIX_MESSAGE_MAX;
  return free <= 0 ? 0 : <u32>(free / <i64>(IPFIX_RECORD_V6 + IPFIX_HEADER + IPFIX_SET_HEADER));
}

/** Moves the message being filled at `fillField` (if it has records) to the output buffer. */
function moveOut(fillField: i32, message: usize): void {
  const length = state32(fillField);
  if (length == 0) return;
  store<u16>(message + 2, bswap<u16>(<u16>length));
  store<u16>(message + IPFIX_HEADER + 2, bswap<u16>(<u16>(length - IPFIX_HEADER)));
  const used = state32(IPX_USED);
  memory.copy(<usize>state32(IPX_OUT) + <usize>used, message, length);
  setState32(IPX_USED, used + length);
  setState32(fillField, 0);
  bump(STAT_IPFIX_MESSAGES);
}

/** The messages being filled move to the output buffer: the host calls it before it takes them
 *  when it wants everything so far (at the end, or after a quiet while on a live run). */
export function ipfixFlush(): void {
  moveOut(IPX_FILL_V4, IPFIX_STATE + IPX_MESSAGE_V4);
  moveOut(IPX_FILL_V6, IPFIX_STATE + IPX_MESSAGE_V6);
}

/** Where the next record of `family` goes in its message (started, or moved out first when full). */
function recordSlot(family: u32): usize {
  const v4 = family == 4;
  const fillField = v4 ? IPX_FILL_V4 : IPX_FILL_V6;
  const message: usize = IPFIX_STATE + (v4 ? IPX_MESSAGE_V4 : IPX_MESSAGE_V6);
  const size: u32 = v4 ? IPFIX_RECORD_V4 : IPFIX_RECORD_V6;
  let fill = state32(fillField);
  if (fill + size > <u32>IPFIX_MESSAGE_MAX) {
    moveOut(fillField, message);
    fill = 0;
  }
  if (fill == 0) {
    store<u16>(message, bswap<u16>(<u16>IPFIX_VERSION));
    store<u32>(message + 4, 0); // export time: the host's, when it sends
    store<u32>(message + 8, 0); // records in the message, until the host writes the sequence number
    store<u32>(message + 12, bswap<u32>(state32(IPX_DOMAIN)));
    store<u16>(message + IPFIX_HEADER, bswap<u16>(<u16>(v4 ? IPFIX_TEMPLATE_V4 : IPFIX_TEMPLATE_V6)));
    fill = IPFIX_HEADER + IPFIX_SET_HEADER;
  }
  store<u32>(message + 8, bswap<u32>(bswap<u32>(load<u32>(message + 8)) + 1));
  setState32(fillField, fill + size);
  return message + <usize>fill;
}

// @ts-ignore: decorator
@inline function put64(at: usize, v: u64): void { store<u64>(at, bswap<u64>(v)); }

/** The IANA flowEndReason of a flow that left the table with CloseReason `close`. */
function endReason(close: u32): u8 {
  return <u8>endReasonOf(close);
}

function endReasonOf(close: u32): i32 {
  if (close == CloseReason.FIN || close == CloseReason.RST) return FlowEndReason.END_OF_FLOW;
  if (close == CloseReason.TIMEOUT) return FlowEndReason.IDLE_TIMEOUT;
  if (close == CloseReason.EVICTED) return FlowEndReason.LACK_OF_RESOURCES;
  return FlowEndReason.FORCED_END;
}

/**
 * Encodes the record at `r` (a table entry or a record: the layout of shared/abi.ts, export block
 * included) as one data record with flowEndReason `reason`: the counts since its last record
 * (delta counts), from just after that record's end (else from the first packet) to the last
 * packet. The source is the client; the forward direction is client to server.
 */
function encode(r: usize, reason: u8): void {
  const family = <u32>load<u8>(r + REC_FAMILY);
  const at = recordSlot(family);
  let tail: usize;
  if (family == 4) {
    store<u32>(at, load<u32>(r + REC_CLIENT_ADDR));
    store<u32>(at, load<u32>(r + REC_SERVER_ADDR), 4);
    tail = at + 8;
  } else {
    v128.store(at, v128.load(r + REC_CLIENT_ADDR));
    v128.store(at, v128.load(r + REC_SERVER_ADDR), 16);
    tail = at + 32;
  }
  store<u16>(tail + R_SOURCE_PORT, bswap<u16>(load<u16>(r + REC_CLIENT_PORT)));
  store<u16>(tail + R_DESTINATION_PORT, bswap<u16>(load<u16>(r + REC_SERVER_PORT)));
  store<u8>(tail + R_PROTOCOL, load<u8>(r + REC_PROTO));
  store<u8>(tail + R_END_REASON, reason);
  const c = r + REC_DIR, s = r + REC_DIR + FLOW_DIR;
  store<u16>(tail + R_TCP_FLAGS, bswap<u16>(<u16>load<u8>(c + DIR_TCP_FLAGS)));
  store<u16>(tail + R_TCP_FLAGS_REVERSE, bswap<u16>(<u16>load<u8>(s + DIR_TCP_FLAGS)));
  store<u32>(tail + R_INGRESS, bswap<u32>(<u32>load<u16>(r + REC_QUEUE)));
  store<u32>(tail + R_INGRESS_REVERSE, bswap<u32>(<u32>load<u16>(r + REC_QUEUE_REVERSE)));
  put64(tail + R_OCTETS, load<u64>(r + REC_IP_OCTETS) - load<u64>(r + REC_SENT_OCTETS));
  put64(tail + R_PACKETS, <u64>(load<u32>(c + DIR_PACKETS) - load<u32>(r + REC_SENT_PACKETS)));
  put64(tail + R_OCTETS_REVERSE, load<u64>(r + REC_IP_OCTETS, 8) - load<u64>(r + REC_SENT_OCTETS, 8));
  put64(tail + R_PACKETS_REVERSE, <u64>(load<u32>(s + DIR_PACKETS) - load<u32>(r + REC_SENT_PACKETS, 4)));
  const until = load<u64>(r + REC_SENT_UNTIL);
  const end = load<u64>(r + REC_LAST_TS);
  put64(tail + R_START, (until ? until : firstPacket(r)) / 1000000);
  put64(tail + R_END, end / 1000000);
  bump(STAT_IPFIX_RECORDS);
  setState32(IPX_RECORDS, state32(IPX_RECORDS) + 1);
}

/** The earliest first packet of the two directions (0: none). */
function firstPacket(r: usize): u64 {
  const a = load<u64>(r + REC_DIR + DIR_FIRST_TS), b = load<u64>(r + REC_DIR + FLOW_DIR + DIR_FIRST_TS);
  if (a == 0) return b;
  if (b == 0) return a;
  return a < b ? a : b;
}

/** A flow leaves the table (or a split flow's halves are made one) with CloseReason `close`. */
export function exportFlow(r: usize, close: u32): void {
  if (exporting) encode(r, endReason(close));
}

/**
 * A long-lived flow's counts so far, once per active timeout (judged by packet time `now`, as the
 * idle timeout is): a record of the deltas, after which the flow starts counting afresh. A flow
 * with no packet since its last record has nothing to report yet.
 */
export function exportIfActive(r: usize, now: u64, halves: bool): void {
  // A split flow's half waits for its other half: the run exports the two as one, at its end.
  if (!activeTimeout || (halves && (load<u8>(r + REC_FLAGS) & FlowFlag.SPLIT))) return;
  const until = load<u64>(r + REC_SENT_UNTIL);
  const since = until ? until : firstPacket(r);
  const last = load<u64>(r + REC_LAST_TS);
  if (now <= since || now - since < activeTimeout || last <= until) return;
  encode(r, <u8>FlowEndReason.ACTIVE_TIMEOUT);
  bump(STAT_IPFIX_ACTIVE);
  store<u64>(r + REC_SENT_OCTETS, load<u64>(r + REC_IP_OCTETS));
  store<u64>(r + REC_SENT_OCTETS, load<u64>(r + REC_IP_OCTETS, 8), 8);
  store<u32>(r + REC_SENT_PACKETS, load<u32>(r + REC_DIR + DIR_PACKETS));
  store<u32>(r + REC_SENT_PACKETS, load<u32>(r + REC_DIR + FLOW_DIR + DIR_PACKETS), 4);
  store<u64>(r + REC_SENT_UNTIL, last);
}

/**
 * The packet just parsed (wire/packet.ts: `network`, `family`) counts in direction block `b` of
 * the record at `e`: its IP octets (IPv4 total length; IPv6 fixed header and payload length) and
 * its TCP flags (`tcpFlags`, 0 for UDP).
 */
// @ts-ignore: decorator
@inline export function countPacket(e: usize, direction: u32, b: usize, network: usize, family: u32, tcpFlags: u32): void {
  const octets: u64 = family == 4 ? <u64>bswap<u16>(load<u16>(network + 2)) : 40 + <u64>bswap<u16>(load<u16>(network + 4));
  const o = e + REC_IP_OCTETS + (<usize>direction << 3);
  store<u64>(o, load<u64>(o) + octets);
  store<u8>(b + DIR_TCP_FLAGS, load<u8>(b + DIR_TCP_FLAGS) | <u8>tcpFlags);
}

/**
 * Exports the `count` records at `records` (FLOW_RECORD bytes each: a run's merged split flows),
 * each with its own close reason. Returns how many it took: all, unless the output buffer filled
 * (the host takes it and calls again with the rest).
 */
export function ipfixExportRecords(records: usize, count: u32): u32 {
  let i: u32 = 0;
  for (; i < count && ipfixRoom() > 0; i++) {
    const r = records + <usize>i * FLOW_RECORD;
    exportFlow(r, <u32>load<u8>(r + REC_CLOSE));
  }
  return i;
}
