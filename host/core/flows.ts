/**
 * The flow engine of one core, from the host's side: program it once, hand it batches of packet
 * descriptors, read back counters, flow records and (with reassembly) flow events.
 *
 *   const engine = await Engine.create();
 *   const flows = FlowEngine.create(engine, RssConfig.from({ key: 'symmetric', reta: 'equal:4' }));
 *   flows.process(batch);          // one WASM call per batch (more only when outputs fill)
 *   flows.finish();                // the flows still open leave the table as `end`
 *   flows.stats(); flows.takeRecords();
 *
 * The engine's memory plan, the record layout and every enum are in assembly/shared/abi.ts.
 */
import {
  CloseReason, DIR_ACK_TS, DIR_BYTES, DIR_FIRST_TS, DIR_FLAGS, DIR_LAST_TS, DIR_MSS, DIR_OUT_OF_ORDER, DIR_PACKETS,
  DIR_PAYLOAD, DIR_RETRANSMITS, DIR_STATE, DIR_SYN_TS, DIR_UNIQUE, DIR_WSCALE, DirFlag, DROP_REASONS, DropReason,
  EV_DATA, EV_DIRECTION, EV_FLOW, EV_LENGTH, EV_OFFSET, EV_TS, EV_TYPE, FLOW_DIR, FLOW_EVENT, FLOW_RECORD, FLOW_STATE,
  FlowEvent, FlowFlag, FlowOption, FLUSH_NOW, OUT_DATA_USED, OUT_EVENT_COUNT, OUT_EVENTS, OUT_QUEUE_COUNTS,
  OUT_RECORD_COUNT, OUT_RECORDS, QUEUE_CORE, REC_CLIENT_ADDR, REC_CLIENT_PORT, REC_CLOSE, REC_CORE, REC_CORE_REVERSE,
  REC_DIR, REC_FAMILY, REC_FLAGS, REC_LAST_TS, REC_PROTO, REC_QUEUE, REC_QUEUE_REVERSE, REC_RSS_HASH,
  REC_SERVER_ADDR, REC_SERVER_PORT, STAT_BAD_IPV4_CHECKSUM, STAT_BAD_TCP_CHECKSUM, STAT_BAD_TCP_OPTIONS,
  STAT_BAD_UDP_CHECKSUM, STAT_BYTES, STAT_DROP, STAT_DROPPED, STAT_FLOWS_ACTIVE, STAT_FLOWS_CREATED,
  STAT_FLOWS_EVICTED, STAT_FLOWS_REUSED, STAT_FLOWS_TIMED_OUT, STAT_FRAGMENTS, STAT_HOLE_OVERFLOW, STAT_IPV4,
  STAT_IPV6, STAT_NOW, STAT_OTHER_L4, STAT_PROCESSED, STAT_REASSEMBLY_NO_BUFFER, STAT_REASSEMBLY_OVERFLOW,
  STAT_RECEIVED, STAT_TCP, STAT_UDP, STAT_UNHASHED, STAT_UNVERIFIED_CHECKSUM, Status, TcpState,
  STAT_IPFIX_ACTIVE, STAT_IPFIX_MESSAGES, STAT_IPFIX_RECORDS, CLOSE_REASONS, OUT_TALLY, TALLY_CLOSE, TALLY_SPLIT, TALLY_STATES, TALLY_TCP, TALLY_UDP, TCP_STATES,
} from '../../assembly/shared/abi.js';
import { formatEndpointAt } from './addr.js';
import { readBucketDetail, readBuckets, type BucketDetail, type BucketLoad } from './buckets.js';
import type { Engine, PacketBatch } from './engine.js';
import { invalid, RssplaneError } from './errors.js';
import { BATCH_LIMIT, ENGINE_BYTES, flowBufferBytes, flowTableBytes, maxFlowTable, WINDOW_LIMIT } from './limits.js';
import { FIELD_SETS } from './fields.js';
import { DEFAULT_RETA_SIZE, Reta } from './reta.js';
import { programEngine, RssConfig } from './rss.js';
import { grouped } from './format.js';
import { configureIpfix, takeIpfixBytes } from './ipfix.js';

