/**
 * The HTTP/1.1 client (RFC 9112): on every core, keeps CFG_APP_CONCURRENCY connections open to
 * one server, each sending CFG_APP_REQUESTS requests one after another (the last with
 * `Connection: close`, so the server closes first and holds the TIME-WAIT), reading each response
 * to its end (Content-Length, chunked, or until the server closes), counting status codes and
 * body bytes, keeping a CRC-32 of each body, and timing every request and every connect into
 * log-linear histograms. Bytes are parsed in place as TCP hands them over: no line is buffered.
 *
 * A connection ends as CFG_APP_CLOSE says: FIN (answer the server's FIN; close first only when
 * the server keeps the connection open) or RST (abort after the last response). Its errors are
 * the JSON's: connect_timeout, reset, timeout, bad_response (port_exhausted is the engine's).
 */
import {
  APP_CONNECT_MAX, APP_CONNECT_TIME, APP_DIGEST_OVERFLOW, APP_DIGESTS, APP_DONE, APP_LATENCY, APP_LATENCY_MAX,
  APP_STATUS, APP_STOPPED, AppKind, CFG_APP, CFG_APP_CLOSE, CFG_APP_CONCURRENCY, CFG_APP_CONNECTIONS,
  CFG_APP_DIGEST, CFG_APP_FAMILY, CFG_APP_LAST_REQUEST, CFG_APP_LAST_REQUEST_LENGTH, CFG_APP_PORT, CFG_APP_REMOTE,
  CFG_APP_REQUEST, CFG_APP_REQUEST_LENGTH, CFG_APP_REQUESTS, CFG_APP_TIMEOUT, CloseMode, DIGESTS_MAX,
  TCB_APP_AT, TCB_APP_STATE, TcbFlag, TcpStat, TcpStatus, TCP_STATE,
} from "../shared/abi";
import { AppEnd } from "../tcp/app";
import { abort, close, open, send } from "../tcp/api";
import { cfg32, cfg64, cfgAt, count, nowMs, nowNs, setCount, tcbAt } from "../tcp/state";
import { setFlags } from "../tcp/tcb";
import { crc32Update } from "./crc32";
import { histogramRecord } from "./histogram";
import {
  CHUNKED, CHUNKED_LENGTH, CLOSE, CLOSE_LENGTH, CONNECTION, CONNECTION_NAME, CONTENT_LENGTH, CONTENT_LENGTH_NAME, contains, decimalAt,
  findByte, FNV_START, fnv, HTTP_SLASH, lower, matchStep, nameIs, TRANSFER_ENCODING, TRANSFER_ENCODING_NAME,
} from "./http";

// A connection's state, at TCB_APP_STATE.
const PHASE: usize = TCB_APP_STATE + 0; // u8 Phase
const LINE: usize = TCB_APP_STATE + 1; // u8: position in the status line, or the header line's part
const FLAGS: usize = TCB_APP_STATE + 2; // u16 ClientFlag
const REQUESTS: usize = TCB_APP_STATE + 4; // u32 requests sent
const STATUS: usize = TCB_APP_STATE + 8; // u32 status code
const NAME: usize = TCB_APP_STATE + 12; // u32 header name hash
const REMAINING: usize = TCB_APP_STATE + 16; // u64 body (or chunk) bytes still to come
const DIGEST: usize = TCB_APP_STATE + 24; // u32 CRC-32 of this body so far
const MATCH: usize = TCB_APP_STATE + 28; // u32 token matcher states (8 bits each)
const SENT_AT: usize = TCB_APP_STATE + 32; // u64 ns the request went
const STARTED_AT: usize = TCB_APP_STATE + 40; // u64 ns the SYN went
const VALUE: usize = TCB_APP_STATE + 48; // u64 a number being read (Content-Length, chunk size)
const WRITTEN: usize = TCB_APP_STATE + 56; // u32 bytes of the current request written

const enum Phase {
  CONNECTING = 0,
  /** the status line */
  STATUS = 1,
  HEADERS = 2,
  /** a body of known length */
  BODY = 3,
  CHUNK_SIZE = 4,
  CHUNK_DATA = 5,
  /** the CRLF after a chunk's data */
  CHUNK_END = 6,
  TRAILERS = 7,
  /** a body that ends when the server closes */
  UNTIL_CLOSE = 8,
  /** every response read; waiting for the server's FIN (or closing) */
  FINISHED = 9,
}

