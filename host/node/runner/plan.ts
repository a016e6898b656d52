/**
 * A run's plan: everything the controller tells each thread, as plain values that cross
 * postMessage. The RSS configuration travels as its values (key bytes, names, table) and is
 * rebuilt into the same RssConfig on every thread: one source of truth, N copies of it.
 */
import { CAPTURE_RECORD_MAX, GEN_FRAME, IPV6_L4_INPUT, PKT_DESCRIPTOR } from '../../../assembly/shared/abi.js';
import type { Kernel } from '../../core/engine.js';
import { generatorBytes, reservedBytes } from '../../core/limits.js';
import type { FieldSetName, HashFunctionName, TransformName } from '../../core/fields.js';
import { Reta } from '../../core/reta.js';
import { RssConfig } from '../../core/rss.js';
import { readAheadBytes } from '../sources/capture.js';
import { DOORBELL_BYTES, ringBytes, type RingShape } from './ring.js';

export interface RssValues {
  key: Uint8Array;
  fields: FieldSetName;
  hfunc: HashFunctionName;
  xfrm: TransformName;
  table: Uint16Array;
}

export function rssValues(config: RssConfig): RssValues {
  if (!config.reta) throw new Error('a run needs an indirection table');
  return { key: config.key, fields: config.fields, hfunc: config.hfunc, xfrm: config.xfrm, table: config.reta.table };
}

export function rssConfigOf(v: RssValues): RssConfig {
  return RssConfig.from({ key: v.key, fields: v.fields, hfunc: v.hfunc, xfrm: v.xfrm, reta: new Reta(new Uint16Array(v.table)) });
}

export interface SyntheticPlan {
  kind: 'synthetic';
  /** conversations in the whole run (every core's share together) */
  conversations: number;
  /** conversations in progress at once, across the run */
  concurrent: number;
  seed: number;
  ipv6: number;
  retransmit: number;
}

export interface CapturePlan {
  kind: 'capture';
  path: string;
}

/** A DPDK port, set up by the controller (sources/dpdk.ts) before the threads start. */
export interface DpdkPlan {
  kind: 'dpdk';
  port: number;
  /** the core polling each receive queue of the port */
  pollCores: number[];
  /** a core ends its input when its queues have been empty this long, ms (0: only Ctrl-C) */
  idleMs: number;
  /** the driver stamps packets with their time (net_pcap: the capture's), microseconds */
  deviceTimestamps: boolean;
}

export type SourcePlan = SyntheticPlan | CapturePlan | DpdkPlan;

export interface RunPlan {
  cores: number;
  kernel: Kernel;
  rss: RssValues;
  /** core serving each queue */
  queueCores: number[];
  /** the flow table: its flows, its SYN cache (lone SYNs; undefined: the default), timeouts, checksums */
  flows: { capacity: number; synCache?: number; idleTimeout: number; checksums: 'verify' | 'drop' | 'off' };
  source: SourcePlan;
  ring: RingShape;
  /** collect flow records (for --flows-out); split halves are always collected, to merge them */
  records: boolean;
  /** IPFIX export (--ipfix): each core's engine encodes its flows' records (assembly/flow/ipfix.ts) */
  ipfix?: { domain: number; activeTimeout: number };
}

/**
 * Whether split flows' halves are merged while the run goes (runner.ts LiveMerge): a live input
 * on several cores, which may run for days. A capture's halves are merged once, at its end, all
 * together (the records are the same; a capture ends, and its run is as fast as it can be).
 */
export function mergesWhileRunning(plan: RunPlan): boolean {
  return plan.cores > 1 && plan.source.kind !== 'capture';
}

/** A worker thread's role: core `core`, with its flow engine. */
export type Role = { kind: 'core'; core: number };

/**
 * Threads that produce into core `core`'s rings, in ring order. A capture on standard input is
 * read once, by core 0, which steers it to every core; synthetic traffic and DPDK queues come in
 * on every core, and each core steers what it gets to the others. A capture file is walked by
 * the cores in turns, each copying the others' chunks (core.ts): no rings.
 */
export function producersOf(plan: RunPlan, core: number): string[] {
  if (plan.cores === 1) return [];
  if (plan.source.kind === 'capture') return plan.source.path !== '-' || core === 0 ? [] : ['core 0'];
  return Array.from({ length: plan.cores }, (_, c) => c).filter((c) => c !== core).map((c) => `core ${c}`);
}

// ---- what a run puts in each core's engine, beside the flow engine ----

/** Most cores a run takes (each a thread with its own engine). */
export const CORES_MAX = 256;

/** Packets a core steers per call (its steering buffers are sized for this). */
export const STEER_BATCH = 8192;
/** Frames the synthetic generator writes per batch. */
export const SYNTHETIC_BATCH = 1024;
/**
 * A capture reader's chunk (host/core/capture.ts's default), and the chunk each turn of a capture
 * file's walk takes (core.ts): a chunk the core's L2 cache still holds after the read.
 */
