/**
 * What leaves the flow table, counted where it leaves (layout: shared/abi.ts, TALLY_*).
 *
 * A run's summary wants counts, not records: TCP and UDP flows, split flows, TCP flows by close
 * reason and by both sides' states. They are counted here as each flow leaves, so a run that
 * writes no records moves nothing per flow to the host; records are copied out only when the
 * host asked for them (FlowOption.RECORDS). A split flow's half (FlowOption.SPLIT_HALVES) is
 * copied out uncounted: its states need the other core's half, and it is counted once
 * mergeHalves (merge.ts) has made the two one record.
 */
import {
  CLOSE_REASONS, CloseReason, DIR_STATE, FLOW_DIR, FLOW_STATE, FlowFlag, FlowOption, OUT_TALLY, REC_DIR, REC_FLAGS,
  REC_PROTO, TALLY_CLOSE, TALLY_COUNTERS, TALLY_SPLIT, TALLY_STATES, TALLY_TCP, TALLY_UDP, TCP_STATES,
} from "../shared/abi";
import { reserve } from "../shared/reserve";
import { exportFlow } from "./ipfix";
import { emitRecord } from "./output";
import { SYN_CLIENT_STATE, SYN_SERVER_STATE } from "./syn";

const PROTOCOL_TCP: u8 = 6;

let tally: usize = 0;
let records = false;
let halves = false;

/**
 * Zeroes the tally (allocated on first use; an engine that only merges halves calls this before
 * mergeHalves). Returns false when its memory cannot be had.
 */
export function configureTally(): bool {
  if (!tally) {
    tally = reserve(<usize>TALLY_COUNTERS << 3);
    if (!tally) return false;
  }
  store<u32>(FLOW_STATE + OUT_TALLY, <u32>tally);
  memory.fill(tally, 0, <usize>TALLY_COUNTERS << 3);
  return true;
}

/** configureFlows: a zero tally, and what leaving flows become (FlowOption RECORDS, SPLIT_HALVES). */
export function configureLeaving(options: u32): bool {
  records = (options & FlowOption.RECORDS) != 0;
  halves = (options & FlowOption.SPLIT_HALVES) != 0;
  return configureTally();
}

/** Entry `e` leaves the table with CloseReason `close`: counted (or kept as a half), copied out if wanted. */
export function flowLeaves(e: usize, close: u32): void {
  if (halves && (load<u8>(e + REC_FLAGS) & FlowFlag.SPLIT)) {
    emitRecord(e, close);
    return;
  }
  countFlow(e, close);
  if (records) emitRecord(e, close);
  exportFlow(e, close);
}

/** No records wanted: a flow that leaves is only counted (and exported, when exporting). */
export function countsOnly(): bool {
  return !records;
}

/** Halves of split flows are kept for merging (FlowOption.SPLIT_HALVES). */
export function keepsHalves(): bool {
  return halves;
}

/**
 * A lone SYN leaves without its full record (engine.ts leaveSyn: no records, no export, not a
 * half), closed for CloseReason `close`: counted as countFlow counts that record. TCP, the
 * close, both sides' states as expand leaves them, and SPLIT when its directions' cores differ.
 */
export function countSyn(split: bool, close: u32): void {
  if (split) bump(TALLY_SPLIT);
  bump(TALLY_TCP);
  bump(TALLY_CLOSE + (close < <u32>CLOSE_REASONS ? close : <u32>CloseReason.END));
  bump(TALLY_STATES + SYN_CLIENT_STATE * TCP_STATES + SYN_SERVER_STATE);
}

// @ts-ignore: decorator
@inline function bump(counter: u32): void {
  const p = tally + (<usize>counter << 3);
  store<u64>(p, load<u64>(p) + 1);
}

/** Counts the flow whose entry or record is at `r`, closed for CloseReason `close`. */
export function countFlow(r: usize, close: u32): void {
  if (load<u8>(r + REC_FLAGS) & FlowFlag.SPLIT) bump(TALLY_SPLIT);
  if (load<u8>(r + REC_PROTO) != PROTOCOL_TCP) {
    bump(TALLY_UDP);
    return;
  }
  bump(TALLY_TCP);
  bump(TALLY_CLOSE + (close < <u32>CLOSE_REASONS ? close : <u32>CloseReason.END));
  // A state no TcpState names counts as NONE, as the host's names read it.
  let client = <u32>load<u8>(r + REC_DIR + DIR_STATE);
  let server = <u32>load<u8>(r + REC_DIR + FLOW_DIR + DIR_STATE);
  if (client >= <u32>TCP_STATES) client = 0;
  if (server >= <u32>TCP_STATES) server = 0;
  bump(TALLY_STATES + client * TCP_STATES + server);
}
