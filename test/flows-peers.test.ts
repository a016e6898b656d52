/**
 * The flow engine against real peers, flow by flow, on captures of real traffic
 * (test/fixtures/captures/README.md): packets and bytes per direction against
 * `tshark -q -z conv,tcp`, unique bytes and retransmitted segments against `tcptrace -l -n`.
 *
 * Definitions, matched to the peers:
 * - bytes are whole captured frames, as tshark counts them;
 * - a retransmitted segment covers sequence space seen before (SYN and FIN take one number each),
 *   unique bytes are payload bytes covered for the first time: tcptrace's "rexmt data pkts" and
 *   "unique bytes sent".
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { Engine, FlowEngine, formatAddress, parseAddress, RssConfig, type FlowRecord } from '../host/core/index.js';
import { commandWorks, describeWithDependency } from './helpers/deps.js';
import { loadPackets, readPcap } from './helpers/pcap.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/captures/${name}`, import.meta.url));
const FIXTURES = ['ipv4.pcap', 'ipv4-loss.pcap', 'ipv6.pcap'];

async function flowsOf(name: string): Promise<FlowRecord[]> {
  const engine = await Engine.create();
  const flows = FlowEngine.create(engine, RssConfig.from({ key: 'microsoft', reta: 'equal:4' }), { flows: 4096 });
  flows.process(loadPackets(engine, readPcap(fixture(name))));
  flows.finish();
  return flows.takeRecords().filter((r) => r.proto === 'tcp');
}

/** "ADDR:PORT" in one spelling: brackets dropped, IPv6 canonical (tcptrace prints fd99::0001). */
const bare = (endpoint: string) => {
  const text = endpoint.replace(/^\[(.*)\]/, '$1');
  const i = text.lastIndexOf(':');
  return `${formatAddress(parseAddress(text.slice(0, i)).bytes)}:${text.slice(i + 1)}`;
};
/** A connection's key whichever way round its endpoints are written. */
const pairKey = (a: string, b: string) => [bare(a), bare(b)].sort().join(' ');

interface PeerDirections {
  /** endpoint that sent direction 0 */
  a: string;
  b: string;
  values: Record<string, [number, number]>;
}

