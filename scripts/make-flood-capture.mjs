#!/usr/bin/env node
// Writes a flood as a microsecond pcap, once, so that a benchmark or a soak replays it without
// spending JavaScript per packet while it is measured:
//
//   node scripts/make-flood-capture.mjs OUT.pcap --kind syn|rst|reuse [--packets N] [--seed S] [--ipv6 SHARE] [--rate PPS]
//
//   syn    SYNs from random sources (address and port) to one server, 192.0.2.1:80 (2001:db8::1 for
//          IPv6): a SYN flood, every packet a new flow that never completes its handshake
//   rst    RSTs from random sources to random ports of the server: backscatter, every packet a new
//          flow that is over at once
//   reuse  one 4-tuple (198.18.0.2:40000 -> 192.0.2.1:80), a SYN with a new ISN each time: every
//          packet closes the flow before it and opens a new one on the same table entry's key
//
// Frames are Ethernet, 54 bytes (IPv4) or 74 (IPv6), valid IPv4 header and TCP checksums, one every
// 1/PPS seconds (default 1,000,000 a second). The generator is xorshift32 from --seed (default 1):
// the same arguments write the same bytes.
import { closeSync, openSync, writeSync } from 'node:fs';

const args = process.argv.slice(2);
const out = args.shift();
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const fail = (m) => {
  process.stderr.write(`make-flood-capture: ${m}\n`);
  process.exit(2);
};
if (!out || out.startsWith('--')) fail('usage: make-flood-capture.mjs OUT.pcap --kind syn|rst|reuse [--packets N] [--seed S] [--ipv6 SHARE] [--rate PPS]');
const kind = opt('kind', 'syn');
if (!['syn', 'rst', 'reuse'].includes(kind)) fail(`bad --kind "${kind}": expected syn, rst or reuse`);
const packets = Number(opt('packets', '500000'));
const seed = Number(opt('seed', '1'));
const ipv6 = Number(opt('ipv6', '0'));
const rate = Number(opt('rate', '1000000'));
if (!Number.isInteger(packets) || packets < 1) fail(`bad --packets "${opt('packets')}": expected a whole number >= 1`);
if (!(ipv6 >= 0 && ipv6 <= 1)) fail(`bad --ipv6 "${opt('ipv6')}": a share from 0 to 1`);
if (!(rate > 0)) fail(`bad --rate "${opt('rate')}": packets a second > 0`);

let state = (seed >>> 0) || 0x9e3779b9;
const next = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state;
};

/** RFC 1071 sum of big-endian words of `b[from, to)`, not yet folded or complemented. */
const sum = (b, from, to) => {
  let s = 0;
  for (let i = from; i < to; i += 2) s += (b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
  return s;
};
const fold = (s) => {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
};

const SERVER4 = [192, 0, 2, 1];
const SERVER6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const SYN = 0x02, RST = 0x04;

/** One frame into `f` (zeroed, 74 bytes): returns its length. */
function frame(f, i) {
  const six = ipv6 > 0 && next() / 2 ** 32 < ipv6;
  let src, sport, dport = 80, flags = SYN, seq = next();
  if (kind === 'reuse') {
    src = six ? [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2] : [198, 18, 0, 2];
    sport = 40000;
  } else {
    src = six ? [0x20, 0x01, 0x0d, 0xb8, 1, 0, 0, 0, ...Array.from({ length: 8 }, () => next() & 0xff)] : [next() & 0xff, next() & 0xff, next() & 0xff, next() & 0xff];
    sport = 1024 + (next() % 64512);
    if (kind === 'rst') {
      flags = RST;
      dport = 1024 + (next() % 64512);
    }
  }
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, six ? 0xdd : 0x00], 0);
  if (six) f[12] = 0x86;
  const ip = 14;
  let tcp;
  if (six) {
    f.set([0x60, 0, 0, 0, 0, 20, 6, 64], ip);
    f.set(src, ip + 8);
    f.set(SERVER6, ip + 24);
    tcp = ip + 40;
  } else {
    f.set([0x45, 0, 0, 40, (i >>> 8) & 0xff, i & 0xff, 0x40, 0, 64, 6, 0, 0, ...src, ...SERVER4], ip);
    const c = fold(sum(f, ip, ip + 20));
    f[ip + 10] = c >> 8;
    f[ip + 11] = c & 0xff;
    tcp = ip + 20;
  }
  f[tcp] = sport >> 8; f[tcp + 1] = sport & 0xff;
  f[tcp + 2] = dport >> 8; f[tcp + 3] = dport & 0xff;
  f[tcp + 4] = seq >>> 24; f[tcp + 5] = (seq >>> 16) & 0xff; f[tcp + 6] = (seq >>> 8) & 0xff; f[tcp + 7] = seq & 0xff;
  f[tcp + 12] = 5 << 4;
  f[tcp + 13] = flags;
  f[tcp + 14] = 0xfa; f[tcp + 15] = 0xf0;
  // pseudo-header: addresses, protocol, TCP length 20
  const addrs = six ? sum(f, ip + 8, ip + 40) : sum(f, ip + 12, ip + 20);
  const c = fold(addrs + 6 + 20 + sum(f, tcp, tcp + 20));
  f[tcp + 16] = c >> 8;
  f[tcp + 17] = c & 0xff;
  return tcp + 20;
}

const fd = openSync(out, 'w');
const header = Buffer.alloc(24);
header.writeUInt32LE(0xa1b2c3d4, 0);
header.writeUInt16LE(2, 4);
header.writeUInt16LE(4, 6);
header.writeUInt32LE(262144, 16);
header.writeUInt32LE(1, 20);
writeSync(fd, header);
const CHUNK = 1 << 16;
const buffer = Buffer.alloc(CHUNK * (16 + 74));
const f = new Uint8Array(74);
const t0 = 1_767_225_600; // 2026-01-01, seconds
for (let done = 0; done < packets;) {
  let at = 0;
  const n = Math.min(CHUNK, packets - done);
  for (let k = 0; k < n; k++, done++) {
    f.fill(0);
    const length = frame(f, done);
    const us = Math.floor((done * 1e6) / rate);
    buffer.writeUInt32LE(t0 + Math.floor(us / 1e6), at);
    buffer.writeUInt32LE(us % 1e6, at + 4);
    buffer.writeUInt32LE(length, at + 8);
    buffer.writeUInt32LE(length, at + 12);
    buffer.set(f.subarray(0, length), at + 16);
    at += 16 + length;
  }
  writeSync(fd, buffer, 0, at);
}
closeSync(fd);
process.stdout.write(`wrote ${out}: ${packets} packets (${kind}${ipv6 ? `, ${ipv6 * 100}% IPv6` : ''}, seed ${seed})\n`);