/** Packets in engine memory: `count` descriptors (assembly/shared/abi.ts PKT_*) at `descriptors`. */
export interface FlowEngineOptions {
  /** Flow table capacity, default 1,048,576 (FLOW_RECORD = 384 bytes each, 16 of index, 4 of hash; SYN_ENTRY = 64 and SYN_SIDE = 8 for each lone SYN
   * kept: a sixty-fourth of the table, at least 16,384 or the whole table). */
  flows?: number;
  /**
   * Lone SYNs kept (the SYN cache: connections that have sent only their SYN), 1 to `flows`;
   * default a sixty-fourth of the table, at least 16,384 or the whole table. When it is full
   * (at least half of it lone SYNs), the oldest leaves, evicted, though the table has room: a
   * flood stays in it. Larger keeps more unanswered SYNs at once; smaller keeps a flood faster.
   */
  synCache?: number;
  /** Seconds without a packet before a flow times out (by packet timestamps), default 300. */
  idleTimeout?: number;
  /** Seconds a connection closed by FIN or RST lingers for stray segments, default 10. */
  closedTimeout?: number;
  /** `verify` (count bad ones, default), `drop` (count and drop), `off`. */
  checksums?: 'verify' | 'drop' | 'off';
  /** In-order stream bytes and flow events: buffers (streams at once) and bytes per stream. */
  reassembly?: { streams: number; window: number };
  /** Most descriptors one WASM call takes, default 8192 (sizes the record and event buffers). */
  batchMax?: number;
  /** This engine's core number, default 0. */
  core?: number;
  /** Core of each queue (queue i is served by core map[i]); default queue i -> core i % cores. */
  queueCores?: readonly number[];
  /** Cores for the default queue map, default 1. */
  cores?: number;
  /**
   * Keep records of split flows (directions on two cores) as raw bytes for `takeHalves()`
   * instead of decoding or counting them: a multi-core run merges each pair with
   * `mergeSplitFlows` (which counts them then).
   */
  splitHalves?: boolean;
  /**
   * Copy each flow that leaves the table out and decode it for `takeRecords()` (default true).
   * Without it flows are only counted, in WASM (`tally()`): nothing per flow reaches JavaScript.
   */
  records?: boolean;
  /**
   * Export IPFIX (assembly/flow/ipfix.ts): each flow that leaves the table, and each long-lived
   * flow every `activeTimeout` seconds (0: never), becomes a record in whole IPFIX messages for
   * `takeIpfix()`, naming observation domain `domain`.
   */
  ipfix?: { domain: number; activeTimeout: number };
}

/**
 * Flows counted as they left the table (counted in WASM; plain data, it crosses postMessage):
 * TCP and UDP flows, split flows, TCP flows by close reason and by "client/server" states.
 */
export interface FlowTally {
  tcp: number;
  udp: number;
  split: number;
  byState: Record<string, number>;
  byClose: Record<string, number>;
}

export const FlowTally = {
  create(): FlowTally {
    return { tcp: 0, udp: 0, split: 0, byState: {}, byClose: {} };
  },
  /** Adds `from` into `into` (a few keys: never a loop over flows). */
  merge(into: FlowTally, from: FlowTally): void {
    into.tcp += from.tcp;
    into.udp += from.udp;
    into.split += from.split;
    for (const [k, v] of Object.entries(from.byState)) into.byState[k] = (into.byState[k] ?? 0) + v;
    for (const [k, v] of Object.entries(from.byClose)) into.byClose[k] = (into.byClose[k] ?? 0) + v;
  },
};

/** The engine's tally (OUT_TALLY, layout TALLY_* in abi.ts) as a FlowTally: only counters that are not 0. */
export function readTally(engine: Engine): FlowTally {
  const dv = new DataView(engine.memory.buffer);
  const at = dv.getUint32(FLOW_STATE + OUT_TALLY, true);
  const n = (i: number) => Number(dv.getBigUint64(at + i * 8, true));
  const t: FlowTally = { tcp: n(TALLY_TCP), udp: n(TALLY_UDP), split: n(TALLY_SPLIT), byState: {}, byClose: {} };
  for (let c = 0; c < CLOSE_REASONS; c++) {
    const v = n(TALLY_CLOSE + c);
    if (v) t.byClose[CLOSE_NAMES[c]!] = v;
  }
  for (let client = 0; client < TCP_STATES; client++) {
    for (let server = 0; server < TCP_STATES; server++) {
      const v = n(TALLY_STATES + client * TCP_STATES + server);
      if (v) t.byState[`${STATE_NAMES[client] ?? null}/${STATE_NAMES[server] ?? null}`] = v;
    }
  }
  return t;
}

export type TcpStateName =
  | 'LISTEN' | 'SYN_SENT' | 'SYN_RECEIVED' | 'ESTABLISHED' | 'FIN_WAIT_1' | 'FIN_WAIT_2' | 'CLOSE_WAIT'
  | 'CLOSING' | 'LAST_ACK' | 'TIME_WAIT' | 'CLOSED';
export type CloseReasonName = 'open' | 'fin' | 'rst' | 'timeout' | 'evicted' | 'end';

const STATE_NAMES: Record<number, TcpStateName | null> = {
  [TcpState.NONE]: null, [TcpState.LISTEN]: 'LISTEN', [TcpState.SYN_SENT]: 'SYN_SENT',
  [TcpState.SYN_RECEIVED]: 'SYN_RECEIVED', [TcpState.ESTABLISHED]: 'ESTABLISHED',
  [TcpState.FIN_WAIT_1]: 'FIN_WAIT_1', [TcpState.FIN_WAIT_2]: 'FIN_WAIT_2', [TcpState.CLOSE_WAIT]: 'CLOSE_WAIT',
  [TcpState.CLOSING]: 'CLOSING', [TcpState.LAST_ACK]: 'LAST_ACK', [TcpState.TIME_WAIT]: 'TIME_WAIT',
  [TcpState.CLOSED]: 'CLOSED',
};
const CLOSE_NAMES: Record<number, CloseReasonName> = {
  [CloseReason.OPEN]: 'open', [CloseReason.FIN]: 'fin', [CloseReason.RST]: 'rst',
  [CloseReason.TIMEOUT]: 'timeout', [CloseReason.EVICTED]: 'evicted', [CloseReason.END]: 'end',
};

