/**
 * The receive path: one segment to one connection, as RFC 9293 section 3.10.7 ("SEGMENT
 * ARRIVES") orders the checks: a segment to no connection (3.10.7.1), to a listener (3.10.7.2),
 * in SYN-SENT (3.10.7.3), and in the other states (3.10.7.4): sequence acceptability (with PAWS,
 * RFC 7323), RST (RFC 5961's exact-match rule, a challenge ACK otherwise), SYN (a challenge ACK),
 * ACK (RFC 5961's range, then SND.UNA, the round-trip sample, congestion control and the window
 * update), the text, and the FIN. TIME-WAIT lives in timewait.ts. Nothing here sends a segment a
 * TCB could send later: it marks what is owed (an ACK now or delayed, data to send) and puts the
 * TCB on the output list; output.ts sends. Answers without a TCB (an RST to no connection) go
 * out at once.
 */
import {
  CFG_CHALLENGE_LIMIT, TCB_ADDR_INDEX, TCB_BYTES_ACKED, TCB_CWND, TCB_DELACK_AT, TCB_DUPACKS, TCB_FAMILY,
  TCB_FIN_SEQ, TCB_IRS, TCB_ISS, TCB_MAX_SND_WND, TCB_MSS, TCB_OOO, TCB_OOO_COUNT, TCB_OOO_MAX, TCB_RCV_ADV,
  TCB_RCV_NXT, TCB_RCV_READ, TCB_RECOVER, TCB_RETRIES, TCB_RTO, TCB_RTO_AT, TCB_RTT_SEQ, TCB_RTT_START,
  TCB_SND_END, TCB_SND_MAX, TCB_SND_NXT, TCB_SND_UNA, TCB_SND_WL1, TCB_SND_WL2, TCB_SND_WND, TCB_SSTHRESH,
  TCB_TS_RECENT, TCB_UNACKED_SEGMENTS, TCB_WSCALE, TCB_APP_AT, TCP_SCRATCH_ENTRY, TCP_STATE, TCB_LOCAL_ADDR, TCB_LOCAL_PORT,
  TCB_NEIGHBOR, TCB_PEER_HASH, TCB_REMOTE_ADDR, TCB_REMOTE_PORT, CFG_FIELDS4, CFG_FIELDS6, TCP_TUPLE, TcbFlag,
  TcpOption, TcpStat, TcpState,
} from "../shared/abi";
import { hashTuple } from "../rss/hash";
import * as tcp from "../wire/tcp";
import { AppEnd, appAccepted, appClosed, appEstablished, appPeerClosed, appReceive, appTimer, readsInPlace } from "./app";
import { piece, receivePiece, receiveRelease, receiveWrite, sendRelease } from "./buffer";
import { neighborFor } from "./neighbor";
import { familyMss, sendControl, tsNow } from "./output";
import {
  cfg32, count, dataRetries, delackMs, nowMs, nowUs, options, ourWscale, rtoMax, rtoMin, synRetries,
} from "./state";
import {
  clearFlags, flags, flight, initialWindow, lossThreshold, queueOutput, receiveNextOffset, rttSample, sendUnaOffset, setFlags,
  setState, stateOf, tcbCreate, tcbRelease,
} from "./tcb";
import { timerUpdate } from "./timer";
import { timeWaitEnter } from "./timewait";

// ---- the segment being processed (set by loadSegment from wire/packet and wire/tcp) ----
let seq: u32 = 0;
let ack: u32 = 0;
let bits: u32 = 0;
let window: u32 = 0;
/** payload bytes, and where they are */
let length: u32 = 0;
let payload: usize = 0;
let hasTs: bool = false;
let tsValue: u32 = 0;
let tsEcho: u32 = 0;

export function loadSegment(transport: usize, payloadAt: usize, payloadLength: u32): void {
  seq = tcp.sequence(transport);
  ack = tcp.acknowledgment(transport);
  bits = tcp.flags(transport);
  window = tcp.window(transport);
  payload = payloadAt;
  length = payloadLength;
  hasTs = tcp.optionTimestamps;
  tsValue = tcp.optionTsValue;
  tsEcho = tcp.optionTsEcho;
}

export function segmentSeq(): u32 { return seq; }
export function segmentFlags(): u32 { return bits; }
export function segmentLength(): u32 { return length; }
export function segmentHasTs(): bool { return hasTs; }
export function segmentTsValue(): u32 { return tsValue; }

/** SEG.LEN: payload, plus one each for SYN and FIN. */
// @ts-ignore: decorator
@inline function sequenceLength(): u32 {
  return length + (bits & tcp.SYN ? 1 : 0) + (bits & tcp.FIN ? 1 : 0);
}

// ---- no connection (3.10.7.1) ----

/**
 * Fills the stand-in entry with the segment's tuple seen from our side, for answers no TCB sends.
 * `local`/`remote` are the packet's destination/source addresses.
 */