const enum ClientFlag {
  /** the response says `Connection: close` */
  CLOSE = 1,
  CHUNKED = 2,
  LENGTH = 4,
  /** the request now answered is the connection's last */
  LAST = 8,
  /** the server's FIN has arrived */
  PEER_FIN = 16,
  /** a chunk-size line's extension (after ';') is being skipped */
  EXTENSION = 32,
  /** the request is not all written yet (no chunk was free) */
  WRITING = 64,
  /** every response read: the connection did its work */
  COMPLETE = 128,
}

// Header line parts (LINE in Phase.HEADERS and TRAILERS).
const LINE_START: u8 = 0;
const LINE_NAME: u8 = 1;
const LINE_VALUE: u8 = 2;
const LINE_SKIP: u8 = 3;

let open_: u32 = 0;
let started: u64 = 0;
let target: u64 = 0;
let concurrency: u32 = 0;
let requests: u32 = 1;
let closeMode: u32 = 0;
let timeoutMs: u32 = 2000;
let digest: bool = false;
let statuses: usize = 0;
let latency: usize = 0;
let connectTime: usize = 0;
let digests: usize = 0;

// @ts-ignore: decorator
@inline function u8At(t: usize, f: usize): u32 { return <u32>load<u8>(t + f); }
// @ts-ignore: decorator
@inline function flagsOf(t: usize): u32 { return <u32>load<u16>(t + FLAGS); }
// @ts-ignore: decorator
@inline function setFlag(t: usize, f: u32): void { store<u16>(t + FLAGS, <u16>(flagsOf(t) | f)); }

/** The client's buffers (statuses, histograms and digests are the host's to read at the end). */
export function configureClient(): void {
  open_ = 0;
  started = 0;
  target = cfg64(CFG_APP_CONNECTIONS);
  concurrency = cfg32(CFG_APP_CONCURRENCY);
  requests = max<u32>(cfg32(CFG_APP_REQUESTS), 1);
  closeMode = cfg32(CFG_APP_CLOSE);
  timeoutMs = cfg32(CFG_APP_TIMEOUT);
  digest = cfg32(CFG_APP_DIGEST) != 0;
  statuses = <usize>load<u32>(TCP_STATE + APP_STATUS);
  latency = <usize>load<u32>(TCP_STATE + APP_LATENCY);
  connectTime = <usize>load<u32>(TCP_STATE + APP_CONNECT_TIME);
  digests = <usize>load<u32>(TCP_STATE + APP_DIGESTS);
  store<u32>(TCP_STATE + APP_DONE, 0);
  store<u32>(TCP_STATE + APP_STOPPED, 0);
}

function done(): void {
  const stopped = load<u32>(TCP_STATE + APP_STOPPED) != 0 || (target != 0 && started >= target);
  store<u32>(TCP_STATE + APP_DONE, stopped && open_ == 0 ? 1 : 0);
  setCount(TcpStat.APP_OPEN, open_);
}

/** Opens connections until CFG_APP_CONCURRENCY are open (or every one has been started). */
export function poll(): void {
  if (cfg32(CFG_APP) != AppKind.HTTP_CLIENT) return;
  const family = cfg32(CFG_APP_FAMILY), port = cfg32(CFG_APP_PORT);
  while (open_ < concurrency && load<u32>(TCP_STATE + APP_STOPPED) == 0 && (target == 0 || started < target)) {
    const i = open(family, cfgAt(CFG_APP_REMOTE), port, AppKind.HTTP_CLIENT);
    if (i < 0) {
      // No port (a counted stall: TIME-WAIT holds them) or no TCB: try again next poll.
      if (i == -TcpStatus.NO_PORT || i == -TcpStatus.NO_TCB || i == -TcpStatus.IN_USE) break;
      store<u32>(TCP_STATE + APP_STOPPED, 1); // a destination the engine cannot reach at all
      break;
    }
    const t = tcbAt(<u32>i);
    memory.fill(t + TCB_APP_STATE, 0, 64);
    store<u64>(t + STARTED_AT, nowNs);
    store<u32>(t + TCB_APP_AT, nowMs + timeoutMs);
    open_++;
    started++;
    count(TcpStat.APP_STARTED);
  }
  done();
}

