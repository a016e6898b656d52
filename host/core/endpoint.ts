/**
 * TCP endpoints: one engine per core that opens (client) and accepts (server) connections, with
 * its client's source ports from RSS-aligned pools so that every packet of a connection is
 * handled on the core that opened it (assembly/tcp, assembly/app). This is the host's side:
 * configure once, then per batch `poll(now)`, `input(batch)`, `output()`, and ship what the
 * engine wrote: the transmit slot (whole Ethernet frames, a ring slot: give it to another core's
 * ring or to a DPDK TxQueue.send as it is) and the forward list (segments another core owns).
 *
 *   const engine = await Engine.create();
 *   const client = TcpEndpoint.create(engine, {
 *     rss: { key: 'microsoft', reta: 'equal:2' }, core: 0, cores: 2,
 *     ipv4: '198.18.0.1', mac: '02:00:00:00:00:01', nextHopMac: '02:00:00:00:00:02',
 *     app: { kind: 'http-client', remote: '198.18.0.2', port: 80, concurrency: 32, connections: 10000 },
 *   });
 *   client.poll(now); client.input(batch); client.output(); // ship client.tx, client.forwards
 *
 * Addresses are text (or network-order bytes); ports host numbers; times ns since the Unix epoch
 * (bigint). Bad options throw RssplaneError EINVAL naming the option and its limit (ENOMEM when
 * the memory the sizes need exceeds what an engine can hold); nothing throws per batch.
 */
import {
  APP_CONNECT_MAX, APP_CONNECT_TIME, APP_DIGEST_OVERFLOW, APP_DIGESTS, APP_DONE, APP_LATENCY, APP_LATENCY_MAX,
  APP_STATUS, AppKind, CFG_APP, CFG_APP_CLOSE, CFG_APP_CONCURRENCY, CFG_APP_CONNECTIONS, CFG_APP_DIGEST,
  CFG_APP_FAMILY, CFG_APP_IDLE, CFG_APP_LAST_REQUEST, CFG_APP_LAST_REQUEST_LENGTH, CFG_APP_LISTEN, CFG_APP_PORT,
  CFG_APP_RAW_LISTEN, CFG_APP_REMOTE, CFG_APP_REQUEST, CFG_APP_REQUEST_LENGTH, CFG_APP_REQUESTS,
  CFG_APP_RESPONSE_BYTES, CFG_APP_TIMEOUT, CFG_CHALLENGE_LIMIT, CFG_CHUNK_SHIFT, CFG_CHUNKS, CFG_CORE, CFG_CORES,
  CFG_DATA_RETRIES, CFG_DELACK, CFG_DESTINATIONS, CFG_EPOCH, CFG_FIELDS4, CFG_FIELDS6, CFG_FORWARD,
  CFG_FORWARD_CORES, CFG_FORWARD_MAX, CFG_INIT_CWND, CFG_LINK_TX, CFG_LOCAL4, CFG_LOCAL4_COUNT, CFG_LOCAL6, CFG_LOCAL6_COUNT,
  CFG_MAC, CFG_MTU, CFG_NEXT_HOP_MAC, CFG_NEXT_HOP_VALID, CFG_OPTIONS, CFG_PORT_HI, CFG_PORT_LO,
  CFG_PORT_MODE, CFG_QUEUES, CFG_RCVBUF, CFG_RTO_INITIAL, CFG_RTO_MAX, CFG_RTO_MIN, CFG_SECRET, CFG_SLOT_BYTES,
  CFG_SLOT_PACKETS, CFG_SNDBUF, CFG_SYN_RETRIES, CFG_TCBS, CFG_TIME_WAIT, CFG_TIME_WAITS, CFG_TX_SLOT, CFG_WSCALE,
  CloseMode, DIGESTS_MAX, FieldSet, FWD_COUNT, HIST_BUCKETS, PKT_DESCRIPTOR, PortMode, QUEUE_CORE, QUEUES_MAX,
  SLOT_BYTES, SLOT_COUNT, SLOT_DESCRIPTORS, TCB_CHUNK_SLOTS, TCP_STAT_COUNT, TCP_STATE, TCP_STATS, TcpOption,
  TcpStat, TcpState, TX_PENDING,
} from '../../assembly/shared/abi.js';
import { addressPlus, formatAddress, parseAddress, parsePort, type Family } from './addr.js';
import type { Engine, PacketBatch } from './engine.js';
import { invalid, RssplaneError, type ErrorCode } from './errors.js';
import { FIELD_SETS } from './fields.js';
import { Histogram } from './histogram.js';
import { DEFAULT_RETA_SIZE, Reta } from './reta.js';
import { programEngine, RssConfig, type RssOptions } from './rss.js';

