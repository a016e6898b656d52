/**
 * Capture files in: pcap and pcapng walked in WASM into packet descriptors, checked packet for
 * packet against tshark on real captures in every format variant, and against damaged input.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CAPTURE_RECORD_MAX, LinkType } from '../assembly/shared/abi.js';
import { CaptureReader, Engine, RssplaneError, type PacketBatch } from '../host/core/index.js';
import '../host/node/shared-builds.js';
import { readCapture } from '../host/node/sources/capture.js';
import {
  Bytes, concat, decodeBatch, epb, essence, fixture, fixtureBytes, idb, pcapHeader, pcapngBlock, pcapRecord,
  readAll, shb, tsharkFrames, type Packet,
} from './helpers/capture.js';
import { expectUsageError, rssplane } from './helpers/cli.js';
import { describeWithDependency, haveLibpcap, haveTshark } from './helpers/deps.js';
import { Random } from './helpers/random.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});

const FIXTURES = [
  'ipv4.pcap', 'ipv4-loss.pcap', 'ipv6.pcap', 'ipv4.pcapng', 'ipv4-nsec.pcap', 'ipv4-be.pcap', 'ipv4-be-nsec.pcap',
  'ipv4-rawip.pcap', 'multi.pcapng', 'ipv4-truncated.pcap',
  // link types beside Ethernet and raw IP (make-links.mjs)
  'null.pcap', 'null-be.pcap', 'null-swapped.pcap', 'loop.pcap', 'ppp.pcap', 'ppp-hdlc.pcap', 'links.pcapng',
];

/** wiretap's encapsulations (tshark's frame.encap_type) that rssplane parses, as LinkType. */
const ENCAP: Record<number, LinkType> = {
  1: LinkType.ETHERNET, 7: LinkType.RAW, 129: LinkType.RAW, 130: LinkType.RAW, 15: LinkType.NULL, 174: LinkType.LOOP,
  4: LinkType.PPP, 25: LinkType.LINUX_SLL, 210: LinkType.LINUX_SLL2,
};
/** wiretap reads LINKTYPE_PPP and LINKTYPE_PPP_HDLC both as WTAP_ENCAP_PPP (4). */
const ENCAP_OF_FILE: Record<string, Record<number, LinkType>> = { 'ppp-hdlc.pcap': { 4: LinkType.PPP_HDLC } };

/**
 * tshark 4.0 numbers a pcapng interface within its section (frame.interface_id); rssplane numbers
 * them through the file. multi.pcapng's three sections describe 2, 3 and 3 interfaces (see the
 * fixtures' README), so its sections start at interfaces 0, 2 and 5.
 */
const SECTION_BASE: Record<string, number[]> = { 'multi.pcapng': [0, 0, 2, 5] };

/** ipv4.pcap's first three records as tcpdump wrote them: 110, 70 and 42 bytes of packet. */
const FIRST_THREE_RECORDS = fixtureBytes('ipv4.pcap').subarray(24, 24 + 16 + 110 + 16 + 70 + 16 + 42);

/** The descriptors a file should give, from tshark's frames. */
function expectedFrom(name: string, path = fixture(name)) {
  const packets: Array<Omit<Packet, 'data'>> = [];
  let unsupported = 0;
  let last = 0n;
  for (const f of tsharkFrames(path)) {
    // tshark shows a pcapng custom block as a frame with no encapsulation: not a packet
    if (f.encap === undefined) continue;
    // a simple packet block has no time: rssplane gives it the packet before's
    const time = f.time ?? last;
    last = time;
    const linkType = ENCAP_OF_FILE[name]?.[f.encap] ?? ENCAP[f.encap];
    if (linkType === undefined) {
      unsupported++;
      continue;
    }
    const iface = (SECTION_BASE[name]?.[f.section] ?? 0) + (f.iface ?? 0);
    packets.push({ caplen: f.caplen, wirelen: f.wirelen, linkType, iface, time, md5: f.md5, zeroed: true });
  }
  return { packets, unsupported };
}

