/**
 * TCP as an observer sees it (mOS-style): every segment updates the sender's direction block,
 * and both sides' RFC 9293 states follow from what the two blocks hold.
 *
 * States are a function of the two direction blocks alone (which SYN, FIN and RST each side
 * sent, when, and how far each side acknowledged the other), never of the order packets were
 * processed in. So two engines that each saw one direction of a split flow can merge their
 * halves and get the very states one engine seeing both would have.
 *
 * Sequence space, per direction: the span [ISN, SND_MAX) seen so far minus at most HOLES_MAX
 * holes (ranges skipped by a segment that arrived early). A segment is a retransmission when it
 * covers sequence space seen before, out of order when it fills a hole with nothing seen before,
 * as tcptrace defines them; SYN and FIN take one sequence number each. Unique bytes are payload
 * bytes of sequence space covered for the first time.
 */
import {
  CloseReason, DIR_ACK_MAX, DIR_ACK_TS, DIR_FIN_SEQ, DIR_FIN_TS, DIR_FLAGS, DIR_HOLE_COUNT, DIR_HOLES,
  DIR_ISN, DIR_MSS, DIR_OUT_OF_ORDER, DIR_RETRANSMITS, DIR_RST_TS, DIR_SND_MAX, DIR_STATE, DIR_SYN_TS,
  DIR_UNIQUE, DIR_WSCALE, DirFlag, FLOW_DIR, HOLES_MAX, REC_DIR, REC_SYN_TSVAL, STAT_HOLE_OVERFLOW, TcpState,
} from "../shared/abi";
import * as tcp from "../wire/tcp";
import { count } from "./stats";

/** a after b in sequence space (RFC 9293 section 3.4), as wire/tcp.ts defines it */
// @ts-ignore: decorator
@inline function after(a: u32, b: u32): bool { return tcp.seqGt(a, b); }
// @ts-ignore: decorator
@inline function atOrAfter(a: u32, b: u32): bool { return tcp.seqGe(a, b); }

/** Forward jumps beyond this are a new sequence space (a reset we did not see), not a hole. */
const JUMP_MAX: u32 = 1 << 30;

// @ts-ignore: decorator
@inline export function dir(e: usize, d: u32): usize {
  return e + REC_DIR + <usize>d * FLOW_DIR;
}

/**
 * The segment now parsed (wire/packet) travels in direction `d` of entry `e`: update that
 * direction's flags, timestamps and sequence space. Counters common to UDP are the caller's.
 */
// @ts-ignore: decorator
@inline export function trackSegment(e: usize, d: u32, ts: u64, payloadLength: u32): void {
  const t = tcp.flags(packetTransport);
  const seq = tcp.sequence(packetTransport);
  const b = dir(e, d);
  let f = <u32>load<u16>(b + DIR_FLAGS);
  const syn: u32 = t & tcp.SYN ? 1 : 0;
  if (syn && !(f & DirFlag.SYN)) {
    f |= DirFlag.SYN | (t & tcp.ACK ? DirFlag.SYN_ACK : 0);
    store<u64>(b + DIR_SYN_TS, ts);
    store<u32>(b + DIR_ISN, seq);
    // A SYN's options are what the connection negotiates (RFC 7323 2.2, RFC 2018 2).
    store<u16>(b + DIR_MSS, <u16>tcp.optionMss);
    store<u8>(b + DIR_WSCALE, <u8>tcp.optionWindowScale);
    if (tcp.optionSackPermitted) f |= DirFlag.SACK_PERMITTED;
    if (tcp.optionTimestamps) {
      f |= DirFlag.SYN_TSVAL;
      store<u32>(e + REC_SYN_TSVAL + (<usize>d << 2), tcp.optionTsValue);
    }
  }
  if (tcp.optionTimestamps) f |= DirFlag.TIMESTAMPS;
  if (t & tcp.RST && !(f & DirFlag.RST)) {
    f |= DirFlag.RST;
    store<u64>(b + DIR_RST_TS, ts);
  }
  if (t & tcp.ACK) {
    const ack = tcp.acknowledgment(packetTransport);
    if (!(f & DirFlag.ACKED) || after(ack, load<u32>(b + DIR_ACK_MAX))) store<u32>(b + DIR_ACK_MAX, ack);
    f |= DirFlag.ACKED;
    if (!syn && f & DirFlag.SYN && load<u64>(b + DIR_ACK_TS) == 0) store<u64>(b + DIR_ACK_TS, ts);
  }
  const fin: u32 = t & tcp.FIN ? 1 : 0;
  if (fin && !(f & DirFlag.FIN)) {
    f |= DirFlag.FIN;
    store<u64>(b + DIR_FIN_TS, ts);
    store<u32>(b + DIR_FIN_SEQ, seq + syn + payloadLength);
  }
  const length = payloadLength + syn + fin;
  // An RST carries no sequence space of its own (and its payload is diagnostic text).
  if (length != 0 && !(t & tcp.RST)) f = trackSequence(b, f, seq, length, syn, payloadLength);
  store<u16>(b + DIR_FLAGS, <u16>f);
}