function standIn(family: u32, local: usize, remote: usize, lport: u32, rport: u32): usize {
  const e = <usize>TCP_STATE + TCP_SCRATCH_ENTRY;
  const tuple = <usize>TCP_STATE + TCP_TUPLE;
  const a: usize = family == 4 ? 4 : 16;
  store<u8>(e + TCB_FAMILY, <u8>family);
  store<u16>(e + TCB_LOCAL_PORT, <u16>lport);
  store<u16>(e + TCB_REMOTE_PORT, <u16>rport);
  memory.copy(e + TCB_LOCAL_ADDR, local, a);
  memory.copy(e + TCB_REMOTE_ADDR, remote, a);
  memory.copy(tuple, local, a);
  memory.copy(tuple + a, remote, a);
  store<u16>(tuple + 2 * a, bswap<u16>(<u16>lport));
  store<u16>(tuple + 2 * a + 2, bswap<u16>(<u16>rport));
  store<u32>(e + TCB_PEER_HASH, hashTuple(tuple, <i32>cfg32(family == 4 ? CFG_FIELDS4 : CFG_FIELDS6)));
  store<u16>(e + TCB_NEIGHBOR, <u16>neighborFor(family, remote));
  return e;
}

/**
 * A segment to no connection and no listener: an RST unless it is one (RFC 9293 3.10.7.1):
 * <SEQ=SEG.ACK><CTL=RST> for a segment with ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 */
export function closedSegment(family: u32, local: usize, remote: usize, lport: u32, rport: u32): void {
  if (bits & tcp.RST) return;
  const e = standIn(family, local, remote, lport, rport);
  if (bits & tcp.ACK) sendControl(e, ack, 0, tcp.RST, 0, false, 0, 0);
  else sendControl(e, 0, seq + sequenceLength(), tcp.RST | tcp.ACK, 0, false, 0, 0);
}

// ---- options (on SYN and SYN-ACK) ----

/** Takes the options of the SYN (or SYN-ACK) now parsed: what both sides use, the send MSS. */
function negotiate(t: usize): void {
  let f: u32 = 0;
  if ((options & TcpOption.SACK) && tcp.optionSackPermitted) f |= TcbFlag.PEER_SACK;
  if ((options & TcpOption.TIMESTAMPS) && tcp.optionTimestamps) {
    f |= TcbFlag.TIMESTAMPS;
    store<u32>(t + TCB_TS_RECENT, tsValue);
  }
  if ((options & TcpOption.WINDOW_SCALE) && tcp.optionWindowScale != 0xff) {
    f |= TcbFlag.WINDOW_SCALE;
    store<u8>(t + TCB_WSCALE, <u8>(ourWscale | (tcp.optionWindowScale << 4)));
  } else {
    store<u8>(t + TCB_WSCALE, 0);
  }
  setFlags(t, f);
  const family = <u32>load<u8>(t + TCB_FAMILY);
  // Without the option, RFC 9293 3.7.1's default (536), or IPv6's minimum MTU less headers.
  const peerMss = tcp.optionMss != 0 ? tcp.optionMss : family == 4 ? 536 : 1220;
  const mss = min(peerMss, familyMss(family)) - (f & TcbFlag.TIMESTAMPS ? 12 : 0);
  store<u16>(t + TCB_MSS, <u16>max<u32>(mss, 64));
}

// ---- LISTEN (3.10.7.2) ----

/** A segment for a listener running application `app`. */
export function listenSegment(app: u32, family: u32, local: usize, remote: usize, lport: u32, rport: u32, addressIndex: u32): bool {
  if (bits & tcp.RST) return true;
  if (bits & tcp.ACK) {
    sendControl(standIn(family, local, remote, lport, rport), ack, 0, tcp.RST, 0, false, 0, 0);
    return true;
  }
  if (!(bits & tcp.SYN)) return true;
  const t = tcbCreate(family, local, remote, lport, rport, app, false);
  if (t == 0) return false; // no TCB: the SYN is dropped (counted); the peer will try again
  store<u16>(t + TCB_ADDR_INDEX, <u16>addressIndex);
  setState(t, TcpState.SYN_RECEIVED);
  store<u32>(t + TCB_IRS, seq);
  store<u32>(t + TCB_RCV_NXT, seq + 1);
  store<u32>(t + TCB_RCV_ADV, seq + 1);
  negotiate(t);
  const iss = load<u32>(t + TCB_ISS);
  store<u32>(t + TCB_SND_UNA, iss);
  store<u32>(t + TCB_SND_NXT, iss);
  store<u32>(t + TCB_SND_MAX, iss);
  store<u32>(t + TCB_RECOVER, iss);
  store<u32>(t + TCB_SND_WND, window); // a SYN's window is never scaled (RFC 7323 2.2)
  store<u32>(t + TCB_MAX_SND_WND, window);
  store<u32>(t + TCB_SND_WL1, seq);
  count(TcpStat.ACCEPTED);
  appAccepted(t);
  queueOutput(t);
  return true;
}

// ---- SYN-SENT (3.10.7.3) ----