/** Drop reasons by name, in DropReason order. */
export const DROP_REASON_NAMES: readonly string[] = [
  'link-type', 'ethernet-truncated', 'ipv4-truncated', 'ipv4-malformed', 'ipv6-truncated', 'ipv6-malformed',
  'tcp-truncated', 'tcp-malformed', 'udp-truncated', 'udp-malformed', 'bad-checksum', 'descriptor', 'link-truncated',
];
if (DROP_REASON_NAMES.length !== DROP_REASONS || DROP_REASON_NAMES[DropReason.LINK_TRUNCATED] !== 'link-truncated') {
  throw new Error('DROP_REASON_NAMES is out of step with DropReason');
}

/** One direction of a flow; the sender is "this side". Timestamps are ns since the epoch (0: never). */
export interface FlowDirection {
  packets: number;
  /** captured frame bytes */
  bytes: number;
  payloadBytes: number;
  /** payload bytes of sequence space covered for the first time (UDP: all payload) */
  uniqueBytes: number;
  retransmits: number;
  outOfOrder: number;
  firstTs: bigint;
  lastTs: bigint;
  synTs: bigint;
  /** first ACK without SYN after this side's SYN */
  ackTs: bigint;
  /** TCP state of this side (null for UDP) */
  state: TcpStateName | null;
  /** MSS and window scale from this side's SYN (undefined when absent) */
  mss?: number;
  windowScale?: number;
  sackPermitted: boolean;
  timestamps: boolean;
}

/** A flow as it left the table. */
export interface FlowRecord {
  proto: 'tcp' | 'udp';
  family: 4 | 6;
  /** "ADDR:PORT", IPv6 as "[ADDR]:PORT"; the client sent the first SYN, else the first packet */
  client: string;
  server: string;
  clientBySyn: boolean;
  close: CloseReasonName;
  /** queue and core of the client-to-server direction, then of the reverse */
  queues: [number, number];
  cores: [number, number];
  split: boolean;
  reused: boolean;
  rssHash: number;
  lastTs: bigint;
  /** SYN to the client's ACK of the SYN-ACK, ns, when the whole handshake was seen */
  handshakeRtt?: bigint;
  dirs: [FlowDirection, FlowDirection];
}

/** One flow event (reassembly on). `flow` is the table slot, stable from NEW to CLOSED. */
export interface FlowEventRecord {
  type: 'new' | 'established' | 'data' | 'fin' | 'rst' | 'closed';
  /** 0: client to server */
  direction: 0 | 1;
  flow: number;
  ts: bigint;
  /** DATA: in-order stream bytes (a copy) and the stream offset of the first */
  data?: Uint8Array;
  offset?: number;
}
const EVENT_NAMES: Record<number, FlowEventRecord['type']> = {
  [FlowEvent.NEW]: 'new', [FlowEvent.ESTABLISHED]: 'established', [FlowEvent.DATA]: 'data',
  [FlowEvent.FIN]: 'fin', [FlowEvent.RST]: 'rst', [FlowEvent.CLOSED]: 'closed',
};

/** Counters of one engine. received = processed + dropped, always. */
export interface FlowStats {
  received: number;
  processed: number;
  dropped: number;
  bytes: number;
  /** by DROP_REASON_NAMES, only reasons that occurred */
  drops: Record<string, number>;
  /** packets per queue (processed packets; non-IP in queue 0) */
  queues: number[];
  unhashed: number;
  ipv4: number;
  ipv6: number;
  tcp: number;
  udp: number;
  otherL4: number;
  fragments: number;
  badChecksums: { ipv4: number; tcp: number; udp: number };
  unverifiedChecksums: number;
  badTcpOptions: number;
  flows: { created: number; active: number; timedOut: number; evicted: number; reused: number };
  /** IPFIX export (option `ipfix`), counted in WASM: records encoded (active-timeout ones
   *  included) and messages completed; what each target sent or dropped is the host's (run's ipfix) */
  ipfix: { records: number; messages: number; active: number };
  holeOverflow: number;
  reassembly: { overflow: number; noBuffer: number };
  /** latest packet timestamp, ns */
  now: bigint;
  /**
   * Load per indirection-table entry (index = the hash's low bits), for the table the engine was
   * created with: packets and captured bytes as processed, flow directions as flows leave the
   * table. Packets that are not IP have no entry: they are `unhashed` (on queue 0 whatever the
   * table) and `unhashedBytes`, so the buckets' packets plus `unhashed` are `processed`.
   */
  buckets: BucketLoad[];
  unhashedBytes: number;
  /** After `finish()` (every flow has left the table): the heaviest flows per bucket and the ports deltas. */
  bucketDetail?: BucketDetail;
}

const DEFAULT_FLOWS = 1 << 20;

export class FlowEngine {
  private view: DataView;
  private pendingRecords: FlowRecord[] = [];
  private pendingEvents: FlowEventRecord[] = [];
  private pendingHalves: Uint8Array[] = [];
  private pendingIpfix: Uint8Array[] = [];
  /** IPFIX messages are encoded (option `ipfix`) */
  exporting = false;
  /** finish() ran and nothing came after it: the per-bucket flow detail is complete. */
  private finished = false;