/** The transport header of the packet being tracked (set by the engine before trackSegment). */
export let packetTransport: usize = 0;

// @ts-ignore: decorator
@inline function trackSequence(b: usize, f: u32, seq: u32, length: u32, syn: u32, payload: u32): u32 {
  if ((f & DirFlag.SEQ_VALID) && seq == load<u32>(b + DIR_SND_MAX) && load<u8>(b + DIR_HOLE_COUNT) == 0) {
    // the common case: the next segment, in order
    store<u32>(b + DIR_SND_MAX, seq + length);
    addUnique(b, payload);
    return f;
  }
  return trackSequenceAnywhere(b, f, seq, length, syn, payload);
}

function trackSequenceAnywhere(b: usize, f: u32, seq: u32, length: u32, syn: u32, payload: u32): u32 {
  const end = seq + length;
  if (!(f & DirFlag.SEQ_VALID)) {
    if (!(f & DirFlag.SYN)) store<u32>(b + DIR_ISN, seq);
    store<u32>(b + DIR_SND_MAX, end);
    addUnique(b, payload);
    return f | DirFlag.SEQ_VALID;
  }
  const max = load<u32>(b + DIR_SND_MAX);
  const holes = <u32>load<u8>(b + DIR_HOLE_COUNT);
  if (atOrAfter(seq, max)) {
    if (seq - max > JUMP_MAX) {
      store<u8>(b + DIR_HOLE_COUNT, 0);
    } else if (seq != max) {
      addHole(b, max, seq);
    }
    store<u32>(b + DIR_SND_MAX, end);
    addUnique(b, payload);
    return f;
  }
  if (max - seq > JUMP_MAX) { // far behind: a duplicate from before anything we track
    bump32(b + DIR_RETRANSMITS);
    return f;
  }
  // Behind SND_MAX: sequence space seen before, or a hole being filled.
  const start = seq + syn;
  const fresh = uncovered(b, start, start + payload);
  const covered = cover(b, seq, end);
  addUnique(b, fresh);
  if (covered < length) bump32(b + DIR_RETRANSMITS);
  else bump32(b + DIR_OUT_OF_ORDER);
  return f;
}

// @ts-ignore: decorator
@inline function bump32(p: usize): void { store<u32>(p, load<u32>(p) + 1); }

// @ts-ignore: decorator
@inline function addUnique(b: usize, n: u32): void {
  store<u64>(b + DIR_UNIQUE, load<u64>(b + DIR_UNIQUE) + <u64>n);
}

function addHole(b: usize, start: u32, end: u32): void {
  const n = <u32>load<u8>(b + DIR_HOLE_COUNT);
  if (n == <u32>HOLES_MAX) {
    // No room: the gap is taken as seen; a later fill then counts as a retransmission.
    count(STAT_HOLE_OVERFLOW);
    return;
  }
  const h = b + DIR_HOLES + (<usize>n << 3);
  store<u32>(h, start);
  store<u32>(h, end, 4);
  store<u8>(b + DIR_HOLE_COUNT, <u8>(n + 1));
}

/** Sequence numbers in [start, end) not yet seen: in a hole, or at or past SND_MAX. */
function uncovered(b: usize, start: u32, end: u32): u32 {
  if (start == end) return 0;
  const max = load<u32>(b + DIR_SND_MAX);
  let n: u32 = 0;
  if (after(end, max)) n = end - (after(start, max) ? start : max);
  const holes = <u32>load<u8>(b + DIR_HOLE_COUNT);
  for (let i: u32 = 0; i < holes; i++) {
    const h = b + DIR_HOLES + (<usize>i << 3);
    n += overlap(start, end, load<u32>(h), load<u32>(h, 4));
  }
  return n;
}