/** No more connections: those open finish, and the client is done. */
export function stopOpening(): void {
  store<u32>(TCP_STATE + APP_STOPPED, 1);
  done();
}

export function established(t: usize): void {
  const ns = nowNs - load<u64>(t + STARTED_AT);
  histogramRecord(connectTime, ns);
  if (ns > load<u64>(TCP_STATE + APP_CONNECT_MAX)) store<u64>(TCP_STATE + APP_CONNECT_MAX, ns);
  sendRequest(t);
}

/** Writes the next request (the last one says `Connection: close` when closing by FIN). */
function sendRequest(t: usize): void {
  const n = load<u32>(t + REQUESTS) + 1;
  const last = n >= requests;
  const useLast = last && closeMode == CloseMode.FIN;
  const at = <usize>cfg32(useLast ? CFG_APP_LAST_REQUEST : CFG_APP_REQUEST);
  const length = cfg32(useLast ? CFG_APP_LAST_REQUEST_LENGTH : CFG_APP_REQUEST_LENGTH);
  store<u32>(t + REQUESTS, n);
  let f = flagsOf(t) & ~(ClientFlag.CLOSE | ClientFlag.CHUNKED | ClientFlag.LENGTH | ClientFlag.LAST);
  if (last) f |= ClientFlag.LAST;
  store<u16>(t + FLAGS, <u16>f);
  store<u8>(t + PHASE, Phase.STATUS);
  store<u8>(t + LINE, 0);
  store<u32>(t + STATUS, 0);
  store<u32>(t + DIGEST, 0);
  store<u64>(t + SENT_AT, nowNs);
  store<u32>(t + TCB_APP_AT, nowMs + timeoutMs);
  const written = send(t, at, length);
  store<u32>(t + WRITTEN, written);
  if (written < length) {
    setFlag(t, ClientFlag.WRITING);
    setFlags(t, TcbFlag.APP_WANTS_ROOM);
  }
}

/** Room again: the rest of a request that did not fit. */
export function pump(t: usize): void {
  if (!(flagsOf(t) & ClientFlag.WRITING)) return;
  const last = (flagsOf(t) & ClientFlag.LAST) && closeMode == CloseMode.FIN;
  const at = <usize>cfg32(last ? CFG_APP_LAST_REQUEST : CFG_APP_REQUEST);
  const length = cfg32(last ? CFG_APP_LAST_REQUEST_LENGTH : CFG_APP_REQUEST_LENGTH);
  const done = load<u32>(t + WRITTEN);
  const n = send(t, at + done, length - done);
  store<u32>(t + WRITTEN, done + n);
  if (done + n == length) store<u16>(t + FLAGS, <u16>(flagsOf(t) & ~ClientFlag.WRITING));
  else setFlags(t, TcbFlag.APP_WANTS_ROOM);
}

/** A response that is not HTTP/1.x (or cut short): counted, and the connection aborted. */
function badResponse(t: usize): void {
  count(TcpStat.APP_BAD_RESPONSE);
  setFlag(t, ClientFlag.COMPLETE); // counted: closed() must not count it again
  abort(t);
}

