/** Writes packets from engine memory as a nanosecond pcap (LINKTYPE_ETHERNET), for peer tools. */
import { PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR, PKT_TIMESTAMP, PKT_WIRELEN } from '../../assembly/shared/abi.js';

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
