/**
 * Bounded in-order reassembly, per direction, for the flow events API (off by default).
 *
 * A direction that carries payload takes a buffer from a fixed pool: a WINDOW-byte ring indexed by
 * sequence number modulo WINDOW, a bitmap of the bytes it holds, and RCV.NXT, the next byte the
 * stream owes the host. In-order bytes go straight from the packet to the host's data buffer;
 * early bytes wait in the ring until the gap before them fills; bytes beyond RCV.NXT + WINDOW are
 * counted (STAT_REASSEMBLY_OVERFLOW) and left for the retransmission. Overlaps are delivered once.
 */
import {
  DIR_REASSEMBLY, DirFlag, DIR_FLAGS, DIR_ISN, FlowEvent, STAT_REASSEMBLY_NO_BUFFER, STAT_REASSEMBLY_OVERFLOW,
} from "../shared/abi";
import { emitEvent, takeData } from "./output";
import { reserve, unreserve } from "../shared/reserve";
import { count } from "./stats";

// Buffer header fields.
const RCV_NXT = 0; // u32: next sequence number owed to the host
const DELIVERED = 8; // u64: stream bytes delivered so far (the stream offset of RCV_NXT)
const HELD = 16; // u32: bytes waiting in the ring
const NEXT_FREE = 20; // u32: free list link (buffer number + 1)
const HEADER = 32;

/** DIR_REASSEMBLY value of a direction that found no buffer: it is not retried. */
const NONE: u32 = 0xffffffff;

let pool: usize = 0;
let streams: u32 = 0;
let window: u32 = 0;
let stride: usize = 0;
let freeHead: u32 = 0;
let fresh: u32 = 0;

/** `count` buffers of `bytes` (a power of two) each; 0 turns reassembly off. */
export function configureReassembly(n: u32, bytes: u32): bool {
  unreserve(pool);
  pool = 0;
  streams = 0;
  if (n == 0) return true;
  if (bytes < 64 || (bytes & (bytes - 1)) != 0 || bytes > (1 << 24)) return false;
  window = bytes;
  stride = <usize>(HEADER + bytes + (bytes >> 3));
  if (<u64>n * <u64>stride > <u64>U32.MAX_VALUE) return false;
  pool = reserve(<usize>n * stride);
  if (!pool) return false;
  streams = n;
  freeHead = 0;
  fresh = 0;
  return true;
}

export function reassemblyWindow(): u32 { return window; }

// @ts-ignore: decorator
@inline function buffer(n: u32): usize { return pool + <usize>n * stride; }
// @ts-ignore: decorator
@inline function ring(buf: usize): usize { return buf + HEADER; }
// @ts-ignore: decorator
@inline function bitmap(buf: usize): usize { return buf + HEADER + <usize>window; }

function take(): u32 {
  if (freeHead) {
    const n = freeHead - 1;
    freeHead = load<u32>(buffer(n) + NEXT_FREE);
    return n;
  }
  if (fresh < streams) return fresh++;
  return NONE;
}

/** Gives back a direction's buffer when its flow leaves the table. */
export function releaseStream(b: usize): void {
  const n = load<u32>(b + DIR_REASSEMBLY);
  if (n == 0 || n == NONE) return;
  const buf = buffer(n - 1);
  if (load<u32>(buf + HELD) != 0) memory.fill(bitmap(buf), 0, <usize>(window >> 3));
  store<u32>(buf + NEXT_FREE, freeHead);
  freeHead = n;
  store<u32>(b + DIR_REASSEMBLY, 0);
}

// @ts-ignore: decorator
@inline function after(a: u32, b: u32): bool { return <i32>(a - b) > 0; }

/**
 * Payload [seq, seq + length) of direction block `b` (direction `d` of flow `flow`), `captured`
 * bytes of it readable at `data`. Emits DATA events for what becomes in order.
 */
