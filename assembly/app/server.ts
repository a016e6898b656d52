/**
 * The HTTP/1.1 server (RFC 9112): answers every request with `200 OK` and CFG_APP_RESPONSE_BYTES
 * of the deterministic body (http.ts), enough to be a real peer for curl and wrk. Keep-alive is
 * honoured (HTTP/1.1 by default, HTTP/1.0 with `Connection: keep-alive`); a request that says
 * `Connection: close` is answered, then the server closes (and holds the TIME-WAIT). Pipelined
 * requests are answered in order. HEAD gets the headers alone.
 *
 * A response is written into the connection's send buffer as room appears (TcbFlag.
 * APP_WANTS_ROOM: the engine calls pump when ACKs free chunks), so a 1 MiB body never needs more
 * than the buffer. Connections idle for CFG_APP_IDLE ms between requests are closed.
 */
import {
  CFG_APP_IDLE, CFG_APP_RESPONSE_BYTES, TCB_APP_AT, TCB_APP_STATE, TcbFlag, TcpStat, TcpState,
} from "../shared/abi";
import { close } from "../tcp/api";
import { reserved, sendCommit, sendReserve } from "../tcp/buffer";
import { cfg32, cfg64, count, nowMs } from "../tcp/state";
import { queueOutput, sendUnaOffset, setFlags, stateOf } from "../tcp/tcb";
import {
  CLOSE, CLOSE_LENGTH, CONNECTION, CONNECTION_NAME, CONTENT_LENGTH, CONTENT_LENGTH_NAME, contains, decimalAt, findByte, FNV_START, fnv,
  KEEP_ALIVE, KEEP_ALIVE_LENGTH, lower, matchStep, nameIs, writeAscii, writeBody, writeDecimal,
} from "./http";

const PHASE: usize = TCB_APP_STATE + 0; // u8 Phase
const LINE: usize = TCB_APP_STATE + 1; // u8 header line part
const FLAGS: usize = TCB_APP_STATE + 2; // u16 ServerFlag
const ANSWERED: usize = TCB_APP_STATE + 4; // u32 responses written whole
const PENDING: usize = TCB_APP_STATE + 8; // u32 requests parsed and not yet answered whole
const NAME: usize = TCB_APP_STATE + 12; // u32 header name hash
const WRITTEN: usize = TCB_APP_STATE + 16; // u64 bytes of the current response written
const SKIP: usize = TCB_APP_STATE + 24; // u64 request body bytes still to skip
const MATCH: usize = TCB_APP_STATE + 32; // u32 token matchers: close (bits 0-7), keep-alive (8-15)
const TAIL: usize = TCB_APP_STATE + 36; // u32 the request line's last four bytes
const VALUE: usize = TCB_APP_STATE + 40; // u64 Content-Length being read
/** u32 the index of the request after which the server closes (0: none yet), and which pending
 *  requests are HEADs: a bit per pending request, the first 32 of them (later ones answer as GET) */
const CLOSE_AFTER: usize = TCB_APP_STATE + 48;
const HEADS: usize = TCB_APP_STATE + 52;

const enum Phase {
  /** the request line */
  REQUEST_LINE = 0,
  HEADERS = 1,
  /** a request body being skipped */
  BODY = 2,
  /** no more requests are read (one said close, or the peer closed) */
  DONE = 3,
}

const enum ServerFlag {
  /** this request is HTTP/1.0 */
  HTTP10 = 1,
  /** `Connection: close` (or 1.0 without keep-alive) */
  CLOSE = 2,
  KEEP_ALIVE = 4,
  HEAD = 8,
  /** the peer's FIN arrived */
  PEER_FIN = 16,
  /** the request line's method has been read */
  METHOD = 32,
}

const LINE_START: u8 = 0;
const LINE_NAME: u8 = 1;
const LINE_VALUE: u8 = 2;


let bodyBytes: u64 = 0;
let idleMs: u32 = 0;
// The two headers (keep-alive, close), built once.
let header: usize = 0;
let headerLength: u32 = 0;
let closeHeader: usize = 0;
let closeHeaderLength: u32 = 0;

export function configureServer(): void {
  bodyBytes = cfg64(CFG_APP_RESPONSE_BYTES);
  idleMs = cfg32(CFG_APP_IDLE);
  header = heap.alloc(256);
  closeHeader = heap.alloc(256);
  headerLength = buildHeader(header, false);
  closeHeaderLength = buildHeader(closeHeader, true);
}

