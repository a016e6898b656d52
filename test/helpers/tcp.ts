/**
 * smoltcp-style TCP tests: a segment is a literal (`Seg`: flags, numbers, options, payload), fed
 * to an endpoint as a real frame (built by packets.ts from the RFC header diagrams, checksums
 * and all), and what the endpoint sends back is parsed here, independently of the engine's own
 * parser, into the same literal form, on a clock the test drives.
 */
import { PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR, SLOT_DESCRIPTORS } from '../../assembly/shared/abi.js';
import { Engine, TcpEndpoint, type EndpointOptions, type TcpSettings } from '../../host/core/index.js';
import * as addr from '../../host/core/addr.js';
import { internetChecksum, tcp4, tcp6 } from './packets.js';
import { loadPackets } from './pcap.js';

export const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;

/** A TCP segment as a test writes it. Sequence numbers are absolute. */
export interface Seg {
  flags: number;
  seq: number;
  ack?: number;
  /** window field as sent (scaled) */
  win?: number;
  mss?: number;
  ws?: number;
  sackPermitted?: boolean;
  /** [TSval, TSecr] */
  ts?: [number, number];
  sack?: Array<[number, number]>;
  payload?: Uint8Array | string;
}

/** A segment the endpoint sent, parsed; fields as on the wire. */
export interface Sent extends Seg {
  srcPort: number;
  dstPort: number;
  win: number;
  payload: Uint8Array;
  /** IP and TCP checksums verified */
  checksumsOk: boolean;
}

const be16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const be32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** Option bytes for a literal (MSS, SACK-permitted, timestamps, window scale, SACK blocks). */
export function optionBytes(s: Seg): number[] {
  const o: number[] = [];
  if (s.mss !== undefined) o.push(2, 4, ...be16(s.mss));
  if (s.sackPermitted) o.push(1, 1, 4, 2);
  if (s.ts) o.push(1, 1, 8, 10, ...be32(s.ts[0]), ...be32(s.ts[1]));
  if (s.ws !== undefined) o.push(1, 3, 3, s.ws);
  if (s.sack?.length) {
    o.push(1, 1, 5, 2 + 8 * s.sack.length);
    for (const [l, r] of s.sack) o.push(...be32(l), ...be32(r));
  }
  return o;
}

const bytesOf = (p: Uint8Array | string | undefined) => (typeof p === 'string' ? new TextEncoder().encode(p) : p ?? new Uint8Array(0));

/** Parses the TCP segment in an Ethernet frame (IPv4 or IPv6), reading every field by hand. */
export function parseFrame(frame: Uint8Array): Sent {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const type = dv.getUint16(12);
  let ip = 14, tcpAt: number, tcpLength: number, ipOk = true, pseudo: Uint8Array;
  if (type === 0x0800) {
    const ihl = (frame[ip]! & 15) * 4;
    const total = dv.getUint16(ip + 2);
    ipOk = internetChecksum(frame.subarray(ip, ip + ihl)) === 0 && frame[ip + 9] === 6;
    tcpAt = ip + ihl;
    tcpLength = total - ihl;
    pseudo = new Uint8Array([...frame.subarray(ip + 12, ip + 20), 0, 6, ...be16(tcpLength)]);
  } else if (type === 0x86dd) {
    tcpLength = dv.getUint16(ip + 4);
    tcpAt = ip + 40;
    ipOk = frame[ip + 6] === 6;
    pseudo = new Uint8Array([...frame.subarray(ip + 8, ip + 40), ...be32(tcpLength), 0, 0, 0, 6]);
  } else {
    throw new Error(`not IP: EtherType 0x${type.toString(16)}`);
  }
  const segment = frame.subarray(tcpAt, tcpAt + tcpLength);
  const tcpOk = internetChecksum(pseudo, segment) === 0;
  const s = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  const header = (segment[12]! >> 4) * 4;
  const out: Sent = {
    srcPort: s.getUint16(0), dstPort: s.getUint16(2), seq: s.getUint32(4), ack: s.getUint32(8), flags: segment[13]!,
    win: s.getUint16(14), payload: segment.slice(header), checksumsOk: ipOk && tcpOk,
  };
  for (let i = 20; i < header;) {
    const kind = segment[i]!;
    if (kind === 0) break;
    if (kind === 1) { i++; continue; }
    const len = segment[i + 1]!;
    if (kind === 2) out.mss = s.getUint16(i + 2);
    else if (kind === 3) out.ws = segment[i + 2]!;
    else if (kind === 4) out.sackPermitted = true;
    else if (kind === 8) out.ts = [s.getUint32(i + 2), s.getUint32(i + 6)];
    else if (kind === 5) {
      out.sack = [];
      for (let j = i + 2; j < i + len; j += 8) out.sack.push([s.getUint32(j), s.getUint32(j + 4)]);
    }
    i += len;
  }
  if (!(out.flags & ACK)) delete out.ack;
  return out;
}

