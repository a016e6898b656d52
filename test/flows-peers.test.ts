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
import { Engine, FlowEngine, RssConfig, type FlowRecord } from '../host/core/index.js';
import { commandWorks, describeWithDependency } from './helpers/deps.js';
import { loadPackets, readPcap } from './helpers/pcap.js';
import { expectConversations, ours, pairKey, type PeerDirections } from './helpers/tshark.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/captures/${name}`, import.meta.url));
const FIXTURES = ['ipv4.pcap', 'ipv4-loss.pcap', 'ipv6.pcap'];

async function flowsOf(name: string): Promise<FlowRecord[]> {
  const engine = await Engine.create();
  const flows = FlowEngine.create(engine, RssConfig.from({ key: 'microsoft', reta: 'equal:4' }), { flows: 4096 });
  flows.process(loadPackets(engine, readPcap(fixture(name))));
  flows.finish();
  return flows.takeRecords().filter((r) => r.proto === 'tcp');
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

describeWithDependency('tshark', commandWorks('tshark', ['-v']), 'flows against tshark -z conv,tcp', () => {
  it.each(FIXTURES)('%s: the same connections, packets and bytes per direction', async (name) => {
    const records = await flowsOf(name);
    expect(records.length).toBeGreaterThan(10);
    expect(expectConversations(fixture(name), records)).toBe(records.length);
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