  private constructor(
    readonly engine: Engine,
    readonly config: RssConfig,
    readonly reta: Reta,
    readonly core: number,
    readonly reassembly: boolean,
    private readonly splitHalves: boolean,
    /** records are copied out and decoded (option `records`) */
    readonly records: boolean,
  ) {
    this.view = new DataView(engine.memory.buffer);
  }

  /**
   * Programs `engine` with `config` (key, hash function, transform, table; the table defaults to
   * `equal` over the cores) and sets up the flow table. Allocates at configuration time only.
   * Throws RssplaneError: EINVAL for options out of range, ENOMEM when the table does not fit.
   */
  static create(engine: Engine, config: RssConfig, options: FlowEngineOptions = {}): FlowEngine {
    const cores = options.cores ?? 1;
    if (!Number.isInteger(cores) || cores < 1) invalid('cores', cores, 'expected a whole number >= 1');
    const reta = config.reta ?? Reta.equal(DEFAULT_RETA_SIZE, cores);
    const programmed = config.reta ? config : config.with({ reta });
    const fields = programmed.fields;
    // A field set names the family and whether ports count; the engine hashes each packet's own
    // family with the same choice, so the key must cover the IPv6 input too.
    programmed.requireKeyFor(FIELD_SETS[fields].ports ? 'ipv6-l4' : 'ipv6');
    programEngine(engine, programmed);
    const map = options.queueCores ?? Array.from({ length: reta.queues }, (_, q) => q % cores);
    if (map.length < reta.queues) invalid('queue map', map.length, `the table names ${reta.queues} queues`);
    engine.u16(QUEUE_CORE, map.length).set(map);
    const flows = options.flows ?? DEFAULT_FLOWS;
    const batchMax = options.batchMax ?? 8192;
    const r = options.reassembly;
    if (!Number.isInteger(batchMax) || batchMax < 1 || batchMax > BATCH_LIMIT) invalid('batch size', batchMax, `expected 1 to ${BATCH_LIMIT} descriptors`);
    if (r) {
      const { streams, window } = r;
      if (!Number.isInteger(window) || window < 64 || window > WINDOW_LIMIT || (window & (window - 1))) invalid('reassembly window', window, `expected a power of two from 64 to ${WINDOW_LIMIT} bytes`);
      const most = Math.floor((ENGINE_BYTES - flowTableBytes(1) - flowBufferBytes({ batchMax, reassembly: { streams: 0, window } })) / (32 + window + window / 8) / (1 + 1 / 16));
      if (!Number.isInteger(streams) || streams < 1 || streams > most) invalid('reassembly stream count', streams, `expected 1 to ${Math.max(most, 0)} with ${window}-byte windows (the engine's memory)`);
    }
    const buffers = flowBufferBytes({ batchMax, reassembly: r });
    const synCache = options.synCache;
    const most = maxFlowTable(buffers, synCache);
    if (most < 1) invalid('batch size', batchMax, 'its record and stream buffers leave the engine no memory for a flow table');
    if (!Number.isInteger(flows) || flows < 1 || flows > most) invalid('flow table size', flows, `expected 1 to ${most} flows (the engine's memory)`);
    if (synCache !== undefined && (!Number.isInteger(synCache) || synCache < 1 || synCache > flows)) {
      invalid('SYN cache size', synCache, `expected 1 to ${flows} lone SYNs (at most the flow table)`);
    }
    // The engine keeps timeouts in whole milliseconds, in 32 bits.
    const ms = (s: number | undefined, fallback: number, what: string) => {
      const v = s ?? fallback;
      if (!(v >= 0.001 && v * 1000 <= 0xffffffff)) invalid(what, v, `expected seconds from 0.001 to ${0xffffffff / 1000}`);
      return Math.round(v * 1000);
    };
    let bits = FIELD_SETS[fields].ports ? FlowOption.HASH_PORTS : 0;
    const checksums = options.checksums ?? 'verify';
    if (checksums === 'drop') bits |= FlowOption.DROP_BAD_CHECKSUM;
    else if (checksums === 'off') bits |= FlowOption.NO_CHECKSUMS;
    else if (checksums !== 'verify') invalid('checksums', checksums, 'expected verify, drop or off');
    if (r) bits |= FlowOption.REASSEMBLY;
    const records = options.records ?? true;
    if (records) bits |= FlowOption.RECORDS;
    if (options.splitHalves) bits |= FlowOption.SPLIT_HALVES;
    const status = engine.exports.configureFlows(
      flows, ms(options.idleTimeout, 300, 'idle timeout'), ms(options.closedTimeout, 10, 'closed timeout'), bits,
      batchMax, r?.streams ?? 0, r?.window ?? 65536, synCache ?? 0,
    );
    if (status === Status.BAD_SIZE) {
      // Within the limits above, only what the host put in the engine before can be in the way.
      const held = engine.memory.buffer.byteLength;
      throw new RssplaneError('ENOMEM', `a flow table of ${flows} flows (${grouped(flowTableBytes(flows, synCache))} bytes) and its buffers do not fit beside the ${grouped(held)} bytes the engine holds already`);
    }
    if (status !== Status.OK) throw new RssplaneError('EFAULT', `engine refused the flow configuration (status ${status})`);
    if (engine.exports.configureBuckets(FIELD_SETS[fields].ports ? 1 : 0) !== Status.OK) throw new RssplaneError('EFAULT', 'engine refused to count buckets: no table');
    engine.adviseMemory();
    const made = new FlowEngine(engine, programmed, reta, options.core ?? 0, Boolean(r), Boolean(options.splitHalves), records);
    if (options.ipfix) made.exporting = configureIpfix(engine, options.ipfix);
    return made;
  }

