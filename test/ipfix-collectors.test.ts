/**
 * `run --ipfix` read by collectors we did not write: ipfixDump (libfixbuf) reads the file;
 * tshark's cflow dissector decodes every record of a UDP export with no malformed field; nfcapd
 * (nfdump) collects the UDP export on loopback and nfdump shows the same flows, packets and bytes
 * as --flows-out for the same capture (IPv4, IPv6, the lossy capture, and split flows of a
 * two-core run). Bytes: IPFIX counts IP octets, --flows-out frames; these captures are Ethernet
 * without VLAN tags, so each packet's frame is 14 bytes more, and tshark's own sum of IP lengths
 * says the same. Also: TCP collectors (one that is there, one that is not), several targets at
 * once, and the options' limits.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIpfix } from '../host/core/ipfix.js';
import { CLI, expectUsageError, rssplane } from './helpers/cli.js';
import { commandWorks, describeWithDependency, haveTshark } from './helpers/deps.js';

const CAPTURES = new URL('./fixtures/captures/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rssplane-ipfix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `rssplane ARGS` without blocking this process (its collectors run here). */
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A free loopback port (UDP or TCP) the system gives out now. */
async function freePort(kind: 'udp' | 'tcp'): Promise<number> {
  if (kind === 'udp') {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const port = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Totals of a --flows-out file: flows, packets both ways, frame bytes both ways. */
function flowsOut(path: string) {
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  return {
    flows: lines.length,
    packets: lines.reduce((n, r) => n + r.packets[0] + r.packets[1], 0),
    bytes: lines.reduce((n, r) => n + r.bytes[0] + r.bytes[1], 0),
    keys: lines.map((r) => `${r.client} ${r.server} ${r.packets.join('/')}`).sort(),
  };
}

/** Sum of IP lengths (IPv4 total length, IPv6 40 + payload length) of the TCP and UDP packets, by tshark. */
const ipOctets = new Map<string, number>();
function tsharkIpOctets(capture: string): number {
  if (ipOctets.has(capture)) return ipOctets.get(capture)!;
  const out = execFileSync('tshark', ['-r', capture, '-Y', 'tcp or udp', '-T', 'fields', '-e', 'ip.len', '-e', 'ipv6.plen'], { encoding: 'utf8' });
  const sum = out.trim().split('\n').reduce((n, l) => {
    const [v4, v6] = l.split('\t');
    return n + (v4 ? Number(v4) : 40 + Number(v6));
  }, 0);
  ipOctets.set(capture, sum);
  return sum;
}

describeWithDependency('libfixbuf-tools', commandWorks('ipfixDump', ['--version']), 'ipfixDump reads the IPFIX file', () => {
  it('every record of both templates, templates first', () => {
    const file = join(dir, 'ipv6.ipfix');
    const r = rssplane(['run', '--input', join(CAPTURES, 'ipv6.pcap'), '--cores', '1', '--ipfix', file, '--json', '--no-progress']);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.ipfix.records_sent).toBe(15);
    const dump = execFileSync('ipfixDump', ['--in', file], { encoding: 'utf8' });
    expect(dump).toMatch(/File Stats: \d+ Messages, 15 Data Records, 2 Template Records/);
    // The IPv6 connections' records use template 257 and name the IPv6 addresses.
    expect(dump).toMatch(/sourceIPv6Address : fd99::0*2\n/);
    expect(dump).toContain('reverseOctetDeltaCount');
    expect(dump.indexOf('template record')).toBeLessThan(dump.indexOf('data record'));
  });
});

describeWithDependency('tshark', haveTshark(), 'tshark decodes the UDP export', () => {
  it('every record of every datagram, no malformed field', async () => {
    const port = await freePort('udp');
    const socket = createSocket('udp4');
    const datagrams: Buffer[] = [];
    socket.on('message', (m) => datagrams.push(m));
    await new Promise<void>((r) => socket.bind(port, '127.0.0.1', r));
    try {
      const r = await run(['run', '--input', join(CAPTURES, 'ipv4-loss.pcap'), '--cores', '2', '--ipfix', `udp://127.0.0.1:${port}`, '--json', '--no-progress']);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).ipfix.records_sent).toBe(14);
    } finally {
      socket.close();
    }
    // The datagrams as a capture (Ethernet, IPv4, UDP to the collector's port) for tshark.
    const pcap = join(dir, 'export.pcap');
    writeFileSync(pcap, udpCapture(datagrams, port));
    const fields = execFileSync('tshark', ['-r', pcap, '-d', `udp.port==${port},cflow`, '-T', 'fields', '-E', 'separator=;',
      '-e', 'cflow.version', '-e', 'cflow.srcaddr', '-e', 'cflow.octets', '-e', 'cflow.packets', '-e', '_ws.malformed', '-e', '_ws.expert.severity'], { encoding: 'utf8' });
    const rows = fields.trim().split('\n').map((l) => l.split(';'));
    expect(rows.length).toBe(datagrams.length);
    for (const row of rows) {
      expect(row[0]).toBe('10');
      expect(row[4]).toBe('');
    }
    const verbose = execFileSync('tshark', ['-r', pcap, '-d', `udp.port==${port},cflow`, '-V'], { encoding: 'utf8' });
    expect(verbose).not.toMatch(/Malformed|Expert Info \(Error/);
    // 14 records, each with its source address decoded.
    const sources = rows.flatMap((r) => (r[1] ? r[1].split(',') : []));
    expect(sources.length).toBe(14);
    expect(new Set(sources)).toEqual(new Set(['10.99.0.2']));
  });
});

