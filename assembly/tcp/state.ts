/**
 * The endpoint's fixed state: its configuration (CFG_* at TCP_STATE, written by the host), its
 * counters (TcpStat), its clock, and the heap buffers tcpConfigure laid out. Module globals hold
 * the values the hot path reads on every segment, copied once from the configuration.
 */
import { TCB_BYTES, TCP_STATE, TCP_STATS } from "../shared/abi";

// @ts-ignore: decorator
@inline export function cfg32(offset: usize): u32 { return load<u32>(<usize>TCP_STATE + offset); }
// @ts-ignore: decorator
@inline export function cfg64(offset: usize): u64 { return load<u64>(<usize>TCP_STATE + offset); }
// @ts-ignore: decorator
@inline export function cfgAt(offset: usize): usize { return <usize>TCP_STATE + offset; }

// @ts-ignore: decorator
@inline export function count(stat: i32, n: u64 = 1): void {
  const p = <usize>TCP_STATE + TCP_STATS + (<usize>stat << 3);
  store<u64>(p, load<u64>(p) + n);
}
// @ts-ignore: decorator
@inline export function setCount(stat: i32, value: u64): void {
  store<u64>(<usize>TCP_STATE + TCP_STATS + (<usize>stat << 3), value);
}
// @ts-ignore: decorator
@inline export function counter(stat: i32): u64 {
  return load<u64>(<usize>TCP_STATE + TCP_STATS + (<usize>stat << 3));
}

// ---- the clock: the host's, once per call ----

/** ns since the epoch, and ms / us since CFG_EPOCH (timers count ms; RTT samples count us). */
export let nowNs: u64 = 0;
export let nowMs: u32 = 0;
export let nowUs: u32 = 0;
export let epochNs: u64 = 0;

/** Moves the clock to `ns` (never backwards). */
export function setClock(ns: u64): void {
  if (ns < nowNs) return;
  nowNs = ns;
  const since = ns > epochNs ? ns - epochNs : 0;
  nowMs = <u32>(since / 1000000);
  nowUs = <u32>(since / 1000);
}

// ---- the TCB table ----

export let tcbBase: usize = 0;
export let tcbCount: u32 = 0;

export function setTcbTable(base: usize, n: u32): void {
  tcbBase = base;
  tcbCount = n;
}

/** TCB i's address (i < tcbCount). */
// @ts-ignore: decorator
@inline export function tcbAt(i: u32): usize { return tcbBase + <usize>i * TCB_BYTES; }
/** A TCB's index from its address. */
// @ts-ignore: decorator
@inline export function tcbIndex(t: usize): u32 { return <u32>((t - tcbBase) / TCB_BYTES); }

// ---- values the hot path reads, from the configuration ----

export let core: u32 = 0;
export let cores: u32 = 1;
export let options: u32 = 0;
export let appKind: u32 = 0;
export let ourWscale: u32 = 0;
export let sndbuf: u32 = 0;
export let rcvbuf: u32 = 0;
export let rtoMin: u32 = 200;
export let rtoInitial: u32 = 1000;
export let rtoMax: u32 = 60000;
export let synRetries: u32 = 6;
export let dataRetries: u32 = 15;
export let delackMs: u32 = 40;
export let timeWaitMs: u32 = 60000;
export let initCwnd: u32 = 10;
export let mtu: u32 = 1500;

export function loadSettings(
  c: u32, n: u32, o: u32, app: u32, wscale: u32, snd: u32, rcv: u32, rmin: u32, rinit: u32, rmax: u32,
  sr: u32, dr: u32, dl: u32, tw: u32, iw: u32, m: u32, epoch: u64,
): void {
  core = c; cores = n; options = o; appKind = app; ourWscale = wscale; sndbuf = snd; rcvbuf = rcv;
  rtoMin = rmin; rtoInitial = rinit; rtoMax = rmax; synRetries = sr; dataRetries = dr; delackMs = dl;
  timeWaitMs = tw; initCwnd = iw; mtu = m; epochNs = epoch;
  nowNs = epoch; nowMs = 0; nowUs = 0;
}
