#!/usr/bin/env node
// Writes a SYN flood as one microsecond pcap: COUNT TCP SYNs (no ACK, no options, random ISN)
// from random IPv4 sources and ports to one server, 198.18.0.1:80, one every microsecond. Every
// SYN is a new 4-tuple, as a spoofed flood's are, and nothing answers. Valid IPv4 and TCP
// checksums (the engine verifies them). Deterministic from SEED. Not committed (tens of MB);
// made at bench time.
//
//   node scripts/make-syn-flood.mjs OUT.pcap [COUNT] [SEED]       # COUNT default 500000
//
//   node scripts/make-syn-flood.mjs /tmp/syn500k.pcap 500000
//   node scripts/make-syn-flood.mjs /tmp/syn2m.pcap 2000000
import { closeSync, openSync, writeSync } from 'node:fs';

const [out, countArg = '500000', seedArg = '1'] = process.argv.slice(2);
if (!out) {
  console.error('usage: make-syn-flood.mjs OUT.pcap [COUNT] [SEED]');
  process.exit(2);
}
const count = Number(countArg), seed = Number(seedArg);
if (!Number.isInteger(count) || count < 1 || count > 100_000_000) {
  console.error(`make-syn-flood: bad COUNT "${countArg}": expected a whole number from 1 to 100000000`);
  process.exit(2);
}
if (!Number.isInteger(seed) || seed < 0) {
  console.error(`make-syn-flood: bad SEED "${seedArg}": expected a whole number`);
  process.exit(2);
}

// xorshift32: a fixed seed gives the same flood on every machine
let state = (seed * 2654435761 + 1) >>> 0 || 1;
const random = () => {
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state;
};

const FRAME = 14 + 20 + 20; // Ethernet, IPv4, TCP without options
const RECORD = 16 + FRAME;
const SERVER = [198, 18, 0, 1];
const START_S = 1_700_000_000;

/** RFC 1071 one's-complement sum of big-endian words in bytes [from, to), folded. */
function sum16(b, from, to, sum) {
  for (let i = from; i < to; i += 2) sum += (b[i] << 8) | b[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

const fd = openSync(out, 'w');
const header = Buffer.alloc(24);
header.writeUInt32LE(0xa1b2c3d4, 0); // microsecond pcap
header.writeUInt16LE(2, 4);
header.writeUInt16LE(4, 6);
header.writeUInt32LE(65535, 16); // snaplen
header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
writeSync(fd, header);

const PER_CHUNK = 65536;
const chunk = Buffer.alloc(PER_CHUNK * RECORD);
for (let done = 0; done < count;) {
  const n = Math.min(PER_CHUNK, count - done);
  for (let k = 0; k < n; k++) {
    const i = done + k;
    const r = k * RECORD;
    const us = i; // one SYN a microsecond
    chunk.writeUInt32LE(START_S + Math.floor(us / 1e6), r);
    chunk.writeUInt32LE(us % 1e6, r + 4);
    chunk.writeUInt32LE(FRAME, r + 8);
    chunk.writeUInt32LE(FRAME, r + 12);
    const f = r + 16;
    chunk.fill(0, f, f + FRAME);
    chunk.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00], f); // MACs, IPv4
    const ip = f + 14;
    let src = random();
    // a source outside 198.18.0.0/15 (the server's) and not 0.0.0.0
    while (src === 0 || (src >>> 17) === (198 << 7 | 18 >> 1)) src = random();
    chunk[ip] = 0x45;
    chunk.writeUInt16BE(40, ip + 2);
    chunk.writeUInt16BE(random() & 0xffff, ip + 4); // identification
    chunk[ip + 6] = 0x40; // don't fragment
    chunk[ip + 8] = 64; // TTL
    chunk[ip + 9] = 6;
    chunk.writeUInt32BE(src, ip + 12);
    chunk.set(SERVER, ip + 16);
    chunk.writeUInt16BE(~sum16(chunk, ip, ip + 20, 0) & 0xffff, ip + 10);
    const tcp = ip + 20;
    chunk.writeUInt16BE(1024 + (random() % 64512), tcp); // source port
    chunk.writeUInt16BE(80, tcp + 2);
    chunk.writeUInt32BE(random(), tcp + 4); // ISN
    chunk[tcp + 12] = 5 << 4;
    chunk[tcp + 13] = 0x02; // SYN
    chunk.writeUInt16BE(64240, tcp + 14);
    const pseudo = sum16(chunk, ip + 12, ip + 20, 6 + 20);
    chunk.writeUInt16BE(~sum16(chunk, tcp, tcp + 20, pseudo) & 0xffff, tcp + 16);
  }
  writeSync(fd, chunk, 0, n * RECORD);
  done += n;
}
closeSync(fd);
console.log(`wrote ${out}: ${count} SYNs from random sources to ${SERVER.join('.')}:80, 1 us apart`);
