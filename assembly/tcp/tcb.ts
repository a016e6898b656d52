/**
 * A connection's life outside the segment path: creating a TCB (its 4-tuple filed in the index,
 * its ISN, its peer hash), the output list, releasing it, and the arithmetic every path shares:
 * stream offsets, RFC 6298 round-trip estimation, NewReno congestion control (RFC 5681, 6582).
 */
import {
  CFG_FIELDS4, CFG_FIELDS6, TCB_CWND, TCB_DEST, TCB_FAMILY, TCB_FLAGS, TCB_HASH, TCB_IRS, TCB_ISS,
  TCB_LOCAL_ADDR, TCB_LOCAL_PORT, TCB_MSS, TCB_NEIGHBOR, TCB_OUTPUT_NEXT, TCB_PEER_HASH, TCB_RCV_NXT, TCB_RCV_READ,
  TCB_REMOTE_ADDR, TCB_REMOTE_PORT, TCB_RTO, TCB_RTTVAR, TCB_SND_END, TCB_SND_MAX, TCB_SND_UNA, TCB_SRTT,
  TCB_SSTHRESH, TCB_STATE, TCB_TS_OFFSET, TCB_APP, TCB_ADDR_INDEX, TcbFlag, TcpStat, TCP_STATE, TCP_TUPLE, TcpState,
} from "../shared/abi";
import { hashTuple } from "../rss/hash";
import { seqGt } from "../wire/tcp";
import { releaseAll } from "./buffer";
import { tupleSecret } from "./isn";
import { neighborFor } from "./neighbor";
import { portGive } from "./ports";
import { cfg32, count, epochNs, initCwnd, nowNs, rtoInitial, rtoMax, rtoMin, tcbAt, tcbIndex } from "./state";
import { hashOf, indexInsert, indexRemove, tcbGive, tcbTake, tupleHash } from "./table";
import { timerCancel } from "./timer";

// @ts-ignore: decorator
@inline export function flags(t: usize): u32 { return load<u32>(t + TCB_FLAGS); }
// @ts-ignore: decorator
@inline export function setFlags(t: usize, f: u32): void { store<u32>(t + TCB_FLAGS, load<u32>(t + TCB_FLAGS) | f); }
// @ts-ignore: decorator
@inline export function clearFlags(t: usize, f: u32): void { store<u32>(t + TCB_FLAGS, load<u32>(t + TCB_FLAGS) & ~f); }
// @ts-ignore: decorator
@inline export function stateOf(t: usize): u32 { return <u32>load<u8>(t + TCB_STATE); }
// @ts-ignore: decorator
@inline export function setState(t: usize, s: u32): void { store<u8>(t + TCB_STATE, <u8>s); }
// @ts-ignore: decorator
@inline export function u32At(t: usize, f: usize): u32 { return load<u32>(t + f); }
// @ts-ignore: decorator
@inline export function setU32(t: usize, f: usize, v: u32): void { store<u32>(t + f, v); }

/**
 * Writes the hash input of the tuple (src, dst, sport, dport) for `family` at TCP_TUPLE and
 * returns the FieldSet the endpoint hashes that family with.
 */
const TUPLE: usize = TCP_STATE + TCP_TUPLE;

function writeTuple(family: u32, src: usize, dst: usize, sport: u32, dport: u32): i32 {
  const a: usize = family == 4 ? 4 : 16;
  memory.copy(TUPLE, src, a);
  memory.copy(TUPLE + a, dst, a);
  store<u16>(TUPLE + 2 * a, bswap<u16>(<u16>sport));
  store<u16>(TUPLE + 2 * a + 2, bswap<u16>(<u16>dport));
  return <i32>cfg32(family == 4 ? CFG_FIELDS4 : CFG_FIELDS6);
}

/**
 * A new TCB for the 4-tuple (addresses network order, 4 or 16 bytes by family; ports host order),
 * filed in the index, with its ISN and timestamp offset (RFC 6528), the RSS hash the peer's NIC
 * gives our frames, and its next hop. 0 when no TCB is free (counted).
 */
