/**
 * The two halves of a split flow, made one record.
 *
 * With an asymmetric key the two directions of a connection can land on two cores, and each
 * core's engine holds a record that saw one direction. Every field of a direction block comes from
 * its own direction's packets, and both sides' states and the close follow from the two blocks
 * alone (tcp.ts), so a merge takes each block from the half that saw it, settles who the client is
 * as one engine would have, and recomputes the rest: the result equals the record a single core
 * would have written.
 */
import {
  CloseReason, DIR_FIRST_TS, DIR_FLAGS, DirFlag, FLOW_DIR, FLOW_RECORD, FlowFlag, REC_CLIENT_ADDR,
  REC_CLIENT_PORT, REC_CLOSE, REC_IP_OCTETS, REC_DIR, REC_FAMILY, REC_FLAGS, REC_LAST_TS, REC_PROTO, REC_SERVER_ADDR, REC_SERVER_PORT,
} from "../shared/abi";
import { endpoint6, mix, SPREAD } from "./key";
import { countFlow } from "./tally";
import { tcpClose, updateStates } from "./tcp";

const PROTOCOL_TCP: u8 = 6;

/** The direction (0 client to server, 1 back) a half saw, or -1 when it saw none or both. */
function seenDirection(r: usize): i32 {
  const c = (<u32>load<u16>(r + REC_DIR + DIR_FLAGS) & DirFlag.SEEN) != 0;
  const s = (<u32>load<u16>(r + REC_DIR + FLOW_DIR + DIR_FLAGS) & DirFlag.SEEN) != 0;
  return c == s ? -1 : c ? 0 : 1;
}

/** Whether the two records name the same client endpoint. */
function sameClient(a: usize, b: usize): bool {
  return memory.compare(a + REC_CLIENT_ADDR, b + REC_CLIENT_ADDR, 16) == 0
    && load<u16>(a + REC_CLIENT_PORT) == load<u16>(b + REC_CLIENT_PORT);
}

/** Whether a's client is b's server (the same connection, seen the other way round). */
function crossed(a: usize, b: usize): bool {
  return memory.compare(a + REC_CLIENT_ADDR, b + REC_SERVER_ADDR, 16) == 0
    && load<u16>(a + REC_CLIENT_PORT) == load<u16>(b + REC_SERVER_PORT)
    && memory.compare(a + REC_SERVER_ADDR, b + REC_CLIENT_ADDR, 16) == 0
    && load<u16>(a + REC_SERVER_PORT) == load<u16>(b + REC_CLIENT_PORT);
}

/**
 * Merges halves `a` and `b` (FLOW_RECORD bytes each) into `out`. Returns 0, or -1 when they are not
 * two halves of one flow (other endpoints, or both saw the same direction).
 */
export function mergeRecords(a: usize, b: usize, out: usize): i32 {
  const da = seenDirection(a), db = seenDirection(b);
  if (da < 0 || db < 0 || load<u8>(a + REC_PROTO) != load<u8>(b + REC_PROTO)) return -1;
  const same = sameClient(a, b);
  if (!same && !crossed(a, b)) return -1;
  // In one orientation, the halves must hold opposite directions.
  if ((same ? db : 1 - db) == da) return -1;

  // Who is the client: a half that saw the handshake knows; otherwise it is the first sender, and
  // a half that saw one direction without a handshake calls that direction's sender its client.
  const synA = (load<u8>(a + REC_FLAGS) & FlowFlag.CLIENT_BY_SYN) != 0;
  const synB = (load<u8>(b + REC_FLAGS) & FlowFlag.CLIENT_BY_SYN) != 0;
  let base = a;
  if (!synA && synB) {
    base = b;
  } else if (!synA && !synB) {
    const firstA = load<u64>(a + REC_DIR + <usize>da * FLOW_DIR + DIR_FIRST_TS);
    const firstB = load<u64>(b + REC_DIR + <usize>db * FLOW_DIR + DIR_FIRST_TS);
    if (firstB < firstA) base = b;
  }
  const other = base == a ? b : a;
  memory.copy(out, base, FLOW_RECORD);
  // The block the base half lacks comes from the other half, turned to the base's orientation.
  const dBase = base == a ? da : db;
  const dOther = base == a ? db : da;
  const otherInBase = sameClient(base, other) ? dOther : 1 - dOther;
  memory.copy(out + REC_DIR + <usize>otherInBase * FLOW_DIR, other + REC_DIR + <usize>dOther * FLOW_DIR, FLOW_DIR);
  // So do its IP octets (the export block keeps them per direction, outside the block).
  store<u64>(out + REC_IP_OCTETS + (<usize>otherInBase << 3), load<u64>(other + REC_IP_OCTETS + (<usize>dOther << 3)));
  if (otherInBase == dBase) return -1;

  store<u8>(out + REC_FLAGS, load<u8>(a + REC_FLAGS) | load<u8>(b + REC_FLAGS));
  const lastA = load<u64>(a + REC_LAST_TS), lastB = load<u64>(b + REC_LAST_TS);
  store<u64>(out + REC_LAST_TS, max(lastA, lastB));
  // The close: what the segments say, else how the later half left its table.
  let close = <u32>CloseReason.OPEN;
  if (load<u8>(out + REC_PROTO) == PROTOCOL_TCP) {
    updateStates(out);
    close = tcpClose(out);
  }
  if (close == CloseReason.OPEN) close = load<u8>((lastB > lastA ? b : a) + REC_CLOSE);
  store<u8>(out + REC_CLOSE, <u8>close);
  return 0;
}