/** Response bytes, in order, as they arrive. */
export function receive(t: usize, p: usize, n: u32): void {
  let i: u32 = 0;
  while (i < n) {
    const phase = u8At(t, PHASE);
    if (phase == Phase.BODY || phase == Phase.CHUNK_DATA || phase == Phase.UNTIL_CLOSE) {
      // Body bytes in bulk: counted, digested, skipped.
      const remaining = load<u64>(t + REMAINING);
      const take = phase == Phase.UNTIL_CLOSE ? n - i : <u32>min<u64>(remaining, <u64>(n - i));
      body(t, p + i, take);
      i += take;
      if (phase == Phase.UNTIL_CLOSE) continue;
      store<u64>(t + REMAINING, remaining - <u64>take);
      if (remaining - <u64>take == 0) {
        if (phase == Phase.BODY) {
          if (!responseDone(t)) return;
        } else {
          store<u8>(t + PHASE, Phase.CHUNK_END);
        }
      }
      continue;
    }
    // A whole line in this piece (the common case): read it at once.
    if ((phase == Phase.STATUS && u8At(t, LINE) == 0) || (phase == Phase.HEADERS && load<u8>(t + LINE) == LINE_START)) {
      const e = findByte(p + i, n - i, 10);
      if (e >= 0) {
        if (!(phase == Phase.STATUS ? statusLine(t, p + i, <u32>e) : headerLine(t, p + i, <u32>e))) return;
        i += <u32>e + 1;
        continue;
      }
    }
    if (phase == Phase.FINISHED || phase == Phase.CONNECTING) {
      // Bytes after the last response, or before a request: not HTTP as we speak it.
      badResponse(t);
      return;
    }
    const c = <u32>load<u8>(p + i);
    i++;
    if (!headerByte(t, phase, c)) return;
  }
}

/** A whole status line (`length` bytes before its LF): "HTTP/1.x SSS ...". False: t is gone. */
function statusLine(t: usize, s: usize, length: u32): bool {
  if (length < 12 || memory.compare(s, HTTP_SLASH, 5) != 0 || load<u8>(s + 6) != 46 || load<u8>(s + 8) != 32
    || <u32>load<u8>(s + 5) - 48 > 9 || <u32>load<u8>(s + 7) - 48 > 9) {
    badResponse(t);
    return false;
  }
  let status: u32 = 0;
  for (let k: u32 = 9; k < 12; k++) {
    const d = <u32>load<u8>(s + k) - 48;
    if (d > 9) {
      badResponse(t);
      return false;
    }
    status = status * 10 + d;
  }
  store<u32>(t + STATUS, status);
  store<u8>(t + PHASE, Phase.HEADERS);
  store<u8>(t + LINE, LINE_START);
  return true;
}

/** A whole header line (`length` bytes before its LF); the empty one ends the headers. */
function headerLine(t: usize, s: usize, length: u32): bool {
  let l = length;
  if (l > 0 && load<u8>(s + l - 1) == 13) l--;
  if (l == 0) return headersEnd(t);
  const colon = findByte(s, l, 58);
  if (colon < 0) return true;
  const value = s + <usize>colon + 1, valueLength = l - <u32>colon - 1;
  if (colon == 14 && nameIs(s, 14, CONTENT_LENGTH_NAME)) {
    const v = decimalAt(value, valueLength);
    store<u64>(t + VALUE, v);
    store<u64>(t + REMAINING, v);
    setFlag(t, ClientFlag.LENGTH);
  } else if (colon == 17 && nameIs(s, 17, TRANSFER_ENCODING_NAME)) {
    if (contains(value, valueLength, CHUNKED, CHUNKED_LENGTH)) setFlag(t, ClientFlag.CHUNKED);
  } else if (colon == 10 && nameIs(s, 10, CONNECTION_NAME)) {
    if (contains(value, valueLength, CLOSE, CLOSE_LENGTH)) setFlag(t, ClientFlag.CLOSE);
  }
  return true;
}