  private get dv(): DataView {
    if (this.view.buffer !== this.engine.memory.buffer) this.view = new DataView(this.engine.memory.buffer);
    return this.view;
  }

  private out32(field: number): number {
    return this.dv.getUint32(FLOW_STATE + field, true);
  }

  /**
   * Processes a batch: parse, RSS, flow update, in WASM. Records of flows that left the table and
   * events wait in `takeRecords()` / `takeEvents()`. Calls the engine again only when an output
   * buffer filled mid-batch.
   */
  process(batch: PacketBatch): void {
    this.finished = false;
    let done = 0;
    while (done < batch.count) {
      done += this.engine.exports.processBatch(batch.descriptors + done * 32, batch.count - done);
      this.drain();
    }
  }

  /**
   * End of input: every flow still in the table leaves as `end` (`timeout` when idle past its
   * timeout at `now`, ns; default the latest packet time this engine saw).
   */
  finish(now?: bigint): void {
    this.dv.setBigUint64(FLOW_STATE + FLUSH_NOW, now ?? 0n, true);
    // Each call takes as many flows as the output buffers hold: a call that takes none means the
    // engine counts flows it cannot reach, an error to report rather than a loop to spin in.
    for (let left = Infinity, now = this.engine.exports.flushFlows(); now > 0; now = this.engine.exports.flushFlows()) {
      this.drain();
      if (now >= left) throw new RssplaneError('EFAULT', `the flow table counts ${now} flow${now > 1 ? 's' : ''} it cannot reach at the end (an engine bug)`);
      left = now;
    }
    if (this.exporting) this.engine.exports.ipfixFlush();
    this.drain();
    this.finished = true;
  }

  /**
   * IPFIX messages completed since the last call (option `ipfix`): whole messages back to back,
   * each with its record count where the sequence number goes (host/core/ipfix.ts stamps them).
   * With `flush`, the messages still being filled are completed first (a live run's quiet while).
   */
  takeIpfix(flush = false): Uint8Array[] {
    if (flush && this.exporting) {
      this.engine.exports.ipfixFlush();
      this.drain();
    }
    const m = this.pendingIpfix;
    this.pendingIpfix = [];
    return m;
  }

  /** Records of the flows that left the table since the last call. */
  takeRecords(): FlowRecord[] {
    const r = this.pendingRecords;
    this.pendingRecords = [];
    return r;
  }

  /** Events since the last call (reassembly on). */
  takeEvents(): FlowEventRecord[] {
    const e = this.pendingEvents;
    this.pendingEvents = [];
    return e;
  }

  /**
   * Raw records of split flows since the last call (option splitHalves), in pieces of one or
   * more FLOW_RECORD-byte records, in the order they left the table.
   */
  takeHalves(): Uint8Array[] {
    const h = this.pendingHalves;
    this.pendingHalves = [];
    return h;
  }

  /**
   * The flows that left the table so far, counted in WASM. Split flows' halves (option
   * splitHalves) are not in it: `mergeSplitFlows` counts them.
   */
  tally(): FlowTally {
    return readTally(this.engine);
  }

  /**
   * Moves what the engine wrote to its output buffers (records, events) into the pending lists.
   * Without `records`, the record buffer holds only split halves (if any): one copy for them all.
   */
  private drain(): void {
    const dv = this.dv;
    const records = this.out32(OUT_RECORD_COUNT);
    const base = this.out32(OUT_RECORDS);
    const bytes = this.engine.bytes;
    if (!this.records) {
      if (records) this.pendingHalves.push(bytes.slice(base, base + records * FLOW_RECORD));
    } else {
      for (let i = 0; i < records; i++) {
        const at = base + i * FLOW_RECORD;
        if (this.splitHalves && dv.getUint8(at + REC_FLAGS) & FlowFlag.SPLIT) this.pendingHalves.push(bytes.slice(at, at + FLOW_RECORD));
        else this.pendingRecords.push(decodeRecord(dv, at, bytes));
      }
    }
    dv.setUint32(FLOW_STATE + OUT_RECORD_COUNT, 0, true);
    if (this.exporting) this.pendingIpfix.push(...takeIpfixBytes(this.engine));
    if (this.reassembly) {
      const events = this.out32(OUT_EVENT_COUNT);
      const at = this.out32(OUT_EVENTS);
      const bytes = this.engine.bytes;
      for (let i = 0; i < events; i++) {
        const v = at + i * FLOW_EVENT;
        const type = EVENT_NAMES[dv.getUint8(v + EV_TYPE)]!;
        const event: FlowEventRecord = {
          type, direction: dv.getUint8(v + EV_DIRECTION) as 0 | 1, flow: dv.getUint32(v + EV_FLOW, true),
          ts: dv.getBigUint64(v + EV_TS, true),
        };
        if (type === 'data') {
          const p = dv.getUint32(v + EV_DATA, true);
          event.data = bytes.slice(p, p + dv.getUint32(v + EV_LENGTH, true));
          event.offset = Number(dv.getBigUint64(v + EV_OFFSET, true));
        }
        this.pendingEvents.push(event);
      }
      dv.setUint32(FLOW_STATE + OUT_EVENT_COUNT, 0, true);
      dv.setUint32(FLOW_STATE + OUT_DATA_USED, 0, true);
    }
  }