export const CAPTURE_CHUNK = 1 << 20;
/** Descriptors a chunk of a capture walked in turns may need: a packet record takes at least 16 bytes. */
export const TURN_DESCRIPTORS = Math.ceil((CAPTURE_CHUNK + CAPTURE_RECORD_MAX) / 16);
/** A capture reader's batch (host/core/capture.ts's default). */
const CAPTURE_BATCH = 4096;

/** Steering buffers for `batch` packets: a core per packet, and ring/steer.ts's workspace (input, index, hash per field set). */
function steeringBytes(batch: number): number {
  return reservedBytes(2 * batch) + reservedBytes(4 * batch * (IPV6_L4_INPUT + 8) + 128);
}

/** Conversations a core's generator keeps slots for (SyntheticSource: never more than there are conversations). */
export function generatorSlots(s: SyntheticPlan, cores: number): number {
  return Math.min(Math.ceil(s.concurrent / cores), s.conversations || Infinity);
}

/**
 * The most bytes a core's engine holds for this run besides its flow engine (over all cores):
 * rings from the cores that ship to it, its input's buffers, and its steering toward the others.
 */
export function coreHoldings(plan: RunPlan): number {
  let most = 0;
  for (let c = 0; c < plan.cores; c++) {
    let bytes = producersOf(plan, c).length * reservedBytes(ringBytes(plan.ring)) + reservedBytes(DOORBELL_BYTES);
    const shipper = (batch: number) => (plan.cores - 1) * reservedBytes(plan.ring.slotBytes) + reservedBytes(4 * plan.cores)
      + steeringBytes(batch) + reservedBytes(PKT_DESCRIPTOR * batch) + reservedBytes(4);
    const s = plan.source;
    if (s.kind === 'synthetic') {
      bytes += generatorBytes(generatorSlots(s, plan.cores)) + reservedBytes(SYNTHETIC_BATCH * GEN_FRAME) + reservedBytes(SYNTHETIC_BATCH * PKT_DESCRIPTOR);
      if (plan.cores > 1) bytes += shipper(SYNTHETIC_BATCH);
    } else if (s.kind === 'capture' && (plan.cores === 1 || s.path === '-')) {
      bytes += reservedBytes(CAPTURE_CHUNK + CAPTURE_RECORD_MAX) + reservedBytes(CAPTURE_BATCH * PKT_DESCRIPTOR);
      if (plan.cores > 1) bytes += shipper(STEER_BATCH);
      else if (s.path !== '-') bytes += readAheadBytes(CAPTURE_CHUNK); // core.ts: a file is read ahead (when it can be)
    } else if (s.kind === 'capture') {
      // Walked in turns (core.ts): two readers (a chunk's bytes, its descriptors, them grouped by
      // core), steering for a chunk, and room for another core's chunk (read again) and its descriptors.
      const chunk = reservedBytes(CAPTURE_CHUNK + CAPTURE_RECORD_MAX), descriptors = reservedBytes(TURN_DESCRIPTORS * PKT_DESCRIPTOR);
      bytes += 2 * (chunk + 2 * descriptors + reservedBytes(8 * plan.cores)) + steeringBytes(TURN_DESCRIPTORS) + chunk + descriptors;
    } else {
      bytes += reservedBytes(plan.ring.slotBytes);
      if (plan.cores > 1) bytes += shipper(plan.ring.slotPackets);
    }
    most = Math.max(most, bytes);
  }
  return most;
}

// ---- the control block: one row of counters per thread, in a SharedArrayBuffer ----
// Threads write their own row as they go; the controller reads every row for progress, and a row
// outlives its thread, so a thread that dies is still reported with what it had done.

export const enum Counter {
  /** ThreadState */
  STATE = 0,
  /** packets the engine took (processed + dropped) */
  RECEIVED = 1,
  PROCESSED = 2,
  DROPPED = 3,
  /** capture bytes read (the thread that reads the input) */
  INPUT_BYTES = 4,
  /** conversations started (synthetic) */
  CONVERSATIONS = 5,
  /** packets sent to other cores' rings */
  SENT = 6,
}
export const COUNTERS = 8;

export const enum ThreadState {
  STARTING = 0,
  RUNNING = 1,
  /** input exhausted, waiting for the finishing time */
  DRAINED = 2,
  DONE = 3,
  FAILED = 4,
}

export class ControlBlock {
  readonly cells: Float64Array;
  constructor(readonly buffer: SharedArrayBuffer, readonly threads: number) {
    this.cells = new Float64Array(buffer, 0, threads * COUNTERS);
  }
  static create(threads: number): ControlBlock {
    return new ControlBlock(new SharedArrayBuffer(threads * COUNTERS * 8), threads);
  }
  get(thread: number, c: Counter): number {
    return this.cells[thread * COUNTERS + c]!;
  }
  set(thread: number, c: Counter, value: number): void {
    this.cells[thread * COUNTERS + c] = value;
  }
  /** Sum of a counter over threads. */
  total(c: Counter): number {
    let s = 0;
    for (let t = 0; t < this.threads; t++) s += this.get(t, c);
    return s;
  }
}