describeWithDependency('tshark', haveTshark(), 'capture reader against tshark, packet for packet', () => {
  for (const name of FIXTURES) {
    it(`${name}: lengths, link type, interface, time to the nanosecond, and the bytes`, () => {
      const expected = expectedFrom(name);
      const { packets, summary } = readAll(engine, fixtureBytes(name));
      expect(packets.length).toBeGreaterThan(0);
      expect(packets.map(essence)).toEqual(expected.packets);
      expect(summary.packets).toBe(expected.packets.length);
      expect(summary.unsupported.packets).toBe(expected.unsupported);
      expect(summary.bytes).toBe(expected.packets.reduce((n, p) => n + p.caplen, 0));
    });
  }

  it('multi.pcapng cut inside a block: the packets tshark reads before the cut', () => {
    const bytes = fixtureBytes('multi.pcapng');
    const dir = mkdtempSync(join(tmpdir(), 'rssplane-cut-'));
    try {
      for (const cut of [1000, 30011, 59001]) {
        const path = join(dir, `cut${cut}.pcapng`);
        writeFileSync(path, bytes.subarray(0, cut));
        const { packets, summary } = readAll(engine, bytes.subarray(0, cut), { name: path });
        expect(packets.map(essence)).toEqual(expectedFrom('multi.pcapng', path).packets);
        expect(summary.truncated?.have).toBeGreaterThan(0);
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('capture reader: formats and clocks', () => {
  it('reads the same packets from pcap, pcapng, nanosecond and big-endian forms of one capture', () => {
    const base = readAll(engine, fixtureBytes('ipv4.pcap')).packets.map(essence);
    expect(base).toHaveLength(182);
    for (const name of ['ipv4.pcapng', 'ipv4-nsec.pcap', 'ipv4-be.pcap']) {
      expect(readAll(engine, fixtureBytes(name)).packets.map(essence), name).toEqual(base);
    }
    // the same with i * 7919 mod 1000 nanoseconds added (make-variants.mjs)
    const nsec = readAll(engine, fixtureBytes('ipv4-be-nsec.pcap')).packets;
    expect(nsec.map((p, i) => p.time - BigInt((i * 7919) % 1000))).toEqual(base.map((p) => p.time));
  });

  it('takes the first packet of ipv4.pcap as tcpdump wrote it', () => {
    const [first] = readAll(engine, fixtureBytes('ipv4.pcap')).packets;
    // 1795292340.410119 s, an ICMPv6 multicast listener report: 110 bytes, Ethernet, interface 0
    expect(essence(first!)).toMatchObject({ caplen: 110, wirelen: 110, linkType: LinkType.ETHERNET, iface: 0, time: 1795292340410119000n, zeroed: true });
  });

  it('converts pcapng clocks exactly: powers of 10 and of 2 (rounded down), and if_tsoffset', () => {
    const units = [0n, 1n, 999_999_999n, 1795292340410119000n, (1795292340n << 30n) + 123456789n, 0xffffffffffffffffn];
    const clocks: Array<{ tsresol: number; tsoffset?: bigint; ns: (u: bigint) => bigint }> = [
      { tsresol: 6, ns: (u) => u * 1000n },
      { tsresol: 0, ns: (u) => u * 1_000_000_000n },
      { tsresol: 9, ns: (u) => u },
      { tsresol: 12, ns: (u) => u / 1000n },
      { tsresol: 19, ns: (u) => u / 10_000_000_000n },
      { tsresol: 0x80, ns: (u) => u * 1_000_000_000n },
      { tsresol: 0x80 | 20, ns: (u) => (u * 1_000_000_000n) >> 20n },
      { tsresol: 0x80 | 34, ns: (u) => (u * 1_000_000_000n) >> 34n },
      { tsresol: 0x80 | 35, ns: (u) => (u * 1_000_000_000n) >> 35n },
      { tsresol: 0x80 | 63, ns: (u) => (u * 1_000_000_000n) >> 63n },
      { tsresol: 0x80 | 70, ns: (u) => (u * 1_000_000_000n) >> 70n },
      { tsresol: 0x80 | 127, ns: () => 0n },
      { tsresol: 6, tsoffset: -1_000_000n, ns: (u) => u * 1000n - 1_000_000_000_000_000n },
      { tsresol: 0x80 | 30, tsoffset: 1_700_000_000n, ns: (u) => ((u * 1_000_000_000n) >> 30n) + 1_700_000_000_000_000_000n },
    ];
    for (const bigEndian of [false, true]) {
      const data = new Uint8Array(60).fill(0x45);
      const blocks = [shb({ bigEndian })];
      for (const c of clocks) blocks.push(idb(1, { bigEndian, tsresol: c.tsresol, tsoffset: c.tsoffset }));
      clocks.forEach((_, i) => units.forEach((u) => blocks.push(epb(i, u, data, { bigEndian }))));
      const { packets } = readAll(engine, concat(...blocks));
      const wrap = (x: bigint) => BigInt.asUintN(64, x);
      expect(packets.map((p) => p.time)).toEqual(clocks.flatMap((c) => units.map((u) => wrap(c.ns(u)))));
      expect(packets.map((p) => p.iface)).toEqual(clocks.flatMap((_, i) => units.map(() => i)));
    }
  });

  it('maps raw-IP link types (101, 12, 14, 228, 229) to RAW, the others it parses to themselves, and counts the rest by type', () => {
    const data = fixtureBytes('ipv4-rawip.pcap').subarray(24 + 16, 24 + 16 + 96);
    const blocks = [shb()];
    const types = [1, 101, 12, 14, 228, 229, 0, 108, 9, 50, 113, 276, 253, 147, 253, 65535];
    types.forEach((t) => blocks.push(idb(t)));
    types.forEach((_, i) => blocks.push(epb(i, 0n, data)));
    const { packets, summary } = readAll(engine, concat(...blocks));
    expect(packets.map((p) => p.linkType)).toEqual([
      LinkType.ETHERNET, ...Array(5).fill(LinkType.RAW), LinkType.NULL, LinkType.LOOP, LinkType.PPP, LinkType.PPP_HDLC,
      LinkType.LINUX_SLL, LinkType.LINUX_SLL2,
    ]);
    expect(summary.unsupported).toEqual({
      packets: 4,
      linkTypes: [
        { linkType: 253, name: 'NETLINK', packets: 2 },
        { linkType: 147, name: 'USER0', packets: 1 },
        { linkType: 65535, name: '', packets: 1 },
      ],
    });
    expect(summary.warnings).toEqual([
      'capture "capture": skipped 4 packets of link types rssplane does not parse (it parses Ethernet, raw IP, Linux cooked (SLL, SLL2), BSD loopback (NULL, LOOP) and PPP): 2 of link type 253 (NETLINK), 1 of link type 147 (USER0), 1 of link type 65535',
    ]);
  });

  it('counts packets of a pcap whose link type it does not parse, and describes none', () => {
    const file = concat(pcapHeader({ linkType: 105 }), FIRST_THREE_RECORDS);
    const r = readAll(engine, file, { name: 'wifi.pcap' });
    expect(r.packets).toEqual([]);
    expect(r.summary.unsupported.packets).toBe(3);
    expect(r.summary.warnings[0]).toContain('3 of link type 105 (IEEE802_11)');
  });

  it('gives a simple packet block the snaplen-cut length and the time of the packet before it', () => {
    const data = fixtureBytes('ipv4.pcap').subarray(24 + 16, 24 + 16 + 110);
    const file = concat(
      shb({ bigEndian: true }), idb(1, { bigEndian: true, snaplen: 64 }),
      pcapngBlock(3, (b) => b.u32(110).raw(data), { bigEndian: true }),
      epb(0, 5_000_000n, data.subarray(0, 64), { bigEndian: true, wirelen: 110 }),
      pcapngBlock(3, (b) => b.u32(110).raw(data.subarray(0, 64)), { bigEndian: true }),
      // a block holding less than the snaplen: its own length wins
      pcapngBlock(3, (b) => b.u32(110).raw(data.subarray(0, 40)), { bigEndian: true }),
    );
    const { packets } = readAll(engine, file);
    expect(packets.map((p) => [p.caplen, p.wirelen, p.time])).toEqual([[64, 110, 0n], [64, 110, 5_000_000_000n], [64, 110, 5_000_000_000n], [40, 110, 5_000_000_000n]]);
  });

  it('numbers interfaces through the file and drops packets on interfaces never described', () => {
    const data = new Uint8Array(54).fill(1);
    const file = concat(
      shb(), idb(1), idb(1), epb(1, 0n, data), epb(2, 0n, data),
      shb({ bigEndian: true }), idb(1, { bigEndian: true }), epb(0, 0n, data, { bigEndian: true }), epb(1, 0n, data, { bigEndian: true }),
    );
    const { packets, summary } = readAll(engine, file);
    expect(packets.map((p) => p.iface)).toEqual([1, 2]);
    expect(summary).toMatchObject({ sections: 2, interfaces: 3, dropped: 2, packets: 2 });
    expect(summary.warnings).toEqual(['capture "capture": skipped 2 packets on interfaces the file never described']);
  });
});

describe('capture reader: chunks and batches', () => {
  it('gives the same descriptors whatever the chunk, batch and write sizes', () => {
    for (const name of ['multi.pcapng', 'ipv4-loss.pcap']) {
      const bytes = fixtureBytes(name);
      const reference = readAll(engine, bytes).packets.map(essence);
      for (const [chunkSize, batchSize, pieces] of [[64, 1, 333], [1000, 7, 4096], [1024, 4096, 1 << 20], [4096, 3, 1000], [65536, 100, 12345], [8 << 20, 4096, 1 << 30]] as const) {
        const r = readAll(engine, bytes, { chunkSize, batchSize, pieces });
        expect(r.packets.map(essence), `${name} chunk ${chunkSize} batch ${batchSize} pieces ${pieces}`).toEqual(reference);
        expect(r.summary.truncated).toBeUndefined();
      }
    }
  });

  it('reads a file with fs.readSync into engine memory, chunk by chunk, with progress', () => {
    const path = fixture('ipv6.pcap');
    const size = statSync(path).size;
    const reference = readAll(engine, fixtureBytes('ipv6.pcap')).packets.map(essence);
    for (const chunkSize of [1024, 65536, 8 << 20]) {
      const capture = readCapture(engine, path, { chunkSize });
      try {
        for (let round = 0; round < 2; round++) {
          const packets: Packet[] = [];
          for (const batch of capture) packets.push(...decodeBatch(engine, batch));
          expect(packets.map(essence)).toEqual(reference);
          expect(capture.progress).toEqual({ bytesRead: size, fileSize: size });
          expect(capture.summary).toMatchObject({ format: 'pcap', packets: 281, inputBytes: size, warnings: [] });
        }
      } finally {
        capture.free();
      }
    }
  });

  it('streams through a skipped block larger than the buffer keeps whole, and checks its end', () => {
    const ng = fixtureBytes('ipv4.pcapng');
    const headerEnd = 0x80; // after the section header and interface description editcap wrote
    const custom = pcapngBlock(0xbad, (b) => b.u32(32473).raw(new Uint8Array(CAPTURE_RECORD_MAX + 1000).fill(7)));
    const file = concat(ng.subarray(0, headerEnd), custom, ng.subarray(headerEnd));
    const reference = readAll(engine, ng).packets.map(essence);
    for (const chunkSize of [4096, 65536, 8 << 20]) {
      const r = readAll(engine, file, { chunkSize, pieces: 50_000 });
      expect(r.packets.map(essence)).toEqual(reference);
      expect(r.summary.skippedBlocks).toBe(1);
    }
    // the input split anywhere around the block's trailing length
    for (let split = headerEnd + custom.length - 5; split <= headerEnd + custom.length + 1; split++) {
      const reader = CaptureReader.create(engine, { chunkSize: 1 << 20 });
      const packets: Packet[] = [];
      for (const part of [file.subarray(0, split), file.subarray(split)]) {
        for (const batch of reader.write(part)) packets.push(...decodeBatch(engine, batch));
      }
      expect(packets.map(essence), `split at ${split}`).toEqual(reference);
      expect(reader.finish().truncated).toBeUndefined();
      reader.free();
    }
    const badEnd = concat(ng.subarray(0, headerEnd), custom.subarray(0, custom.length - 4), new Bytes().u32(16).bytes(), ng.subarray(headerEnd));
    expect(() => readAll(engine, badEnd, { chunkSize: 4096, name: 'bad.pcapng' })).toThrow(
      `capture "bad.pcapng" is damaged: the block at byte ${headerEnd + custom.length - 4} ends with length 16, not the length it starts with`);
    const cut = readAll(engine, file.subarray(0, headerEnd + 200_000), { chunkSize: 4096, name: 'cut.pcapng' });
    expect(cut.packets).toEqual([]);
    expect(cut.summary.truncated).toEqual({ offset: headerEnd, need: custom.length, have: 200_000 });
    // cut inside its trailing length: two of the four bytes there
    const inTrailer = readAll(engine, file.subarray(0, headerEnd + custom.length - 2), { chunkSize: 4096 });
    expect(inTrailer.summary.truncated).toEqual({ offset: headerEnd, need: custom.length, have: custom.length - 2 });
    expect(cut.summary.warnings[0]).toBe(`capture "cut.pcapng" is cut short: its last block (at byte ${headerEnd}, not a packet) needs ${custom.length} bytes and has 200000; read all 0 packets before it`);
  });
});

describe('capture reader: cut short, not a capture, damaged', () => {
  it('reads a capture cut mid-record up to the cut, and says so', () => {
    const { packets, summary } = readAll(engine, fixtureBytes('ipv4-truncated.pcap'), { name: 'ipv4-truncated.pcap' });
    expect(packets).toHaveLength(181);
    expect(summary.truncated).toEqual({ offset: 77602, need: 126, have: 76 });
    expect(summary.warnings).toEqual([
      'capture "ipv4-truncated.pcap" is cut short: its last record (at byte 77602) needs 126 bytes and has 76 (the capture was probably stopped mid-write); read the 181 packets before it',
    ]);
  });

  it('delivers every whole record before any cut, in pcap and pcapng', () => {
    const random = new Random(4);
    for (const name of ['ipv4-be-nsec.pcap', 'ipv4.pcapng', 'multi.pcapng']) {
      const bytes = fixtureBytes(name);
      const full = readAll(engine, bytes).packets;
      for (let i = 0; i < 40; i++) {
        const cut = 28 + random.below(bytes.length - 28);
        const { packets, summary } = readAll(engine, bytes.subarray(0, cut), { chunkSize: 4096 });
        expect(packets.map(essence)).toEqual(full.slice(0, packets.length).map(essence));
        // in a pcap, a packet's bytes end its record: exactly those that end by the cut are there
        if (name.endsWith('.pcap')) expect(packets.length).toBe(full.filter((p) => p.data - full[0]!.data + 40 + p.caplen <= cut).length);
        if (summary.truncated) {
          expect(summary.truncated.offset + summary.truncated.have).toBe(cut);
          expect(summary.truncated.need).toBeGreaterThan(summary.truncated.have);
        }
      }
    }
  });

  const refuse = (bytes: Uint8Array, message: string, name = 'x.cap') => {
    expect(() => readAll(engine, bytes, { name }), message).toThrow(RssplaneError);
    expect(() => readAll(engine, bytes, { name })).toThrow(message);
  };

  it('refuses what is not a capture, naming the file and what it found', () => {
    refuse(new Uint8Array(0), 'capture "x.cap" is empty: not a pcap or pcapng file');
    refuse(Uint8Array.of(0xd4, 0xc3, 0xb2), 'capture "x.cap" is too short to be a capture: 3 bytes, and a pcap file header needs 4');
    refuse(pcapHeader().subarray(0, 20), 'capture "x.cap" is too short to be a capture: 20 bytes, and a pcap file header needs 24');
    refuse(shb().subarray(0, 10), 'capture "x.cap" is too short to be a capture: 10 bytes, and a pcapng section header needs 12');
    refuse(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: example\r\n\r\n'), 'capture "x.cap" is not a pcap or pcapng file: it starts with the text "GET / HTTP/1.1\\r\\n"');
    refuse(gzipSync(fixtureBytes('ipv4.pcap')), 'capture "x.cap" is not a pcap or pcapng file: it starts with 0x1f8b0800: gzip-compressed: decompress it first');
    refuse(new Bytes().u32(0xa1b2cd34).u32(0).u32(0).u32(0).u32(0).u32(0).bytes(), 'a modified (Kuznetzov) pcap');
    refuse(pcapHeader({ major: 3 }), 'capture "x.cap" is pcap version 3 (only 2.4 is defined)');
    refuse(new Bytes().u32(0x0a0d0d0a).u32(28).u32(0x12345678).bytes(), 'byte-order magic 0x12345678');
  });

  it('ends the walk at a damaged record with a clear error, after the packets before it', () => {
    const text = new TextEncoder().encode('hello, this is not a record at all, just some text');
    refuse(concat(pcapHeader(), text), 'capture "x.cap" is damaged: the record at byte 24 claims 544434536 captured bytes, more than libpcap\'s limit of 262144');
    refuse(concat(shb(), text), 'capture "x.cap" is damaged: the block at byte 28 has length 1948265583 (a block is a multiple of 4 bytes, at least 12)');
    refuse(concat(shb(), pcapngBlock(0x12345, (b) => b.raw(new Uint8Array(8)), { length: 0x10000000 })), 'the block at byte 28 has length 268435456, more than any packet or description block can have');
    refuse(concat(shb(), pcapngBlock(5, (b) => b.u32(0), { trailer: 20 })), 'the block at byte 28 ends with length 20, not the length it starts with');
    refuse(concat(shb(), pcapngBlock(1, (b) => b.u16(1).u16(0).u32(0).u16(2).u16(200).raw(new Uint8Array(8)))), 'the block at byte 28 has option 2 running past the end of the block');
    refuse(concat(shb(), idb(1, { tsresol: 20 })), 'the block at byte 28 has if_tsresol 0x14, a time unit too small for 64 bits');
    refuse(concat(shb(), idb(1), shb({ major: 2 })), 'the block at byte 48 is a section header of pcapng version 2 (this reader knows version 1)');
    refuse(concat(shb(), idb(1), epb(0, 0n, new Uint8Array(8), { caplen: 400 })), 'the block at byte 48 claims 400 captured bytes, more than its block holds or libpcap\'s limit of 262144');
    refuse(concat(shb(), pcapngBlock(1, (b) => b.u16(1))), 'the block at byte 28 has length 16, too short for a block of its type');
    // the packets before the damage are delivered, then the error
    const file = concat(pcapHeader(), FIRST_THREE_RECORDS, pcapRecord({ seconds: 1, fraction: 2, data: new Uint8Array(4), caplen: 300_000 }));
    const reader = CaptureReader.create(engine, { batchSize: 2, chunkSize: 4096 });
    const seen: number[] = [];
    expect(() => {
      for (const batch of reader.write(file)) seen.push(batch.count);
    }).toThrow('the record at byte 294 claims 300000 captured bytes');
    expect(seen).toEqual([2, 1]);
    reader.free();
  });

  it('never crashes, hangs or describes bytes outside its buffer, whatever the damage', () => {
    const sources = [fixtureBytes('multi.pcapng').subarray(0, 8000), fixtureBytes('ipv4-be.pcap').subarray(0, 6000)];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.constantFrom(64, 1000, 4096),
        (which, edits, cut, chunkSize) => {
          const bytes = sources[which]!.slice();
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          try {
            // readAll throws if a descriptor points outside the reader's buffer
            const r = readAll(engine, bytes.subarray(0, Math.max(cut % bytes.length, 1)), { chunkSize });
            expect(r.summary.packets).toBeLessThanOrEqual(r.summary.records);
          } catch (e) {
            if (!(e instanceof RssplaneError) || e.code !== 'EINVAL') throw e;
          }
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });

  it('refuses to go on when another reader took over the engine, rather than misread', () => {
    const a = CaptureReader.create(engine, { name: 'a.pcap', batchSize: 10, chunkSize: 4096 });
    const b = CaptureReader.create(engine, { name: 'b.pcapng', chunkSize: 4096 });
    try {
      const batches = a.write(fixtureBytes('ipv4.pcap'));
      expect(batches.next().value).toMatchObject({ count: 10 });
      for (const _ of b.write(fixtureBytes('ipv4.pcapng').subarray(0, 2000))) { /* b begins: the engine's walker state is b's now */ }
      expect(() => batches.next()).toThrow('capture "a.pcap": another capture reader started on this engine; read one capture at a time per engine');
      expect(() => a.summary()).toThrow('another capture reader started on this engine');
      expect(b.summary().format).toBe('pcapng');
    } finally {
      a.free();
      b.free();
    }
  });

  it('reads ahead on another thread into slots of a shared memory: the same packets, progress and warnings; a walk left early stops the thread', async () => {
    const shared = await Engine.create({ shared: true });
    // each batch decoded as it comes: it is valid until the next is asked for
    const walked = (capture: Iterable<PacketBatch>) => {
      const packets: ReturnType<typeof essence>[] = [];
      for (const batch of capture) packets.push(...decodeBatch(shared, batch).map(essence));
      return packets;
    };
    const dir = mkdtempSync(join(tmpdir(), 'rssplane-ahead-'));
    try {
      // a large block the walker streams past, a file cut short mid-record, and plain captures,
      // in chunks from 64 bytes (the slots come round thousands of times) to 1 MiB
      const ng = fixtureBytes('ipv4.pcapng');
      const custom = pcapngBlock(0xbad, (b) => b.u32(32473).raw(new Uint8Array(CAPTURE_RECORD_MAX + 1000).fill(7)));
      const files: Record<string, Uint8Array> = {
        'ipv6.pcap': fixtureBytes('ipv6.pcap'), 'multi.pcapng': fixtureBytes('multi.pcapng'),
        'block.pcapng': concat(ng.subarray(0, 0x80), custom, ng.subarray(0x80)), 'cut.pcap': fixtureBytes('ipv6.pcap').subarray(0, 20_000),
      };
      for (const [name, bytes] of Object.entries(files)) {
        const path = join(dir, name);
        writeFileSync(path, bytes);
        for (const chunkSize of [64, 4096, 1 << 20]) {
          const plain = readCapture(shared, path, { chunkSize });
          const want = walked(plain);
          const wantSummary = plain.summary;
          plain.free();
          const ahead = readCapture(shared, path, { chunkSize, readAhead: true });
          expect(ahead.readsAhead).toBe(true);
          try {
            for (let round = 0; round < 2; round++) {
              const got = walked(ahead);
              expect(got, `${name} chunk ${chunkSize}`).toEqual(want);
              expect(ahead.summary).toEqual(wantSummary);
              expect(ahead.progress).toEqual({ bytesRead: bytes.length, fileSize: bytes.length });
            }
            // left after the first batch (the loop's return stops the thread), or left suspended
            // (the next walk stops it): each new walk starts over and gives the same packets
            for (const batch of ahead) if (batch.count) break;
            expect(ahead[Symbol.iterator]().next().done).toBe(false);
            expect(walked(ahead)).toEqual(want);
          } finally {
            ahead.free();
          }
        }
      }
      const cut = readCapture(shared, join(dir, 'cut.pcap'), { chunkSize: 4096, readAhead: true });
      expect(cut.readsAhead).toBe(true);
      walked(cut);
      expect(cut.summary?.warnings[0]).toMatch(/is cut short: its last record \(at byte \d+\) needs \d+ bytes/);
      cut.free();
      // a private memory may move as it grows, and standard input is read as it comes
      for (const [e, path] of [[engine, join(dir, 'cut.pcap')], [shared, '-']] as const) {
        const other = readCapture(e, path, { readAhead: true });
        expect(other.readsAhead).toBe(false);
        other.free();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says which file it cannot open', () => {
    for (const [path, why] of [['/nonexistent/trace.pcap', 'cannot read capture "/nonexistent/trace.pcap": no such file'], [fixture(''), 'it is a directory']] as const) {
      const capture = readCapture(engine, path, { chunkSize: 4096 });
      expect(() => [...capture]).toThrow(why);
      capture.free();
    }
  });
});

describe('rssplane bench capture', () => {
  it('--json: records walked in memory and from the file, per second, with the counts', () => {
    const r = rssplane(['bench', 'capture', '--input', fixture('multi.pcapng'), '--rounds', '3', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ bench: 'capture', format: 'pcapng', records: 267, packets: 230, bytes: statSync(fixture('multi.pcapng')).size });
    expect(result.mrecords_per_s).toBeGreaterThan(0);
    expect(result.file_mrecords_per_s).toBeGreaterThan(0);
    expect(result.rounds_mrecords_per_s).toHaveLength(3);
    expect(result.warnings).toEqual([expect.stringContaining('22 of link type 147 (USER0)')]);
  });

  it('names a missing, absent or unreadable input', () => {
    expectUsageError(rssplane(['bench', 'capture', '--input', '/nonexistent.pcap']), '/nonexistent.pcap');
    expectUsageError(rssplane(['bench', 'capture']), '--input');
    expectUsageError(rssplane(['bench', 'capture', '--input', fixture('README.md')]), 'is not a pcap or pcapng file: it starts with the text "# Capture fixtur"');
  });
});

describeWithDependency('libpcap-dev', haveLibpcap(), 'rssplane bench capture --anchor: libpcap reads the same packets', () => {
  it('builds scripts/pcap_walk.c and reports the ratio; the packet counts agree', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rssplane-pcap-walk-'));
    try {
      const binary = join(dir, 'pcap_walk');
      execFileSync('cc', ['-O2', fileURLToPath(new URL('../scripts/pcap_walk.c', import.meta.url)), '-lpcap', '-o', binary]);
      for (const name of ['ipv4-be-nsec.pcap', 'ipv4.pcapng']) {
        // bench capture refuses an anchor whose packet count differs from its own
        const r = rssplane(['bench', 'capture', '--input', fixture(name), '--rounds', '1', '--anchor', binary, '--json']);
        expect(r.status, r.stderr).toBe(0);
        const result = JSON.parse(r.stdout);
        expect(result.packets).toBe(182);
        expect(result.anchor_mrecords_per_s).toBeGreaterThan(0);
        expect(result.ratio_file_vs_anchor).toBeGreaterThan(0);
      }
      expectUsageError(rssplane(['bench', 'capture', '--input', fixture('ipv4.pcap'), '--anchor', '/bin/true']), 'printed no "X Mrecords/s  packets N" line');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