/** TCP settings; each defaults to what a Linux host does unless said otherwise. */
export interface TcpSettings {
  /** offer SACK-permitted (RFC 2018), timestamps (RFC 7323) and window scaling on SYN; default all */
  sack?: boolean;
  timestamps?: boolean;
  windowScale?: boolean;
  /** RFC 6298 timer bounds, ms: 200 (Linux's minimum), 1000, 60000 (RFC 6298's maximum) */
  rtoMinMs?: number;
  rtoInitialMs?: number;
  rtoMaxMs?: number;
  /** retransmissions before a connection is given up: SYN 6 (Linux's tcp_syn_retries), data 15 */
  synRetries?: number;
  dataRetries?: number;
  /** delayed-ACK delay (Linux's 40 ms), or an ACK for every segment with `quickAck` */
  delayedAckMs?: number;
  quickAck?: boolean;
  /** initial window in segments (RFC 6928: 10) */
  initialWindow?: number;
  /** verify IPv4 and TCP checksums of what arrives (default true) */
  verifyChecksums?: boolean;
  /** RFC 5961 challenge ACKs a second (Linux's tcp_challenge_ack_limit: 1000; 0: no limit) */
  challengeAckLimit?: number;
}

export interface HttpClientApp {
  kind: 'http-client';
  /** the server: address and port */
  remote: string;
  port: number;
  /** request target and Host header (default "/" and the address) */
  path?: string;
  host?: string;
  /** connections open at once on this core */
  concurrency: number;
  /** connections this core opens in all (default: until stopOpening()) */
  connections?: number;
  /** requests per connection, one after another (default 1) */
  requestsPerConnection?: number;
  /** `fin` (default): the last request says Connection: close and the server closes first;
   *  `rst`: abort after the last response */
  close?: 'fin' | 'rst';
  /** a connect or a request that takes longer fails (default 2000 ms, as wrk's --timeout) */
  timeoutMs?: number;
  /** keep a CRC-32 of each response body (default true) */
  digest?: boolean;
}

export interface HttpServerApp {
  kind: 'http-server';
  /** the port to listen on (default 80) */
  port?: number;
  /** body bytes of every response (default 1024) */
  responseBytes?: number;
  /** close a keep-alive connection idle this long (default 75000 ms, nginx's keepalive_timeout) */
  idleMs?: number;
}

export interface RawApp {
  kind: 'raw';
  /** ports to listen on (at most 4) */
  listen?: number[];
}

export interface EndpointOptions {
  /** this side's RSS: key, field set, function, transform and table (default equal:cores).
   *  Port pools come from it, and so does the hash stamped on every frame (the peer hashes with
   *  the same key). */
  rss: RssConfig | RssOptions;
  /** this engine's core, and the cores of its side (default 0 of 1) */
  core?: number;
  cores?: number;
  /** queue q is served by core queueCores[q] (default q % cores) */
  queueCores?: readonly number[];
  /** local addresses: the first of each family and how many consecutive ones (default 1) */
  ipv4?: string;
  ipv4Count?: number;
  ipv6?: string;
  ipv6Count?: number;
  /** our MAC and the default next hop's (null: unknown until set) */
  mac?: string | Uint8Array;
  nextHopMac?: string | Uint8Array | null;
  /** link MTU (default 1500) */
  mtu?: number;
  /** TCBs (connections at once in every state but TIME-WAIT), default 65536 */
  tcbs?: number;
  /** TIME-WAIT entries (rounded up to a power of two; default 262144, Linux's tcp_max_tw_buckets
   *  on a large host) and length
   *  (default 60000 ms, Linux's TCP_TIMEWAIT_LEN) */
  timeWaits?: number;
  timeWaitMs?: number;
  /** buffer chunks (default 16384) of chunkBytes (a power of two 512-65536, default 4096) */
  chunks?: number;
  chunkBytes?: number;
  /** per-connection send and receive buffer bytes (default and at most 15 chunks) */
  sendBuffer?: number;
  receiveBuffer?: number;
  /** our window shift (default: the smallest that announces the receive buffer) */
  windowShift?: number;
  tcp?: TcpSettings;
  /** how a client picks local ports: `pool` (RSS-aligned, default) or `random`; their range */
  ports?: 'pool' | 'random';
  portRange?: readonly [number, number];
  /** destinations (peer address and port) a client keeps a pool for (default 16) */
  destinations?: number;
  /** seeds the ISN function and random ports (default: random) */
  seed?: bigint;
  /** the engine clock's zero, ns since the epoch (default: now) */
  epochNs?: bigint;
  /** transmit slot: frames per slot (default 512) */
  slotPackets?: number;
  /**
   * On a link (assembly/link configured in the same engine): the link layer's transmit slot. Each
   * frame's next hop then comes from the link's neighbour cache (ARP, ND, the gateway), on this
   * endpoint's clock; nextHopMac and setNeighbor are not used.
   */
  linkTx?: number;
  app: HttpClientApp | HttpServerApp | RawApp;
}