  /**
   * The packet counters and the latest packet time, for a run's progress: stats() without the
   * rows it reads and builds objects of every time (each indirection-table entry's, 128 by
   * default; a one-core run of short-500k spent 5 ms in the stats() its progress asked for).
   */
  counts(): { received: number; processed: number; dropped: number; now: bigint } {
    const dv = this.dv;
    const s = (i: number) => Number(dv.getBigUint64(FLOW_STATE + i * 8, true));
    return { received: s(STAT_RECEIVED), processed: s(STAT_PROCESSED), dropped: s(STAT_DROPPED), now: dv.getBigUint64(FLOW_STATE + STAT_NOW * 8, true) };
  }

  /** Counters since configuration (or resetCounters). */
  stats(): FlowStats {
    const dv = this.dv;
    const s = (i: number) => Number(dv.getBigUint64(FLOW_STATE + i * 8, true));
    const drops: Record<string, number> = {};
    DROP_REASON_NAMES.forEach((name, i) => {
      const n = s(STAT_DROP + i);
      if (n) drops[name] = n;
    });
    const qc = this.out32(OUT_QUEUE_COUNTS);
    const queues = Array.from({ length: this.reta.queues }, (_, q) => Number(dv.getBigUint64(qc + q * 8, true)));
    const b = readBuckets(dv);
    return {
      received: s(STAT_RECEIVED), processed: s(STAT_PROCESSED), dropped: s(STAT_DROPPED), bytes: s(STAT_BYTES), drops, queues,
      unhashed: s(STAT_UNHASHED), ipv4: s(STAT_IPV4), ipv6: s(STAT_IPV6), tcp: s(STAT_TCP), udp: s(STAT_UDP),
      otherL4: s(STAT_OTHER_L4), fragments: s(STAT_FRAGMENTS),
      badChecksums: { ipv4: s(STAT_BAD_IPV4_CHECKSUM), tcp: s(STAT_BAD_TCP_CHECKSUM), udp: s(STAT_BAD_UDP_CHECKSUM) },
      unverifiedChecksums: s(STAT_UNVERIFIED_CHECKSUM), badTcpOptions: s(STAT_BAD_TCP_OPTIONS),
      flows: {
        created: s(STAT_FLOWS_CREATED), active: s(STAT_FLOWS_ACTIVE), timedOut: s(STAT_FLOWS_TIMED_OUT),
        evicted: s(STAT_FLOWS_EVICTED), reused: s(STAT_FLOWS_REUSED),
      },
      holeOverflow: s(STAT_HOLE_OVERFLOW),
      ipfix: { records: s(STAT_IPFIX_RECORDS), messages: s(STAT_IPFIX_MESSAGES), active: s(STAT_IPFIX_ACTIVE) },
      reassembly: { overflow: s(STAT_REASSEMBLY_OVERFLOW), noBuffer: s(STAT_REASSEMBLY_NO_BUFFER) },
      now: dv.getBigUint64(FLOW_STATE + STAT_NOW * 8, true),
      buckets: b.buckets,
      unhashedBytes: b.unhashed.bytes,
      ...(this.finished ? { bucketDetail: readBucketDetail(dv) } : {}),
    };
  }
}

/**
 * Decodes the FLOW_RECORD bytes at `at` (layout in assembly/shared/abi.ts). Runs once per flow
 * that leaves the table, so it is written to be cheap before V8 has optimized it: no closures,
 * no spreads, addresses formatted from views rather than copies.
 */
export function decodeRecord(dv: DataView, at: number, bytes = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength)): FlowRecord {
  const family = dv.getUint8(at + REC_FAMILY) as 4 | 6;
  const flags = dv.getUint8(at + REC_FLAGS);
  const tcp = dv.getUint8(at + REC_PROTO) === 6;
  const c = decodeDirection(dv, at + REC_DIR, tcp);
  const s = decodeDirection(dv, at + REC_DIR + FLOW_DIR, tcp);
  const record: FlowRecord = {
    proto: tcp ? 'tcp' : 'udp',
    family,
    client: formatEndpointAt(bytes, at + REC_CLIENT_ADDR, family, dv.getUint16(at + REC_CLIENT_PORT, true)),
    server: formatEndpointAt(bytes, at + REC_SERVER_ADDR, family, dv.getUint16(at + REC_SERVER_PORT, true)),
    clientBySyn: (flags & FlowFlag.CLIENT_BY_SYN) !== 0,
    close: CLOSE_NAMES[dv.getUint8(at + REC_CLOSE)] ?? 'end',
    queues: [dv.getUint16(at + REC_QUEUE, true), dv.getUint16(at + REC_QUEUE_REVERSE, true)],
    cores: [dv.getUint16(at + REC_CORE, true), dv.getUint16(at + REC_CORE_REVERSE, true)],
    split: (flags & FlowFlag.SPLIT) !== 0,
    reused: (flags & FlowFlag.REUSED) !== 0,
    rssHash: dv.getUint32(at + REC_RSS_HASH, true),
    lastTs: dv.getBigUint64(at + REC_LAST_TS, true),
    dirs: [c, s],
  };
  // The handshake: the client's SYN, the server's SYN-ACK after it, the client's ACK after that.
  if (tcp && c.synTs && s.synTs && c.ackTs && c.synTs <= s.synTs && s.synTs <= c.ackTs) record.handshakeRtt = c.ackTs - c.synTs;
  return record;
}

