/**
 * A connection's send and receive buffers: byte streams laid over at most TCB_CHUNK_SLOTS chunks
 * of the shared pool. Stream byte o lives in chunk slot (o >> chunkShift) % TCB_CHUNK_SLOTS at
 * o % chunkBytes, so a position is found with a shift and a mask, and a chunk is taken when the
 * first byte lands in it and given back when the last byte it holds is acknowledged (send) or
 * read (receive). Offsets are u32 stream offsets (0 is the byte after the SYN); differences stay
 * well below 2^31, so they wrap as sequence numbers do.
 *
 * Send: [una, end) is the stream the peer has not acknowledged; the application appends at end.
 * Receive: [read, rcv_nxt) is what arrived in order and the application has not read; bytes
 * past rcv_nxt are out-of-order segments held until the hole before them fills.
 */
import { TCB_CHUNK_SLOTS, TCB_RCV_CHUNKS, TCB_SND_CHUNKS, TCB_SND_END, TcpStat } from "../shared/abi";
import { chunkAddress, chunkBytes, chunkGive, chunkShift, chunksFree, chunkTake } from "./chunks";
import { count, rcvbuf, sndbuf } from "./state";

// @ts-ignore: decorator
@inline function slotOf(chunks: usize, offset: u32): usize {
  return chunks + (<usize>((offset >> chunkShift) & (TCB_CHUNK_SLOTS - 1)) << 2);
}

/** Where stream byte `offset` is (its chunk present), or 0 when its chunk is not. */
// @ts-ignore: decorator
@inline function byteAt(chunks: usize, offset: u32): usize {
  const ref = load<u32>(slotOf(chunks, offset));
  return ref == 0 ? 0 : chunkAddress(ref) + <usize>(offset & (chunkBytes - 1));
}

/** Gives back the chunks wholly below `to` from `from` on (chunk indices [from >> s, to >> s)). */
function releaseRange(chunks: usize, from: u32, to: u32): void {
  let k = from >> chunkShift;
  const end = to >> chunkShift;
  for (; <i32>(end - k) > 0; k++) {
    const slot = chunks + (<usize>(k & (TCB_CHUNK_SLOTS - 1)) << 2);
    const ref = load<u32>(slot);
    if (ref != 0) {
      chunkGive(ref);
      store<u32>(slot, 0);
    }
  }
}

/** Gives back every chunk of both buffers (the TCB is being freed). */
export function releaseAll(t: usize): void {
  for (let k: u32 = 0; k < <u32>TCB_CHUNK_SLOTS; k++) {
    const s = load<u32>(t + TCB_SND_CHUNKS + (<usize>k << 2));
    if (s != 0) chunkGive(s);
    const r = load<u32>(t + TCB_RCV_CHUNKS + (<usize>k << 2));
    if (r != 0) chunkGive(r);
  }
  memory.fill(t + TCB_SND_CHUNKS, 0, TCB_CHUNK_SLOTS * 8);
}

// ---- send ----

/** Bytes the application may still append: the buffer size and the chunk slots both bound it. */
export function sendRoom(t: usize, una: u32): u32 {
  const end = load<u32>(t + TCB_SND_END);
  const bySize = una + sndbuf - end;
  const bySlots = (((una >> chunkShift) + TCB_CHUNK_SLOTS) << chunkShift) - end;
  const room = min(<i32>bySize, <i32>bySlots);
  return room > 0 ? <u32>room : 0;
}

/** After sendReserve: the contiguous bytes that may be written at the returned address. */
export let reserved: u32 = 0;

/**
 * Room to append at the end of the send stream, contiguous within one chunk: returns where to
 * write and sets `reserved` (at most `want`, 0 with no room or no free chunk: counted as a stall).
 * sendCommit then says how much was written.
 */
export function sendReserve(t: usize, una: u32, want: u32): usize {
  const room = min(sendRoom(t, una), want);
  reserved = 0;
  if (room == 0) return 0;
  const end = load<u32>(t + TCB_SND_END);
  const slot = slotOf(t + TCB_SND_CHUNKS, end);
  let ref = load<u32>(slot);
  if (ref == 0) {
    ref = chunkTake();
    if (ref == 0) {
      count(TcpStat.CHUNK_STALLS);
      return 0;
    }
    store<u32>(slot, ref);
  }
  const within = end & (chunkBytes - 1);
  reserved = min(room, chunkBytes - within);
  return chunkAddress(ref) + <usize>within;
}

