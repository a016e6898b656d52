/**
 * TIME-WAIT, kept compact (the idea of Linux's timewait buckets): when a connection enters
 * TIME-WAIT its TCB is freed and a TW_BYTES entry keeps what the state needs (the tuple, the two
 * sequence numbers, the timestamps, the port to give back), in the index slot the TCB had. Every
 * entry lasts CFG_TIME_WAIT, so they end in the order they began: a FIFO, expired from its head,
 * no timer per entry. An entry ended early (an RST, a new SYN reusing the tuple, a restart)
 * leaves a dead slot the head skips. A full table ends its oldest entry early (counted), as
 * Linux refuses new timewait buckets past tcp_max_tw_buckets: the ports keep flowing.
 *
 * A server that closes first (HTTP with `Connection: close`) holds a TIME-WAIT per connection:
 * at 100,000 connections a second and 60 s that is 6 million entries; at TW_BYTES each the
 * table's size (CFG_TIME_WAITS) decides how many the core keeps, and how long a tuple is
 * protected once the table is full. A new SYN for a tuple in TIME-WAIT is accepted when it is
 * clearly a new incarnation (RFC 6191: a newer timestamp, else a higher sequence number).
 */
import {
  TCB_ADDR_INDEX, TCB_DEST, TCB_FAMILY, TCB_FLAGS, TCB_HASH, TCB_NEIGHBOR, TCB_PEER_HASH,
  TCB_RCV_ADV, TCB_RCV_NXT, TCB_SND_NXT, TCB_TS_OFFSET, TCB_TS_RECENT, TCB_WSCALE, TcbFlag, TcpStat, TW_ADDR_INDEX,
  TW_BYTES, TW_DEST, TW_EXPIRES, TW_FAMILY, TW_FLAGS, TW_HASH, TW_LOCAL_PORT, TW_NEIGHBOR, TW_RCV_NXT, TW_SND_NXT, TW_TS_OFFSET, TW_TS_RECENT, TW_WINDOW, TW_WSCALE, TwFlag,
} from "../shared/abi";
import * as tcp from "../wire/tcp";
import { sendControl } from "./output";
import { portGive } from "./ports";
import { count, nowMs, setCount, tcbIndex, timeWaitMs } from "./state";
import { indexRemove, indexReplace, setTimeWaitBase, TW_REF } from "./table";
import { tcbRelease } from "./tcb";

let base: usize = 0;
let capacity: u32 = 0;
let mask: u32 = 0;
let head: u32 = 0;
let tail: u32 = 0;
let live: u32 = 0;

/** Lays out the FIFO: `entries` rounded up to a power of two (positions wrap with a mask). */
export function configureTimeWait(entries: u32): void {
  capacity = entries == 0 ? 0 : entries <= 1 ? 1 : <u32>1 << (32 - clz(entries - 1));
  mask = capacity - 1;
  base = heap.alloc(<usize>max<u32>(capacity, 1) * TW_BYTES);
  setTimeWaitBase(base);
  head = 0;
  tail = 0;
  live = 0;
  setCount(TcpStat.TIME_WAITS_ACTIVE, 0);
}

// @ts-ignore: decorator
@inline function entry(n: u32): usize { return base + <usize>(n & mask) * TW_BYTES; }

/** Ends entry `e` (reference `ref`): out of the index, its port back to its pool. */
function end(e: usize, n: u32): void {
  store<u8>(e + TW_FLAGS, load<u8>(e + TW_FLAGS) & ~TwFlag.LIVE);
  indexRemove(load<u32>(e + TW_HASH), TW_REF | (n & mask));
  const dest = <u32>load<u16>(e + TW_DEST);
  if (dest != 0) portGive(dest - 1, <u32>load<u16>(e + TW_ADDR_INDEX), <u32>load<u16>(e + TW_LOCAL_PORT));
  live--;
  setCount(TcpStat.TIME_WAITS_ACTIVE, live);
}

/** The FIFO position of the entry with reference `ref`. */
// @ts-ignore: decorator
@inline function positionOf(ref: u32): u32 {
  // Positions grow without bound (mod 2^32); the live ones are within `capacity` of head.
  const slot = ref & ~TW_REF;
  return head + ((slot - head) & mask);
}