export function synSentSegment(t: usize): void {
  const iss = load<u32>(t + TCB_ISS);
  if (bits & tcp.ACK) {
    if (tcp.seqLe(ack, iss) || tcp.seqGt(ack, load<u32>(t + TCB_SND_MAX))) {
      if (!(bits & tcp.RST)) sendControl(t, ack, 0, tcp.RST, 0, false, 0, 0);
      return;
    }
  }
  if (bits & tcp.RST) {
    if (bits & tcp.ACK) {
      count(TcpStat.RST_RECEIVED);
      count(TcpStat.RESETS);
      appClosed(t, AppEnd.REFUSED);
      tcbRelease(t, false, false);
    }
    return;
  }
  if (!(bits & tcp.SYN)) return;
  store<u32>(t + TCB_IRS, seq);
  store<u32>(t + TCB_RCV_NXT, seq + 1);
  store<u32>(t + TCB_RCV_ADV, seq + 1);
  negotiate(t);
  store<u32>(t + TCB_SND_WND, window);
  store<u32>(t + TCB_MAX_SND_WND, window);
  store<u32>(t + TCB_SND_WL1, seq);
  store<u32>(t + TCB_SND_WL2, ack);
  if (bits & tcp.ACK) {
    store<u32>(t + TCB_SND_UNA, ack);
    // A timeout may have set SND.NXT back to ISS to send the SYN again: it is acknowledged now.
    if (tcp.seqLt(load<u32>(t + TCB_SND_NXT), ack)) store<u32>(t + TCB_SND_NXT, ack);
    // The SYN's round trip: by its echoed timestamp, or timed on the clock.
    if (flags(t) & TcbFlag.TIMESTAMPS && tsEcho != 0) rttSample(t, (tsNow(t) - tsEcho) * 1000);
    else if (load<u8>(t + TCB_RETRIES) == 0) rttSample(t, nowUs - load<u32>(t + TCB_RTT_START));
    else synTimedOut(t);
    store<u8>(t + TCB_RETRIES, 0);
    store<u32>(t + TCB_RTO_AT, 0);
    setState(t, TcpState.ESTABLISHED);
    initialWindow(t);
    count(TcpStat.ESTABLISHED);
    setFlags(t, TcbFlag.ACK_NOW);
    queueOutput(t);
    appEstablished(t);
    return;
  }
  // Simultaneous open: both sides sent a SYN. SYN-RECEIVED, and our SYN goes again with the ACK.
  setState(t, TcpState.SYN_RECEIVED);
  store<u32>(t + TCB_SND_NXT, iss);
  queueOutput(t);
}

/**
 * The SYN (or SYN-ACK) went more than once and no round trip could be measured (Karn's rule, no
 * timestamps): RFC 6298 5.7, the RTO starts again from 3 s when data begins.
 */
function synTimedOut(t: usize): void {
  store<u32>(t + TCB_RTO, min<u32>(max<u32>(3000, rtoMin), rtoMax));
}

// ---- the other states (3.10.7.4) ----

/** An ACK now, or a challenge ACK (RFC 5961 section 7: at most CFG_CHALLENGE_LIMIT a second). */
let challengeSecond: u32 = 0xffffffff;
let challengesThisSecond: u32 = 0;

function challengeAck(t: usize): void {
  const limit = cfg32(CFG_CHALLENGE_LIMIT);
  const second = nowMs / 1000;
  if (second != challengeSecond) {
    challengeSecond = second;
    challengesThisSecond = 0;
  }
  if (limit != 0 && challengesThisSecond >= limit) {
    count(TcpStat.CHALLENGE_ACKS_LIMITED);
    return;
  }
  challengesThisSecond++;
  count(TcpStat.CHALLENGE_ACKS);
  ackNow(t);
}

// @ts-ignore: decorator
@inline function ackNow(t: usize): void {
  setFlags(t, TcbFlag.ACK_NOW);
  queueOutput(t);
}

/** RFC 9293 3.10.7.4's first check: does the segment overlap the receive window? */
// @ts-ignore: decorator
@inline function acceptable(t: usize): bool {
  const next = load<u32>(t + TCB_RCV_NXT);
  const wnd = <i32>(load<u32>(t + TCB_RCV_ADV) - next);
  const n = sequenceLength();
  if (wnd <= 0) return n == 0 && seq == next;
  const edge = next + <u32>wnd;
  if (n == 0) return tcp.seqGe(seq, next) && tcp.seqLt(seq, edge);
  const last = seq + n - 1;
  return (tcp.seqGe(seq, next) && tcp.seqLt(seq, edge)) || (tcp.seqGe(last, next) && tcp.seqLt(last, edge));
}