/** Counter names, by TcpStat index (the JSON's names for them). */
export const TCP_STAT_NAMES: Readonly<Record<string, TcpStat>> = {
  received: TcpStat.RECEIVED, processed: TcpStat.PROCESSED, dropped: TcpStat.DROPPED, forwarded: TcpStat.FORWARDED,
  misdelivered: TcpStat.MISDELIVERED, drop_not_ours: TcpStat.DROP_NOT_OURS, drop_link: TcpStat.DROP_LINK,
  drop_bad_checksum: TcpStat.DROP_BAD_CHECKSUM, drop_no_tcb: TcpStat.DROP_NO_TCB, drop_not_tcp: TcpStat.DROP_NOT_TCP,
  drop_paws: TcpStat.DROP_PAWS, drop_no_chunk: TcpStat.DROP_NO_CHUNK, drop_invalid: TcpStat.DROP_INVALID,
  drop_ooo_limit: TcpStat.DROP_OOO_LIMIT,
  segments_sent: TcpStat.SEGMENTS_SENT, bytes_sent: TcpStat.BYTES_SENT, retransmits: TcpStat.RETRANSMITS,
  fast_retransmits: TcpStat.FAST_RETRANSMITS, timeouts: TcpStat.TIMEOUTS, rst_sent: TcpStat.RST_SENT,
  rst_received: TcpStat.RST_RECEIVED, challenge_acks: TcpStat.CHALLENGE_ACKS, challenge_acks_limited: TcpStat.CHALLENGE_ACKS_LIMITED,
  out_of_window: TcpStat.OUT_OF_WINDOW, dupacks: TcpStat.DUPACKS, out_of_order: TcpStat.OUT_OF_ORDER,
  bytes_received: TcpStat.BYTES_RECEIVED, zero_window_probes: TcpStat.ZERO_WINDOW_PROBES, acks_sent: TcpStat.ACKS_SENT,
  delayed_acks: TcpStat.DELAYED_ACKS, opened: TcpStat.OPENED, accepted: TcpStat.ACCEPTED, established: TcpStat.ESTABLISHED,
  resets: TcpStat.RESETS, retry_limit: TcpStat.RETRY_LIMIT, aborts: TcpStat.ABORTS, time_wait_entered: TcpStat.TIME_WAIT_ENTERED,
  time_wait_ended: TcpStat.TIME_WAIT_ENDED, time_wait_recycled: TcpStat.TIME_WAIT_RECYCLED, time_wait_reused: TcpStat.TIME_WAIT_REUSED,
  time_wait_reset: TcpStat.TIME_WAIT_RESET, port_exhausted: TcpStat.PORT_EXHAUSTED, tcb_exhausted: TcpStat.TCB_EXHAUSTED,
  chunk_stalls: TcpStat.CHUNK_STALLS, no_neighbor: TcpStat.NO_NEIGHBOR, tcbs_active: TcpStat.TCBS_ACTIVE,
  time_waits_active: TcpStat.TIME_WAITS_ACTIVE, chunks_free: TcpStat.CHUNKS_FREE, now_ms: TcpStat.NOW_MS,
  sacks_sent: TcpStat.SACKS_SENT, sacks_received: TcpStat.SACKS_RECEIVED, closed: TcpStat.CLOSED,
  app_started: TcpStat.APP_STARTED, app_completed: TcpStat.APP_COMPLETED, app_responses: TcpStat.APP_RESPONSES,
  app_body_bytes: TcpStat.APP_BODY_BYTES, app_connect_timeout: TcpStat.APP_CONNECT_TIMEOUT, app_reset: TcpStat.APP_RESET,
  app_timeout: TcpStat.APP_TIMEOUT, app_bad_response: TcpStat.APP_BAD_RESPONSE, app_served_connections: TcpStat.APP_SERVED_CONNECTIONS,
  app_served_requests: TcpStat.APP_SERVED_REQUESTS, app_served_bytes: TcpStat.APP_SERVED_BYTES, app_idle_closed: TcpStat.APP_IDLE_CLOSED,
  app_bad_request: TcpStat.APP_BAD_REQUEST, app_open: TcpStat.APP_OPEN,
};
export type TcpStatName = keyof typeof TCP_STAT_NAMES;
export type EndpointStats = Record<string, number>;

/** RFC 9293 state names by TcpState. */
export const TCP_STATE_NAMES: readonly string[] = [
  'NONE', 'LISTEN', 'SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSE_WAIT', 'CLOSING',
  'LAST_ACK', 'TIME_WAIT', 'CLOSED',
];

/** What a client's connections produced (read once, at the end). */
export interface ClientResults {
  /** responses by status code */
  status: Record<string, number>;
  /** request to end of response, and SYN to ESTABLISHED */
  latency: Histogram;
  connectTime: Histogram;
  /** responses by the CRC-32 of their body (hex), and those whose digest found no room */
  digests: Record<string, number>;
  digestOverflow: number;
}

/** Limits the engine holds (assembly/tcp/endpoint.ts checks the same). */
export const ENDPOINT_LIMITS = {
  tcbs: 1 << 22,
  timeWaits: 1 << 24,
  chunkBytes: [512, 65536] as const,
  mtu: [576, 9216] as const,
  memoryBytes: 3 * 2 ** 30,
};

const DEFAULTS = {
  tcbs: 65536, timeWaits: 262144, timeWaitMs: 60000, chunks: 16384, chunkBytes: 4096, mtu: 1500, slotPackets: 512,
  destinations: 16,
};

export function parseMac(value: string | Uint8Array, subject = 'MAC address'): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== 6) invalid(subject, `${value.length} bytes`, 'a MAC address is 6 bytes');
    return new Uint8Array(value);
  }
  const parts = value.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) invalid(subject, value, 'expected six hex bytes like 02:00:00:00:00:01');
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

