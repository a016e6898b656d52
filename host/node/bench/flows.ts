/**
 * bench flows: packets per second on one core through parse + RSS hash + flow update, from
 * packets already in WASM memory. The packets are real TCP conversations built here before the
 * clock starts (handshake, requests and responses with full-size segments, FIN close; valid
 * checksums, which the engine verifies), interleaved so that `--flows` connections are open at
 * once. Each round replays them into a fresh table: one processBatch call per 8192 packets.
 *
 * With `input`, the packets are a capture's instead (real traffic, as `run --input` sees it):
 * the file is read into engine memory and walked into descriptors before the clock starts, so
 * the figure is the engine's alone, without the read. Records of flows that leave the table
 * during a round are copied out by the engine and taken as bytes (nothing decodes them: the
 * engine's work is the same as an older build's, which always copied them), unless `decode` asks
 * for them decoded as `run --flows-out` decodes them. (`run` without --flows-out does not have
 * them copied at all: flows are counted in WASM.)
 *
 * With `countsOnly`, the timed rounds have the engine count flows that leave without copying
 * them out, as `run` does without --flows-out or --ipfix; the two engines' tallies and bucket
 * counts after one more such round (flushed) are then compared as a digest.
 *
 * With `baseline`, another build of the engine (say, an older commit's
 * build/rssplane.relaxed.wasm) runs the same packets in the same process, each round of ours
 * followed by one of its, configured and driven through the same exports (configure, below):
 * the ratio of the two is measured in one run.
 * Both engines' records of one more (untimed) round are then compared, as a digest of their
 * `--flows-out` lines: the same packets must give the same records. (The digest is taken over
 * each line's own SHA-256, sorted, so that a flood of millions of flows holds 44 characters a
 * record rather than its whole line.)
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import {
  FLOW_RECORD, FLOW_STATE, FlowOption, OUT_RECORD_COUNT, OUT_RECORDS, PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR, PKT_LINKTYPE,
  PKT_TIMESTAMP, PKT_WIRELEN, QUEUE_CORE, STAT_BAD_IPV4_CHECKSUM, STAT_BAD_TCP_CHECKSUM, STAT_DROPPED, STAT_FLOWS_EVICTED, Status,
} from '../../../assembly/shared/abi.js';
import { CaptureReader } from '../../core/capture.js';
import { Engine, engineMemory, withEngineFeatures, type EngineExports, type Kernel } from '../../core/engine.js';
import { invalid, RssplaneError } from '../../core/errors.js';
import { FIELD_SETS } from '../../core/fields.js';
import { readBucketDetail, readBuckets } from '../../core/buckets.js';
import { decodeRecord, flowJson, readTally } from '../../core/flows.js';
import { ENGINE_BYTES, flowBufferBytes, flowTableBytes, reservedBytes } from '../../core/limits.js';
import { programEngine, RssConfig } from '../../core/rss.js';
import { machine, median, round } from './measure.js';

export interface FlowsBenchOptions {
  flows: number;
  rounds: number;
  key?: string;
  /** a capture to take the packets from (at most 1 GiB) */
  input?: string;
  /** another engine build (.wasm) to run beside this one, rounds interleaved */
  baseline?: string;
  /** decode the records that leave during a round, as `run --flows-out` does */
  decode?: boolean;
  /** flows that leave are counted, not copied out, as `run` without --flows-out does */
  countsOnly?: boolean;
  /** the SYN cache's size (`run --syn-cache`); an older baseline build keeps its own */
  synCache?: number;
}

const BATCH = 8192;
/** Untimed rounds first: enough for the allocator to have placed a table everywhere it will. */
const WARM_UP = 3;

/** One engine with the packets in its memory, and a fresh flow table for each round. */
interface Side {
  engine: Engine;
  descriptors: number;
  count: number;
  bytes: number;
  seconds: number[];
  /** minor page faults (first touches of memory) during each timed round */
  faults: number[];
  recordsPerRound: number;
}