/** The segment for TCB t in a state after SYN-SENT. */
export function synchronizedSegment(t: usize): void {
  let state = stateOf(t);
  const f = flags(t);
  // Our SYN-ACK was lost and the SYN came again: send the SYN-ACK again.
  if (state == TcpState.SYN_RECEIVED && (bits & (tcp.SYN | tcp.ACK | tcp.RST)) == tcp.SYN && seq == load<u32>(t + TCB_IRS)) {
    store<u32>(t + TCB_SND_NXT, load<u32>(t + TCB_ISS));
    queueOutput(t);
    return;
  }
  // PAWS (RFC 7323 5.3): a timestamp older than TS.Recent is an old duplicate.
  if ((f & TcbFlag.TIMESTAMPS) && hasTs && !(bits & tcp.RST) && tcp.seqLt(tsValue, load<u32>(t + TCB_TS_RECENT))) {
    count(TcpStat.DROP_PAWS);
    ackNow(t);
    return;
  }
  // First: is it in the window?
  if (!acceptable(t)) {
    if (!(bits & tcp.RST)) {
      count(TcpStat.OUT_OF_WINDOW);
      ackNow(t);
    }
    return;
  }
  const rcvNxt = load<u32>(t + TCB_RCV_NXT);
  // RFC 7323 4.3: TS.Recent from a segment that starts at or before what we acknowledge.
  if ((f & TcbFlag.TIMESTAMPS) && hasTs && tcp.seqLe(seq, rcvNxt) && tcp.seqGe(tsValue, load<u32>(t + TCB_TS_RECENT))) {
    store<u32>(t + TCB_TS_RECENT, tsValue);
  }
  // Second: RST. Only one at exactly RCV.NXT resets; others in the window get a challenge ACK.
  if (bits & tcp.RST) {
    count(TcpStat.RST_RECEIVED);
    if (seq != rcvNxt) {
      challengeAck(t);
      return;
    }
    count(TcpStat.RESETS);
    if (state == TcpState.SYN_RECEIVED && !(f & TcbFlag.ACTIVE)) {
      // Back to LISTEN: the listener is still there; this attempt just ends.
      appClosed(t, AppEnd.RESET);
      tcbRelease(t, false, false);
      return;
    }
    appClosed(t, state == TcpState.SYN_RECEIVED ? AppEnd.REFUSED : AppEnd.RESET);
    tcbRelease(t, false, false);
    return;
  }
  // Fourth: a SYN in a synchronized state (RFC 5961 4): challenge ACK. In SYN-RECEIVED from a
  // passive open, RFC 9293 sends the connection back to LISTEN.
  if (bits & tcp.SYN) {
    if (state == TcpState.SYN_RECEIVED && !(f & TcbFlag.ACTIVE)) {
      appClosed(t, AppEnd.RESET);
      tcbRelease(t, false, false);
      return;
    }
    challengeAck(t);
    return;
  }
  // Fifth: the ACK field.
  if (!(bits & tcp.ACK)) {
    count(TcpStat.DROP_INVALID);
    return;
  }
  if (!processAck(t)) return;
  // Seventh and eighth: the text and the FIN.
  state = stateOf(t);
  if (state == TcpState.ESTABLISHED || state == TcpState.FIN_WAIT_1 || state == TcpState.FIN_WAIT_2) {
    receiveText(t);
  } else if (length > 0 || (bits & tcp.FIN)) {
    // CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN is in already; acknowledge again.
    ackNow(t);
  }
}

/** Whether our FIN has been sent and acknowledged. */
// @ts-ignore: decorator
@inline function finAcked(t: usize): bool {
  return (flags(t) & TcbFlag.FIN_SENT) != 0
    && load<u32>(t + TCB_SND_UNA) == load<u32>(t + TCB_ISS) + 2 + load<u32>(t + TCB_SND_END);
}

/**
 * The ACK field (fifth check): RFC 5961 5.2's acceptable range, then new data acknowledged
 * (SND.UNA, buffers, round trip, congestion window, timer), duplicate ACKs, the window update,
 * and the state changes an ACK of our FIN makes. Returns false when the TCB is gone or the
 * segment is dropped.
 */
function processAck(t: usize): bool {
  const una = load<u32>(t + TCB_SND_UNA);
  const sndMax = load<u32>(t + TCB_SND_MAX);
  if (tcp.seqGt(ack, sndMax)) {
    // It acknowledges something not yet sent: ACK and drop (RFC 9293, RFC 5961 5.2).
    ackNow(t);
    return false;
  }
  if (tcp.seqLt(ack, una - load<u32>(t + TCB_MAX_SND_WND))) {
    challengeAck(t);
    return false;
  }
  let state = stateOf(t);
  if (state == TcpState.SYN_RECEIVED) {
    if (!tcp.seqGt(ack, una)) {
      sendControl(t, ack, 0, tcp.RST, 0, false, 0, 0);
      return false;
    }
    setState(t, TcpState.ESTABLISHED);
    state = TcpState.ESTABLISHED;
    store<u32>(t + TCB_SND_UNA, ack);
    if (tcp.seqLt(load<u32>(t + TCB_SND_NXT), ack)) store<u32>(t + TCB_SND_NXT, ack); // past a SYN-ACK queued again
    store<u32>(t + TCB_RTO_AT, 0);
    if ((flags(t) & TcbFlag.TIMESTAMPS) && hasTs && tsEcho != 0) {
      rttSample(t, (tsNow(t) - tsEcho) * 1000);
    } else if (load<u8>(t + TCB_RETRIES) == 0) {
      rttSample(t, nowUs - load<u32>(t + TCB_RTT_START));
    } else {
      synTimedOut(t);
    }
    store<u8>(t + TCB_RETRIES, 0);
    updateWindow(t, true);
    initialWindow(t);
    count(TcpStat.ESTABLISHED);
    if (flags(t) & TcbFlag.FIN_QUEUED) {
      // The application closed during the handshake: its FIN goes now.
      setState(t, TcpState.FIN_WAIT_1);
      queueOutput(t);
    }
    appEstablished(t);
    return stateOf(t) != TcpState.CLOSED;
  }
  // SACK blocks the peer reports are counted; recovery is NewReno's, from the ACKs alone.
  if (tcp.optionSackBlocks > 0) count(TcpStat.SACKS_RECEIVED);
  const shift = <u32>load<u8>(t + TCB_WSCALE) >> 4;
  const newWindow = window << shift;
  if (tcp.seqGt(ack, una)) {
    acknowledged(t, una, ack);
  } else if (ack == una && length == 0 && !(bits & (tcp.SYN | tcp.FIN)) && newWindow == load<u32>(t + TCB_SND_WND) && una != sndMax
    && !(flags(t) & TcbFlag.PERSIST)) {
    // RFC 5681 2's duplicate ACK (answers to zero-window probes are not: nothing was lost)
    duplicateAck(t);
  }
  updateWindow(t, false);
  if (finAcked(t)) {
    if (state == TcpState.FIN_WAIT_1) {
      setState(t, TcpState.FIN_WAIT_2);
    } else if (state == TcpState.CLOSING) {
      appClosed(t, AppEnd.CLOSED);
      timeWaitEnter(t, false);
      return false;
    } else if (state == TcpState.LAST_ACK) {
      appClosed(t, AppEnd.CLOSED);
      tcbRelease(t, false, false);
      return false;
    }
  }
  return true;
}