/** A free slot at the tail, ending the oldest entry early when the table is full. */
function takeSlot(): u32 {
  if (tail - head == capacity) {
    const e = entry(head);
    if (load<u8>(e + TW_FLAGS) & TwFlag.LIVE) {
      end(e, head);
      count(TcpStat.TIME_WAIT_RECYCLED);
    }
    head++;
  }
  return tail++;
}

/**
 * TCB t enters TIME-WAIT: an entry takes over its index slot and its port, the TCB is freed.
 * When `ack`, the ACK of the peer's FIN goes out from the entry first.
 */
export function timeWaitEnter(t: usize, ack: bool): void {
  if (capacity == 0) {
    // No TIME-WAIT at all (CFG_TIME_WAITS 0): the connection just ends.
    if (ack) {
      const ts = (load<u32>(t + TCB_FLAGS) & TcbFlag.TIMESTAMPS) != 0;
      sendControl(t, load<u32>(t + TCB_SND_NXT), load<u32>(t + TCB_RCV_NXT), tcp.ACK, 0, ts,
        nowMs + load<u32>(t + TCB_TS_OFFSET), load<u32>(t + TCB_TS_RECENT));
    }
    tcbRelease(t, false, false);
    return;
  }
  const n = takeSlot();
  const e = entry(n);
  memory.copy(e, t, TCB_PEER_HASH + 8); // family, ports, hash, addresses, peer hash, next hop, destination
  store<u8>(e + TW_FAMILY, load<u8>(t + TCB_FAMILY));
  store<u8>(e + TW_FLAGS, <u8>(TwFlag.LIVE | (load<u32>(t + TCB_FLAGS) & TcbFlag.TIMESTAMPS ? TwFlag.TIMESTAMPS : 0)));
  store<u8>(e + TW_WSCALE, load<u8>(t + TCB_WSCALE));
  store<u16>(e + TW_NEIGHBOR, load<u16>(t + TCB_NEIGHBOR));
  store<u16>(e + TW_DEST, load<u16>(t + TCB_DEST));
  store<u16>(e + TW_ADDR_INDEX, load<u16>(t + TCB_ADDR_INDEX));
  store<u32>(e + TW_SND_NXT, load<u32>(t + TCB_SND_NXT));
  store<u32>(e + TW_RCV_NXT, load<u32>(t + TCB_RCV_NXT));
  store<u32>(e + TW_TS_RECENT, load<u32>(t + TCB_TS_RECENT));
  store<u32>(e + TW_TS_OFFSET, load<u32>(t + TCB_TS_OFFSET));
  const shift = <u32>load<u8>(t + TCB_WSCALE) & 15;
  const window = <i32>(load<u32>(t + TCB_RCV_ADV) - load<u32>(t + TCB_RCV_NXT));
  store<u16>(e + TW_WINDOW, <u16>min<u32>(window > 0 ? <u32>window >> shift : 0, 65535));
  store<u32>(e + TW_EXPIRES, nowMs + timeWaitMs);
  indexReplace(load<u32>(t + TCB_HASH), tcbIndex(t) + 1, TW_REF | (n & mask));
  live++;
  setCount(TcpStat.TIME_WAITS_ACTIVE, live);
  count(TcpStat.TIME_WAIT_ENTERED);
  if (ack) sendAck(e, (load<u8>(e + TW_FLAGS) & TwFlag.TIMESTAMPS) != 0);
  tcbRelease(t, true, true);
}

/** An ACK from entry `e` (TIME-WAIT fields, or a TCB about to leave). */
function sendAck(e: usize, timestamps: bool): void {
  sendControl(e, load<u32>(e + TW_SND_NXT), load<u32>(e + TW_RCV_NXT), tcp.ACK, <u32>load<u16>(e + TW_WINDOW), timestamps,
    nowMs + load<u32>(e + TW_TS_OFFSET), load<u32>(e + TW_TS_RECENT));
}

