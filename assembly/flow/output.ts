/**
 * What the engine hands the host between batches: flow records (a flow's table entry copied out
 * when it leaves the table), flow events and in-order stream bytes. Each is a buffer allocated by
 * configureFlows, announced at FLOW_STATE + OUT_*; the host drains it and writes the count back
 * to zero. The engine checks room before each packet, so nothing is ever lost: it stops the batch
 * early instead (processBatch returns how many packets it took).
 */
import {
  EV_DATA, EV_DIRECTION, EV_FLOW, EV_LENGTH, EV_OFFSET, EV_TS, EV_TYPE, FLOW_EVENT, FLOW_RECORD, FLOW_STATE,
  OUT_DATA, OUT_DATA_CAPACITY, OUT_DATA_USED, OUT_EVENT_CAPACITY, OUT_EVENT_COUNT, OUT_EVENTS,
  OUT_RECORD_CAPACITY, OUT_RECORD_COUNT, OUT_RECORDS, REC_CLOSE,
} from "../shared/abi";
import { reserve, unreserve } from "../shared/reserve";
import { ipfixRoom } from "./ipfix";

// @ts-ignore: decorator
@inline function out32(field: i32): u32 { return load<u32>(<usize>FLOW_STATE + <usize>field); }
// @ts-ignore: decorator
@inline function set32(field: i32, v: u32): void { store<u32>(<usize>FLOW_STATE + <usize>field, v); }

/**
 * Sets up the three buffers (freeing earlier ones). Returns false, with no buffer (and no room),
 * when they cannot be had.
 */
export function configureOutput(records: u32, events: u32, data: u32): bool {
  for (let f = OUT_RECORDS; f <= OUT_DATA; f += 12) {
    unreserve(<usize>out32(f));
    set32(f, 0);
    set32(f + 4, 0);
    set32(f + 8, 0);
  }
  const r = reserve(<usize>records * FLOW_RECORD);
  const v = reserve(<usize>max<u32>(events, 1) * FLOW_EVENT);
  const d = reserve(<usize>max<u32>(data, 16));
  if (!r || !v || !d) {
    unreserve(r);
    unreserve(v);
    unreserve(d);
    return false;
  }
  set32(OUT_RECORDS, <u32>r);
  set32(OUT_RECORD_CAPACITY, records);
  set32(OUT_EVENTS, <u32>v);
  set32(OUT_EVENT_CAPACITY, events);
  set32(OUT_DATA, <u32>d);
  set32(OUT_DATA_CAPACITY, data);
  return true;
}

/** Records that fit: in the record buffer, and as IPFIX records when exporting (ipfix.ts). */
export function recordRoom(): u32 { return min(out32(OUT_RECORD_CAPACITY) - out32(OUT_RECORD_COUNT), ipfixRoom()); }
export function eventRoom(): u32 { return out32(OUT_EVENT_CAPACITY) - out32(OUT_EVENT_COUNT); }
export function dataRoom(): u32 { return out32(OUT_DATA_CAPACITY) - out32(OUT_DATA_USED); }

/** Copies entry `e` out as a record with close reason `close`. */
export function emitRecord(e: usize, close: u32): void {
  const n = out32(OUT_RECORD_COUNT);
  const r = <usize>out32(OUT_RECORDS) + <usize>n * FLOW_RECORD;
  memory.copy(r, e, FLOW_RECORD);
  store<u8>(r + REC_CLOSE, <u8>close);
  set32(OUT_RECORD_COUNT, n + 1);
}

/** Appends an event; DATA events point into the data buffer (see takeData). */
export function emitEvent(type: u32, direction: u32, flow: u32, ts: u64, data: usize, length: u32, offset: u64): void {
  const n = out32(OUT_EVENT_COUNT);
  const v = <usize>out32(OUT_EVENTS) + <usize>n * FLOW_EVENT;
  store<u8>(v + EV_TYPE, <u8>type);
  store<u8>(v + EV_DIRECTION, <u8>direction);
  store<u16>(v + EV_TYPE, 0, 2);
  store<u32>(v + EV_FLOW, flow);
  store<u64>(v + EV_TS, ts);
  store<u32>(v + EV_DATA, <u32>data);
  store<u32>(v + EV_LENGTH, length);
  store<u64>(v + EV_OFFSET, offset);
  set32(OUT_EVENT_COUNT, n + 1);
}

/** Reserves `length` bytes of the data buffer and returns where (the caller checked room). */
export function takeData(length: u32): usize {
  const used = out32(OUT_DATA_USED);
  set32(OUT_DATA_USED, used + length);
  return <usize>out32(OUT_DATA) + <usize>used;
}