/** New data acknowledged: SND.UNA moves to `to`. */
function acknowledged(t: usize, una: u32, to: u32): void {
  const from = sendUnaOffset(t);
  store<u32>(t + TCB_SND_UNA, to);
  sendRelease(t, from, sendUnaOffset(t));
  if (tcp.seqLt(load<u32>(t + TCB_SND_NXT), to)) store<u32>(t + TCB_SND_NXT, to);
  let f = flags(t);
  // The round trip: the echoed timestamp of the segment that moved SND.UNA (RFC 7323 4.1), or
  // the one segment being timed (RFC 6298, Karn's rule kept by output.ts).
  if ((f & TcbFlag.TIMESTAMPS) && hasTs && tsEcho != 0) {
    const ms = tsNow(t) - tsEcho;
    if (ms < 0x10000000) rttSample(t, ms * 1000);
  } else if ((f & TcbFlag.RTT_TIMING) && tcp.seqGe(to, load<u32>(t + TCB_RTT_SEQ))) {
    rttSample(t, nowUs - load<u32>(t + TCB_RTT_START));
    clearFlags(t, TcbFlag.RTT_TIMING);
  }
  store<u8>(t + TCB_RETRIES, 0);
  store<u8>(t + TCB_DUPACKS, 0);
  congestionAck(t, to - una);
  // RFC 6298 5.2 and 5.3: stop the timer when everything is acknowledged, else restart it.
  if (to == load<u32>(t + TCB_SND_MAX)) {
    store<u32>(t + TCB_RTO_AT, 0);
  } else {
    store<u32>(t + TCB_RTO_AT, nowMs + load<u32>(t + TCB_RTO));
    timerUpdate(t);
  }
  f = flags(t);
  if ((f & TcbFlag.APP_WANTS_ROOM) || unsent(t) || ((f & TcbFlag.FIN_QUEUED) && !(f & TcbFlag.FIN_SENT))) queueOutput(t);
}

/** Whether data written by the application lies at or past SND.NXT. */
// @ts-ignore: decorator
@inline function unsent(t: usize): bool {
  return tcp.seqLt(load<u32>(t + TCB_SND_NXT), load<u32>(t + TCB_ISS) + 1 + load<u32>(t + TCB_SND_END));
}

/** RFC 5681 and RFC 6582 on an ACK of `acked` new bytes. */
function congestionAck(t: usize, acked: u32): void {
  const mss = <u32>load<u16>(t + TCB_MSS);
  let cwnd = load<u32>(t + TCB_CWND);
  if (flags(t) & TcbFlag.RECOVERY) {
    if (tcp.seqGe(ack, load<u32>(t + TCB_RECOVER))) {
      // A full acknowledgment: recovery ends, cwnd to min(ssthresh, max(FlightSize, SMSS) + SMSS)
      // (RFC 6582 3.2 (3), option 1: no burst when little is in flight).
      clearFlags(t, TcbFlag.RECOVERY);
      store<u32>(t + TCB_CWND, min(load<u32>(t + TCB_SSTHRESH), max(flight(t), mss) + mss));
      return;
    }
    // A partial acknowledgment: the next hole goes again now; deflate by what was acknowledged,
    // add back one SMSS when that was at least one (6582 3.2 (5)).
    setFlags(t, TcbFlag.RETRANSMIT_ONE);
    cwnd = cwnd > acked ? cwnd - acked : 0;
    if (acked >= mss) cwnd += mss;
    store<u32>(t + TCB_CWND, max(cwnd, mss));
    queueOutput(t);
    return;
  }
  if (cwnd < load<u32>(t + TCB_SSTHRESH)) {
    store<u32>(t + TCB_CWND, cwnd + min(acked, mss)); // slow start (RFC 5681 3.1, L = 1 SMSS)
    return;
  }
  // Congestion avoidance: one SMSS per window of bytes acknowledged.
  let counted = load<u32>(t + TCB_BYTES_ACKED) + acked;
  if (counted >= cwnd) {
    counted -= cwnd;
    store<u32>(t + TCB_CWND, cwnd + mss);
  }
  store<u32>(t + TCB_BYTES_ACKED, counted);
}