export function reassemble(b: usize, d: u32, flow: u32, ts: u64, seq: u32, data: usize, length: u32, captured: u32): void {
  if (length == 0 || streams == 0) return;
  let n = load<u32>(b + DIR_REASSEMBLY);
  if (n == NONE) return;
  let buf: usize;
  if (n == 0) {
    const got = take();
    if (got == NONE) {
      count(STAT_REASSEMBLY_NO_BUFFER);
      store<u32>(b + DIR_REASSEMBLY, NONE);
      return;
    }
    n = got + 1;
    store<u32>(b + DIR_REASSEMBLY, n);
    buf = buffer(got);
    // The stream starts after the SYN when we saw it, else at the first payload seen.
    const f = <u32>load<u16>(b + DIR_FLAGS);
    store<u32>(buf + RCV_NXT, f & DirFlag.SYN ? load<u32>(b + DIR_ISN) + 1 : seq);
    store<u64>(buf + DELIVERED, 0);
    store<u32>(buf + HELD, 0);
  } else {
    buf = buffer(n - 1);
  }
  // Bytes not captured (snap length) cannot be delivered: the stream ends at what we have.
  length = min(length, captured);
  let nxt = load<u32>(buf + RCV_NXT);
  let end = seq + length;
  if (!after(end, nxt)) return; // all delivered before
  if (after(nxt, seq)) { // trim what was delivered
    data += <usize>(nxt - seq);
    seq = nxt;
  }
  length = end - seq;
  if (seq != nxt) {
    if (end - nxt > window) {
      count(STAT_REASSEMBLY_OVERFLOW);
      return;
    }
    hold(buf, seq, data, length);
    return;
  }
  // In order: deliver from the packet, then whatever the ring holds right after it.
  const out = takeData(length);
  memory.copy(out, data, length);
  if (load<u32>(buf + HELD) != 0) release(buf, seq, length);
  nxt = end;
  let delivered = load<u64>(buf + DELIVERED);
  emitEvent(FlowEvent.DATA, d, flow, ts, out, length, delivered);
  delivered += <u64>length;
  let run: u32 = 0;
  while (load<u32>(buf + HELD) != 0 && held(buf, nxt + run)) run++;
  if (run != 0) {
    const from = takeData(run);
    for (let i: u32 = 0; i < run; i++) store<u8>(from + i, load<u8>(ring(buf) + <usize>((nxt + i) & (window - 1))));
    release(buf, nxt, run);
    emitEvent(FlowEvent.DATA, d, flow, ts, from, run, delivered);
    delivered += <u64>run;
    nxt += run;
  }
  store<u32>(buf + RCV_NXT, nxt);
  store<u64>(buf + DELIVERED, delivered);
}

// @ts-ignore: decorator
@inline function held(buf: usize, seq: u32): bool {
  const i = seq & (window - 1);
  return (load<u8>(bitmap(buf) + <usize>(i >> 3)) & (1 << (i & 7))) != 0;
}

/** Copies early bytes into the ring and marks them held. */
function hold(buf: usize, seq: u32, data: usize, length: u32): void {
  let added: u32 = 0;
  for (let i: u32 = 0; i < length; i++) {
    const k = (seq + i) & (window - 1);
    const m = bitmap(buf) + <usize>(k >> 3);
    const bit = <u8>(<u32>1 << (k & 7));
    if (!(load<u8>(m) & bit)) {
      store<u8>(m, load<u8>(m) | bit);
      store<u8>(ring(buf) + <usize>k, load<u8>(data + i));
      added++;
    }
  }
  store<u32>(buf + HELD, load<u32>(buf + HELD) + added);
}

/** Clears held marks over [seq, seq + length) (delivered now). */
function release(buf: usize, seq: u32, length: u32): void {
  let cleared: u32 = 0;
  for (let i: u32 = 0; i < length; i++) {
    const k = (seq + i) & (window - 1);
    const m = bitmap(buf) + <usize>(k >> 3);
    const bit = <u8>(<u32>1 << (k & 7));
    if (load<u8>(m) & bit) {
      store<u8>(m, load<u8>(m) & ~bit);
      cleared++;
    }
  }
  store<u32>(buf + HELD, load<u32>(buf + HELD) - cleared);
}