/** tshark's TCP conversations: frames and bytes per direction (A -> B is its "->" column). */
function tsharkConversations(name: string): Map<string, PeerDirections & { exactBytes: [boolean, boolean] }> {
  const text = execFileSync('tshark', ['-r', fixture(name), '-q', '-z', 'conv,tcp'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const out = new Map<string, PeerDirections & { exactBytes: [boolean, boolean] }>();
  const unit = { bytes: 1, kB: 1000, MB: 1e6 } as Record<string, number>;
  for (const m of text.matchAll(/^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+) (bytes|kB|MB)\s+(\d+)\s+(\d+) (bytes|kB|MB)/gm)) {
    const [, a, b, fromB, bytesFromB, unitFromB, fromA, bytesFromA, unitFromA] = m;
    out.set(pairKey(a!, b!), {
      a: a!, b: b!,
      values: {
        packets: [Number(fromA), Number(fromB)],
        bytes: [Number(bytesFromA) * unit[unitFromA!]!, Number(bytesFromB) * unit[unitFromB!]!],
      },
      exactBytes: [unitFromA === 'bytes', unitFromB === 'bytes'],
    });
  }
  return out;
}

/** tshark's per-frame lengths summed per conversation and direction: the exact byte counts. */
function tsharkFrameBytes(name: string): Map<string, Map<string, number>> {
  const text = execFileSync('tshark', ['-r', fixture(name), '-Y', 'tcp', '-T', 'fields', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'tcp.dstport', '-e', 'frame.len'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const out = new Map<string, Map<string, number>>();
  for (const line of text.trim().split('\n')) {
    const [s4, s6, sp, d4, d6, dp, len] = line.split('\t');
    const src = `${s4 || s6}:${sp}`, dst = `${d4 || d6}:${dp}`;
    const k = pairKey(src, dst);
    if (!out.has(k)) out.set(k, new Map());
    const m = out.get(k)!;
    m.set(src, (m.get(src) ?? 0) + Number(len));
  }
  return out;
}

/** tcptrace -l: per connection, a->b and b->a columns. */
function tcptraceConnections(name: string): Map<string, PeerDirections> {
  const text = execFileSync('tcptrace', ['-l', '-n', fixture(name)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const out = new Map<string, PeerDirections>();
  for (const block of text.split(/^TCP connection \d+:$/m).slice(1)) {
    const a = /host \w+:\s+(\S+)/.exec(block)![1]!;
    const b = /host \w+:\s+\S+[\s\S]*?host \w+:\s+(\S+)/.exec(block)![1]!;
    const pair = (label: string): [number, number] => {
      const m = new RegExp(`${label}:\\s+(\\d+)\\s+${label}:\\s+(\\d+)`).exec(block)!;
      return [Number(m[1]), Number(m[2])];
    };
    out.set(pairKey(a, b), { a, b, values: { packets: pair('total packets'), unique: pair('unique bytes sent'), retransmits: pair('rexmt data pkts'), outOfOrder: pair('outoforder pkts') } });
  }
  return out;
}

/** Our per-direction values in the peer's direction order. */
function ours(r: FlowRecord, peerA: string, pick: (d: FlowRecord['dirs'][0]) => number): [number, number] {
  const v: [number, number] = [pick(r.dirs[0]), pick(r.dirs[1])];
  return bare(r.client) === bare(peerA) ? v : [v[1], v[0]];
}

describeWithDependency('tshark', commandWorks('tshark', ['-v']), 'flows against tshark -z conv,tcp', () => {
  it.each(FIXTURES)('%s: the same connections, packets and bytes per direction', async (name) => {
    const records = await flowsOf(name);
    const peer = tsharkConversations(name);
    const frameBytes = tsharkFrameBytes(name);
    expect(records.length).toBeGreaterThan(10);
    expect(new Set(records.map((r) => pairKey(r.client, r.server)))).toEqual(new Set(peer.keys()));
    for (const r of records) {
      const key = pairKey(r.client, r.server);
      const p = peer.get(key)!;
      expect(ours(r, p.a, (d) => d.packets), key).toEqual(p.values.packets);
      const bytes = ours(r, p.a, (d) => d.bytes);
      // conv,tcp prints "172 kB" (172,546 bytes, cut to whole kB) past 9999 bytes: exact where it
      // prints bytes, to the kB otherwise, and exact against the lengths tshark gives each frame.
      bytes.forEach((n, i) => expect(p.exactBytes[i] ? n : Math.trunc(n / 1000) * 1000, key).toBe(p.values.bytes![i]));
      const frames = frameBytes.get(key)!;
      expect([frames.get(bare(p.a)) ?? 0, frames.get(bare(p.b)) ?? 0], key).toEqual(bytes);
    }
  });
});

describeWithDependency('tcptrace', commandWorks('tcptrace', ['-v']), 'flows against tcptrace -l -n', () => {
  it.each(FIXTURES)('%s: unique bytes and retransmitted segments per direction', async (name) => {
    const records = await flowsOf(name);
    const peer = tcptraceConnections(name);
    expect(peer.size).toBeGreaterThan(10);
    let retransmits = 0;
    for (const [key, p] of peer) {
      const r = records.find((x) => pairKey(x.client, x.server) === key);
      expect(r, key).toBeDefined();
      expect(ours(r!, p.a, (d) => d.packets), key).toEqual(p.values.packets);
      expect(ours(r!, p.a, (d) => d.uniqueBytes), key).toEqual(p.values.unique);
      expect(ours(r!, p.a, (d) => d.retransmits), key).toEqual(p.values.retransmits);
      expect(ours(r!, p.a, (d) => d.outOfOrder), key).toEqual(p.values.outOfOrder);
      retransmits += r!.dirs[0].retransmits + r!.dirs[1].retransmits;
    }
    if (name === 'ipv4-loss.pcap') expect(retransmits).toBeGreaterThanOrEqual(10);
  });
});