describe('UDP export from core threads: one exporter transport session', () => {
  it('a two-core run: one source port, templates first, sequence numbers contiguous, every record sent and received', async () => {
    const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    const got: Array<{ data: Buffer; port: number }> = [];
    socket.on('message', (data, from) => got.push({ data, port: from.port }));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    let summary;
    try {
      // Each core sends its own flows' records; the main thread sends the templates and the
      // split flows it merges (about half of them, with the default key).
      const r = await run(['run', '--input', 'synthetic', '--conversations', '20000', '--cores', '2',
        '--ipfix', `udp://127.0.0.1:${socket.address().port}`, '--json', '--no-progress']);
      expect(r.status).toBe(0);
      summary = JSON.parse(r.stdout);
      const target = summary.ipfix.targets[0];
      await until(() => got.length === target.messages_sent + target.template_messages);
    } finally {
      socket.close();
    }
    expect(summary.flows).toBe(20000);
    expect(summary.split_flows).toBeGreaterThan(0);
    expect(summary.ipfix).toMatchObject({ records_encoded: 20000, records_sent: 20000, records_dropped: 0 });
    // One exporter, as the collector sees it: every datagram from one source port.
    expect(new Set(got.map((g) => g.port)).size).toBe(1);
    const templates = new Map();
    const messages = got.map((g) => readIpfix(g.data, templates)[0]!);
    expect(messages[0]!.templates).toEqual([256, 257]);
    const data = messages.filter((m) => m.records.length);
    expect(data.length).toBe(summary.ipfix.targets[0].messages_sent);
    // RFC 7011 3.1: each data message's number is the records sent before it in the session.
    // Messages of different threads may arrive out of order; in number order none is missing
    // and none counted twice.
    data.sort((a, b) => a.sequence - b.sequence);
    let next = 0;
    for (const m of data) {
      expect(m.sequence).toBe(next);
      next += m.records.length;
    }
    expect(next).toBe(20000);
    // Every packet is in some record, each direction once.
    const packets = data.flatMap((m) => m.records).reduce((n, x) => n + Number(x.packetDeltaCount) + Number(x.reversePacketDeltaCount), 0);
    expect(packets).toBe(summary.processed);
  });
});

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