function whole(value: number | undefined, fallback: number, subject: string, lo: number, hi: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < lo || v > hi) invalid(subject, v, `expected a whole number from ${lo.toLocaleString('en-US')} to ${hi.toLocaleString('en-US')}`);
  return v;
}

/** The field set an endpoint hashes each family's TCP with: the configured one's, per family. */
function familyFields(config: RssConfig): [FieldSet, FieldSet] {
  const ports = FIELD_SETS[config.fields].ports;
  return ports ? [FieldSet.IPV4_L4, FieldSet.IPV6_L4] : [FieldSet.IPV4, FieldSet.IPV6];
}

/** Request bytes for GET `path` on `host`; the last of a connection says `Connection: close`. */
export function httpRequest(host: string, path: string, close: boolean): Uint8Array {
  return new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: rssplane\r\nAccept: */*\r\n${close ? 'Connection: close\r\n' : ''}\r\n`);
}

/**
 * The body a rssplane server sends, `n` bytes: little-endian u32 word k is k * 0x9e3779b1 mod
 * 2^32 (assembly/app/http.ts). Tests recompute it to check responses byte for byte.
 */
export function serverBody(n: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(n / 4));
  for (let k = 0; k < words.length; k++) words[k] = Math.imul(k, 0x9e3779b1) >>> 0;
  return new Uint8Array(words.buffer, 0, n);
}

export class TcpEndpoint {
  /** the transmit slot: a ring slot (abi "rings") of `slotPackets` frames in `slotBytes` */
  readonly txSlot: number;
  readonly slotPackets: number;
  readonly slotBytes: number;
  /** the forward list: descriptors and a u16 core each, `slotPackets` of them */
  readonly forwardDescriptors: number;
  readonly forwardCores: number;
  readonly app: EndpointOptions['app'];
  readonly core: number;
  readonly cores: number;
  readonly epochNs: bigint;
  private view: DataView;

  private constructor(readonly engine: Engine, readonly config: RssConfig, o: {
    txSlot: number; slotPackets: number; slotBytes: number; forward: number; forwardCores: number; app: EndpointOptions['app'];
    core: number; cores: number; epochNs: bigint;
  }) {
    this.txSlot = o.txSlot;
    this.slotPackets = o.slotPackets;
    this.slotBytes = o.slotBytes;
    this.forwardDescriptors = o.forward;
    this.forwardCores = o.forwardCores;
    this.app = o.app;
    this.core = o.core;
    this.cores = o.cores;
    this.epochNs = o.epochNs;
    this.view = new DataView(engine.memory.buffer);
  }

  /**
   * Programs `engine` (its RSS, then the endpoint) from `options`. One endpoint per engine, made
   * once: every buffer is allocated here. Throws RssplaneError (EINVAL naming the option and its
   * limit; ENOMEM when the sizes need more memory than an engine holds).
   */
  static create(engine: Engine, options: EndpointOptions): TcpEndpoint {
    const cores = whole(options.cores, 1, 'cores', 1, QUEUES_MAX);
    const core = whole(options.core, 0, 'core', 0, cores - 1);
    let config = options.rss instanceof RssConfig ? options.rss : RssConfig.from(options.rss);
    if (!config.reta) config = config.with({ reta: Reta.equal(DEFAULT_RETA_SIZE, cores) });
    const reta = config.reta!;
    const queueCores = Uint16Array.from(options.queueCores ?? Array.from({ length: reta.queues }, (_, q) => q % cores));
    if (queueCores.length < reta.queues) invalid('queue -> core map', Array.from(queueCores).join(','), `the table names queues 0-${reta.queues - 1}: give a core for each`);
    if (queueCores.some((c) => c >= cores)) invalid('queue -> core map', Array.from(queueCores).join(','), `cores are 0-${cores - 1}`);

    const tcbs = whole(options.tcbs, DEFAULTS.tcbs, 'TCBs (connections at once)', 1, ENDPOINT_LIMITS.tcbs);
    const timeWaits = whole(options.timeWaits, DEFAULTS.timeWaits, 'TIME-WAIT entries', 0, ENDPOINT_LIMITS.timeWaits);
    const timeWaitMs = whole(options.timeWaitMs, DEFAULTS.timeWaitMs, 'TIME-WAIT length (ms)', 0, 2 ** 31 - 1);
    const chunkBytes = whole(options.chunkBytes, DEFAULTS.chunkBytes, 'chunk bytes', ENDPOINT_LIMITS.chunkBytes[0], ENDPOINT_LIMITS.chunkBytes[1]);
    if (chunkBytes & (chunkBytes - 1)) invalid('chunk bytes', chunkBytes, 'a power of two from 512 to 65536');
    const shift = Math.log2(chunkBytes);
    const bufferMax = (TCB_CHUNK_SLOTS - 1) * chunkBytes;
    const sendBuffer = whole(options.sendBuffer, bufferMax, 'send buffer', 1, bufferMax);
    const receiveBuffer = whole(options.receiveBuffer, bufferMax, 'receive buffer', 1, bufferMax);
    const chunks = whole(options.chunks, DEFAULTS.chunks, 'buffer chunks', 1, 2 ** 24);
    const mtu = whole(options.mtu, DEFAULTS.mtu, 'MTU', ENDPOINT_LIMITS.mtu[0], ENDPOINT_LIMITS.mtu[1]);
    let shiftNeeded = 0;
    while ((65535 << shiftNeeded) < receiveBuffer) shiftNeeded++;
    const windowShift = whole(options.windowShift, shiftNeeded, 'window shift', 0, 14);
    const t = options.tcp ?? {};
    const rtoMin = whole(t.rtoMinMs, 200, 'RTO minimum (ms)', 1, 2 ** 31 - 1);
    const rtoInitial = whole(t.rtoInitialMs, Math.max(1000, rtoMin), 'initial RTO (ms)', rtoMin, 2 ** 31 - 1);
    const rtoMax = whole(t.rtoMaxMs, Math.max(60000, rtoInitial), 'RTO maximum (ms)', rtoInitial, 2 ** 31 - 1);
    const synRetries = whole(t.synRetries, 6, 'SYN retries', 1, 255);
    const dataRetries = whole(t.dataRetries, 15, 'data retries', 1, 255);
    const delack = whole(t.delayedAckMs, 40, 'delayed ACK (ms)', 1, 500);
    const initialWindow = whole(t.initialWindow, 10, 'initial window (segments)', 1, 1000);
    const challengeLimit = whole(t.challengeAckLimit, 1000, 'challenge ACK limit', 0, 2 ** 31 - 1);
    const slotPackets = whole(options.slotPackets, DEFAULTS.slotPackets, 'slot packets', 4, 65536);
    const destinations = whole(options.destinations, DEFAULTS.destinations, 'destinations', 1, 4096);
    const [lo, hi] = options.portRange ?? [1025, 65535];
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi > 65535 || lo > hi) invalid('port range', `${lo}-${hi}`, 'expected LO-HI with 1 <= LO <= HI <= 65535');
    const portMode = options.ports ?? 'pool';
    if (portMode !== 'pool' && portMode !== 'random') invalid('ports', portMode, 'pool or random');