export interface HarnessOptions {
  tcp?: TcpSettings;
  listen?: number[];
  /** run an HTTP application instead of RAW */
  app?: EndpointOptions['app'];
  family?: 4 | 6;
  endpoint?: Partial<EndpointOptions>;
}

export const LOCAL4 = '198.18.0.1', PEER4 = '198.18.0.2', LOCAL6 = '2001:db8::1', PEER6 = '2001:db8::2';
export const EPOCH = 1_700_000_000_000_000_000n;

/**
 * One RAW endpoint, and the peer a test plays by hand. Time is in ms from EPOCH; every call
 * polls the endpoint at the current time first.
 */
export class Harness {
  ms = 1;
  peerPort = 80;
  localPort = 0;
  tcb = -1;

  private constructor(readonly endpoint: TcpEndpoint, readonly family: 4 | 6) {}

  static async create(o: HarnessOptions = {}): Promise<Harness> {
    const engine = await Engine.create();
    const family = o.family ?? 4;
    const endpoint = TcpEndpoint.create(engine, {
      rss: { key: 'microsoft' }, ...(family === 4 ? { ipv4: LOCAL4 } : { ipv6: LOCAL6 }),
      mac: '02:00:00:00:00:01', nextHopMac: '02:00:00:00:00:02', epochNs: EPOCH, seed: 7n,
      tcbs: 16, timeWaits: 16, chunks: 64, chunkBytes: 4096, slotPackets: 64,
      tcp: { sack: false, timestamps: false, windowScale: false, ...o.tcp },
      ...o.endpoint,
      app: o.app ?? { kind: 'raw', listen: o.listen },
    });
    return new Harness(endpoint, family);
  }

  get now(): bigint {
    return EPOCH + BigInt(this.ms) * 1_000_000n;
  }

  get local(): string {
    return this.family === 4 ? LOCAL4 : LOCAL6;
  }

  get peer(): string {
    return this.family === 4 ? PEER4 : PEER6;
  }

  /** Moves the clock by `ms` and polls (timers fire). */
  advance(ms: number): this {
    this.ms += ms;
    this.endpoint.poll(this.now);
    return this;
  }

  /** Opens a connection to the peer (RAW); remembers its TCB and local port. */
  connect(): number {
    this.endpoint.poll(this.now);
    const r = this.endpoint.connect(this.peer, this.peerPort);
    if (typeof r !== 'number') throw r;
    this.tcb = r;
    const t = this.endpoint.tcbAddress(r);
    this.localPort = new DataView(this.endpoint.engine.memory.buffer).getUint16(t + 8, true);
    return r;
  }