/** The conversation every synthetic flow has: [from the client, TCP flags, payload bytes] a packet. */
const SCRIPT: ReadonlyArray<{ fromClient: boolean; flags: number; payload: number }> = (() => {
  const script = [
    { fromClient: true, flags: 0x02, payload: 0 }, { fromClient: false, flags: 0x12, payload: 0 },
    { fromClient: true, flags: 0x10, payload: 0 }, { fromClient: true, flags: 0x18, payload: 100 },
  ];
  for (let i = 0; i < 10; i++) {
    script.push({ fromClient: false, flags: 0x10, payload: 1448 });
    if (i % 2) script.push({ fromClient: true, flags: 0x10, payload: 0 });
  }
  script.push({ fromClient: true, flags: 0x11, payload: 0 }, { fromClient: false, flags: 0x11, payload: 0 }, { fromClient: true, flags: 0x10, payload: 0 });
  return script;
})();
const FLOW_FRAME_BYTES = SCRIPT.reduce((n, s) => n + 54 + s.payload, 0);
const tableFor = (flows: number) => Math.max(1 << 16, flows * 2);

/** The engine buffers for `flows` conversations: their frames, and a descriptor a packet. */
export function conversationBuffers(engine: Engine, flows: number): { data: number; descriptors: number } {
  return { data: engine.allocate(flows * FLOW_FRAME_BYTES), descriptors: engine.allocate(flows * SCRIPT.length * PKT_DESCRIPTOR) };
}

/** The flow table `bench flows` sizes for `flows` connections, or for a capture (`input`). */
export const benchTable = (flows: number, input?: string) => (input ? 1 << 20 : tableFor(flows));