/** A duplicate ACK (RFC 5681 2): the third starts fast retransmit; more inflate the window. */
function duplicateAck(t: usize): void {
  count(TcpStat.DUPACKS);
  const n = <u32>load<u8>(t + TCB_DUPACKS) + 1;
  store<u8>(t + TCB_DUPACKS, <u8>min<u32>(n, 255));
  const mss = <u32>load<u16>(t + TCB_MSS);
  if (flags(t) & TcbFlag.RECOVERY) {
    store<u32>(t + TCB_CWND, load<u32>(t + TCB_CWND) + mss);
    queueOutput(t);
    return;
  }
  // RFC 6582 3.2 (2): only when the ACK covers more than `recover` (ISS at first, SND.MAX when
  // a recovery or a timeout began), so duplicates from one loss do not start a second recovery.
  if (n == 3 && tcp.seqGt(ack, load<u32>(t + TCB_RECOVER))) {
    count(TcpStat.FAST_RETRANSMITS);
    store<u32>(t + TCB_RECOVER, load<u32>(t + TCB_SND_MAX));
    const ssthresh = lossThreshold(t);
    store<u32>(t + TCB_SSTHRESH, ssthresh);
    store<u32>(t + TCB_CWND, ssthresh + 3 * mss);
    setFlags(t, TcbFlag.RECOVERY | TcbFlag.RETRANSMIT_ONE);
    queueOutput(t);
  }
}

/** The send window from this segment, when it is newer (SND.WL1, SND.WL2; RFC 9293 3.10.7.4). */
function updateWindow(t: usize, force: bool): void {
  const wl1 = load<u32>(t + TCB_SND_WL1), wl2 = load<u32>(t + TCB_SND_WL2);
  if (!force && !(tcp.seqLt(wl1, seq) || (wl1 == seq && tcp.seqLe(wl2, ack)))) return;
  const wnd = window << (<u32>load<u8>(t + TCB_WSCALE) >> 4);
  const before = load<u32>(t + TCB_SND_WND);
  store<u32>(t + TCB_SND_WND, wnd);
  store<u32>(t + TCB_SND_WL1, seq);
  store<u32>(t + TCB_SND_WL2, ack);
  if (wnd > load<u32>(t + TCB_MAX_SND_WND)) store<u32>(t + TCB_MAX_SND_WND, wnd);
  if (wnd > before) {
    if (wnd > 0 && (flags(t) & TcbFlag.PERSIST)) {
      // The window opened: probing ends. What went past SND.UNA were probes the peer could not
      // take: they go again now, with the rest.
      clearFlags(t, TcbFlag.PERSIST);
      store<u32>(t + TCB_SND_NXT, load<u32>(t + TCB_SND_UNA));
      store<u32>(t + TCB_RTO_AT, 0);
    }
    if (unsent(t) || (flags(t) & TcbFlag.APP_WANTS_ROOM)) queueOutput(t);
  }
}

// ---- the text and the FIN (seventh and eighth checks) ----

function receiveText(t: usize): void {
  const rcvNxt = load<u32>(t + TCB_RCV_NXT);
  let s = seq;
  let p = payload;
  let n = length;
  let fin = (bits & tcp.FIN) != 0;
  const finSeq = seq + length;
  // What is already in is skipped; what lies past the window we offered is cut (and a FIN
  // beyond it waits for the peer to send it again).
  if (tcp.seqLt(s, rcvNxt)) {
    const skip = rcvNxt - s;
    if (skip >= n) {
      n = 0;
    } else {
      p += skip;
      n -= skip;
    }
    s = rcvNxt;
  }
  const edge = load<u32>(t + TCB_RCV_ADV);
  if (n > 0 && tcp.seqGt(s + n, edge)) {
    n = tcp.seqGt(edge, s) ? edge - s : 0;
    fin = false;
  }
  if (n > 0) {
    if (s == rcvNxt) inOrder(t, p, n);
    else outOfOrder(t, s, p, n);
    if (stateOf(t) == TcpState.CLOSED) return;
  }
  if (fin) {
    const next = load<u32>(t + TCB_RCV_NXT);
    if (finSeq == next) {
      receiveFin(t);
      return;
    }
    if (tcp.seqGt(finSeq, next)) {
      setFlags(t, TcbFlag.FIN_AHEAD);
      store<u32>(t + TCB_FIN_SEQ, finSeq);
      ackNow(t);
    }
  }
  if ((flags(t) & TcbFlag.FIN_AHEAD) && load<u32>(t + TCB_FIN_SEQ) == load<u32>(t + TCB_RCV_NXT)) receiveFin(t);
}