/** A little-endian u64 count as a number (exact below 2^53), without a BigInt on the way. */
const u64 = (dv: DataView, at: number) => dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32;

function decodeDirection(dv: DataView, b: number, tcp: boolean): FlowDirection {
  const flags = dv.getUint16(b + DIR_FLAGS, true);
  const d: FlowDirection = {
    packets: dv.getUint32(b + DIR_PACKETS, true),
    bytes: u64(dv, b + DIR_BYTES),
    payloadBytes: u64(dv, b + DIR_PAYLOAD),
    uniqueBytes: u64(dv, b + DIR_UNIQUE),
    retransmits: dv.getUint32(b + DIR_RETRANSMITS, true),
    outOfOrder: dv.getUint32(b + DIR_OUT_OF_ORDER, true),
    firstTs: dv.getBigUint64(b + DIR_FIRST_TS, true),
    lastTs: dv.getBigUint64(b + DIR_LAST_TS, true),
    synTs: dv.getBigUint64(b + DIR_SYN_TS, true),
    ackTs: dv.getBigUint64(b + DIR_ACK_TS, true),
    state: tcp ? STATE_NAMES[dv.getUint8(b + DIR_STATE)] ?? null : null,
    sackPermitted: (flags & DirFlag.SACK_PERMITTED) !== 0,
    timestamps: (flags & DirFlag.TIMESTAMPS) !== 0,
  };
  const mss = dv.getUint16(b + DIR_MSS, true);
  if (mss) d.mss = mss;
  const ws = dv.getUint8(b + DIR_WSCALE);
  if (ws !== 0xff) d.windowScale = ws;
  return d;
}

/**
 * The `--flows-out` JSON line of a record (MISSION.md): per-direction values as
 * [client to server, server to client]; `state` is the client's, `states` both sides'.
 */
export function flowJson(r: FlowRecord): Record<string, unknown> {
  const [c, s] = r.dirs;
  const pair = (k: keyof FlowDirection) => [c[k], s[k]];
  const ns = (t: bigint) => Number(t) / 1e9;
  const first = c.firstTs && s.firstTs ? (c.firstTs < s.firstTs ? c.firstTs : s.firstTs) : c.firstTs || s.firstTs;
  return {
    proto: r.proto,
    client: r.client,
    server: r.server,
    packets: pair('packets'),
    bytes: pair('bytes'),
    payload_bytes: pair('payloadBytes'),
    unique_bytes: pair('uniqueBytes'),
    retransmits: pair('retransmits'),
    out_of_order: pair('outOfOrder'),
    state: c.state,
    states: [c.state, s.state],
    close: r.close,
    queue: r.queues[0],
    core: r.cores[0],
    queues: r.queues,
    cores: r.cores,
    split: r.split,
    first: ns(first),
    last: ns(r.lastTs),
    ...(r.handshakeRtt !== undefined ? { handshake_rtt_ms: Number(r.handshakeRtt) / 1e6 } : {}),
  };
}

/** What merging a run's split-flow halves gives: the records (when asked for) and their tally. */
export interface MergedFlows {
  records: FlowRecord[];
  tally: FlowTally;
  /** IPFIX messages of the merged flows (option `ipfix`), as FlowEngine.takeIpfix gives them */
  ipfix: Uint8Array[];
}

/**
 * Merges the halves of split flows (FlowEngine option splitHalves, from the engines of a
 * multi-core run, in core order) into the records one engine would have written, and counts them.
 * Halves pair by protocol and endpoints, in order of first packet; a half without a partner (its
 * other direction never came) is a record as it is. The pairing, merging and counting run in
 * WASM, in `engine` (any engine: its tally is reset); records are decoded only with `records`
 * (default true). Throws ENOMEM when the halves do not fit in the engine's memory.
 */
export function mergeSplitFlows(engine: Engine, halves: readonly Uint8Array[], options: SplitFlowOptions = {}): MergedFlows {
  const merger = new SplitFlowMerger(engine, options);
  try {
    merger.add(halves);
    const { records, ipfix } = merger.merge();
    return { records, tally: merger.tally(), ipfix };
  } finally {
    merger.release();
  }
}

export interface SplitFlowOptions {
  /** decode the merged records (default true) */
  records?: boolean;
  /** encode the merged records as IPFIX messages, as FlowEngine.takeIpfix gives them */
  ipfix?: { domain: number };
}