/** A pcap of UDP datagrams from 127.0.0.1:4739 to 127.0.0.1:`port`. */
function udpCapture(datagrams: Buffer[], port: number): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  parts.push(header);
  datagrams.forEach((d, i) => {
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + d.length, 2);
    ip[8] = 64;
    ip[9] = 17;
    ip.set([127, 0, 0, 1], 12);
    ip.set([127, 0, 0, 1], 16);
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += ip.readUInt16BE(k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(4739, 0);
    udp.writeUInt16BE(port, 2);
    udp.writeUInt16BE(8 + d.length, 4);
    const eth = Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x08, 0x00]);
    const frame = Buffer.concat([eth, ip, udp, d]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_800_000_000 + i, 0);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  });
  return Buffer.concat(parts);
}

const haveNfdump = () => commandWorks('nfdump', ['-V']) && commandWorks('sh', ['-c', 'command -v nfcapd']);

describeWithDependency('nfdump', haveNfdump(), 'nfcapd collects the UDP export; nfdump agrees with --flows-out', () => {
  let nfcapd: ChildProcess | undefined;
  afterAll(() => {
    nfcapd?.kill('SIGKILL');
  });

  /** Starts nfcapd on a free loopback port, runs rssplane ARGS exporting to it, stops nfcapd, reads its files. */
  async function collect(name: string, args: string[]) {
    const port = await freePort('udp');
    const flowDir = join(dir, `nf-${name}`);
    execFileSync('mkdir', ['-p', flowDir]);
    nfcapd = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', flowDir, '-t', '3600'], { stdio: 'ignore' });
    // nfcapd listens once its socket shows up.
    for (let i = 0; i < 200 && !execFileSync('ss', ['-Hlun', `sport = :${port}`], { encoding: 'utf8' }).trim(); i++) await new Promise((r) => setTimeout(r, 25));
    const out = join(dir, `${name}.jsonl`);
    const r = await run(['run', ...args, '--ipfix', `udp://127.0.0.1:${port}`, '--flows-out', out, '--json', '--no-progress']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const p = nfcapd;
    await new Promise<void>((resolve) => {
      p.on('exit', () => resolve());
      p.kill('SIGTERM');
    });
    nfcapd = undefined;
    expect(readdirSync(flowDir).length).toBeGreaterThan(0);
    const csv = execFileSync('nfdump', ['-R', flowDir, '-q', '-o', 'fmt:%sa|%sp|%da|%dp|%ipkt|%opkt|%ibyt|%obyt'], { encoding: 'utf8' });
    const rows = csv.trim().split('\n').map((l) => l.split('|').map((x) => x.trim()));
    const ep = (a: string, p: string) => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);
    return {
      summary: JSON.parse(r.stdout),
      ours: flowsOut(out),
      theirs: {
        flows: rows.length,
        packets: rows.reduce((n, x) => n + Number(x[4]) + Number(x[5]), 0),
        bytes: rows.reduce((n, x) => n + Number(x[6]) + Number(x[7]), 0),
        keys: rows.map((x) => `${ep(x[0]!, x[1]!)} ${ep(x[2]!, x[3]!)} ${x[4]}/${x[5]}`).sort(),
      },
    };
  }

  for (const [capture, cores, flows] of [['ipv4.pcap', 1, 12], ['ipv6.pcap', 1, 15], ['ipv4-loss.pcap', 1, 14], ['ipv4-loss.pcap', 2, 14]] as const) {
    it(`${capture} on ${cores} core${cores > 1 ? 's' : ''}: the same flows, packets and bytes`, async () => {
      const path = join(CAPTURES, capture);
      const { summary, ours, theirs } = await collect(`${capture}-${cores}`, ['--input', path, '--cores', String(cores)]);
      expect(ours.flows).toBe(flows);
      expect(theirs.flows).toBe(ours.flows);
      expect(theirs.keys).toEqual(ours.keys);
      expect(theirs.packets).toBe(ours.packets);
      // IP octets: the frames less their 14-byte Ethernet headers, and what tshark sums.
      expect(theirs.bytes).toBe(ours.bytes - 14 * ours.packets);
      if (haveTshark()) expect(theirs.bytes).toBe(tsharkIpOctets(path));
      expect(summary.ipfix.records_sent).toBe(flows);
      expect(summary.ipfix.records_dropped).toBe(0);
      if (cores > 1) expect(summary.split_flows).toBeGreaterThan(0);
    });
  }
});