    const e = engine.exports;
    const need = e.tcpMemoryBytes(tcbs, timeWaits, chunks, shift);
    if (need > ENDPOINT_LIMITS.memoryBytes) {
      throw new RssplaneError('ENOMEM', `an endpoint of ${tcbs} TCBs, ${timeWaits} TIME-WAIT entries and ${chunks} chunks of ${chunkBytes} bytes needs ${Math.ceil(need / 2 ** 20)} MiB; at most ${ENDPOINT_LIMITS.memoryBytes / 2 ** 20} MiB`, 'tcbs');
    }

    programEngine(engine, config);
    engine.u16(QUEUE_CORE, queueCores.length).set(queueCores);
    const frameBytes = (14 + mtu + 15) & ~15;
    const slotBytes = SLOT_DESCRIPTORS + slotPackets * PKT_DESCRIPTOR + slotPackets * frameBytes;
    const txSlot = engine.allocate(slotBytes);
    const forward = engine.allocate(slotPackets * PKT_DESCRIPTOR);
    const forwardCores = engine.allocate(slotPackets * 2);

    const bytes = engine.bytes;
    bytes.fill(0, TCP_STATE, TCP_STATE + 0x200);
    const v = new DataView(engine.memory.buffer);
    const u32 = (off: number, x: number) => v.setUint32(TCP_STATE + off, x >>> 0, true);
    const u64 = (off: number, x: bigint) => v.setBigUint64(TCP_STATE + off, x, true);
    u32(CFG_TCBS, tcbs);
    u32(CFG_TIME_WAITS, timeWaits);
    u32(CFG_CHUNKS, chunks);
    u32(CFG_CHUNK_SHIFT, shift);
    u32(CFG_SNDBUF, sendBuffer);
    u32(CFG_RCVBUF, receiveBuffer);
    u32(CFG_WSCALE, windowShift);
    u32(CFG_OPTIONS, (t.sack === false ? 0 : TcpOption.SACK) | (t.timestamps === false ? 0 : TcpOption.TIMESTAMPS)
      | (t.windowScale === false ? 0 : TcpOption.WINDOW_SCALE) | (t.verifyChecksums === false ? 0 : TcpOption.VERIFY_CHECKSUMS)
      | (t.quickAck ? TcpOption.QUICK_ACK : 0));
    u32(CFG_RTO_MIN, rtoMin);
    u32(CFG_RTO_INITIAL, rtoInitial);
    u32(CFG_RTO_MAX, rtoMax);
    u32(CFG_SYN_RETRIES, synRetries);
    u32(CFG_DATA_RETRIES, dataRetries);
    u32(CFG_DELACK, delack);
    u32(CFG_TIME_WAIT, timeWaitMs);
    u32(CFG_INIT_CWND, initialWindow);
    u32(CFG_CORE, core);
    u32(CFG_CORES, cores);
    u32(CFG_PORT_MODE, portMode === 'random' ? PortMode.RANDOM : PortMode.POOL);
    u32(CFG_PORT_LO, lo);
    u32(CFG_PORT_HI, hi);
    u32(CFG_CHALLENGE_LIMIT, challengeLimit);
    u32(CFG_DESTINATIONS, destinations);
    const [fields4, fields6] = familyFields(config);
    u32(CFG_FIELDS4, fields4);
    u32(CFG_FIELDS6, fields6);
    const epochNs = options.epochNs ?? BigInt(Date.now()) * 1_000_000n;
    u64(CFG_EPOCH, epochNs);
    const seed = options.seed ?? (BigInt(Math.floor(Math.random() * 2 ** 32)) << 32n) | BigInt(Math.floor(Math.random() * 2 ** 32));
    u64(CFG_SECRET, seed & 0xffffffffffffffffn);
    u64(CFG_SECRET + 8, (seed * 0x9e3779b97f4a7c15n + 1n) & 0xffffffffffffffffn);
    bytes.set(parseMac(options.mac ?? '02:00:00:00:00:01', 'MAC address'), TCP_STATE + CFG_MAC);
    if (options.nextHopMac) {
      bytes.set(parseMac(options.nextHopMac, 'next hop MAC address'), TCP_STATE + CFG_NEXT_HOP_MAC);
      bytes[TCP_STATE + CFG_NEXT_HOP_VALID] = 1;
    }
    const local = (text: string | undefined, count: number | undefined, family: Family, at: number, countAt: number) => {
      if (text === undefined) return;
      const a = parseAddress(text, `local IPv${family} address`);
      if (a.family !== family) invalid(`local IPv${family} address`, text, `not an IPv${family} address`);
      const n = whole(count, 1, `local IPv${family} address count`, 1, 65536);
      addressPlus(a.bytes, n - 1, `local IPv${family} address`);
      bytes.set(a.bytes, TCP_STATE + at);
      u32(countAt, n);
    };
    local(options.ipv4, options.ipv4Count, 4, CFG_LOCAL4, CFG_LOCAL4_COUNT);
    local(options.ipv6, options.ipv6Count, 6, CFG_LOCAL6, CFG_LOCAL6_COUNT);
    if (options.ipv4 === undefined && options.ipv6 === undefined) invalid('local address', '', 'give an IPv4 or an IPv6 address (ipv4, ipv6)');
    u32(CFG_TX_SLOT, txSlot);
    u32(CFG_SLOT_PACKETS, slotPackets);
    u32(CFG_SLOT_BYTES, slotBytes);
    u32(CFG_FORWARD, forward);
    u32(CFG_FORWARD_CORES, forwardCores);
    u32(CFG_FORWARD_MAX, slotPackets);
    u32(CFG_MTU, mtu);
    u32(CFG_QUEUES, reta.queues);
    u32(CFG_LINK_TX, options.linkTx ?? 0);

