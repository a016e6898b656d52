/**
 * Test-only pcap handling. Reading: a record loop (classic pcap, either byte order, micro- or
 * nanoseconds), so flow tests can put real captured packets into an engine the way a source does:
 * packet bytes in engine memory, one 32-byte descriptor each (the product's reader is
 * host/core/capture.ts). Writing: packets from engine memory as a nanosecond pcap, for peer tools.
 */
import { readFileSync } from 'node:fs';
import { PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR, PKT_LINKTYPE, PKT_TIMESTAMP, PKT_WIRELEN } from '../../assembly/shared/abi.js';
import type { Engine } from '../../host/core/index.js';

export interface Packet {
  ts: bigint;
  data: Uint8Array;
  wirelen: number;
  linkType: number;
}

export function readPcap(path: string): Packet[] {
  const b = readFileSync(path);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint32(0, true);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = (little ? magic : dv.getUint32(0, false)) === 0xa1b23c4d;
  const linkType = dv.getUint32(20, little) & 0xffff;
  const out: Packet[] = [];
  for (let at = 24; at + 16 <= b.length;) {
    const sec = dv.getUint32(at, little), frac = dv.getUint32(at + 4, little);
    const caplen = dv.getUint32(at + 8, little), wirelen = dv.getUint32(at + 12, little);
    if (at + 16 + caplen > b.length) break;
    out.push({ ts: BigInt(sec) * 1_000_000_000n + BigInt(frac) * (nano ? 1n : 1000n), data: b.subarray(at + 16, at + 16 + caplen), wirelen, linkType });
    at += 16 + caplen;
  }
  return out;
}

/** Copies packets into engine memory and builds their descriptors; returns the batch. */
export function loadPackets(engine: Engine, packets: readonly Packet[]): { descriptors: number; count: number; free(): void } {
  const total = packets.reduce((n, p) => n + p.data.length + 16, 0);
  const data = engine.allocate(total);
  const descriptors = engine.allocate(packets.length * PKT_DESCRIPTOR);
  const bytes = engine.bytes;
  const dv = new DataView(engine.memory.buffer);
  let at = data;
  packets.forEach((p, i) => {
    bytes.set(p.data, at);
    const d = descriptors + i * PKT_DESCRIPTOR;
    bytes.fill(0, d, d + PKT_DESCRIPTOR);
    dv.setUint32(d + PKT_DATA, at, true);
    dv.setUint32(d + PKT_CAPLEN, p.data.length, true);
    dv.setUint32(d + PKT_WIRELEN, p.wirelen, true);
    dv.setUint16(d + PKT_LINKTYPE, p.linkType, true);
    dv.setBigUint64(d + PKT_TIMESTAMP, p.ts, true);
    at += p.data.length + 16;
  });
  return { descriptors, count: packets.length, free: () => { engine.release(data); engine.release(descriptors); } };
}

export function pcapHeader(linktype = 1): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b23c4d, 0); // nanosecond timestamps
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(linktype, 20);
  return h;
}

/** pcap records for `count` descriptors at `descriptors` in `memory`. */
export function pcapRecords(memory: ArrayBufferLike, descriptors: number, count: number): Buffer[] {
  const d = new DataView(memory, descriptors, count * PKT_DESCRIPTOR);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * PKT_DESCRIPTOR;
    const ptr = d.getUint32(o + PKT_DATA, true), cap = d.getUint32(o + PKT_CAPLEN, true);
    const ts = d.getBigUint64(o + PKT_TIMESTAMP, true);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Number(ts / 1_000_000_000n), 0);
    rec.writeUInt32LE(Number(ts % 1_000_000_000n), 4);
    rec.writeUInt32LE(cap, 8);
    rec.writeUInt32LE(d.getUint32(o + PKT_WIRELEN, true), 12);
    out.push(rec, Buffer.from(new Uint8Array(memory, ptr, cap)));
  }
  return out;
}