describe('TCP collectors, several targets, limits', () => {
  let server: Server | undefined;
  afterAll(() => {
    server?.close();
  });

  it('a TCP collector gets templates then every record; a file and UDP at the same time get the same', async () => {
    const port = await freePort('tcp');
    const chunks: Buffer[] = [];
    server = createServer((c) => c.on('data', (d) => chunks.push(d)));
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    const udpPort = await freePort('udp');
    const socket = createSocket('udp4');
    const datagrams: Buffer[] = [];
    socket.on('message', (m) => datagrams.push(m));
    await new Promise<void>((r) => socket.bind(udpPort, '127.0.0.1', r));
    const file = join(dir, 'three.ipfix');
    try {
      const r = await run(['run', '--input', join(CAPTURES, 'ipv6.pcap'), '--cores', '2', '--ipfix', `tcp://127.0.0.1:${port}`,
        '--ipfix', file, '--ipfix', `udp://127.0.0.1:${udpPort}`, '--ipfix-domain', '42', '--json', '--no-progress']);
      expect(r.status).toBe(0);
      const s = JSON.parse(r.stdout).ipfix;
      expect(s.targets.map((t: { records_sent: number }) => t.records_sent)).toEqual([15, 15, 15]);
      expect(s.records_dropped).toBe(0);
      await new Promise((res) => setTimeout(res, 100));
    } finally {
      socket.close();
    }
    const summarize = (bytes: Uint8Array) => {
      const messages = readIpfix(bytes);
      return { domains: [...new Set(messages.map((m) => m.domain))], records: messages.flatMap((m) => m.records).map((x) => `${x.sourceTransportPort} ${x.packetDeltaCount} ${x.octetDeltaCount}`).sort() };
    };
    const tcp = summarize(Buffer.concat(chunks));
    expect(tcp.domains).toEqual([42]);
    expect(tcp.records).toHaveLength(15);
    expect(summarize(readFileSync(file))).toEqual(tcp);
    expect(summarize(Buffer.concat(datagrams))).toEqual(tcp);
    // The TCP stream's sequence numbers count the records before each message.
    let seq = 0;
    for (const m of readIpfix(Buffer.concat(chunks))) {
      expect(m.sequence).toBe(seq);
      seq += m.records.length;
    }
  });

  it('a TCP collector that is not there: the run ends, its records counted as dropped', async () => {
    const port = await freePort('tcp');
    const r = await run(['run', '--input', join(CAPTURES, 'ipv4.pcap'), '--cores', '1', '--ipfix', `tcp://127.0.0.1:${port}`, '--json', '--no-progress']);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.received).toBe(182);
    expect(s.ipfix).toMatchObject({ records_encoded: 12, records_sent: 0, records_dropped: 12 });
  });

  it('each option at its limits: one line naming the maximum, exit 2', () => {
    const input = ['run', '--input', join(CAPTURES, 'ipv4.pcap')];
    expectUsageError(rssplane([...input, '--ipfix', 'http://x:1']), '--ipfix');
    expectUsageError(rssplane([...input, '--ipfix', 'udp://127.0.0.1:70000']), '--ipfix');
    expectUsageError(rssplane([...input, '--ipfix', 'udp://[zz]:4739']), '--ipfix');
    expectUsageError(rssplane([...input, '--ipfix', 'a.ipfix', '--ipfix-domain', '4294967296']), '4294967295');
    expectUsageError(rssplane([...input, '--ipfix', 'a.ipfix', '--ipfix-active-timeout', '4294968']), '4294967');
    expectUsageError(rssplane([...input, '--ipfix', 'a.ipfix', '--ipfix-template-refresh', '0']), '--ipfix-template-refresh');
    expectUsageError(rssplane([...input, '--ipfix', 'a.ipfix', '--ipfix-template-refresh', '2147484']), '2147483');
    expectUsageError(rssplane([...input, '--ipfix-domain', '3']), 'only with --ipfix');
    expectUsageError(rssplane([...input, '--ipfix', join(dir, 'no-such-dir', 'x.ipfix')]), '--ipfix');
  });
});