// @ts-ignore: decorator
@inline function overlap(s: u32, e: u32, hs: u32, he: u32): u32 {
  const lo = after(s, hs) ? s : hs;
  const hi = after(e, he) ? he : e;
  return after(hi, lo) ? hi - lo : 0;
}

/** Marks [start, end) seen; returns how many of its numbers were not seen before. */
function cover(b: usize, start: u32, end: u32): u32 {
  const max = load<u32>(b + DIR_SND_MAX);
  let fresh: u32 = 0;
  if (after(end, max)) {
    fresh = end - max;
    store<u32>(b + DIR_SND_MAX, end);
  }
  // Split holes around [start, end): each may leave a left and a right piece.
  const holes = <u32>load<u8>(b + DIR_HOLE_COUNT);
  let kept: u32 = 0;
  let s0: u32 = 0, e0: u32 = 0, s1: u32 = 0, e1: u32 = 0;
  for (let i: u32 = 0; i < holes; i++) {
    const h = b + DIR_HOLES + (<usize>i << 3);
    const hs = load<u32>(h), he = load<u32>(h, 4);
    const o = overlap(start, end, hs, he);
    if (o == 0) {
      if (kept == 0) { s0 = hs; e0 = he; } else if (kept == 1) { s1 = hs; e1 = he; }
      kept++;
      continue;
    }
    fresh += o;
    if (after(start, hs)) {
      if (kept == 0) { s0 = hs; e0 = start; } else if (kept == 1) { s1 = hs; e1 = start; }
      kept++;
    }
    if (after(he, end)) {
      if (kept == 0) { s0 = end; e0 = he; } else if (kept == 1) { s1 = end; e1 = he; }
      kept++;
    }
  }
  if (kept > <u32>HOLES_MAX) {
    count(STAT_HOLE_OVERFLOW);
    kept = HOLES_MAX;
  }
  store<u32>(b + DIR_HOLES, s0);
  store<u32>(b + DIR_HOLES, e0, 4);
  store<u32>(b + DIR_HOLES, s1, 8);
  store<u32>(b + DIR_HOLES, e1, 12);
  store<u8>(b + DIR_HOLE_COUNT, <u8>kept);
  return fresh;
}

// ---- states ----

/** `y` acknowledged sequence number `n` of its peer (its highest ACK reached n). */
// @ts-ignore: decorator
@inline function acknowledged(y: usize, fy: u32, n: u32): bool {
  return (fy & DirFlag.ACKED) != 0 && atOrAfter(load<u32>(y + DIR_ACK_MAX), n);
}

/** The RFC 9293 state of the side sending direction block `x`, whose peer sends `y`. */
function sideState(x: usize, y: usize, xIsClient: bool): u32 {
  const fx = <u32>load<u16>(x + DIR_FLAGS), fy = <u32>load<u16>(y + DIR_FLAGS);
  if ((fx | fy) & DirFlag.RST) return TcpState.CLOSED; // sending or receiving a reset ends it
  let open: u32 = TcpState.ESTABLISHED; // no SYN seen: the connection predates the capture
  if (fx & DirFlag.SYN_ACK) {
    // passive open: SYN-RECEIVED until the peer acknowledges our SYN
    open = acknowledged(y, fy, load<u32>(x + DIR_ISN) + 1) ? TcpState.ESTABLISHED : TcpState.SYN_RECEIVED;
  } else if (fx & DirFlag.SYN) {
    // active open: SYN-SENT until the SYN-ACK arrives (or we are seen acknowledging it)
    open = fy & DirFlag.SYN || load<u64>(x + DIR_ACK_TS) != 0 ? TcpState.ESTABLISHED : TcpState.SYN_SENT;
  } else if (fy & DirFlag.SYN) {
    if (!(fy & DirFlag.SYN_ACK)) {
      // the peer's SYN reached us and our SYN-ACK was not seen: SYN-RECEIVED until the peer acks
      open = load<u64>(y + DIR_ACK_TS) != 0 ? TcpState.ESTABLISHED : TcpState.SYN_RECEIVED;
    }
  }
  const xFin = (fx & DirFlag.FIN) != 0, yFin = (fy & DirFlag.FIN) != 0;
  if (!xFin && !yFin) return open;
  const xFinAcked = xFin && acknowledged(y, fy, load<u32>(x + DIR_FIN_SEQ) + 1);
  if (!yFin) return xFinAcked ? TcpState.FIN_WAIT_2 : TcpState.FIN_WAIT_1;
  if (!xFin) return TcpState.CLOSE_WAIT;
  const xt = load<u64>(x + DIR_FIN_TS), yt = load<u64>(y + DIR_FIN_TS);
  if (xt < yt || (xt == yt && xIsClient)) {
    // active close: the peer's FIN found us in FIN-WAIT-1 (CLOSING) or FIN-WAIT-2 (TIME-WAIT)
    return xFinAcked ? TcpState.TIME_WAIT : TcpState.CLOSING;
  }
  return xFinAcked ? TcpState.CLOSED : TcpState.LAST_ACK;
}

