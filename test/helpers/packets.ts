/**
 * Hand-built packets for wire and flow tests, written from the RFCs' header diagrams (and so
 * independent of the engine's parser): Ethernet with VLAN tags, IPv4 with options, IPv6 with
 * extension headers, TCP with options, UDP; checksums computed here, RFC 1071's way.
 */
import { parseAddress } from '../../host/core/index.js';
import type { Packet } from './pcap.js';

const be16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const be32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** RFC 1071: ones' complement of the ones' complement sum of big-endian 16-bit words. */
export function internetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  const all = concat(...parts);
  for (let i = 0; i < all.length; i += 2) sum += (all[i]! << 8) | (all[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export const TCP_FLAGS = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;

export interface TcpSpec {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags: number;
  window?: number;
  /** raw option bytes (padded to 4 with NOP... here: with EOL zeros) */
  options?: number[];
  payload?: Uint8Array;
  /** header length in bytes, to build malformed ones (default from options) */
  dataOffset?: number;
}

/** A TCP segment, checksum over the pseudo header of `src` -> `dst`. */
export function tcp(spec: TcpSpec, src: string, dst: string): Uint8Array {
  const options = [...(spec.options ?? [])];
  while (options.length % 4) options.push(0);
  const headerLength = 20 + options.length;
  const payload = spec.payload ?? new Uint8Array(0);
  const h = new Uint8Array([
    ...be16(spec.sport), ...be16(spec.dport), ...be32(spec.seq ?? 0), ...be32(spec.ack ?? 0),
    ((spec.dataOffset ?? headerLength) / 4) << 4, spec.flags, ...be16(spec.window ?? 65535), 0, 0, 0, 0, ...options,
  ]);
  const segment = concat(h, payload);
  const sum = internetChecksum(pseudoHeader(src, dst, 6, segment.length), segment);
  segment.set(be16(sum), 16);
  return segment;
}

export function udp(sport: number, dport: number, payload: Uint8Array, src: string, dst: string, options: { length?: number; zeroChecksum?: boolean } = {}): Uint8Array {
  const segment = concat(new Uint8Array([...be16(sport), ...be16(dport), ...be16(options.length ?? 8 + payload.length), 0, 0]), payload);
  if (!options.zeroChecksum) {
    const sum = internetChecksum(pseudoHeader(src, dst, 17, segment.length), segment) || 0xffff;
    segment.set(be16(sum), 6);
  }
  return segment;
}

function pseudoHeader(src: string, dst: string, protocol: number, length: number): Uint8Array {
  const s = parseAddress(src).bytes, d = parseAddress(dst).bytes;
  if (s.length === 4) return concat(s, d, new Uint8Array([0, protocol, ...be16(length)]));
  return concat(s, d, new Uint8Array([...be32(length), 0, 0, 0, protocol]));
}

export interface Ipv4Spec {
  src: string;
  dst: string;
  protocol: number;
  payload: Uint8Array;
  /** option bytes (a multiple of 4) */
  options?: number[];
  /** flags and fragment offset word (MF = 0x2000) */
  fragment?: number;
  /** override the header length field (words) or total length, to build malformed headers */
  ihl?: number;
  totalLength?: number;
  badChecksum?: boolean;
}

export function ipv4(spec: Ipv4Spec): Uint8Array {
  const options = spec.options ?? [];
  const headerLength = 20 + options.length;
  const h = new Uint8Array([
    0x40 | (spec.ihl ?? headerLength / 4), 0, ...be16(spec.totalLength ?? headerLength + spec.payload.length), 0x12, 0x34,
    ...be16(spec.fragment ?? 0x4000), 64, spec.protocol, 0, 0,
    ...parseAddress(spec.src).bytes, ...parseAddress(spec.dst).bytes, ...options,
  ]);
  h.set(be16(internetChecksum(h) ^ (spec.badChecksum ? 0x0101 : 0)), 10);
  return concat(h, spec.payload);
}

/** An IPv6 extension header: next header, then `body` (padded to a multiple of 8 with the 2 leading bytes). */
export interface Extension {
  type: 0 | 43 | 44 | 60;
  /** bytes after next-header and length (fragment: offset/flags and identification: 6 bytes) */
  body?: number[];
}

export function ipv6(src: string, dst: string, protocol: number, payload: Uint8Array, extensions: Extension[] = []): Uint8Array {
  const types = [...extensions.map((e) => e.type), protocol];
  const ext = extensions.map((e, i) => {
    if (e.type === 44) return new Uint8Array([types[i + 1]!, 0, ...(e.body ?? [0, 0, 0, 0, 0, 1])]);
    const body = [...(e.body ?? [1, 4, 0, 0, 0, 0])];
    while ((body.length + 2) % 8) body.push(0);
    return new Uint8Array([types[i + 1]!, (body.length + 2) / 8 - 1, ...body]);
  });
  const rest = concat(...ext, payload);
  return concat(new Uint8Array([0x60, 0, 0, 0, ...be16(rest.length), types[0]!, 64, ...parseAddress(src).bytes, ...parseAddress(dst).bytes]), rest);
}

/** Ethernet II; `tags` are TPIDs (0x8100, 0x88a8) pushed outermost first, each with a VLAN ID. */
export function ethernet(payload: Uint8Array, etherType: number, tags: number[] = []): Uint8Array {
  const head = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
  tags.forEach((tpid, i) => head.push(...be16(tpid), ...be16(100 + i)));
  return concat(new Uint8Array([...head, ...be16(etherType)]), payload);
}

let clock = 1_700_000_000_000_000_000n;
/** A packet record as a capture holds it (Ethernet link type unless `linkType`), 1 ms apart. */
export function frame(data: Uint8Array, options: { ts?: bigint; caplen?: number; wirelen?: number; linkType?: number } = {}): Packet {
  clock += 1_000_000n;
  return { ts: options.ts ?? clock, data: data.subarray(0, options.caplen ?? data.length), wirelen: options.wirelen ?? data.length, linkType: options.linkType ?? 1 };
}

/** TCP in IPv4 in Ethernet. */
export function tcp4(src: string, dst: string, spec: TcpSpec): Uint8Array {
  return ethernet(ipv4({ src, dst, protocol: 6, payload: tcp(spec, src, dst) }), 0x0800);
}

/** TCP in IPv6 in Ethernet. */
export function tcp6(src: string, dst: string, spec: TcpSpec, extensions: Extension[] = []): Uint8Array {
  return ethernet(ipv6(src, dst, 6, tcp(spec, src, dst), extensions), 0x86dd);
}