// @ts-ignore: decorator
@inline export function sendCommit(t: usize, n: u32): void {
  store<u32>(t + TCB_SND_END, load<u32>(t + TCB_SND_END) + n);
}

/** Appends up to `length` bytes from `src`; returns how many fit. */
export function sendWrite(t: usize, una: u32, src: usize, length: u32): u32 {
  let done: u32 = 0;
  while (done < length) {
    const at = sendReserve(t, una, length - done);
    if (reserved == 0) break;
    memory.copy(at, src + done, reserved);
    sendCommit(t, reserved);
    done += reserved;
  }
  return done;
}

/** Copies send-stream bytes [offset, offset + length) to `dst` (they are in the buffer). */
export function sendCopy(t: usize, offset: u32, dst: usize, length: u32): void {
  const chunks = t + TCB_SND_CHUNKS;
  while (length > 0) {
    const within = offset & (chunkBytes - 1);
    const n = min(length, chunkBytes - within);
    memory.copy(dst, chunkAddress(load<u32>(slotOf(chunks, offset))) + <usize>within, n);
    dst += n;
    offset += n;
    length -= n;
  }
}

/** The peer acknowledged the stream up to `to` (from `from`): chunks wholly below go back. */
// @ts-ignore: decorator
@inline export function sendRelease(t: usize, from: u32, to: u32): void {
  if ((from >> chunkShift) != (to >> chunkShift)) releaseRange(t + TCB_SND_CHUNKS, from, to);
}

// ---- receive ----

/**
 * The window we can offer beyond `next` (the stream offset of RCV.NXT) when the application has
 * read up to `read`: the buffer size less what is unread, bounded by the chunk slots and by the
 * chunks left in the pool (the whole pool is what is really free).
 */
export function receiveWindow(read: u32, next: u32): u32 {
  const bySize = <i32>(read + rcvbuf - next);
  const bySlots = <i32>((((read >> chunkShift) + TCB_CHUNK_SLOTS) << chunkShift) - next);
  const byPool = <i32>min<u32>(chunksFree() << chunkShift, 0x40000000);
  const w = min(min(bySize, bySlots), byPool + <i32>(chunkBytes - (next & (chunkBytes - 1))));
  return w > 0 ? <u32>w : 0;
}

/** Writes `length` bytes from `src` at receive-stream `offset`; false when no chunk was free. */
export function receiveWrite(t: usize, offset: u32, src: usize, length: u32): bool {
  const chunks = t + TCB_RCV_CHUNKS;
  while (length > 0) {
    const slot = slotOf(chunks, offset);
    let ref = load<u32>(slot);
    if (ref == 0) {
      ref = chunkTake();
      if (ref == 0) return false;
      store<u32>(slot, ref);
    }
    const within = offset & (chunkBytes - 1);
    const n = min(length, chunkBytes - within);
    memory.copy(chunkAddress(ref) + <usize>within, src, n);
    src += n;
    offset += n;
    length -= n;
  }
  return true;
}

/** After receivePiece: contiguous bytes readable at the returned address. */
export let piece: u32 = 0;

/** The received bytes at `offset`, up to `end`, contiguous within a chunk. */
export function receivePiece(t: usize, offset: u32, end: u32): usize {
  const within = offset & (chunkBytes - 1);
  piece = min(end - offset, chunkBytes - within);
  return byteAt(t + TCB_RCV_CHUNKS, offset);
}

/** The application has read up to `to` (from `from`): chunks wholly below go back. */
// @ts-ignore: decorator
@inline export function receiveRelease(t: usize, from: u32, to: u32): void {
  if ((from >> chunkShift) != (to >> chunkShift)) releaseRange(t + TCB_RCV_CHUNKS, from, to);
}

/** Gives back chunks holding nothing at or after `from` (what a closed receive side holds). */
export function receiveReleaseAll(t: usize): void {
  for (let k: u32 = 0; k < <u32>TCB_CHUNK_SLOTS; k++) {
    const slot = t + TCB_RCV_CHUNKS + (<usize>k << 2);
    const ref = load<u32>(slot);
    if (ref != 0) {
      chunkGive(ref);
      store<u32>(slot, 0);
    }
  }
}
