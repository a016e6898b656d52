/**
 * bench flows: packets per second on one core through parse + RSS hash + flow update, from
 * packets already in WASM memory. The packets are real TCP conversations built here before the
 * clock starts (handshake, requests and responses with full-size segments, FIN close; valid
 * checksums, which the engine verifies), interleaved so that `--flows` connections are open at
 * once. Each round replays them into a fresh table: one processBatch call per 8192 packets.
 *
 * With `input`, the packets are a capture's instead (real traffic, as `run --input` sees it):
 * the file is read into engine memory and walked into descriptors before the clock starts, so
 * the figure is the engine's alone, without the read. As in `run` without --flows-out, flows are
 * counted in WASM and no record is copied out or decoded.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR, PKT_LINKTYPE, PKT_TIMESTAMP, PKT_WIRELEN } from '../../../assembly/shared/abi.js';
import { CaptureReader } from '../../core/capture.js';
import { Engine } from '../../core/engine.js';
import { invalid } from '../../core/errors.js';
import { FlowEngine } from '../../core/flows.js';
import { ENGINE_BYTES, flowBufferBytes, flowTableBytes, reservedBytes } from '../../core/limits.js';
import { RssConfig } from '../../core/rss.js';
import { machine, median, round, timeRounds } from './measure.js';

export interface FlowsBenchOptions {
  flows: number;
  rounds: number;
  key?: string;
  /** a capture to take the packets from (at most 1 GiB) */
  input?: string;
}

const BATCH = 8192;

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

/** The flow table `bench flows` sizes for `flows` connections. */
export const benchTable = (flows: number) => tableFor(flows);

/** Most --flows one engine holds: their frames and descriptors, and a table of twice as many. */
export function maxBenchFlows(): number {
  const fits = (n: number) => reservedBytes(n * FLOW_FRAME_BYTES + 64) + reservedBytes(n * SCRIPT.length * PKT_DESCRIPTOR + 64)
    + flowTableBytes(tableFor(n)) + flowBufferBytes({ batchMax: BATCH }) <= ENGINE_BYTES;
  let lo = 1, hi = 1 << 24;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export async function benchFlows(o: FlowsBenchOptions) {
  const engine = await Engine.create();
  const config = RssConfig.from({ key: o.key ?? 'symmetric', reta: 'equal:4' });
  const capacity = o.input ? 1 << 20 : tableFor(o.flows);
  const make = () => FlowEngine.create(engine, config, { flows: capacity, batchMax: BATCH, records: false });
  // The conversations' buffers first, as maxBenchFlows counts them.
  const { descriptors, count, bytes } = o.input ? loadCapture(engine, o.input) : buildConversations(engine, o.flows);
  let flows = make();
  const runOnce = () => {
    for (let at = 0; at < count; at += BATCH) flows.process({ descriptors: descriptors + at * PKT_DESCRIPTOR, count: Math.min(BATCH, count - at) });
  };
  const seconds = timeRounds(o.rounds, runOnce, () => { flows = make(); });
  flows.finish();
  const stats = flows.stats();
  const tally = flows.tally();
  const tracked = tally.tcp + tally.udp;
  const pps = count / median(seconds);
  return {
    bench: 'flows',
    ...(o.input ? { input: o.input } : {}),
    pps: Math.round(pps),
    mpps: round(pps / 1e6, 2),
    ns_per_packet: round(median(seconds) / count * 1e9),
    gbit_per_s: round((bytes * 8) / median(seconds) / 1e9, 2),
    rounds_pps: seconds.map((s) => Math.round(count / s)),
    packets: count,
    flows: o.input ? tracked : o.flows,
    flows_tracked: tracked,
    dropped: stats.dropped,
    bad_checksums: stats.badChecksums.ipv4 + stats.badChecksums.tcp,
    kernel: engine.kernel,
    machine: machine(),
  };
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
