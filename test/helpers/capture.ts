/**
 * Capture files for tests: the committed fixtures, packet descriptors decoded into plain values,
 * tshark's view of a file, and a small pcap/pcapng writer for inputs no tool writes (damaged
 * ones, odd clocks). Slow and obvious on purpose.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR, PKT_FLAGS, PKT_HASH, PKT_IFACE, PKT_LINKTYPE, PKT_QUEUE, PKT_TIMESTAMP, PKT_WIRELEN,
} from '../../assembly/shared/abi.js';
import type { CaptureOptions, CaptureSummary, Engine, PacketBatch } from '../../host/core/index.js';
import { CaptureReader } from '../../host/core/index.js';

export const CAPTURES = fileURLToPath(new URL('../fixtures/captures/', import.meta.url));
export const fixture = (name: string) => `${CAPTURES}${name}`;
export const fixtureBytes = (name: string) => new Uint8Array(readFileSync(fixture(name)));

/** One descriptor as plain values; `md5` is of the packet bytes it points at. */
export interface Packet {
  data: number;
  caplen: number;
  wirelen: number;
  linkType: number;
  iface: number;
  time: bigint;
  md5: string;
  zeroed: boolean;
}

export function decodeBatch(engine: Engine, batch: PacketBatch): Packet[] {
  const view = new DataView(engine.memory.buffer);
  const out: Packet[] = [];
  for (let i = 0; i < batch.count; i++) {
    const d = batch.descriptors + i * PKT_DESCRIPTOR;
    const data = view.getUint32(d + PKT_DATA, true);
    const caplen = view.getUint32(d + PKT_CAPLEN, true);
    out.push({
      data,
      caplen,
      wirelen: view.getUint32(d + PKT_WIRELEN, true),
      linkType: view.getUint16(d + PKT_LINKTYPE, true),
      iface: view.getUint16(d + PKT_IFACE, true),
      time: view.getBigUint64(d + PKT_TIMESTAMP, true),
      md5: createHash('md5').update(engine.bytes.subarray(data, data + caplen)).digest('hex'),
      zeroed: view.getUint32(d + PKT_HASH, true) === 0 && view.getUint16(d + PKT_QUEUE, true) === 0 && view.getUint16(d + PKT_FLAGS, true) === 0,
    });
  }
  return out;
}

/** Everything a reader delivers for `bytes`, written in pieces of `pieces` bytes (all at once by default). */
export function readAll(engine: Engine, bytes: Uint8Array, options: CaptureOptions & { pieces?: number } = {}): { packets: Packet[]; summary: CaptureSummary } {
  const reader = CaptureReader.create(engine, options);
  try {
    const packets: Packet[] = [];
    const step = options.pieces ?? bytes.length;
    for (let at = 0; at < bytes.length; at += step) {
      for (const batch of reader.write(bytes.subarray(at, at + step))) {
        for (const p of decodeBatch(engine, batch)) {
          if (p.data < reader.buffer || p.data + p.caplen > reader.buffer + reader.capacity) throw new Error(`descriptor outside the buffer: ${JSON.stringify(p)}`);
          packets.push(p);
        }
      }
    }
    return { packets, summary: reader.finish() };
  } finally {
    reader.free();
  }
}

/** What the descriptor of a packet should say, without where its bytes happen to lie. */
export const essence = ({ data: _, ...rest }: Packet) => rest;

// ---- tshark ----

/** One frame as tshark shows it. `encap` is wiretap's WTAP_ENCAP number, undefined for a non-packet record. */
export interface TsharkFrame {
  section: number;
  iface: number | undefined;
  encap: number | undefined;
  caplen: number;
  wirelen: number;
  /** nanoseconds since the epoch; undefined when the record has no time (simple packet block) */
  time: bigint | undefined;
  md5: string;
}

/** tshark's frames of `path`; a file cut short is read up to the cut, as tshark does (it then exits 2). */
export function tsharkFrames(path: string): TsharkFrame[] {
  const r = spawnSync('tshark', [
    '-r', path, '-o', 'frame.generate_md5_hash:TRUE', '-T', 'fields', '-E', 'occurrence=f',
    '-e', 'frame.section_number', '-e', 'frame.interface_id', '-e', 'frame.encap_type',
    '-e', 'frame.cap_len', '-e', 'frame.len', '-e', 'frame.time_epoch', '-e', 'frame.md5_hash',
  ], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0 && !/cut short in the middle of a packet/.test(r.stderr)) throw new Error(`tshark -r ${path}: status ${r.status}: ${r.stderr}`);
  const text = r.stdout;
  const num = (s: string | undefined) => (s ? Number(s) : undefined);
  return text.trimEnd().split('\n').map((line) => {
    const [section, iface, encap, caplen, wirelen, time, md5] = line.split('\t');
    return { section: Number(section), iface: num(iface), encap: num(encap), caplen: Number(caplen), wirelen: Number(wirelen), time: time ? epochNanoseconds(time) : undefined, md5: md5 ?? '' };
  });
}