/** Ends the entries whose time has come. */
export function timeWaitExpire(now: u32): void {
  while (head != tail) {
    const e = entry(head);
    if (load<u8>(e + TW_FLAGS) & TwFlag.LIVE) {
      if (<i32>(load<u32>(e + TW_EXPIRES) - now) > 0) break;
      end(e, head);
      count(TcpStat.TIME_WAIT_ENDED);
    }
    head++;
  }
}

/** When the oldest live entry ends (ms since CFG_EPOCH), or 0xffffffff. */
export function timeWaitNext(): u32 {
  for (let n = head; n != tail; n++) {
    const e = entry(n);
    if (load<u8>(e + TW_FLAGS) & TwFlag.LIVE) return load<u32>(e + TW_EXPIRES);
  }
  return 0xffffffff;
}

/** What a segment to a TIME-WAIT entry leads to. */
export const TW_HANDLED = 0;
/** a new SYN for the tuple, accepted: the entry has ended, open the connection */
export const TW_REOPEN = 1;

/**
 * A segment for the entry with reference `ref` (RFC 9293 3.10.7.4 in TIME-WAIT, with RFC 5961's
 * RST check, RFC 7323's PAWS and RFC 6191's reuse). `listening`: a listener would take a new SYN.
 */
export function timeWaitSegment(ref: u32, seq: u32, flagBits: u32, length: u32, hasTs: bool, tsValue: u32, listening: bool): i32 {
  const n = positionOf(ref);
  const e = entry(n);
  const rcvNxt = load<u32>(e + TW_RCV_NXT);
  const timestamps = (load<u8>(e + TW_FLAGS) & TwFlag.TIMESTAMPS) != 0;
  if (flagBits & tcp.RST) {
    // The window is zero: only an RST at RCV.NXT is in it (RFC 5961 3.2).
    if (seq == rcvNxt) {
      end(e, n);
      count(TcpStat.TIME_WAIT_RESET);
    }
    return TW_HANDLED;
  }
  if ((flagBits & (tcp.SYN | tcp.ACK)) == tcp.SYN) {
    const newer = timestamps && hasTs ? tcp.seqGt(tsValue, load<u32>(e + TW_TS_RECENT)) : tcp.seqGt(seq, rcvNxt);
    if (newer && listening) {
      end(e, n);
      count(TcpStat.TIME_WAIT_REUSED);
      return TW_REOPEN;
    }
    sendAck(e, timestamps);
    count(TcpStat.CHALLENGE_ACKS);
    return TW_HANDLED;
  }
  if (timestamps && hasTs && tcp.seqLt(tsValue, load<u32>(e + TW_TS_RECENT))) {
    count(TcpStat.DROP_PAWS);
    sendAck(e, timestamps);
    return TW_HANDLED;
  }
  if (length == 0 && seq == rcvNxt) return TW_HANDLED; // an ACK: nothing to do
  // Anything else is outside the (closed) window: acknowledge. A FIN again (ours was lost)
  // restarts the 2 MSL wait: the entry moves to the tail.
  sendAck(e, timestamps);
  if ((flagBits & tcp.FIN) && tail - head < capacity) {
    const m = tail++;
    const moved = entry(m);
    memory.copy(moved, e, TW_BYTES);
    store<u32>(moved + TW_EXPIRES, nowMs + timeWaitMs);
    store<u8>(e + TW_FLAGS, load<u8>(e + TW_FLAGS) & ~TwFlag.LIVE);
    indexReplace(load<u32>(e + TW_HASH), TW_REF | (n & mask), TW_REF | (m & mask));
  }
  return TW_HANDLED;
}

/** Writes the local port (u16) of every live entry of destination `dest` (index + 1) to `out`; returns how many. */
export function timeWaitPorts(dest: u32, out: usize, most: u32): u32 {
  let n: u32 = 0;
  for (let k = head; k != tail && n < most; k++) {
    const e = entry(k);
    if (!(load<u8>(e + TW_FLAGS) & TwFlag.LIVE) || <u32>load<u16>(e + TW_DEST) != dest) continue;
    store<u16>(out + (<usize>n << 1), load<u16>(e + TW_LOCAL_PORT));
    n++;
  }
  return n;
}
