/**
 * A live run's counters, read where they live: in each core's engine memory (FLOW_STATE's STAT_*
 * counters, the queue counters at OUT_QUEUE_COUNTS, the tally at OUT_TALLY) and in the headers of
 * the rings other cores fill for it. The controller reads them while the cores run: a worker's
 * memory is a SharedArrayBuffer, and a one-core run's engine is on the controller's own thread.
 *
 * Nothing here touches a packet or a flow: a snapshot is a fixed number of loads per core
 * (about 60 counters, a u64 per queue, two words per ring), taken when a scrape or the live line
 * asks for it. The WASM side writes its counters as it goes and never waits for a reader; a
 * counter read mid-batch is simply the count so far.
 */
import {
  CLOSE_REASONS, DROP_REASONS, FLOW_STATE, OUT_QUEUE_COUNTS, OUT_TALLY, RING_HEAD, RING_SLOTS, RING_TAIL, STAT_BAD_IPV4_CHECKSUM,
  STAT_BAD_TCP_CHECKSUM, STAT_BAD_UDP_CHECKSUM, STAT_BYTES, STAT_DROP, STAT_DROPPED, STAT_FLOWS_ACTIVE, STAT_FLOWS_CREATED,
  STAT_FLOWS_EVICTED, STAT_FLOWS_REUSED, STAT_FLOWS_TIMED_OUT, STAT_PROCESSED, TALLY_CLOSE, TALLY_TCP, TALLY_UDP,
} from '../../../assembly/shared/abi.js';
import { bucketCount, readBuckets } from '../../core/buckets.js';
import { DROP_REASON_NAMES, type CloseReasonName } from '../../core/flows.js';

/** Where one core's counters are: its engine's memory and the rings in it. */
export interface CoreProbe {
  core: number;
  /** the engine's memory now (a worker's SharedArrayBuffer; an inline engine's current buffer) */
  memory(): ArrayBufferLike;
  /** addresses of the rings other cores fill for this core */
  rings: readonly number[];
}

/** A run's cores, as the runner hands them over once they are set up (RunOptions.onCores). */
export interface RunProbe {
  cores: readonly CoreProbe[];
  /** the indirection table's queues */
  queues: number;
  /** flow-table capacity of each core's engine */
  flowCapacity: number;
  /** the indirection table (queue per entry): a queue's bytes are its entries' bytes */
  reta?: ArrayLike<number>;
}

/** TCP close reasons in CloseReason order (abi.ts), as the tally counts them. */
export const CLOSE_REASON_NAMES: readonly CloseReasonName[] = ['open', 'fin', 'rst', 'timeout', 'evicted', 'end'];
if (CLOSE_REASON_NAMES.length !== CLOSE_REASONS) throw new Error('CLOSE_REASON_NAMES is out of step with CloseReason');

/**
 * One core's counters at one moment. `received` is processed + dropped as read, so that every
 * snapshot keeps the invariant even when it was taken in the middle of a batch.
 */
export interface CoreSnapshot {
  core: number;
  received: number;
  processed: number;
  dropped: number;
  bytes: number;
  /** drops by DROP_REASON_NAMES index */
  drops: number[];
  /** packets by queue (those this core processed) */
  queues: number[];
  /** captured bytes by queue: the engine's per-entry counts summed over each queue's entries (non-IP: queue 0) */
  queueBytes: number[];
  badChecksums: { ipv4: number; tcp: number; udp: number };
  flows: { created: number; active: number; timedOut: number; evicted: number; reused: number };
  /** flows counted as they left the table (split flows' halves: once merged, at the end of the run) */
  left: { tcp: number; udp: number; tcpByClose: number[] };
  /** ring slots waiting to be processed, over this core's rings, and the slots they have */
  ring: { used: number; slots: number };
}

/** Reads core `p`'s counters now. */
export function snapshotCore(p: CoreProbe, queues: number, reta?: ArrayLike<number>): CoreSnapshot {
  const memory = p.memory();
  const dv = new DataView(memory);
  const stat = (i: number) => Number(dv.getBigUint64(FLOW_STATE + i * 8, true));
  const drops = Array.from({ length: DROP_REASONS }, (_, r) => stat(STAT_DROP + r));
  const qc = dv.getUint32(FLOW_STATE + OUT_QUEUE_COUNTS, true);
  const perQueue = Array.from({ length: queues }, (_, q) => (qc ? Number(dv.getBigUint64(qc + q * 8, true)) : 0));
  // A few thousand table entries at most: read per scrape, never per packet.
  const queueBytes = new Array<number>(queues).fill(0);
  if (reta && reta.length && bucketCount(dv) === reta.length) {
    const { buckets, unhashed } = readBuckets(dv);
    for (const b of buckets) queueBytes[reta[b.index]!] = (queueBytes[reta[b.index]!] ?? 0) + b.bytes;
    if (queues) queueBytes[0]! += unhashed.bytes;
  }
  const tally = dv.getUint32(FLOW_STATE + OUT_TALLY, true);
  const t = (i: number) => (tally ? Number(dv.getBigUint64(tally + i * 8, true)) : 0);
  const processed = stat(STAT_PROCESSED), dropped = stat(STAT_DROPPED);
  let used = 0, slots = 0;
  for (const r of p.rings) {
    // The producer moves head, the consumer tail: head - tail slots wait (32-bit wrapping).
    used += (dv.getInt32(r + RING_HEAD, true) - dv.getInt32(r + RING_TAIL, true)) | 0;
    slots += dv.getUint32(r + RING_SLOTS, true);
  }
  return {
    core: p.core,
    received: processed + dropped, processed, dropped, bytes: stat(STAT_BYTES),
    drops, queues: perQueue, queueBytes,
    badChecksums: { ipv4: stat(STAT_BAD_IPV4_CHECKSUM), tcp: stat(STAT_BAD_TCP_CHECKSUM), udp: stat(STAT_BAD_UDP_CHECKSUM) },
    flows: {
      created: stat(STAT_FLOWS_CREATED), active: stat(STAT_FLOWS_ACTIVE), timedOut: stat(STAT_FLOWS_TIMED_OUT),
      evicted: stat(STAT_FLOWS_EVICTED), reused: stat(STAT_FLOWS_REUSED),
    },
    left: { tcp: t(TALLY_TCP), udp: t(TALLY_UDP), tcpByClose: Array.from({ length: CLOSE_REASONS }, (_, c) => t(TALLY_CLOSE + c)) },
    ring: { used, slots },
  };
}

/** Every core's counters now, in core order. */
export function snapshot(run: RunProbe): CoreSnapshot[] {
  return run.cores.map((p) => snapshotCore(p, run.queues, run.reta)).sort((a, b) => a.core - b.core);
}

export { DROP_REASON_NAMES };
