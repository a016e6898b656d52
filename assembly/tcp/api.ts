/**
 * What an application does with a connection, RFC 9293 3.10's user calls: OPEN (active), SEND,
 * RECEIVE, CLOSE, ABORT. Used by the applications in assembly/app and, through endpoint.ts's
 * exports, by the host (the RAW application: tests and library users).
 */
import {
  TCB_ADDR_INDEX, TCB_DEST, TCB_ISS, TCB_MSS, TCB_RCV_ADV, TCB_RCV_NXT, TCB_RCV_READ, TCB_RECOVER, TCB_SND_MAX,
  TCB_SND_NXT, TCB_SND_UNA, TcbFlag, TcpStat, TcpState, TcpStatus, TCP_LOCAL_SCRATCH, TCP_STATE,
} from "../shared/abi";
import * as tcp from "../wire/tcp";
import { localAddress } from "./address";
import { AppEnd, appClosed } from "./app";
import { piece, receivePiece, receiveRelease, receiveWindow, sendWrite } from "./buffer";
import { txHasRoom, sendControl } from "./output";
import { destOpen, portGive, portTake, slotAddress, slotPort } from "./ports";
import { count, rcvbuf, tcbIndex } from "./state";
import { hashOf, indexFind, indexRemove, tupleHash } from "./table";
import {
  flags, queueOutput, receiveNextOffset, sendUnaOffset, setFlags, setState, stateOf, tcbCreate, tcbRelease,
} from "./tcb";

const LOCAL: usize = TCP_STATE + TCP_LOCAL_SCRATCH;

/**
 * Opens a connection to (family, remote, port) from a port of this core's pool for that
 * destination (made on first use). Returns the TCB, or -TcpStatus: NO_PORT (the pool is empty:
 * counted TcpStat.PORT_EXHAUSTED), NO_TCB, NO_DESTINATION, BAD_ADDRESS, IN_USE.
 */
export function open(family: u32, remote: usize, port: u32, app: u32): i32 {
  const dest = destOpen(family, remote, port);
  if (dest < 0) return dest;
  const slot = portTake(<u32>dest);
  if (slot < 0) {
    count(TcpStat.PORT_EXHAUSTED);
    return -TcpStatus.NO_PORT;
  }
  const a = slotAddress(<u32>dest, <u32>slot), lport = slotPort(<u32>dest, <u32>slot);
  localAddress(family, a, LOCAL);
  // The pool never hands out a port in use; a listener's connection could hold the tuple.
  if (indexFind(tupleHash(family, LOCAL, remote, lport | (port << 16)), family, LOCAL, remote, lport | (port << 16)) != 0) {
    portGive(<u32>dest, a, lport);
    return -TcpStatus.IN_USE;
  }
  const t = tcbCreate(family, LOCAL, remote, lport, port, app, true);
  if (t == 0) {
    portGive(<u32>dest, a, lport);
    return -TcpStatus.NO_TCB;
  }
  store<u16>(t + TCB_DEST, <u16>(dest + 1));
  store<u16>(t + TCB_ADDR_INDEX, <u16>a);
  setState(t, TcpState.SYN_SENT);
  const iss = load<u32>(t + TCB_ISS);
  store<u32>(t + TCB_SND_UNA, iss);
  store<u32>(t + TCB_SND_NXT, iss);
  store<u32>(t + TCB_SND_MAX, iss);
  store<u32>(t + TCB_RECOVER, iss);
  store<u16>(t + TCB_MSS, 536);
  count(TcpStat.OPENED);
  queueOutput(t);
  return <i32>tcbIndex(t);
}

/** SEND: appends up to `length` bytes from `src`; returns how many the buffer took. */
export function send(t: usize, src: usize, length: u32): u32 {
  const state = stateOf(t);
  if (state != TcpState.ESTABLISHED && state != TcpState.CLOSE_WAIT && state != TcpState.SYN_SENT && state != TcpState.SYN_RECEIVED) return 0;
  if (flags(t) & TcbFlag.FIN_QUEUED) return 0;
  const n = sendWrite(t, sendUnaOffset(t), src, length);
  if (n > 0) queueOutput(t);
  return n;
}

/**
 * RECEIVE (RAW application): copies up to `most` in-order bytes to `dst` and frees their room;
 * announces the larger window when it grew by enough (receiver SWS avoidance, RFC 9293
 * 3.8.6.2.2: min(half the buffer, one MSS)).
 */
export function receive(t: usize, dst: usize, most: u32): u32 {
  const from = load<u32>(t + TCB_RCV_READ);
  const next = receiveNextOffset(t);
  let at = from;
  while (at != next && at - from < most) {
    const p = receivePiece(t, at, next);
    const n = min(piece, most - (at - from));
    memory.copy(dst + (at - from), p, n);
    at += n;
  }
  store<u32>(t + TCB_RCV_READ, at);
  receiveRelease(t, from, at);
  const state = stateOf(t);
  if (at != from && (state == TcpState.ESTABLISHED || state == TcpState.FIN_WAIT_1 || state == TcpState.FIN_WAIT_2)) {
    const offered = <i32>(load<u32>(t + TCB_RCV_ADV) - load<u32>(t + TCB_RCV_NXT));
    const now = <i32>receiveWindow(at, next);
    if (now - max(offered, 0) >= <i32>min<u32>(rcvbuf >> 1, <u32>load<u16>(t + TCB_MSS))) {
      setFlags(t, TcbFlag.WINDOW_UPDATE);
      queueOutput(t);
    }
  }
  return at - from;
}

/** CLOSE: a FIN after the data (RFC 9293 3.10.4). */
export function close(t: usize): void {
  const state = stateOf(t);
  if (state == TcpState.SYN_SENT) {
    appClosed(t, AppEnd.ABORTED);
    tcbRelease(t, false, false);
    return;
  }
  if (flags(t) & TcbFlag.FIN_QUEUED) return;
  if (state == TcpState.SYN_RECEIVED) {
    setFlags(t, TcbFlag.FIN_QUEUED); // sent once the handshake completes
    return;
  }
  if (state == TcpState.ESTABLISHED) setState(t, TcpState.FIN_WAIT_1);
  else if (state == TcpState.CLOSE_WAIT) setState(t, TcpState.LAST_ACK);
  else return;
  setFlags(t, TcbFlag.FIN_QUEUED);
  queueOutput(t);
}

/**
 * ABORT: an RST now (or at the next output if the slot is full), and the TCB is gone. The
 * application hears it as every end (appClosed, AppEnd.ABORTED).
 */
export function abort(t: usize): void {
  count(TcpStat.ABORTS);
  appClosed(t, AppEnd.ABORTED);
  const state = stateOf(t);
  if (state == TcpState.SYN_SENT) {
    tcbRelease(t, false, false);
    return;
  }
  if (txHasRoom()) {
    sendControl(t, load<u32>(t + TCB_SND_NXT), load<u32>(t + TCB_RCV_NXT), tcp.RST | tcp.ACK, 0, false, 0, 0);
    tcbRelease(t, false, false);
    return;
  }
  // Out of the index now (what arrives meanwhile is answered as for no connection); the RST
  // goes out from the output list, which then frees the TCB.
  indexRemove(hashOf(t), tcbIndex(t) + 1);
  setState(t, TcpState.CLOSED);
  setFlags(t, TcbFlag.RST_QUEUED);
  queueOutput(t);
}