/** One byte of the status line, a header, a chunk-size line or a trailer. False: t is gone. */
function headerByte(t: usize, phase: u32, c: u32): bool {
  if (phase == Phase.STATUS) {
    const at = u8At(t, LINE);
    if (at < 5) {
      if (c != <u32>load<u8>(HTTP_SLASH + at)) { badResponse(t); return false; }
    } else if (at == 5 || at == 7) {
      if (c - 48 > 9) { badResponse(t); return false; }
    } else if (at == 6) {
      if (c != 46) { badResponse(t); return false; }
    } else if (at == 8) {
      if (c != 32) { badResponse(t); return false; }
    } else if (at < 12) {
      if (c - 48 > 9) { badResponse(t); return false; }
      store<u32>(t + STATUS, load<u32>(t + STATUS) * 10 + c - 48);
    } else if (c == 10) {
      store<u8>(t + PHASE, Phase.HEADERS);
      store<u8>(t + LINE, LINE_START);
      return true;
    }
    if (at < 12) store<u8>(t + LINE, <u8>(at + 1));
    return true;
  }
  if (phase == Phase.HEADERS || phase == Phase.TRAILERS) {
    const part = load<u8>(t + LINE);
    if (part == LINE_START) {
      if (c == 13) return true;
      if (c == 10) return phase == Phase.HEADERS ? headersEnd(t) : responseDone(t);
      store<u8>(t + LINE, phase == Phase.TRAILERS ? LINE_SKIP : LINE_NAME);
      store<u32>(t + NAME, fnv(FNV_START, lower(c)));
      return true;
    }
    if (c == 10) {
      store<u8>(t + LINE, LINE_START);
      return true;
    }
    if (part == LINE_NAME) {
      if (c == 58) {
        store<u8>(t + LINE, LINE_VALUE);
        store<u32>(t + MATCH, 0);
        store<u64>(t + VALUE, 0);
      } else {
        store<u32>(t + NAME, fnv(load<u32>(t + NAME), lower(c)));
      }
      return true;
    }
    if (part == LINE_VALUE) {
      const name = load<u32>(t + NAME);
      if (name == CONTENT_LENGTH) {
        if (c - 48 <= 9) {
          store<u64>(t + VALUE, load<u64>(t + VALUE) * 10 + <u64>(c - 48));
          setFlag(t, ClientFlag.LENGTH);
        }
        store<u64>(t + REMAINING, load<u64>(t + VALUE));
      } else if (name == TRANSFER_ENCODING) {
        const m = matchStep(load<u32>(t + MATCH), c, CHUNKED, CHUNKED_LENGTH);
        store<u32>(t + MATCH, m);
        if (m == 255) setFlag(t, ClientFlag.CHUNKED);
      } else if (name == CONNECTION) {
        const m = matchStep(load<u32>(t + MATCH), c, CLOSE, CLOSE_LENGTH);
        store<u32>(t + MATCH, m);
        if (m == 255) setFlag(t, ClientFlag.CLOSE);
      }
    }
    return true;
  }
  if (phase == Phase.CHUNK_SIZE) {
    if (c == 10) {
      const size = load<u64>(t + VALUE);
      store<u64>(t + VALUE, 0);
      store<u16>(t + FLAGS, <u16>(flagsOf(t) & ~ClientFlag.EXTENSION));
      if (size == 0) {
        store<u8>(t + PHASE, Phase.TRAILERS);
        store<u8>(t + LINE, LINE_START);
      } else {
        store<u64>(t + REMAINING, size);
        store<u8>(t + PHASE, Phase.CHUNK_DATA);
      }
      return true;
    }
    if (flagsOf(t) & ClientFlag.EXTENSION || c == 13) return true;
    if (c == 59) { setFlag(t, ClientFlag.EXTENSION); return true; }
    const l = lower(c);
    const digit = l - 48 <= 9 ? l - 48 : l - 97 < 6 ? l - 87 : 0xff;
    if (digit == 0xff || load<u64>(t + VALUE) >> 60) { badResponse(t); return false; }
    store<u64>(t + VALUE, (load<u64>(t + VALUE) << 4) | <u64>digit);
    return true;
  }
  if (phase == Phase.CHUNK_END) {
    if (c == 10) {
      store<u8>(t + PHASE, Phase.CHUNK_SIZE);
      store<u64>(t + VALUE, 0);
    }
    return true;
  }
  return true;
}

/** The empty line after the headers: where the body's end will be. */
function headersEnd(t: usize): bool {
  const status = load<u32>(t + STATUS);
  if (status < 200) {
    // 1xx: an interim response; the real one follows.
    store<u8>(t + PHASE, Phase.STATUS);
    store<u8>(t + LINE, 0);
    store<u32>(t + STATUS, 0);
    return true;
  }
  const f = flagsOf(t);
  if (status == 204 || status == 304) return responseDone(t);
  if (f & ClientFlag.CHUNKED) {
    store<u8>(t + PHASE, Phase.CHUNK_SIZE);
    store<u64>(t + VALUE, 0);
    return true;
  }
  if (f & ClientFlag.LENGTH) {
    if (load<u64>(t + REMAINING) == 0) return responseDone(t);
    store<u8>(t + PHASE, Phase.BODY);
    return true;
  }
  store<u8>(t + PHASE, Phase.UNTIL_CLOSE);
  return true;
}