/** `n` bytes at `p` that start at RCV.NXT. */
function inOrder(t: usize, p: usize, n: u32): void {
  const off = receiveNextOffset(t);
  const holes = <u32>load<u8>(t + TCB_OOO_COUNT);
  count(TcpStat.BYTES_RECEIVED, n);
  if (holes == 0 && readsInPlace(t)) {
    // The common case: straight to the application, from the packet.
    store<u32>(t + TCB_RCV_NXT, load<u32>(t + TCB_RCV_NXT) + n);
    store<u32>(t + TCB_RCV_READ, off + n);
    appReceive(t, p, n);
  } else {
    if (!receiveWrite(t, off, p, n)) {
      count(TcpStat.DROP_NO_CHUNK);
      ackNow(t);
      return;
    }
    let next = load<u32>(t + TCB_RCV_NXT) + n;
    // Held segments the new bytes reach join the stream.
    let filled = false;
    while (load<u8>(t + TCB_OOO_COUNT) > 0 && tcp.seqLe(load<u32>(t + TCB_OOO), next)) {
      next = tcp.seqMax(next, load<u32>(t + TCB_OOO + 4));
      removeFirstHole(t);
      filled = true;
    }
    const end = off + (next - load<u32>(t + TCB_RCV_NXT));
    store<u32>(t + TCB_RCV_NXT, next);
    if (readsInPlace(t)) deliver(t, off, end);
    if (filled) {
      // RFC 5681 4.2: acknowledge at once a segment that fills a hole.
      ackNow(t);
      return;
    }
  }
  if (stateOf(t) == TcpState.CLOSED) return;
  owedAck(t);
}

/** Hands stream bytes [from, to) from the receive buffer to the application, then frees them. */
function deliver(t: usize, from: u32, to: u32): void {
  let at = from;
  while (at != to) {
    const p = receivePiece(t, at, to);
    const n = piece;
    store<u32>(t + TCB_RCV_READ, at + n);
    appReceive(t, p, n);
    at += n;
    if (stateOf(t) == TcpState.CLOSED) return;
  }
  receiveRelease(t, from, to);
}

/** Delayed ACKs (RFC 9293 3.8.6.3, RFC 5681 4.2): at least every second segment, else the timer. */
function owedAck(t: usize): void {
  const n = <u32>load<u8>(t + TCB_UNACKED_SEGMENTS) + 1;
  store<u8>(t + TCB_UNACKED_SEGMENTS, <u8>min<u32>(n, 255));
  if (n >= 2 || (options & TcpOption.QUICK_ACK)) {
    ackNow(t);
    return;
  }
  if (!(flags(t) & TcbFlag.ACK_DELAYED)) {
    setFlags(t, TcbFlag.ACK_DELAYED);
    store<u32>(t + TCB_DELACK_AT, nowMs + delackMs);
    timerUpdate(t);
  }
}

/** `n` bytes at `p` starting at `s`, past RCV.NXT: held in the buffer and as a hole's far side. */
function outOfOrder(t: usize, s: u32, p: usize, n: u32): void {
  const e = s + n;
  const holes = <u32>load<u8>(t + TCB_OOO_COUNT);
  // Where it goes: the intervals it touches merge with it; a new interval needs a free entry.
  let first: u32 = 0;
  while (first < holes && tcp.seqLt(load<u32>(t + TCB_OOO + (<usize>first << 3) + 4), s)) first++;
  let last = first;
  while (last < holes && tcp.seqLe(load<u32>(t + TCB_OOO + (<usize>last << 3)), e)) last++;
  if (first == last && holes == TCB_OOO_MAX) {
    count(TcpStat.DROP_OOO_LIMIT);
    ackNow(t);
    return;
  }
  const off = receiveNextOffset(t) + (s - load<u32>(t + TCB_RCV_NXT));
  if (!receiveWrite(t, off, p, n)) {
    count(TcpStat.DROP_NO_CHUNK);
    ackNow(t);
    return;
  }
  let start = s, end = e;
  if (first < last) {
    const a = load<u32>(t + TCB_OOO + (<usize>first << 3));
    const b = load<u32>(t + TCB_OOO + (<usize>(last - 1) << 3) + 4);
    if (tcp.seqLt(a, start)) start = a;
    if (tcp.seqGt(b, end)) end = b;
  }
  // Replace intervals [first, last) by [start, end).
  const removed = last - first;
  const base = t + TCB_OOO;
  if (removed == 0) {
    memory.copy(base + (<usize>(first + 1) << 3), base + (<usize>first << 3), <usize>(holes - first) << 3);
  } else if (removed > 1) {
    memory.copy(base + (<usize>(first + 1) << 3), base + (<usize>last << 3), <usize>(holes - last) << 3);
  }
  store<u32>(base + (<usize>first << 3), start);
  store<u32>(base + (<usize>first << 3) + 4, end);
  store<u8>(t + TCB_OOO_COUNT, <u8>(holes + 1 - removed));
  count(TcpStat.OUT_OF_ORDER);
  // RFC 5681 4.2: an out-of-order segment is acknowledged at once (a duplicate ACK, with SACK).
  ackNow(t);
}