/** Most --flows one engine holds: their frames and descriptors, and a table of twice as many (with a SYN cache of `synCache`). */
export function maxBenchFlows(synCache?: number): number {
  const fits = (n: number) => reservedBytes(n * FLOW_FRAME_BYTES + 64) + reservedBytes(n * SCRIPT.length * PKT_DESCRIPTOR + 64)
    + flowTableBytes(tableFor(n), synCache) + flowBufferBytes({ batchMax: BATCH }) <= ENGINE_BYTES;
  let lo = 1, hi = 1 << 24;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export async function benchFlows(o: FlowsBenchOptions) {
  const config = RssConfig.from({ key: o.key ?? 'symmetric', reta: 'equal:4' });
  const capacity = benchTable(o.flows, o.input);
  const baselineModule = o.baseline ? loadBaseline(o.baseline) : undefined;
  const setUp = (engine: Engine): Side => {
    const packets = o.input ? loadCapture(engine, o.input) : buildConversations(engine, o.flows);
    configure(engine, config, capacity, true, o.synCache);
    return { engine, ...packets, seconds: [], faults: [], recordsPerRound: 0 };
  };
  const ours = setUp(await Engine.create());
  const base = baselineModule ? setUp(await Engine.instantiate(baselineModule.module, baselineModule.kernel)) : undefined;
  const sides = base ? [ours, base] : [ours];
  const timed = (s: Side) => {
    configure(s.engine, config, capacity, !o.countsOnly, o.synCache);
    const faults = process.resourceUsage().minorPageFault;
    const t0 = performance.now();
    const records = replay(s, o.decode ? 'records' : undefined);
    s.seconds.push((performance.now() - t0) / 1000);
    s.faults.push(process.resourceUsage().minorPageFault - faults);
    s.recordsPerRound = records;
  };
  // Warm-up rounds (compiled code tiered up, the table's pages touched: each round's fresh table
  // may sit elsewhere in the heap than the last, and the first touch of a page costs more than
  // the rest of a flow), then the rounds, ours then the baseline's, so that both see the same
  // moments of a shared machine.
  for (let r = 0; r < WARM_UP; r++) for (const s of sides) timed(s);
  const memory = sides.map((s) => s.engine.memory.buffer.byteLength);
  for (const s of sides) {
    s.seconds.length = 0;
    s.faults.length = 0;
  }
  for (let r = 0; r < o.rounds; r++) for (const s of sides) timed(s);

  const figures = (s: Side) => {
    const seconds = median(s.seconds);
    const pps = s.count / seconds;
    return {
      pps: Math.round(pps),
      mpps: round(pps / 1e6, 2),
      ns_per_packet: round(seconds / s.count * 1e9),
      gbit_per_s: round((s.bytes * 8) / seconds / 1e9, 2),
      rounds_pps: s.seconds.map((t) => Math.round(s.count / t)),
      page_faults: median(s.faults),
    };
  };
  // One more round, untimed, with every record decoded: what the packets made of the table.
  const outcome = (s: Side) => {
    configure(s.engine, config, capacity, true, o.synCache);
    const lines: string[] = [];
    replay(s, 'lines', lines);
    while (s.engine.exports.flushFlows() > 0) drain(s.engine, 'lines', lines);
    drain(s.engine, 'lines', lines);
    lines.sort();
    const digest = createHash('sha256');
    for (const line of lines) digest.update(line);
    const stat = (i: number) => Number(new DataView(s.engine.memory.buffer).getBigUint64(FLOW_STATE + i * 8, true));
    return {
      records: lines.length, evicted: stat(STAT_FLOWS_EVICTED), dropped: stat(STAT_DROPPED),
      badChecksums: stat(STAT_BAD_IPV4_CHECKSUM) + stat(STAT_BAD_TCP_CHECKSUM), digest: digest.digest('hex'),
    };
  };
  // And one more of the timed kind, flushed: what the run's summary and `advise` read.
  const counted = (s: Side) => {
    configure(s.engine, config, capacity, !o.countsOnly, o.synCache);
    replay(s);
    while (s.engine.exports.flushFlows() > 0) s.engine.u32(FLOW_STATE + OUT_RECORD_COUNT, 1)[0] = 0;
    return countsDigest(s.engine);
  };
  const mine = outcome(ours);
  const myCounts = counted(ours);
  const result: Record<string, unknown> = {
    bench: 'flows',
    ...(o.input ? { input: o.input } : {}),
    ...figures(ours),
    packets: ours.count,
    flows: o.input ? mine.records : o.flows,
    flows_tracked: mine.records,
    records_in_round: ours.recordsPerRound,
    records_decoded: Boolean(o.decode),
    records_copied: !o.countsOnly,
    evicted: mine.evicted,
    dropped: mine.dropped,
    bad_checksums: mine.badChecksums,
    records_sha256: mine.digest,
    counts_sha256: myCounts,
    kernel: ours.engine.kernel,
    // engine memory after the warm-up and after the rounds: equal when no timed round grew it
    memory_mib: [memory[0]! / 2 ** 20, ours.engine.memory.buffer.byteLength / 2 ** 20].map((m) => round(m)),
  };
  if (base) {
    const theirs = outcome(base);
    const theirCounts = counted(base);
    const f = figures(base);
    result.baseline = {
      wasm: o.baseline, kernel: base.engine.kernel, ...f, flows_tracked: theirs.records, evicted: theirs.evicted,
      records_sha256: theirs.digest, counts_sha256: theirCounts,
      memory_mib: [memory[1]! / 2 ** 20, base.engine.memory.buffer.byteLength / 2 ** 20].map((m) => round(m)),
    };
    // ratio of the medians, and the median of each round's ratio (ours against the baseline's
    // round right after it): the second holds up better when the machine's load shifts
    result.speedup = round(median(base.seconds) / median(ours.seconds), 2);
    result.speedup_paired = round(median(ours.seconds.map((t, i) => base.seconds[i]! / t)), 2);
    result.same_records = theirs.digest === mine.digest;
    result.same_counts = theirCounts === myCounts;
  }
  result.machine = machine();
  return result;
}

/**
 * A fresh flow table, configured as `run` configures one core's (FlowEngine.create with its
 * defaults) through the engine's exports alone, so that an older build whose host side differed
 * is driven the same way: RSS programmed, queue i on core 0, checksums verified, idle timeouts
 * of 300 s and 10 s, and bucket counts where the build keeps them.
 */
function configure(engine: Engine, config: RssConfig, flows: number, records = true, synCache = 0): void {
  programEngine(engine, config);
  const queues = config.reta!.queues;
  engine.u16(QUEUE_CORE, queues).fill(0);
  const ports = FIELD_SETS[config.fields].ports;
  // RECORDS: records copied out as every build before it did (a build that does not know the
  // bit ignores it, and always copies them).
  const status = engine.exports.configureFlows(flows, 300_000, 10_000, (ports ? FlowOption.HASH_PORTS : 0) | (records ? FlowOption.RECORDS : 0), BATCH, 0, 65536, synCache);
  if (status !== Status.OK) throw new RssplaneError('ENOMEM', `cannot size a flow table of ${flows} flows (status ${status})`);
  const exports = engine.exports as EngineExports & { configureBuckets?: (ports: number) => number };
  if (exports.configureBuckets) exports.configureBuckets(ports ? 1 : 0);
  // Huge pages under what the table grew, as FlowEngine.create has them (host/node/huge-pages.ts).
  engine.adviseMemory();
}

/**
 * A digest of what the engine counted of the flows that left: the tally (the run's summary) and
 * the bucket counts, ports deltas and heaviest flows (what `advise` reads).
 */
function countsDigest(engine: Engine): string {
  const dv = new DataView(engine.memory.buffer);
  const detail = readBucketDetail(dv);
  return createHash('sha256')
    .update(JSON.stringify({ tally: readTally(engine), ...readBuckets(dv), deltas: detail.portDeltas ? [...detail.portDeltas] : null }))
    .update(detail.tops)
    .digest('hex');
}

/** A baseline engine build, compiled here; its kernel as the build itself reports it. */
function loadBaseline(path: string): { module: WebAssembly.Module; kernel: Kernel } {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch {
    return invalid('--baseline-wasm', path, 'no such file');
  }
  let module: WebAssembly.Module;
  try {
    module = withEngineFeatures(() => new WebAssembly.Module(bytes));
  } catch (e) {
    return invalid('--baseline-wasm', path, `not a module this runtime compiles (${(e as Error).message.split('\n')[0]})`);
  }
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  for (const name of ['configureFlows', 'processBatch', 'flushFlows', 'relaxedSimd']) {
    if (!names.has(name)) invalid('--baseline-wasm', path, `not an rssplane engine build (no ${name} export)`);
  }
  const probe = new WebAssembly.Instance(module, { env: { memory: engineMemory(), abort: () => {} } });
  const relaxed = (probe.exports as unknown as EngineExports).relaxedSimd() !== 0;
  return { module, kernel: relaxed ? 'relaxed-simd' : 'simd' };
}

/**
 * Every packet through the engine, one call per batch. The records of flows that leave are
 * taken as bytes, or decoded as run --flows-out decodes them (`records`), or turned into their
 * --flows-out lines' digests in `lines`. Returns how many records left.
 */
function replay(s: Side, decode?: 'records' | 'lines', lines: string[] = []): number {
  const exports = s.engine.exports;
  const counts = new Uint32Array(s.engine.memory.buffer, FLOW_STATE + OUT_RECORD_COUNT, 1);
  let records = 0;
  for (let at = 0; at < s.count; at += BATCH) {
    const n = Math.min(BATCH, s.count - at);
    const d = s.descriptors + at * PKT_DESCRIPTOR;
    for (let done = 0; done < n;) {
      done += exports.processBatch(d + done * PKT_DESCRIPTOR, n - done);
      records += counts[0]!;
      if (decode) drain(s.engine, decode, lines);
      counts[0] = 0;
    }
  }
  return records;
}

/** Decodes the records the engine has copied out (into `lines`: each --flows-out line's SHA-256), and takes them. */
function drain(engine: Engine, decode: 'records' | 'lines', lines: string[]): void {
  const dv = new DataView(engine.memory.buffer);
  const bytes = engine.bytes;
  const n = dv.getUint32(FLOW_STATE + OUT_RECORD_COUNT, true);
  const at = dv.getUint32(FLOW_STATE + OUT_RECORDS, true);
  for (let i = 0; i < n; i++) {
    const record = decodeRecord(dv, at + i * FLOW_RECORD, bytes);
    if (decode === 'lines') lines.push(createHash('sha256').update(JSON.stringify(flowJson(record))).digest('base64'));
  }
  dv.setUint32(FLOW_STATE + OUT_RECORD_COUNT, 0, true);
}

/**
 * The packets of a capture in engine memory: the whole file read in, walked once to count its
 * packets, then again into one descriptor array.
 */
function loadCapture(engine: Engine, path: string) {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return invalid('--input', path, 'no such file');
  }
  if (size > 2 ** 30) invalid('--input', path, `${size} bytes: the capture is held in memory whole, at most 1 GiB`);
  const reader = CaptureReader.create(engine, { chunkSize: Math.max(size, 64), batchSize: 1 << 16, name: path });
  const fd = openSync(path, 'r');
  try {
    const target = reader.space();
    for (let at = 0; at < size;) {
      const n = readSync(fd, target, at, size - at, null);
      if (n === 0) break;
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  let count = 0;
  for (const batch of reader.feed(size)) count += batch.count;
  const descriptors = engine.allocate(Math.max(count, 1) * PKT_DESCRIPTOR);
  reader.reset();
  reader.space();
  let at = 0;
  for (const batch of reader.feed(size)) {
    engine.bytes.copyWithin(descriptors + at * PKT_DESCRIPTOR, batch.descriptors, batch.descriptors + batch.count * PKT_DESCRIPTOR);
    at += batch.count;
  }
  return { descriptors, count, bytes: reader.finish().bytes };
}

/**
 * `flows` TCP connections between 10.x.y.z clients and one server, each: SYN, SYN-ACK, ACK, a
 * 100-byte request, ten 1448-byte response segments with an ACK every two, FIN, FIN-ACK, ACK.
 * Connections advance together one packet at a time, so all of them are open mid-run.
 */
function buildConversations(engine: Engine, flows: number) {
  const script = SCRIPT;
  const count = flows * script.length;
  const { data, descriptors } = conversationBuffers(engine, flows);
  const mem = engine.bytes;
  const dv = new DataView(engine.memory.buffer);
  let at = data;
  let bytes = 0;
  for (let step = 0; step < script.length; step++) {
    const s = script[step]!;
    for (let f = 0; f < flows; f++) {
      const client = [10, (f >> 16) & 255, (f >> 8) & 255, f & 255], server = [192, 168, 0, 1];
      const cport = 1024 + (f % 60000), sport = 443;
      // sequence numbers: each side's ISN, plus what it sent before this step
      const sent = (fromClient: boolean) => script.slice(0, step).filter((x) => x.fromClient === fromClient)
        .reduce((n, x) => n + x.payload + (x.flags & 0x03 ? 1 : 0), 0);
      const cIsn = 1000 + f * 7, sIsn = 900000 + f * 13;
      const seq = s.fromClient ? cIsn + sent(true) : sIsn + sent(false);
      const ack = s.fromClient ? sIsn + sent(false) : cIsn + sent(true);
      const frame = tcpFrame(s.fromClient ? client : server, s.fromClient ? server : client, s.fromClient ? cport : sport, s.fromClient ? sport : cport, seq >>> 0, s.flags & 0x02 && !s.fromClient ? ack >>> 0 : s.flags === 0x02 ? 0 : ack >>> 0, s.flags, s.payload);
      mem.set(frame, at);
      const d = descriptors + (step * flows + f) * PKT_DESCRIPTOR;
      mem.fill(0, d, d + PKT_DESCRIPTOR);
      dv.setUint32(d + PKT_DATA, at, true);
      dv.setUint32(d + PKT_CAPLEN, frame.length, true);
      dv.setUint32(d + PKT_WIRELEN, frame.length, true);
      dv.setUint16(d + PKT_LINKTYPE, 1, true);
      dv.setBigUint64(d + PKT_TIMESTAMP, 1_700_000_000_000_000_000n + BigInt(step * flows + f) * 1000n, true);
      at += frame.length;
      bytes += frame.length;
    }
  }
  return { descriptors, count, bytes };
}

function tcpFrame(src: number[], dst: number[], sport: number, dport: number, seq: number, ack: number, flags: number, payload: number): Uint8Array {
  const f = new Uint8Array(54 + payload);
  const dv = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
  f.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, ...src, ...dst], 14);
  dv.setUint16(16, 40 + payload);
  dv.setUint16(24, checksum(f.subarray(14, 34), 0));
  dv.setUint16(34, sport);
  dv.setUint16(36, dport);
  dv.setUint32(38, seq);
  dv.setUint32(42, ack);
  f[46] = 5 << 4;
  f[47] = flags;
  dv.setUint16(48, 65535);
  for (let i = 0; i < payload; i++) f[54 + i] = (i * 31 + seq) & 0xff;
  const pseudo = src[0]! * 256 + src[1]! + src[2]! * 256 + src[3]! + dst[0]! * 256 + dst[1]! + dst[2]! * 256 + dst[3]! + 6 + 20 + payload;
  dv.setUint16(50, checksum(f.subarray(34), pseudo));
  return f;
}

/** RFC 1071 over big-endian words, starting from `sum`. */
function checksum(bytes: Uint8Array, sum: number): number {
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