  /** Feeds the peer's segment `s` (to our local port, from the peer's). */
  send(s: Seg, from = this.peerPort, to = this.localPort): void {
    this.endpoint.poll(this.now);
    const spec = { sport: from, dport: to, seq: s.seq >>> 0, ack: (s.ack ?? 0) >>> 0, flags: s.flags, window: s.win ?? 65535, options: optionBytes(s), payload: bytesOf(s.payload) };
    const data = this.family === 4 ? tcp4(this.peer, this.local, spec) : tcp6(this.peer, this.local, spec);
    const batch = loadPackets(this.endpoint.engine, [{ ts: this.now, data, wirelen: data.length, linkType: 1 }]);
    const taken = this.endpoint.input(batch);
    batch.free();
    if (taken !== 1) throw new Error('the endpoint did not take the segment');
  }

  /** Everything the endpoint sends now (after an output pass), parsed; the slot is emptied. */
  recv(): Sent[] {
    this.endpoint.poll(this.now);
    while (!this.endpoint.output()) { /* a test never fills a slot */ }
    const ep = this.endpoint;
    const dv = new DataView(ep.engine.memory.buffer);
    const data = ep.txSlot + SLOT_DESCRIPTORS + ep.slotPackets * PKT_DESCRIPTOR;
    const out: Sent[] = [];
    for (let i = 0; i < ep.txCount; i++) {
      const d = ep.txSlot + SLOT_DESCRIPTORS + i * PKT_DESCRIPTOR;
      const at = data + dv.getUint32(d + PKT_DATA, true), len = dv.getUint32(d + PKT_CAPLEN, true);
      out.push(parseFrame(ep.engine.bytes.slice(at, at + len)));
    }
    ep.clearTx();
    return out;
  }

  /** The one segment sent now (fails if there is not exactly one). */
  recvOne(): Sent {
    const all = this.recv();
    if (all.length !== 1) throw new Error(`expected one segment, got ${all.length}: ${JSON.stringify(all.map(brief))}`);
    return all[0]!;
  }

  /** The TCB of (our port, the peer's port): its index, or -1 (-2 - n: TIME-WAIT entry n). */
  find(localPort: number, peerPort: number): number {
    const ep = this.endpoint;
    const a = ep.engine.allocate(32);
    const { parseAddress } = addr;
    ep.engine.bytes.set(parseAddress(this.local).bytes, a);
    ep.engine.bytes.set(parseAddress(this.peer).bytes, a + 16);
    const r = ep.engine.exports.tcpFind(this.family, a, a + 16, localPort, peerPort);
    ep.engine.release(a);
    return r;
  }

  /** Accepts the peer's connection from `peerPort` to our listening `port` (SYN, SYN-ACK, ACK). */
  accept(port: number, peerPort: number, isn = 100, options: Partial<Seg> = {}): { iss: number; synAck: Sent } {
    this.localPort = port;
    this.peerPort = peerPort;
    this.send({ flags: SYN, seq: isn, win: 65535, mss: 1460, ...options });
    const synAck = this.recvOne();
    this.send({ flags: ACK, seq: isn + 1, ack: synAck.seq + 1, win: 65535, ...(options.ts ? { ts: [options.ts[0] + 1, synAck.ts![0]] as [number, number] } : {}) });
    this.tcb = this.find(port, peerPort);
    return { iss: synAck.seq, synAck };
  }

  state(tcb = this.tcb): string {
    return this.endpoint.state(tcb);
  }

  /** TCB field (u32 at `offset`, abi.ts TCB_*). */
  field(offset: number, tcb = this.tcb): number {
    return new DataView(this.endpoint.engine.memory.buffer).getUint32(this.endpoint.tcbAddress(tcb) + offset, true);
  }
}

/** A segment without checksum status and with the payload as text: for messages. */
export function brief(s: Sent): object {
  const { checksumsOk: _, payload, ...rest } = s;
  return { ...rest, payload: new TextDecoder().decode(payload) };
}

/** What a test compares: the literal fields (payload as text). */
export function lit(s: Sent): Omit<Seg, 'payload'> & { payload: string; srcPort: number; dstPort: number } {
  if (!s.checksumsOk) throw new Error(`bad checksum in ${JSON.stringify(brief(s))}`);
  const { checksumsOk: _, payload, ...rest } = s;
  return { ...rest, payload: new TextDecoder().decode(payload) };
}