export function tcbCreate(family: u32, local: usize, remote: usize, lport: u32, rport: u32, app: u32, active: bool): usize {
  const t = tcbTake();
  if (t == 0) {
    count(TcpStat.TCB_EXHAUSTED);
    return 0;
  }
  const a: usize = family == 4 ? 4 : 16;
  store<u8>(t + TCB_FAMILY, <u8>family);
  store<u8>(t + TCB_APP, <u8>app);
  store<u16>(t + TCB_LOCAL_PORT, <u16>lport);
  store<u16>(t + TCB_REMOTE_PORT, <u16>rport);
  memory.copy(t + TCB_LOCAL_ADDR, local, a);
  memory.copy(t + TCB_REMOTE_ADDR, remote, a);
  const hash = tupleHash(family, local, remote, lport | (rport << 16));
  store<u32>(t + TCB_HASH, hash);
  indexInsert(hash, tcbIndex(t) + 1);
  const fields = writeTuple(family, local, remote, lport, rport);
  store<u32>(t + TCB_PEER_HASH, hashTuple(TUPLE, fields));
  const secret = tupleSecret(TUPLE, family == 4 ? 12 : 36);
  // M: a clock ticking every 4 us (RFC 6528 section 3), so a later incarnation of the tuple
  // starts above where an earlier one left off.
  store<u32>(t + TCB_ISS, <u32>secret + <u32>(nowNs / 4000));
  // TSval: the tuple's offset and a ms clock from the Unix epoch (RFC 7323 5.4: monotonic for
  // the tuple), not from the engine's start: a later run's SYN must not look older than the last
  // one's to a peer still holding the tuple in TIME-WAIT (Linux's PAWS check would refuse it).
  store<u32>(t + TCB_TS_OFFSET, <u32>(secret >> 32) + <u32>(epochNs / 1000000));
  store<u16>(t + TCB_NEIGHBOR, <u16>neighborFor(family, remote));
  store<u32>(t + TCB_RTO, rtoInitial);
  if (active) setFlags(t, TcbFlag.ACTIVE);
  return t;
}

// ---- the output list: TCBs with something to send, in the order they asked ----

let outputHead: u32 = 0; // TCB index + 1
let outputTail: u32 = 0;

export function resetOutput(): void {
  outputHead = 0;
  outputTail = 0;
}

export function queueOutput(t: usize): void {
  if (flags(t) & TcbFlag.OUTPUT) return;
  setFlags(t, TcbFlag.OUTPUT);
  const me = tcbIndex(t) + 1;
  store<u32>(t + TCB_OUTPUT_NEXT, 0);
  if (outputTail != 0) store<u32>(tcbAt(outputTail - 1) + TCB_OUTPUT_NEXT, me);
  else outputHead = me;
  outputTail = me;
}

/** The first TCB of the output list, taken off it (0 when empty). */
export function takeOutput(): usize {
  if (outputHead == 0) return 0;
  const t = tcbAt(outputHead - 1);
  outputHead = load<u32>(t + TCB_OUTPUT_NEXT);
  if (outputHead == 0) outputTail = 0;
  clearFlags(t, TcbFlag.OUTPUT);
  return t;
}

/** Puts `t` back at the head (the transmit slot filled while it was sending). */
export function requeueFirst(t: usize): void {
  setFlags(t, TcbFlag.OUTPUT);
  store<u32>(t + TCB_OUTPUT_NEXT, outputHead);
  outputHead = tcbIndex(t) + 1;
  if (outputTail == 0) outputTail = outputHead;
}

export function outputPending(): bool {
  return outputHead != 0;
}

/**
 * Ends a connection's TCB: off the wheel, out of the index (unless TIME-WAIT took its slot:
 * `keepIndex`), its chunks back to the pool, its port back to the destination's pool (unless
 * TIME-WAIT keeps it: `keepPort`). A TCB still on the output list is freed when the output pass
 * reaches it.
 */
export function tcbRelease(t: usize, keepIndex: bool, keepPort: bool): void {
  timerCancel(t);
  if (!keepIndex) indexRemove(hashOf(t), tcbIndex(t) + 1);
  releaseAll(t);
  const dest = <u32>load<u16>(t + TCB_DEST);
  if (dest != 0 && !keepPort) portGive(dest - 1, <u32>load<u16>(t + TCB_ADDR_INDEX), <u32>load<u16>(t + TCB_LOCAL_PORT));
  setState(t, TcpState.CLOSED);
  count(TcpStat.CLOSED);
  if (flags(t) & TcbFlag.OUTPUT) setFlags(t, TcbFlag.RELEASED);
  else tcbGive(t);
}

