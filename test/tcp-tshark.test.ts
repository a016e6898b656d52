/**
 * Our segments as Wireshark dissects them: the in-memory wire captured to pcap (frames as the
 * engine built them, after the wire's faults), then read by tshark. A clean wire shows no
 * analysis flag at all; a lossy one only those its drops, duplicates and reordering explain.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Engine, MemoryWire, TcpEndpoint, type Impairment } from '../host/core/index.js';
import { commandWorks, describeWithDependency } from './helpers/deps.js';

const EPOCH = 1_700_000_000_000_000_000n;

async function capture(impair: Impairment | undefined, ipv6: boolean): Promise<Uint8Array> {
  const [c, s] = ipv6 ? ['2001:db8::1', '2001:db8::2'] : ['198.18.0.1', '198.18.0.2'];
  const local = (a: string) => (ipv6 ? { ipv6: a } : { ipv4: a });
  const client = TcpEndpoint.create(await Engine.create(), {
    rss: {}, ...local(c), mac: '02:00:00:00:00:01', nextHopMac: '02:00:00:00:00:02', epochNs: EPOCH, seed: 1n, tcbs: 256, timeWaits: 256, chunks: 1024,
    app: { kind: 'http-client', remote: s, port: 80, concurrency: 8, connections: 100, requestsPerConnection: 3, timeoutMs: 100_000 },
  });
  const server = TcpEndpoint.create(await Engine.create(), {
    rss: {}, ...local(s), mac: '02:00:00:00:00:02', nextHopMac: '02:00:00:00:00:01', epochNs: EPOCH, seed: 2n, tcbs: 256, timeWaits: 256, chunks: 1024,
    app: { kind: 'http-server', responseBytes: 20_000 },
  });
  const wire = new MemoryWire([client], [server], { impair, capture: true });
  wire.run();
  return wire.pcap();
}

/** The fields of every frame tshark reads, in one pass (each tshark run costs seconds here). */
const FIELDS = [
  'ip.checksum.status', 'tcp.checksum.status', '_ws.malformed', '_ws.expert.severity', 'tcp.flags', 'http.request.method',
  'http.response.code', 'tcp.options.mss_val', 'tcp.options.sack_le', 'tcp.analysis.flags', 'tcp.analysis.retransmission',
  'tcp.analysis.fast_retransmission', 'tcp.analysis.spurious_retransmission', 'tcp.analysis.duplicate_ack',
  'tcp.analysis.out_of_order', 'tcp.analysis.lost_segment', 'tcp.analysis.ack_lost_segment',
] as const;
type Frame = Record<(typeof FIELDS)[number], string>;

function frames(file: string): Frame[] {
  const out = execFileSync('tshark', ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-T', 'fields',
    '-E', 'occurrence=f', '-E', 'separator=|', ...FIELDS.flatMap((f) => ['-e', f])], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return out.split('\n').filter(Boolean).map((line) => Object.fromEntries(line.split('|').map((v, i) => [FIELDS[i]!, v])) as Frame);
}

describeWithDependency('tshark', commandWorks('tshark', ['--version']), 'our segments as tshark reads them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rssplane-tcp-'));
  const read: Record<string, Frame[]> = {};
  const flag = (f: Frame, bits: number) => (parseInt(f['tcp.flags'] || '0', 16) & bits) === bits;
  const SYN = 2, ACK = 16, FIN = 1, RST = 4;
  /** Expert flags a lossy wire explains: what was lost, sent again, duplicated or reordered. */
  const explained = (f: Frame) => Boolean(f['tcp.analysis.retransmission'] || f['tcp.analysis.fast_retransmission'] || f['tcp.analysis.spurious_retransmission']
    || f['tcp.analysis.duplicate_ack'] || f['tcp.analysis.out_of_order'] || f['tcp.analysis.lost_segment'] || f['tcp.analysis.ack_lost_segment']);

  beforeAll(async () => {
    for (const [name, impair, ipv6] of [['clean4', undefined, false], ['clean6', undefined, true], ['lossy', { drop: 0.02, duplicate: 0.01, reorder: 0.02, seed: 5 }, false]] as const) {
      const file = join(dir, `${name}.pcap`);
      writeFileSync(file, await capture(impair, ipv6));
      read[name] = frames(file);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every frame decodes with valid IP and TCP checksums, nothing malformed, no expert error', () => {
    for (const fs of Object.values(read)) {
      expect(fs.length).toBeGreaterThan(1000);
      expect(fs.filter((f) => f['ip.checksum.status'] === '2' || f['tcp.checksum.status'] !== '1' || f['_ws.malformed'] || f['_ws.expert.severity'] === '8388608')).toEqual([]);
    }
  });

  it('a clean wire: 100 connections, 300 exchanges, handshakes and closes, and not one analysis flag', () => {
    for (const fs of [read.clean4!, read.clean6!]) {
      expect(fs.filter((f) => flag(f, SYN) && !flag(f, ACK)).length).toBe(100);
      expect(fs.filter((f) => flag(f, SYN | ACK)).length).toBe(100);
      expect(fs.filter((f) => f['http.request.method'] === 'GET').length).toBe(300);
      expect(fs.filter((f) => f['http.response.code'] === '200').length).toBe(300);
      expect(fs.filter((f) => flag(f, FIN)).length).toBe(200);
      expect(fs.filter((f) => flag(f, RST)).length).toBe(0);
      expect(fs.filter((f) => f['tcp.analysis.flags']).length).toBe(0);
      expect(fs.filter((f) => f['tcp.options.mss_val'] === '1460' || f['tcp.options.mss_val'] === '1440').length).toBe(200);
    }
  });

  it('a lossy wire: retransmissions and duplicate ACKs, and only flags the wire\'s faults explain', () => {
    const fs = read.lossy!;
    expect(fs.filter((f) => f['tcp.analysis.retransmission'] || f['tcp.analysis.fast_retransmission']).length).toBeGreaterThan(50);
    expect(fs.filter((f) => f['tcp.analysis.duplicate_ack']).length).toBeGreaterThan(10);
    expect(fs.filter((f) => f['tcp.analysis.flags'] && !explained(f)).length).toBe(0);
    expect(fs.filter((f) => f['tcp.options.sack_le']).length).toBeGreaterThan(0); // SACK blocks for what arrived out of order
  });
});