// ---- every split flow of a run, merged and counted at the end ----
//
// Each core copies out its split flows' halves (FlowOption.SPLIT_HALVES) as raw records; the run
// brings them into one engine, in core order, and mergeHalves pairs them there: halves of one
// connection (same protocol and endpoints) are taken in order of their first packet, and each
// pairs with the next unpaired half that saw the other direction. That is what trying every
// later half with mergeRecords would pair (mergeRecords joins exactly two halves whose senders
// differ), found with one sort and a pass instead of a search per half.

/** A sort entry: u64 group hash, u64 first packet, u32 half number, i32 kind (| USED once taken). */
const ENTRY: usize = 24;
const E_HASH = 0;
const E_FIRST = 8;
const E_HALF = 16;
const E_KIND = 20;
const USED: i32 = 0x100;

/** Where the record of a merged or lone half goes when the host wants no records. */
const scratch = memory.data(FLOW_RECORD, 16);

/** A hash of the connection a half belongs to: protocol, family, endpoints in either order. */
function groupHash(r: usize): u64 {
  const c = endpoint6(r + REC_CLIENT_ADDR, <u32>load<u16>(r + REC_CLIENT_PORT));
  const s = endpoint6(r + REC_SERVER_ADDR, <u32>load<u16>(r + REC_SERVER_PORT));
  const lo = c < s ? c : s, hi = c < s ? s : c;
  return mix((lo * SPREAD + hi) ^ (<u64>load<u8>(r + REC_PROTO) << 56) ^ (<u64>load<u8>(r + REC_FAMILY) << 48));
}

/** Whether two halves belong to one connection (protocol, family, the same two endpoints). */
function sameConnection(a: usize, b: usize): bool {
  if (load<u8>(a + REC_PROTO) != load<u8>(b + REC_PROTO) || load<u8>(a + REC_FAMILY) != load<u8>(b + REC_FAMILY)) return false;
  if (sameClient(a, b)) {
    return memory.compare(a + REC_SERVER_ADDR, b + REC_SERVER_ADDR, 16) == 0
      && load<u16>(a + REC_SERVER_PORT) == load<u16>(b + REC_SERVER_PORT);
  }
  return crossed(a, b);
}

/** Endpoint (address, port) at `a`/`pa` ordered before the one at `b`/`pb` (any fixed total order). */
function endpointBefore(a: usize, pa: u32, b: usize, pb: u32): bool {
  const a0 = bswap<u64>(load<u64>(a)), b0 = bswap<u64>(load<u64>(b));
  if (a0 != b0) return a0 < b0;
  const a1 = bswap<u64>(load<u64>(a, 8)), b1 = bswap<u64>(load<u64>(b, 8));
  if (a1 != b1) return a1 < b1;
  return pa < pb;
}

/**
 * Which way a half's traffic went, as the connection's own property: 0 when the sender of the
 * direction it saw orders before the receiver, 1 after, -1 when it saw none or both (it pairs
 * with nothing). Two halves of one connection pair exactly when their kinds are 0 and 1.
 */