function removeFirstHole(t: usize): void {
  const holes = <u32>load<u8>(t + TCB_OOO_COUNT);
  memory.copy(t + TCB_OOO, t + TCB_OOO + 8, <usize>(holes - 1) << 3);
  store<u8>(t + TCB_OOO_COUNT, <u8>(holes - 1));
}

/** The peer's FIN, in order. */
function receiveFin(t: usize): void {
  store<u32>(t + TCB_RCV_NXT, load<u32>(t + TCB_RCV_NXT) + 1);
  setFlags(t, TcbFlag.FIN_RECEIVED);
  clearFlags(t, TcbFlag.FIN_AHEAD);
  const state = stateOf(t);
  if (state == TcpState.ESTABLISHED) {
    setState(t, TcpState.CLOSE_WAIT);
    ackNow(t);
    appPeerClosed(t);
  } else if (state == TcpState.FIN_WAIT_1) {
    appPeerClosed(t);
    if (stateOf(t) == TcpState.CLOSED) return;
    if (finAcked(t)) {
      appClosed(t, AppEnd.CLOSED);
      timeWaitEnter(t, true);
    } else {
      setState(t, TcpState.CLOSING);
      ackNow(t);
    }
  } else if (state == TcpState.FIN_WAIT_2) {
    appPeerClosed(t);
    if (stateOf(t) == TcpState.CLOSED) return;
    appClosed(t, AppEnd.CLOSED);
    timeWaitEnter(t, true);
  }
}

// ---- timers ----

/** The wheel says TCB t has a deadline due: run what is due, then put it back on the wheel. */
export function onTimer(t: usize): void {
  const now = nowMs;
  const delack = load<u32>(t + TCB_DELACK_AT);
  if (delack != 0 && <i32>(delack - now) <= 0) {
    store<u32>(t + TCB_DELACK_AT, 0);
    if (flags(t) & TcbFlag.ACK_DELAYED) {
      count(TcpStat.DELAYED_ACKS);
      ackNow(t);
    }
  }
  const rto = load<u32>(t + TCB_RTO_AT);
  if (rto != 0 && <i32>(rto - now) <= 0) {
    store<u32>(t + TCB_RTO_AT, 0);
    if (!retransmitTimeout(t)) return;
  }
  const app = load<u32>(t + TCB_APP_AT);
  if (app != 0 && <i32>(app - now) <= 0) {
    store<u32>(t + TCB_APP_AT, 0);
    if (!appTimer(t)) return;
  }
  timerUpdate(t);
}

/**
 * The retransmission timer expired (RFC 6298 5.4-5.6): back off, retransmit from SND.UNA (the
 * SYN in SYN states), loss window; past the retry limit the connection is given up (counted).
 * In persist mode it sends a zero-window probe instead, with no limit (RFC 9293 3.8.6.1).
 * Returns false when the TCB was freed.
 */
function retransmitTimeout(t: usize): bool {
  const rto = min(load<u32>(t + TCB_RTO) << 1, rtoMax);
  if (flags(t) & TcbFlag.PERSIST) {
    setFlags(t, TcbFlag.PROBE);
    store<u32>(t + TCB_RTO, rto);
    store<u32>(t + TCB_RTO_AT, nowMs + rto);
    queueOutput(t);
    return true;
  }
  const state = stateOf(t);
  const synState = state == TcpState.SYN_SENT || state == TcpState.SYN_RECEIVED;
  if (!synState && load<u32>(t + TCB_SND_UNA) == load<u32>(t + TCB_SND_MAX)) return true;
  const retries = <u32>load<u8>(t + TCB_RETRIES) + 1;
  if (retries > (synState ? synRetries : dataRetries)) {
    count(TcpStat.RETRY_LIMIT);
    appClosed(t, AppEnd.TIMEOUT);
    tcbRelease(t, false, false);
    return false;
  }
  store<u8>(t + TCB_RETRIES, <u8>retries);
  count(TcpStat.TIMEOUTS);
  const mss = <u32>load<u16>(t + TCB_MSS);
  if (!synState) {
    store<u32>(t + TCB_SSTHRESH, lossThreshold(t));
    store<u32>(t + TCB_CWND, mss);
    store<u32>(t + TCB_BYTES_ACKED, 0);
    store<u32>(t + TCB_RECOVER, load<u32>(t + TCB_SND_MAX));
  }
  store<u8>(t + TCB_DUPACKS, 0);
  clearFlags(t, TcbFlag.RECOVERY | TcbFlag.RTT_TIMING | TcbFlag.RETRANSMIT_ONE);
  store<u32>(t + TCB_SND_NXT, synState ? load<u32>(t + TCB_ISS) : load<u32>(t + TCB_SND_UNA));
  store<u32>(t + TCB_RTO, rto);
  store<u32>(t + TCB_RTO_AT, nowMs + rto);
  queueOutput(t);
  return true;
}