/**
 * Split flows' halves merged while a run goes (and once more at its end): halves are added as the
 * cores hand them over, and each merge pairs what has come, writes out the records it can, and
 * holds back only the halves whose partner may still come (their last packet recent). A live run
 * then keeps the halves of its recent flows, not of every flow since it began. The halves live
 * in `engine`'s memory, in one buffer that grows to the most a merge has held and is reused.
 */
export class SplitFlowMerger {
  private readonly engine: Engine;
  private readonly wanted: boolean;
  private readonly ipfix?: { domain: number };
  /** halves added since the last merge, not yet in engine memory */
  private incoming: Uint8Array[] = [];
  private incomingBytes = 0;
  /** halves held by the last merge, at the start of `area` */
  private held = 0;
  /** the merges' area in engine memory, and its size in bytes */
  private area = 0;
  private capacity = 0;

  constructor(engine: Engine, options: SplitFlowOptions = {}) {
    this.engine = engine;
    this.wanted = options.records ?? true;
    if (options.ipfix) this.ipfix = options.ipfix;
    if (!engine.exports.configureTally()) throw new RssplaneError('ENOMEM', 'engine memory is full: cannot count merged flows');
    if (options.ipfix) configureIpfix(engine, { domain: options.ipfix.domain, activeTimeout: 0 });
  }

  /** Halves as the cores copied them out (pieces of FLOW_RECORD-byte records). */
  add(halves: readonly Uint8Array[]): void {
    for (const h of halves) {
      if (h.length % FLOW_RECORD) invalid('halves', h.length, `a multiple of ${FLOW_RECORD} bytes`);
      if (!h.length) continue;
      this.incoming.push(h);
      this.incomingBytes += h.length;
    }
  }

  /** Halves waiting: held by the last merge, or added since. */
  get pending(): number {
    return this.held + this.incomingBytes / FLOW_RECORD;
  }

  /**
   * Pairs the halves added so far with those held, counts and writes out the records, and holds
   * back the unpaired halves whose last packet is at or after `holdFrom` (ns; 0n: hold none, as at
   * the end of a run).
   */
  merge(holdFrom = 0n): { records: FlowRecord[]; ipfix: Uint8Array[] } {
    const engine = this.engine;
    const count = this.pending;
    if (count === 0) return { records: [], ipfix: [] };
    const hold = holdFrom > 0n;
    const bytes = count * FLOW_RECORD;
    // Halves, then (when holding) their held copies, the records out and the workspace.
    this.reserve(count, bytes * (hold ? 3 : 2) + (engine.exports.mergeWorkspaceBytes(count) >>> 0));
    const halves = this.area, keep = hold ? halves + bytes : 0, out = halves + bytes * (hold ? 2 : 1), work = out + bytes;
    let o = halves + this.held * FLOW_RECORD;
    for (const h of this.incoming) {
      engine.bytes.set(h, o);
      o += h.length;
    }
    this.incoming = [];
    this.incomingBytes = 0;
    const written = engine.exports.mergeHalvesHolding(halves, count, work, this.wanted || this.ipfix ? out : 0, keep, holdFrom);
    this.held = hold ? engine.exports.mergeHeld() : 0;
    // What was held goes first in the area: the next merge adds after it.
    if (this.held) engine.bytes.copyWithin(halves, keep, keep + this.held * FLOW_RECORD);
    const records: FlowRecord[] = [];
    if (this.wanted) {
      const dv = new DataView(engine.memory.buffer);
      for (let i = 0; i < written; i++) records.push(decodeRecord(dv, out + i * FLOW_RECORD, engine.bytes));
    }
    // The merged flows as IPFIX records, encoded in WASM a buffer at a time.
    const ipfix: Uint8Array[] = [];
    if (this.ipfix && written) {
      for (let done = 0; done < written;) {
        done += engine.exports.ipfixExportRecords(out + done * FLOW_RECORD, written - done);
        if (done === written) engine.exports.ipfixFlush();
        ipfix.push(...takeIpfixBytes(engine));
      }
    }
    return { records, ipfix };
  }

  /** What the merges so far counted. */
  tally(): FlowTally {
    return readTally(this.engine);
  }

  /** Gives the area back to the engine. */
  release(): void {
    if (this.area) this.engine.release(this.area);
    this.area = 0;
    this.capacity = 0;
  }

  /** An area of at least `size` bytes for `count` halves, the held ones kept at its start. */
  private reserve(count: number, size: number): void {
    if (size <= this.capacity) return;
    const engine = this.engine;
    // Grow by half again, so that a live run's merges settle on one area.
    const grown = this.area ? Math.max(size, Math.ceil(this.capacity * 1.5)) : size;
    const at = engine.exports.allocate(grown + 64) >>> 0;
    if (!at) throw new RssplaneError('ENOMEM', `${grouped(count)} split-flow halves do not fit in one engine's memory (${grouped(size)} bytes); a symmetric key (--key symmetric) splits no flow`);
    if (this.held) engine.bytes.copyWithin(at, this.area, this.area + this.held * FLOW_RECORD);
    if (this.area) engine.release(this.area);
    this.area = at;
    this.capacity = grown;
  }
}

/** The records of `mergeSplitFlows` (the library's call before the tally came with it). */
export function mergeHalves(engine: Engine, halves: readonly Uint8Array[]): FlowRecord[] {
  return mergeSplitFlows(engine, halves).records;
}