function kindOf(r: usize): i32 {
  const d = seenDirection(r);
  if (d < 0) return -1;
  const c = r + REC_CLIENT_ADDR, s = r + REC_SERVER_ADDR;
  const cp = <u32>load<u16>(r + REC_CLIENT_PORT), sp = <u32>load<u16>(r + REC_SERVER_PORT);
  const clientFirst = endpointBefore(c, cp, s, sp);
  return (d == 0) == clientFirst ? 0 : 1;
}

/** The earliest packet of either direction (0: none). */
function firstPacket(r: usize): u64 {
  const a = load<u64>(r + REC_DIR + DIR_FIRST_TS), b = load<u64>(r + REC_DIR + FLOW_DIR + DIR_FIRST_TS);
  if (a == 0) return b;
  if (b == 0) return a;
  return a < b ? a : b;
}

// @ts-ignore: decorator
@inline function entryBefore(x: usize, y: usize): bool {
  const hx = load<u64>(x + E_HASH), hy = load<u64>(y + E_HASH);
  if (hx != hy) return hx < hy;
  const tx = load<u64>(x + E_FIRST), ty = load<u64>(y + E_FIRST);
  if (tx != ty) return tx < ty;
  return load<u32>(x + E_HALF) < load<u32>(y + E_HALF);
}

// @ts-ignore: decorator
@inline function copyEntry(to: usize, from: usize): void {
  store<u64>(to, load<u64>(from));
  store<u64>(to, load<u64>(from, 8), 8);
  store<u64>(to, load<u64>(from, 16), 16);
}

/** Bottom-up merge sort of `n` entries between `a` and `b`; returns where the sorted run lies. */
function sortEntries(a: usize, b: usize, n: u32): usize {
  let src = a, dst = b;
  for (let width: u32 = 1; width < n; width <<= 1) {
    for (let lo: u32 = 0; lo < n; lo += width << 1) {
      const mid = min(lo + width, n), hi = min(lo + (width << 1), n);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        const x = src + <usize>i * ENTRY, y = src + <usize>j * ENTRY;
        if (entryBefore(y, x)) { copyEntry(dst + <usize>k * ENTRY, y); j++; } else { copyEntry(dst + <usize>k * ENTRY, x); i++; }
        k++;
      }
      while (i < mid) { copyEntry(dst + <usize>k * ENTRY, src + <usize>i * ENTRY); i++; k++; }
      while (j < hi) { copyEntry(dst + <usize>k * ENTRY, src + <usize>j * ENTRY); j++; k++; }
    }
    const t = src; src = dst; dst = t;
  }
  return src;
}

/** Bytes of workspace mergeHalves needs for `count` halves. */
export function mergeWorkspaceBytes(count: u32): usize {
  return <usize>count * (ENTRY * 2 + 4) + 64;
}

let output: usize = 0;
let written: u32 = 0;
/** Halves without a partner whose last packet is at or after this time are held, not emitted (0: none). */
let holdFrom: u64 = 0;
/** Where held halves are copied (FLOW_RECORD bytes each), and how many were. */
let keepAt: usize = 0;
let held: u32 = 0;

/** A half without a partner: a record as it is, unless it is young enough to be held for one. */
function unpaired(half: usize): void {
  if (holdFrom && load<u64>(half + REC_LAST_TS) >= holdFrom) {
    memory.copy(keepAt + <usize>held * FLOW_RECORD, half, FLOW_RECORD);
    held++;
    return;
  }
  emitMerged(half);
}

/** One record leaves the merge: counted, and written to the output when the host wants records. */
function emitMerged(r: usize): void {
  countFlow(r, <u32>load<u8>(r + REC_CLOSE));
  if (output && r != output + <usize>written * FLOW_RECORD) memory.copy(output + <usize>written * FLOW_RECORD, r, FLOW_RECORD);
  if (output) written++;
}

/** Where the next merged record is made: the output, or the scratch record. */
// @ts-ignore: decorator
@inline function nextRecord(): usize {
  return output ? output + <usize>written * FLOW_RECORD : scratch;
}