function buildHeader(p: usize, closing: bool): u32 {
  let n = writeAscii(p, "HTTP/1.1 200 OK\r\nServer: rssplane\r\nContent-Type: application/octet-stream\r\nContent-Length: ");
  n += writeDecimal(p + n, bodyBytes);
  n += writeAscii(p + n, closing ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n");
  return n;
}

// @ts-ignore: decorator
@inline function flagsOf(t: usize): u32 { return <u32>load<u16>(t + FLAGS); }
// @ts-ignore: decorator
@inline function setFlag(t: usize, f: u32): void { store<u16>(t + FLAGS, <u16>(flagsOf(t) | f)); }

export function accepted(t: usize): void {
  count(TcpStat.APP_SERVED_CONNECTIONS);
}

export function established(t: usize): void {
  if (idleMs) store<u32>(t + TCB_APP_AT, nowMs + idleMs);
}

/** Request bytes, in order, as they arrive. */
export function receive(t: usize, p: usize, n: u32): void {
  let i: u32 = 0;
  while (i < n) {
    const phase = <u32>load<u8>(t + PHASE);
    if (phase == Phase.DONE) break;
    if (phase == Phase.BODY) {
      const skip = load<u64>(t + SKIP);
      const take = <u32>min<u64>(skip, <u64>(n - i));
      i += take;
      store<u64>(t + SKIP, skip - <u64>take);
      if (skip == <u64>take) requestDone(t);
      continue;
    }
    // A whole line in this piece (the common case): read it at once.
    const atLineStart = phase == Phase.REQUEST_LINE
      ? !(flagsOf(t) & ServerFlag.METHOD) && load<u32>(t + TAIL) == 0
      : load<u8>(t + LINE) == LINE_START;
    if (atLineStart) {
      const e = findByte(p + i, n - i, 10);
      if (e >= 0) {
        if (phase == Phase.REQUEST_LINE) requestLine(t, p + i, <u32>e);
        else requestHeaderLine(t, p + i, <u32>e);
        i += <u32>e + 1;
        continue;
      }
    }
    requestByte(t, phase, <u32>load<u8>(p + i));
    i++;
  }
  if (load<u32>(t + PENDING) > 0) {
    if (idleMs) store<u32>(t + TCB_APP_AT, 0);
    pump(t);
  }
}

/** A whole request line (`length` bytes before its LF): a HEAD, an HTTP/1.0 request. */
function requestLine(t: usize, s: usize, length: u32): void {
  let l = length;
  if (l > 0 && load<u8>(s + l - 1) == 13) l--;
  let f: u32 = ServerFlag.METHOD;
  if (l >= 5 && load<u32>(s) == 0x44414548 && load<u8>(s + 4) == 32) f |= ServerFlag.HEAD; // "HEAD "
  if (l >= 4 && load<u32>(s + l - 4) == 0x302e312f) f |= ServerFlag.HTTP10; // ".../1.0"
  setFlag(t, f);
  store<u8>(t + PHASE, Phase.HEADERS);
  store<u8>(t + LINE, LINE_START);
  store<u64>(t + SKIP, 0);
}

/** A whole header line of a request; the empty one ends the request's headers. */
function requestHeaderLine(t: usize, s: usize, length: u32): void {
  let l = length;
  if (l > 0 && load<u8>(s + l - 1) == 13) l--;
  if (l == 0) {
    headersEnd(t);
    return;
  }
  const colon = findByte(s, l, 58);
  if (colon < 0) return;
  const value = s + <usize>colon + 1, valueLength = l - <u32>colon - 1;
  if (colon == 10 && nameIs(s, 10, CONNECTION_NAME)) {
    if (contains(value, valueLength, CLOSE, CLOSE_LENGTH)) setFlag(t, ServerFlag.CLOSE);
    if (contains(value, valueLength, KEEP_ALIVE, KEEP_ALIVE_LENGTH)) setFlag(t, ServerFlag.KEEP_ALIVE);
  } else if (colon == 14 && nameIs(s, 14, CONTENT_LENGTH_NAME)) {
    store<u64>(t + SKIP, decimalAt(value, valueLength));
  }
}

function requestByte(t: usize, phase: u32, c: u32): void {
  if (phase == Phase.REQUEST_LINE) {
    if (c == 10) {
      // "... HTTP/1.0": the last four bytes before the line end.
      if (load<u32>(t + TAIL) == 0x302e312f) setFlag(t, ServerFlag.HTTP10); // "/1.0" little-endian
      store<u8>(t + PHASE, Phase.HEADERS);
      store<u8>(t + LINE, LINE_START);
      store<u64>(t + SKIP, 0);
      return;
    }
    if (c == 13) return;
    const tail = load<u32>(t + TAIL);
    store<u32>(t + TAIL, (tail >> 8) | (c << 24));
    if (c == 32 && !(flagsOf(t) & ServerFlag.METHOD)) {
      // The method ends at the first space: note a HEAD ("HEAD" as four bytes little-endian).
      setFlag(t, ServerFlag.METHOD | (tail == 0x44414548 ? ServerFlag.HEAD : 0));
    }
    return;
  }
  // HEADERS
  const part = load<u8>(t + LINE);
  if (part == LINE_START) {
    if (c == 13) return;
    if (c == 10) {
      headersEnd(t);
      return;
    }
    store<u8>(t + LINE, LINE_NAME);
    store<u32>(t + NAME, fnv(FNV_START, lower(c)));
    return;
  }
  if (c == 10) {
    store<u8>(t + LINE, LINE_START);
    return;
  }
  if (part == LINE_NAME) {
    if (c == 58) {
      store<u8>(t + LINE, LINE_VALUE);
      store<u32>(t + MATCH, 0);
      store<u64>(t + VALUE, 0);
    } else {
      store<u32>(t + NAME, fnv(load<u32>(t + NAME), lower(c)));
    }
    return;
  }
  const name = load<u32>(t + NAME);
  if (name == CONNECTION) {
    const m = load<u32>(t + MATCH);
    const closing = matchStep(m & 0xff, c, CLOSE, CLOSE_LENGTH), keep = matchStep(m >> 8, c, KEEP_ALIVE, KEEP_ALIVE_LENGTH);
    store<u32>(t + MATCH, closing | (keep << 8));
    if (closing == 255) setFlag(t, ServerFlag.CLOSE);
    if (keep == 255) setFlag(t, ServerFlag.KEEP_ALIVE);
  } else if (name == CONTENT_LENGTH && c - 48 <= 9) {
    store<u64>(t + VALUE, load<u64>(t + VALUE) * 10 + <u64>(c - 48));
    store<u64>(t + SKIP, load<u64>(t + VALUE));
  }
}

function headersEnd(t: usize): void {
  if (load<u64>(t + SKIP) > 0) {
    store<u8>(t + PHASE, Phase.BODY);
    return;
  }
  requestDone(t);
}

/** A whole request: one more answer owed; after a closing one, no more requests are read. */
function requestDone(t: usize): void {
  const f = flagsOf(t);
  const pending = load<u32>(t + PENDING);
  if ((f & ServerFlag.HEAD) && pending < 32) store<u32>(t + HEADS, load<u32>(t + HEADS) | (<u32>1 << pending));
  store<u32>(t + PENDING, pending + 1);
  const closing = (f & ServerFlag.CLOSE) != 0 || ((f & ServerFlag.HTTP10) != 0 && !(f & ServerFlag.KEEP_ALIVE));
  store<u16>(t + FLAGS, <u16>(f & ServerFlag.PEER_FIN));
  store<u32>(t + TAIL, 0);
  if (closing) {
    store<u32>(t + CLOSE_AFTER, load<u32>(t + ANSWERED) + pending + 1);
    store<u8>(t + PHASE, Phase.DONE);
    return;
  }
  store<u8>(t + PHASE, Phase.REQUEST_LINE);
}

/** Writes answers while the send buffer has room; asks for more room when it fills. */
export function pump(t: usize): void {
  const state = stateOf(t);
  if (state != TcpState.ESTABLISHED && state != TcpState.CLOSE_WAIT) return;
  while (load<u32>(t + PENDING) > 0) {
    const index = load<u32>(t + ANSWERED) + 1;
    const closing = load<u32>(t + CLOSE_AFTER) == index;
    const h = closing ? closeHeader : header;
    const hl = closing ? closeHeaderLength : headerLength;
    const total = <u64>hl + ((load<u32>(t + HEADS) & 1) ? 0 : bodyBytes);
    let written = load<u64>(t + WRITTEN);
    while (written < total) {
      const at = sendReserve(t, sendUnaOffset(t), <u32>min<u64>(total - written, 0x40000000));
      const n = reserved;
      if (n == 0) {
        store<u64>(t + WRITTEN, written);
        setFlags(t, TcbFlag.APP_WANTS_ROOM);
        return;
      }
      // The header's bytes, then the body's.
      let done: u32 = 0;
      if (written < <u64>hl) {
        done = min<u32>(hl - <u32>written, n);
        memory.copy(at, h + <usize>written, done);
      }
      if (done < n) writeBody(at + done, written + <u64>done - <u64>hl, n - done);
      sendCommit(t, n);
      count(TcpStat.APP_SERVED_BYTES, n);
      written += <u64>n;
      queueOutput(t);
    }
    store<u64>(t + WRITTEN, 0);
    store<u32>(t + PENDING, load<u32>(t + PENDING) - 1);
    store<u32>(t + HEADS, load<u32>(t + HEADS) >> 1);
    store<u32>(t + ANSWERED, index);
    count(TcpStat.APP_SERVED_REQUESTS);
    if (closing) {
      close(t);
      return;
    }
  }
  if (flagsOf(t) & ServerFlag.PEER_FIN) {
    close(t); // every answer written: our FIN follows them
    return;
  }
  if (idleMs) store<u32>(t + TCB_APP_AT, nowMs + idleMs);
}

export function peerClosed(t: usize): void {
  setFlag(t, ServerFlag.PEER_FIN);
  store<u8>(t + PHASE, Phase.DONE);
  if (load<u32>(t + PENDING) == 0) close(t);
}

export function closed(t: usize, why: u32): void {}

/** Idle past CFG_APP_IDLE with nothing asked: close. Returns false when t is gone. */
export function timer(t: usize): bool {
  if (load<u32>(t + PENDING) == 0 && stateOf(t) == TcpState.ESTABLISHED) {
    count(TcpStat.APP_IDLE_CLOSED);
    close(t);
  }
  return true;
}