    const app = options.app;
    if (app.kind === 'http-client') {
      u32(CFG_APP, AppKind.HTTP_CLIENT);
      const remote = parseAddress(app.remote, 'server address');
      if (remote.family === 4 ? options.ipv4 === undefined : options.ipv6 === undefined) {
        invalid('server address', app.remote, `an IPv${remote.family} server needs a local IPv${remote.family} address`);
      }
      if (FIELD_SETS[config.fields].ports === false && portMode === 'pool') {
        invalid('field set', config.fields, 'port pools need the ports in the hash (ipv4-l4 or ipv6-l4); use --ports random');
      }
      config.requireKeyFor(remote.family === 4 ? (FIELD_SETS[config.fields].ports ? 'ipv4-l4' : 'ipv4') : (FIELD_SETS[config.fields].ports ? 'ipv6-l4' : 'ipv6'));
      bytes.fill(0, TCP_STATE + CFG_APP_REMOTE, TCP_STATE + CFG_APP_REMOTE + 16);
      bytes.set(remote.bytes, TCP_STATE + CFG_APP_REMOTE);
      u32(CFG_APP_FAMILY, remote.family);
      u32(CFG_APP_PORT, parsePort(app.port, 'server port'));
      u32(CFG_APP_CONCURRENCY, whole(app.concurrency, 1, 'concurrency', 1, tcbs));
      u64(CFG_APP_CONNECTIONS, BigInt(whole(app.connections, 0, 'connections', 0, Number.MAX_SAFE_INTEGER)));
      u32(CFG_APP_REQUESTS, whole(app.requestsPerConnection, 1, 'requests per connection', 1, 2 ** 32 - 1));
      u32(CFG_APP_CLOSE, app.close === 'rst' ? CloseMode.RST : CloseMode.FIN);
      u32(CFG_APP_TIMEOUT, whole(app.timeoutMs, 2000, 'timeout (ms)', 1, 2 ** 31 - 1));
      u32(CFG_APP_DIGEST, app.digest === false ? 0 : 1);
      const host = app.host ?? (remote.family === 6 ? `[${formatAddress(remote.bytes)}]` : formatAddress(remote.bytes)) + (app.port === 80 ? '' : `:${app.port}`);
      const path = app.path ?? '/';
      for (const [last, at, lengthAt] of [[false, CFG_APP_REQUEST, CFG_APP_REQUEST_LENGTH], [true, CFG_APP_LAST_REQUEST, CFG_APP_LAST_REQUEST_LENGTH]] as const) {
        const request = httpRequest(host, path, last);
        const p = engine.allocate(request.length);
        engine.bytes.set(request, p);
        u32(at, p);
        u32(lengthAt, request.length);
      }
    } else if (app.kind === 'http-server') {
      u32(CFG_APP, AppKind.HTTP_SERVER);
      u32(CFG_APP_LISTEN, parsePort(app.port ?? 80, 'listen port'));
      u64(CFG_APP_RESPONSE_BYTES, BigInt(whole(app.responseBytes, 1024, 'response bytes', 0, Number.MAX_SAFE_INTEGER)));
      u32(CFG_APP_IDLE, whole(app.idleMs, 75000, 'idle timeout (ms)', 0, 2 ** 31 - 1));
    } else {
      u32(CFG_APP, AppKind.RAW);
      const ports = app.listen ?? [];
      if (ports.length > 4) invalid('listen ports', ports.join(','), 'at most 4');
      ports.forEach((p, i) => v.setUint16(TCP_STATE + CFG_APP_RAW_LISTEN + 2 * i, parsePort(p, 'listen port'), true));
    }
    const status = e.tcpConfigure();
    if (status !== 0) throw new RssplaneError('EFAULT', `engine refused the endpoint configuration (status ${-status})`);
    return new TcpEndpoint(engine, config, { txSlot, slotPackets, slotBytes, forward, forwardCores, app, core, cores, epochNs });
  }

  /** A view of the engine's memory (renewed if the memory grew). */
  private get dv(): DataView {
    if (this.view.buffer !== this.engine.memory.buffer) this.view = new DataView(this.engine.memory.buffer);
    return this.view;
  }

  // ---- per batch ----

  /** The clock moves to `now` (ns since the epoch): timers, TIME-WAIT, new client connections. */
  poll(now: bigint): void {
    this.engine.exports.tcpPoll(now);
  }

  /** Segments arrive. Returns how many were taken (all, unless the slot or forward list filled). */
  input(batch: PacketBatch): number {
    return this.engine.exports.tcpInput(batch.descriptors, batch.count);
  }

  /** TCBs send what they owe into the transmit slot; false when it filled first. */
  output(): boolean {
    return this.engine.exports.tcpOutput() === 1;
  }

  /** Frames in the transmit slot. */
  get txCount(): number {
    return this.dv.getUint32(this.txSlot + SLOT_COUNT, true);
  }

  /** Empties the transmit slot (after shipping it; Ring.publish does this itself). */
  clearTx(): void {
    this.dv.setUint32(this.txSlot + SLOT_COUNT, 0, true);
    this.dv.setUint32(this.txSlot + SLOT_BYTES, 0, true);
  }

  /** Descriptors on the forward list. */
  get forwardCount(): number {
    return this.dv.getUint32(TCP_STATE + FWD_COUNT, true);
  }

  clearForwards(): void {
    this.dv.setUint32(TCP_STATE + FWD_COUNT, 0, true);
  }

  /** Whether TCBs still wait to send (the slot filled). */
  get outputPending(): boolean {
    return this.dv.getUint32(TCP_STATE + TX_PENDING, true) !== 0;
  }

  /** When the next timer is due (ns since the epoch), or undefined. */
  nextTimer(): bigint | undefined {
    const ms = this.engine.exports.tcpNextTimer() >>> 0;
    return ms === 0xffffffff ? undefined : this.epochNs + BigInt(ms) * 1_000_000n;
  }

  /** A client opens no more connections; `done` once the open ones have ended. */
  stopOpening(): void {
    this.engine.exports.tcpStopOpening();
  }

  /** A client: every connection it will open has been opened and has ended. */
  get done(): boolean {
    return this.dv.getUint32(TCP_STATE + APP_DONE, true) !== 0;
  }

  /** One counter (cheap: one load). */
  counter(stat: TcpStat): number {
    return Number(this.dv.getBigUint64(TCP_STATE + TCP_STATS + stat * 8, true));
  }

  /** Every counter by name. */
  stats(): EndpointStats {
    const out: EndpointStats = {};
    for (const [name, index] of Object.entries(TCP_STAT_NAMES)) out[name] = this.counter(index);
    return out;
  }

  /** The raw counters (u64 each, TcpStat order), copied: for another thread or a merge. */
  rawStats(): BigUint64Array {
    return new BigUint64Array(this.engine.memory.buffer.slice(TCP_STATE + TCP_STATS, TCP_STATE + TCP_STATS + TCP_STAT_COUNT * 8));
  }

  /** A client's results: statuses, histograms, digests. */
  results(): ClientResults {
    const v = this.dv;
    const at = (off: number) => v.getUint32(TCP_STATE + off, true);
    const status: Record<string, number> = {};
    const statuses = at(APP_STATUS);
    for (let code = 0; code < 600; code++) {
      const n = v.getUint32(statuses + 4 * code, true);
      if (n) status[String(code)] = n;
    }
    const histogram = (p: number, maxAt: number) => new Histogram(new BigUint64Array(this.engine.memory.buffer.slice(p, p + HIST_BUCKETS * 8)),
      Number(v.getBigUint64(TCP_STATE + maxAt, true)));
    const digests: Record<string, number> = {};
    const d = at(APP_DIGESTS);
    for (let i = 0; i < DIGESTS_MAX; i++) {
      const n = v.getUint32(d + 8 * i + 4, true);
      if (n) digests[v.getUint32(d + 8 * i, true).toString(16).padStart(8, '0')] = n;
    }
    return {
      status, latency: histogram(at(APP_LATENCY), APP_LATENCY_MAX), connectTime: histogram(at(APP_CONNECT_TIME), APP_CONNECT_MAX),
      digests, digestOverflow: at(APP_DIGEST_OVERFLOW),
    };
  }

  /** Ports of each destination this core has a pool for: free now, and in all. */
  ports(): Array<{ available: number; size: number }> {
    const e = this.engine.exports;
    return Array.from({ length: e.tcpDestinations() }, (_, i) => ({ available: e.tcpPortsAvailable(i), size: e.tcpPortsSize(i) }));
  }

  /** The local ports connections to destination `dest` hold now (live TCBs, then TIME-WAIT). */
  portsInUse(dest = 0): number[] {
    const most = 1 << 16;
    const p = this.engine.allocate(2 * most);
    try {
      const n = this.engine.exports.tcpPortsInUse(dest, p, most);
      return Array.from(this.engine.u16(p, n));
    } finally {
      this.engine.release(p);
    }
  }

  /** Sets the MAC of a neighbour (the next hop for `address`); null marks it unresolved. */
  setNeighbor(address: string, mac: string | Uint8Array | null): void {
    const a = parseAddress(address, 'neighbour address');
    const scratch = this.engine.allocate(32);
    try {
      this.engine.bytes.set(a.bytes, scratch);
      if (mac) this.engine.bytes.set(parseMac(mac), scratch + 16);
      if (this.engine.exports.tcpSetNeighbor(a.family, scratch, mac ? scratch + 16 : 0) < 0) throw new RssplaneError('ENOMEM', 'the neighbour table is full');
    } finally {
      this.engine.release(scratch);
    }
  }

  // ---- the RAW application: connections by TCB index ----

  /** Opens a connection (RAW): its TCB index, or an error value (EADDRNOTAVAIL: no free port). */
  connect(remote: string, port: number): number | RssplaneError {
    const a = parseAddress(remote, 'remote address');
    const scratch = this.scratch(a.bytes);
    const r = this.engine.exports.tcpConnect(a.family, scratch, parsePort(port));
    if (r >= 0) return r;
    const names: ErrorCode[] = ['EFAULT', 'EINVAL', 'ENOMEM', 'EADDRNOTAVAIL', 'ENOMEM', 'EINVAL', 'EADDRINUSE'];
    const why = ['', 'bad size', 'no free TCB', 'no free port in this core\'s pool', 'no room for another destination', 'no local address of that family, or a pool the field set cannot build', '4-tuple in use'];
    return new RssplaneError(names[-r] ?? 'EFAULT', `cannot connect to ${remote}:${port}: ${why[-r] ?? `status ${-r}`}`, 'connect');
  }

  /** Queues `data` on TCB `tcb`; returns the bytes the send buffer took. */
  send(tcb: number, data: Uint8Array): number {
    const p = this.scratch(data);
    return this.engine.exports.tcpSend(tcb, p, data.length);
  }

  /** Reads up to `max` received bytes of TCB `tcb`. */
  recv(tcb: number, max = 65536): Uint8Array {
    const p = this.scratch(new Uint8Array(max));
    const n = this.engine.exports.tcpRecv(tcb, p, max);
    return this.engine.bytes.slice(p, p + n);
  }

  close(tcb: number): void {
    this.engine.exports.tcpClose(tcb);
  }

  abort(tcb: number): void {
    this.engine.exports.tcpAbort(tcb);
  }

  /** TCB `tcb`'s state name (CLOSED once it is gone). */
  state(tcb: number): string {
    const p = this.engine.exports.tcpTcb(tcb);
    return TCP_STATE_NAMES[this.engine.bytes[p]!] ?? 'NONE';
  }

  /** The address of TCB `tcb` (its fields: TCB_* in abi.ts). */
  tcbAddress(tcb: number): number {
    return this.engine.exports.tcpTcb(tcb);
  }

  private scratchAt = 0;
  private scratchSize = 0;
  /** A scratch buffer in engine memory holding `data` (grown as needed, reused). */
  private scratch(data: Uint8Array): number {
    if (data.length > this.scratchSize) {
      if (this.scratchAt) this.engine.release(this.scratchAt);
      this.scratchSize = Math.max(4096, data.length);
      this.scratchAt = this.engine.allocate(this.scratchSize);
    }
    this.engine.bytes.set(data, this.scratchAt);
    return this.scratchAt;
  }
}

export { TcpState };