/** tshark's `frame.time_epoch` ("1795292340.410119000", nine digits here) as nanoseconds, exactly. */
export function epochNanoseconds(text: string): bigint {
  const [s, frac = ''] = text.split('.');
  return BigInt(s!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
}

// ---- writing captures ----

/** A byte sink in one byte order. */
export class Bytes {
  private parts: number[] = [];
  constructor(readonly bigEndian = false) {}
  get length() { return this.parts.length; }
  u8(x: number) { this.parts.push(x & 0xff); return this; }
  u16(x: number) { const b = [x & 0xff, (x >>> 8) & 0xff]; this.parts.push(...(this.bigEndian ? b.reverse() : b)); return this; }
  u32(x: number) { const b = [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff]; this.parts.push(...(this.bigEndian ? b.reverse() : b)); return this; }
  u64(x: bigint) {
    const hi = Number(BigInt.asUintN(64, x) >> 32n), lo = Number(BigInt.asUintN(32, x));
    return this.bigEndian ? this.u32(hi).u32(lo) : this.u32(lo).u32(hi);
  }
  raw(b: ArrayLike<number>) { for (let i = 0; i < b.length; i++) this.parts.push(b[i]!); return this; }
  pad4() { while (this.parts.length % 4) this.parts.push(0); return this; }
  bytes() { return Uint8Array.from(this.parts); }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function pcapHeader(o: { bigEndian?: boolean; nano?: boolean; linkType?: number; major?: number } = {}): Uint8Array {
  return new Bytes(o.bigEndian).u32(o.nano ? 0xa1b23c4d : 0xa1b2c3d4).u16(o.major ?? 2).u16(4).u32(0).u32(0).u32(262144).u32(o.linkType ?? 1).bytes();
}

export function pcapRecord(o: { bigEndian?: boolean; seconds: number; fraction: number; data: Uint8Array; wirelen?: number; caplen?: number }): Uint8Array {
  return new Bytes(o.bigEndian).u32(o.seconds).u32(o.fraction).u32(o.caplen ?? o.data.length).u32(o.wirelen ?? o.data.length).raw(o.data).bytes();
}

/** A pcapng block: type, total length, body (padded), options, total length (`length` overrides both lengths). */
export function pcapngBlock(type: number, body: (b: Bytes) => void, o: { bigEndian?: boolean; options?: Array<[number, Uint8Array]>; length?: number; trailer?: number } = {}): Uint8Array {
  const b = new Bytes(o.bigEndian);
  body(b);
  b.pad4();
  if (o.options?.length) {
    for (const [code, value] of o.options) b.u16(code).u16(value.length).raw(value).pad4();
    b.u16(0).u16(0);
  }
  const inner = b.bytes();
  const total = inner.length + 12;
  return new Bytes(o.bigEndian).u32(type).u32(o.length ?? total).raw(inner).u32(o.trailer ?? o.length ?? total).bytes();
}

export const shb = (o: { bigEndian?: boolean; major?: number } = {}) =>
  pcapngBlock(0x0a0d0d0a, (b) => b.u32(0x1a2b3c4d).u16(o.major ?? 1).u16(0).u64(-1n), o);

export function idb(linkType: number, o: { bigEndian?: boolean; snaplen?: number; tsresol?: number; tsoffset?: bigint; options?: Array<[number, Uint8Array]> } = {}): Uint8Array {
  const options: Array<[number, Uint8Array]> = [...(o.options ?? [])];
  if (o.tsresol !== undefined) options.push([9, Uint8Array.of(o.tsresol)]);
  if (o.tsoffset !== undefined) options.push([14, new Bytes(o.bigEndian).u64(o.tsoffset).bytes()]);
  return pcapngBlock(1, (b) => b.u16(linkType).u16(0).u32(o.snaplen ?? 0), { bigEndian: o.bigEndian, options });
}

export function epb(iface: number, units: bigint, data: Uint8Array, o: { bigEndian?: boolean; wirelen?: number; caplen?: number } = {}): Uint8Array {
  return pcapngBlock(6, (b) => b.u32(iface).u32(Number(units >> 32n)).u32(Number(units & 0xffffffffn)).u32(o.caplen ?? data.length).u32(o.wirelen ?? data.length).raw(data), o);
}