/** Recomputes both sides' states from the direction blocks. */
export function updateStates(e: usize): void {
  const c = dir(e, 0), s = dir(e, 1);
  store<u8>(c + DIR_STATE, <u8>sideState(c, s, true));
  store<u8>(s + DIR_STATE, <u8>sideState(s, c, false));
}

/**
 * Whether a segment without SYN, FIN or RST, in direction `d` of entry `e`, may have moved either
 * side's state: `before` the states before it (states()), `ackedBefore` whether that direction
 * had acknowledged the peer's SYN before it. While the peer's direction has not been seen (one
 * core's half of a split flow, or a one-way capture) the states read only this direction's SYN
 * and FIN flags, which such a segment leaves alone, and whether it has acknowledged the peer's
 * SYN: once the states are worked out (a new entry, or a lone SYN promoted without them, has
 * NONE), nothing but that acknowledgement's arrival can move them.
 */
// @ts-ignore: decorator
@inline export function statesMayMove(e: usize, d: u32, before: u32, ackedBefore: bool): bool {
  if (before == 0) return true;
  if (<u32>load<u16>(dir(e, d ^ 1) + DIR_FLAGS) & DirFlag.SEEN) return true;
  return !ackedBefore && load<u64>(dir(e, d) + DIR_ACK_TS) != 0;
}

/** Both states, client's in the low byte (for quick tests of "anything left to do"). */
// @ts-ignore: decorator
@inline export function states(e: usize): u32 {
  return <u32>load<u8>(dir(e, 0) + DIR_STATE) | (<u32>load<u8>(dir(e, 1) + DIR_STATE) << 8);
}

export const BOTH_ESTABLISHED: u32 = TcpState.ESTABLISHED | (TcpState.ESTABLISHED << 8);

/** The connection is over: a reset, or both FINs sent and acknowledged. */
export function isClosed(e: usize): bool {
  const c = dir(e, 0), s = dir(e, 1);
  const fc = <u32>load<u16>(c + DIR_FLAGS), fs = <u32>load<u16>(s + DIR_FLAGS);
  if ((fc | fs) & DirFlag.RST) return true;
  return (fc & fs & DirFlag.FIN) != 0
    && acknowledged(s, fs, load<u32>(c + DIR_FIN_SEQ) + 1) && acknowledged(c, fc, load<u32>(s + DIR_FIN_SEQ) + 1);
}

/** What the segments say about the end: RST (either side) beats FIN (both sides), else OPEN. */
export function tcpClose(e: usize): u32 {
  const fc = <u32>load<u16>(dir(e, 0) + DIR_FLAGS), fs = <u32>load<u16>(dir(e, 1) + DIR_FLAGS);
  if ((fc | fs) & DirFlag.RST) return CloseReason.RST;
  if (fc & fs & DirFlag.FIN) return CloseReason.FIN;
  return CloseReason.OPEN;
}

/**
 * A SYN (or SYN-ACK) from direction `d` opens a new connection on this 4-tuple when the old one
 * is over, when the sender had sent its FIN (a side that has closed does not open the same
 * connection again: seen alone, as one core sees its half of a split flow, its FIN is all there
 * is of the close; a replayed capture repeats even the ISNs), when the sender's earlier SYN had
 * another ISN, or (a SYN without ACK) when the sender had spoken without a SYN (the old
 * connection predates the capture).
 */
export function opensNewConnection(e: usize, d: u32, seq: u32, synAck: bool): bool {
  if (isClosed(e)) return true;
  const b = dir(e, d);
  const f = <u32>load<u16>(b + DIR_FLAGS);
  if (f & (DirFlag.FIN | DirFlag.RST)) return true;
  if (f & DirFlag.SYN) return load<u32>(b + DIR_ISN) != seq;
  // A SYN-ACK behind the server's first packets is the capture's order, not a new connection.
  return !synAck && (f & DirFlag.SEEN) != 0;
}