// ---- stream offsets ----

/** The send-stream offset of SND.UNA: 0 until the SYN is acknowledged, at most the stream end. */
// @ts-ignore: decorator
@inline export function sendUnaOffset(t: usize): u32 {
  const o = <i32>(load<u32>(t + TCB_SND_UNA) - load<u32>(t + TCB_ISS) - 1);
  const end = load<u32>(t + TCB_SND_END);
  return o < 0 ? 0 : <i32>(<u32>o - end) > 0 ? end : <u32>o;
}

/** The sequence number of send-stream offset `o`. */
// @ts-ignore: decorator
@inline export function sendSeq(t: usize, o: u32): u32 { return load<u32>(t + TCB_ISS) + 1 + o; }

/** The receive-stream offset of RCV.NXT (the peer's FIN, once in, takes no stream byte). */
// @ts-ignore: decorator
@inline export function receiveNextOffset(t: usize): u32 {
  return load<u32>(t + TCB_RCV_NXT) - load<u32>(t + TCB_IRS) - 1 - (flags(t) & TcbFlag.FIN_RECEIVED ? 1 : 0);
}

// @ts-ignore: decorator
@inline export function receiveReadOffset(t: usize): u32 { return load<u32>(t + TCB_RCV_READ); }

/** Data the application wrote that has never been sent (SND.MAX's offset to the end). */
// @ts-ignore: decorator
@inline export function unsentBytes(t: usize): u32 {
  const sent = <i32>(load<u32>(t + TCB_SND_MAX) - load<u32>(t + TCB_ISS) - 1);
  const end = load<u32>(t + TCB_SND_END);
  return sent < 0 ? end : <i32>(end - <u32>sent) > 0 ? end - <u32>sent : 0;
}

// ---- RFC 6298: the retransmission timeout ----

/** A round-trip sample of `us` microseconds. */
export function rttSample(t: usize, us: u32): void {
  let srtt = load<u32>(t + TCB_SRTT), rttvar = load<u32>(t + TCB_RTTVAR);
  if (srtt == 0) {
    srtt = max<u32>(us, 1);
    rttvar = us >> 1;
  } else {
    const delta = srtt > us ? srtt - us : us - srtt;
    rttvar = rttvar - (rttvar >> 2) + (delta >> 2);
    srtt = srtt - (srtt >> 3) + (us >> 3);
  }
  store<u32>(t + TCB_SRTT, srtt);
  store<u32>(t + TCB_RTTVAR, rttvar);
  // RTO = SRTT + max(G, 4 RTTVAR) with a 1 ms clock, rounded up to ms, within [min, max].
  const rto = (srtt + max<u32>(1000, rttvar << 2) + 999) / 1000;
  store<u32>(t + TCB_RTO, min(max(rto, rtoMin), rtoMax));
}

// ---- congestion control: RFC 5681 with NewReno's recovery (RFC 6582) ----

/** The initial window (RFC 6928: min(10 MSS, max(2 MSS, 14600 bytes)) for IW = 10 segments). */
export function initialWindow(t: usize): void {
  const mss = <u32>load<u16>(t + TCB_MSS);
  store<u32>(t + TCB_CWND, min(initCwnd * mss, max(2 * mss, 1460 * initCwnd)));
  store<u32>(t + TCB_SSTHRESH, 0x7fffffff);
}

/** Bytes in flight: SND.MAX - SND.UNA. */
// @ts-ignore: decorator
@inline export function flight(t: usize): u32 {
  return load<u32>(t + TCB_SND_MAX) - load<u32>(t + TCB_SND_UNA);
}

/** ssthresh after a loss (RFC 5681 equation 4). */
// @ts-ignore: decorator
@inline export function lossThreshold(t: usize): u32 {
  return max<u32>(flight(t) >> 1, 2 * <u32>load<u16>(t + TCB_MSS));
}

/** The later of SND.MAX and `seq` becomes SND.MAX. */
// @ts-ignore: decorator
@inline export function advanceMax(t: usize, seq: u32): void {
  if (seqGt(seq, load<u32>(t + TCB_SND_MAX))) store<u32>(t + TCB_SND_MAX, seq);
}