/** Pairs the halves at the `n` entry addresses listed at `list` (one connection, in order). */
function pairConnection(halves: usize, list: usize, n: u32): void {
  // The next candidate of each kind, as a position in the list: both only move forward.
  let next0: u32 = 0, next1: u32 = 0;
  for (let k: u32 = 0; k < n; k++) {
    const x = <usize>load<u32>(list + (<usize>k << 2));
    const kind = load<i32>(x + E_KIND);
    if (kind & USED) continue;
    store<i32>(x + E_KIND, kind | USED);
    const half = halves + <usize>load<u32>(x + E_HALF) * FLOW_RECORD;
    if (kind < 0) {
      emitMerged(half);
      continue;
    }
    let p = kind == 0 ? next1 : next0;
    if (p <= k) p = k + 1;
    let y: usize = 0;
    for (; p < n; p++) {
      const c = <usize>load<u32>(list + (<usize>p << 2));
      const ck = load<i32>(c + E_KIND);
      if (!(ck & USED) && ck == 1 - kind) {
        y = c;
        break;
      }
    }
    if (kind == 0) next1 = p; else next0 = p;
    if (!y) {
      unpaired(half);
      continue;
    }
    store<i32>(y + E_KIND, load<i32>(y + E_KIND) | USED);
    const r = nextRecord();
    mergeRecords(half, halves + <usize>load<u32>(y + E_HALF) * FLOW_RECORD, r);
    emitMerged(r);
  }
}

/**
 * Merges the `count` split-flow halves at `halves` (FLOW_RECORD bytes each, every core's, in core
 * order) into whole records and counts them in the tally (configureTally first). With `out` (room
 * for `count` records), the records are written there too and their number returned; halves
 * without a partner are records as they are. `work`: mergeWorkspaceBytes(count) bytes.
 */
export function mergeHalves(halves: usize, count: u32, work: usize, out: usize): u32 {
  return mergeHalvesHolding(halves, count, work, out, 0, 0);
}

/**
 * mergeHalves for a run that is still going: a half whose partner has not come yet and whose last
 * packet is at or after `holdFrom` (ns) may still meet it, so it is copied to `keep` (room for
 * `count` records) instead of being emitted; mergeHeld() says how many were. The host merges the
 * held halves again with the next ones, so a live run holds only the halves of recent flows.
 * `holdFrom` 0 holds nothing (the run's end).
 */
export function mergeHalvesHolding(halves: usize, count: u32, work: usize, out: usize, keep: usize, from: u64): u32 {
  output = out;
  written = 0;
  held = 0;
  keepAt = keep;
  holdFrom = keep ? from : 0;
  if (count == 0) return 0;
  const entries = work, spare = work + <usize>count * ENTRY, list = spare + <usize>count * ENTRY;
  for (let i: u32 = 0; i < count; i++) {
    const r = halves + <usize>i * FLOW_RECORD;
    const x = entries + <usize>i * ENTRY;
    store<u64>(x + E_HASH, groupHash(r));
    store<u64>(x + E_FIRST, firstPacket(r));
    store<u32>(x + E_HALF, i);
    store<i32>(x + E_KIND, kindOf(r));
  }
  const sorted = sortEntries(entries, spare, count);
  // Runs of one hash are one connection, unless two collide: then each connection of the run
  // is paired on its own, its halves listed in their sorted order.
  for (let start: u32 = 0; start < count;) {
    const hash = load<u64>(sorted + <usize>start * ENTRY + E_HASH);
    let end = start + 1;
    while (end < count && load<u64>(sorted + <usize>end * ENTRY + E_HASH) == hash) end++;
    for (let k = start; k < end; k++) {
      const x = sorted + <usize>k * ENTRY;
      if (load<i32>(x + E_KIND) & USED) continue;
      const first = halves + <usize>load<u32>(x + E_HALF) * FLOW_RECORD;
      let n: u32 = 0;
      for (let m = k; m < end; m++) {
        const y = sorted + <usize>m * ENTRY;
        if (load<i32>(y + E_KIND) & USED) continue;
        if (m == k || sameConnection(first, halves + <usize>load<u32>(y + E_HALF) * FLOW_RECORD)) {
          store<u32>(list + (<usize>n << 2), <u32>y);
          n++;
        }
      }
      pairConnection(halves, list, n);
    }
    start = end;
  }
  return written;
}

/** How many halves the last mergeHalvesHolding held back. */
export function mergeHeld(): u32 {
  return held;
}