// @ts-ignore: decorator
@inline function body(t: usize, p: usize, n: u32): void {
  count(TcpStat.APP_BODY_BYTES, n);
  if (digest) store<u32>(t + DIGEST, crc32Update(load<u32>(t + DIGEST), p, n));
}

/** A response read to its end: counted and timed; then the next request, or the close. */
function responseDone(t: usize): bool {
  count(TcpStat.APP_RESPONSES);
  const status = load<u32>(t + STATUS);
  if (status < 600) {
    const s = statuses + (<usize>status << 2);
    store<u32>(s, load<u32>(s) + 1);
  }
  const ns = nowNs - load<u64>(t + SENT_AT);
  histogramRecord(latency, ns);
  if (ns > load<u64>(TCP_STATE + APP_LATENCY_MAX)) store<u64>(TCP_STATE + APP_LATENCY_MAX, ns);
  if (digest) recordDigest(load<u32>(t + DIGEST));
  const f = flagsOf(t);
  if (!(f & (ClientFlag.LAST | ClientFlag.CLOSE | ClientFlag.PEER_FIN))) {
    sendRequest(t);
    return true;
  }
  // The connection's work is done.
  setFlag(t, ClientFlag.COMPLETE);
  count(TcpStat.APP_COMPLETED);
  store<u8>(t + PHASE, Phase.FINISHED);
  if (closeMode == CloseMode.RST) {
    abort(t);
    return false;
  }
  if (f & ClientFlag.PEER_FIN) {
    close(t);
  } else if (!(f & ClientFlag.CLOSE) && !((f & ClientFlag.LAST) && closeMode == CloseMode.FIN)) {
    close(t); // the server keeps it open: we close first (and hold the TIME-WAIT)
  } else {
    store<u32>(t + TCB_APP_AT, nowMs + timeoutMs); // its FIN is on the way
  }
  return true;
}

/** Adds a body's CRC-32 to the counts (DIGESTS_MAX distinct ones; beyond, counted apart). */
function recordDigest(crc: u32): void {
  for (let i: u32 = 0; i < <u32>DIGESTS_MAX; i++) {
    const e = digests + (<usize>i << 3);
    const n = load<u32>(e, 4);
    if (n != 0 && load<u32>(e) != crc) continue;
    store<u32>(e, crc);
    store<u32>(e, n + 1, 4);
    return;
  }
  const o = TCP_STATE + APP_DIGEST_OVERFLOW;
  store<u32>(o, load<u32>(o) + 1);
}

export function peerClosed(t: usize): void {
  setFlag(t, ClientFlag.PEER_FIN);
  const phase = u8At(t, PHASE);
  if (phase == Phase.UNTIL_CLOSE) {
    responseDone(t);
    return;
  }
  if (phase == Phase.FINISHED) {
    close(t);
    return;
  }
  // The server closed before the response ended.
  badResponse(t);
}

/**
 * The connection ended. One that did not finish its work is an error: no connection or no
 * answer in time (the retry limit), reset (an RST, also to our SYN), or closed before a response
 * ended (bad_response). Errors found here first (timers, parse errors) were counted already.
 */
export function closed(t: usize, why: u32): void {
  open_--;
  if (!(flagsOf(t) & ClientFlag.COMPLETE)) {
    const connecting = u8At(t, PHASE) == Phase.CONNECTING;
    if (why == AppEnd.TIMEOUT) count(connecting ? TcpStat.APP_CONNECT_TIMEOUT : TcpStat.APP_TIMEOUT);
    else if (why == AppEnd.RESET || why == AppEnd.REFUSED) count(TcpStat.APP_RESET);
    else count(TcpStat.APP_BAD_RESPONSE);
  }
  done();
}

/** The connection's timer: no connection or no response in time. Returns false: t is gone. */
export function timer(t: usize): bool {
  const phase = u8At(t, PHASE);
  if (phase != Phase.FINISHED) {
    count(phase == Phase.CONNECTING ? TcpStat.APP_CONNECT_TIMEOUT : TcpStat.APP_TIMEOUT);
  }
  setFlag(t, ClientFlag.COMPLETE); // counted once, here
  abort(t);
  return false;
}
