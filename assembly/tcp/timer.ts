/**
 * The core's timers: one wheel of WHEEL_SLOTS one-millisecond slots, driven by the host's clock
 * once per call (tcpPoll). A TCB has three deadlines (retransmission, delayed ACK, its
 * application's) and sits on the wheel once, at the earliest. Deadlines that move later (every
 * ACK pushes the retransmission timer on) leave the wheel alone: the entry fires early, finds
 * nothing due and goes back at the new earliest; only a deadline moving earlier relinks it. A
 * bitmap of non-empty slots (and a word summarising it) lets a turn skip empty slots and tells
 * the host when the next timer is due.
 */
import {
  TCB_APP_AT, TCB_DELACK_AT, TCB_FLAGS, TCB_RTO_AT, TCB_TIMER_AT, TCB_TIMER_NEXT, TCB_TIMER_PREV,
  TcbFlag, WHEEL_SLOTS,
} from "../shared/abi";
import { tcbAt, tcbIndex } from "./state";

const MASK: u32 = WHEEL_SLOTS - 1;
const WORDS: u32 = WHEEL_SLOTS / 64;
let heads: usize = 0;
let bits: usize = 0;
let summary: u64 = 0;
/** the last tick whose slot has been run */
let lastTick: u32 = 0;

export function configureTimers(): void {
  heads = heap.alloc(WHEEL_SLOTS * 4);
  memory.fill(heads, 0, WHEEL_SLOTS * 4);
  bits = heap.alloc(WORDS * 8);
  memory.fill(bits, 0, WORDS * 8);
  summary = 0;
  lastTick = 0;
}

// @ts-ignore: decorator
@inline function flags(t: usize): u32 { return load<u32>(t + TCB_FLAGS); }

function link(t: usize, at: u32): void {
  const slot = at & MASK;
  const head = heads + (<usize>slot << 2);
  const first = load<u32>(head);
  const me = tcbIndex(t) + 1;
  store<u32>(t + TCB_TIMER_NEXT, first);
  store<u32>(t + TCB_TIMER_PREV, 0);
  if (first != 0) store<u32>(tcbAt(first - 1) + TCB_TIMER_PREV, me);
  store<u32>(head, me);
  store<u32>(t + TCB_TIMER_AT, at);
  store<u32>(t + TCB_FLAGS, flags(t) | TcbFlag.TIMER);
  const w = bits + (<usize>(slot >> 6) << 3);
  store<u64>(w, load<u64>(w) | (<u64>1 << <u64>(slot & 63)));
  summary |= <u64>1 << <u64>(slot >> 6);
}

function unlink(t: usize): void {
  const next = load<u32>(t + TCB_TIMER_NEXT), prev = load<u32>(t + TCB_TIMER_PREV);
  const slot = load<u32>(t + TCB_TIMER_AT) & MASK;
  if (prev != 0) store<u32>(tcbAt(prev - 1) + TCB_TIMER_NEXT, next);
  else {
    store<u32>(heads + (<usize>slot << 2), next);
    if (next == 0) clearSlot(slot);
  }
  if (next != 0) store<u32>(tcbAt(next - 1) + TCB_TIMER_PREV, prev);
  store<u32>(t + TCB_FLAGS, flags(t) & ~TcbFlag.TIMER);
}

// @ts-ignore: decorator
@inline function clearSlot(slot: u32): void {
  const w = bits + (<usize>(slot >> 6) << 3);
  const v = load<u64>(w) & ~(<u64>1 << <u64>(slot & 63));
  store<u64>(w, v);
  if (v == 0) summary &= ~(<u64>1 << <u64>(slot >> 6));
}

// @ts-ignore: decorator
@inline function earliest(t: usize): u32 {
  let at: u32 = 0xffffffff;
  const r = load<u32>(t + TCB_RTO_AT), d = load<u32>(t + TCB_DELACK_AT), a = load<u32>(t + TCB_APP_AT);
  if (r != 0 && r < at) at = r;
  if (d != 0 && d < at) at = d;
  if (a != 0 && a < at) at = a;
  return at;
}

/**
 * Puts TCB `t` on the wheel at its earliest deadline, or leaves it where it is when it is on the
 * wheel at that time or earlier. Call after changing a deadline.
 */
export function timerUpdate(t: usize): void {
  let at = earliest(t);
  if (at == 0xffffffff) return;
  if (at <= lastTick) at = lastTick + 1;
  if (flags(t) & TcbFlag.TIMER) {
    if (load<u32>(t + TCB_TIMER_AT) <= at) return;
    unlink(t);
  }
  link(t, at);
}

/** Takes TCB `t` off the wheel (it is being freed). */
export function timerCancel(t: usize): void {
  if (flags(t) & TcbFlag.TIMER) unlink(t);
}

/**
 * Runs the slots from the last tick run up to `now`: calls `fire` for each TCB whose wheel time
 * has come (fire handles what is due and calls timerUpdate). A TCB whose time is a turn or more
 * away goes back on the wheel.
 */
export function advanceTimers(now: u32, fire: (t: usize) => void): void {
  if (<i32>(now - lastTick) <= 0) return;
  const steps = min<u32>(now - lastTick, WHEEL_SLOTS);
  let tick = lastTick + 1;
  const end = lastTick + steps;
  while (tick <= end && summary != 0) {
    const slot = tick & MASK;
    // Skip to the next non-empty slot of this word, if any before `end`.
    const word = load<u64>(bits + (<usize>(slot >> 6) << 3)) >> <u64>(slot & 63);
    if (word == 0) {
      tick += 64 - (slot & 63);
      continue;
    }
    tick += <u32>ctz(word);
    if (tick > end) break;
    runSlot(tick & MASK, now, fire);
    tick++;
  }
  lastTick = now;
}

function runSlot(slot: u32, now: u32, fire: (t: usize) => void): void {
  const head = heads + (<usize>slot << 2);
  let i = load<u32>(head);
  store<u32>(head, 0);
  clearSlot(slot);
  while (i != 0) {
    const t = tcbAt(i - 1);
    i = load<u32>(t + TCB_TIMER_NEXT);
    store<u32>(t + TCB_FLAGS, flags(t) & ~TcbFlag.TIMER);
    if (load<u32>(t + TCB_TIMER_AT) <= now) fire(t);
    else link(t, load<u32>(t + TCB_TIMER_AT));
  }
}

/** The earliest wheel time at or after the next tick (ms since CFG_EPOCH), or 0xffffffff. An
 *  entry a turn away shows up early: the host then wakes for nothing, never too late. */
export function nextTimer(): u32 {
  if (summary == 0) return 0xffffffff;
  const from = (lastTick + 1) & MASK;
  for (let n: u32 = 0; n <= WORDS; n++) {
    const slot = (from + (n << 6)) & ~63 & MASK;
    let word = load<u64>(bits + (<usize>(slot >> 6) << 3));
    if (n == 0) word &= <u64>-1 << <u64>(from & 63);
    else if (n == WORDS) word &= ~(<u64>-1 << <u64>(from & 63));
    if (word != 0) {
      const s = slot + <u32>ctz(word);
      return lastTick + 1 + ((s - from) & MASK);
    }
  }
  return 0xffffffff;
}
