/**
 * The metrics read an engine's counters straight from its memory (host/node/metrics/probe.ts):
 * hand-made packets in, the exposition's exact numbers out, and the same numbers as the flow
 * engine's own stats() and tally().
 */
import { describe, expect, it } from 'vitest';
import { Engine, FlowEngine, RssConfig } from '../host/core/index.js';
import { RunMetrics } from '../host/node/metrics/registry.js';
import type { RunProbe } from '../host/node/metrics/probe.js';
import { frame, TCP_FLAGS, tcp4, udp, ipv4, ethernet } from './helpers/packets.js';
import { loadPackets, type Packet } from './helpers/pcap.js';

const { SYN, ACK, FIN, RST } = TCP_FLAGS;
const C = '198.18.0.1', S = '198.18.0.2';

/** A handshake, then a close by FIN (fin: true) or by RST from the client. */
function connection(port: number, fin: boolean): Packet[] {
  const up = (flags: number, seq: number, ack: number) => frame(tcp4(C, S, { sport: port, dport: 80, flags, seq, ack }));
  const down = (flags: number, seq: number, ack: number) => frame(tcp4(S, C, { sport: 80, dport: port, flags, seq, ack }));
  const open = [up(SYN, 100, 0), down(SYN | ACK, 500, 101), up(ACK, 101, 501)];
  return fin ? [...open, up(FIN | ACK, 101, 501), down(FIN | ACK, 501, 102), up(ACK, 102, 502)] : [...open, up(RST, 101, 0)];
}

function samples(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    m.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return m;
}

describe('metrics read from an engine\'s memory', () => {
  it('packets, drops by reason, bad checksums, flows created and ended by reason: exact', async () => {
    const engine = await Engine.create();
    const config = RssConfig.from({ key: 'symmetric', reta: 'equal:2' });
    const flows = FlowEngine.create(engine, config, { flows: 64 });
    const badSum = tcp4(C, S, { sport: 4000, dport: 80, flags: SYN, seq: 7 });
    badSum[14 + 20 + 16]! ^= 0xff; // the TCP checksum's first byte
    const packets: Packet[] = [
      ...connection(1000, true), ...connection(1001, true), ...connection(1002, false),
      frame(ethernet(ipv4({ src: C, dst: S, protocol: 17, payload: udp(53, 5353, new Uint8Array(8), C, S) }), 0x0800)),
      frame(tcp4(C, S, { sport: 1003, dport: 80, flags: SYN }), { caplen: 14 + 10 }), // IPv4 header cut short
      frame(badSum),
    ];
    flows.process(loadPackets(engine, packets));
    const probe: RunProbe = { queues: 2, flowCapacity: 64, reta: config.reta!.table, cores: [{ core: 0, memory: () => engine.memory.buffer, rings: [] }] };
    const metrics = new RunMetrics();
    metrics.attach(probe);

    // While the flows are in the table: 3 TCP connections, 1 UDP flow, the bad-checksum SYN's flow.
    let s = samples(await metrics.text());
    const stats = flows.stats();
    expect(stats.received).toBe(packets.length);
    expect(s.get('rssplane_core_received_packets_total{core="0"}')).toBe(packets.length);
    expect(s.get('rssplane_core_processed_packets_total{core="0"}')).toBe(packets.length - 1);
    expect(s.get('rssplane_core_dropped_packets_total{core="0"}')).toBe(1);
    expect(s.get('rssplane_drops_total{core="0",reason="ipv4-truncated"}')).toBe(1);
    expect(s.get('rssplane_drops_total{core="0",reason="tcp-truncated"}')).toBe(0);
    expect(s.get('rssplane_bad_checksums_total{core="0",protocol="tcp"}')).toBe(1);
    expect(s.get('rssplane_bad_checksums_total{core="0",protocol="ipv4"}')).toBe(0);
    expect(s.get('rssplane_core_received_bytes_total{core="0"}')).toBe(packets.reduce((n, p) => n + p.data.length, 0));
    expect([0, 1].map((q) => s.get(`rssplane_queue_packets_total{queue="${q}"}`))).toEqual(stats.queues);
    expect(stats.queues[0]! + stats.queues[1]!).toBe(packets.length - 1);
    // Bytes per queue: every processed packet's captured bytes (the cut-short one was dropped).
    const queueBytes = [0, 1].map((q) => s.get(`rssplane_queue_bytes_total{queue="${q}"}`)!);
    expect(queueBytes[0]! + queueBytes[1]!).toBe(packets.reduce((n, p) => n + p.data.length, 0) - (14 + 10));
    expect(queueBytes.every((b) => b > 0)).toBe(true);
    expect(s.get('rssplane_flows_created_total{core="0"}')).toBe(5);
    expect(s.get('rssplane_flows_active{core="0"}')).toBe(5);
    expect(s.get('rssplane_flow_table_capacity_flows{core="0"}')).toBe(64);
    expect(s.get('rssplane_flow_table_occupancy_ratio{core="0"}')).toBe(5 / 64);
    expect(s.get('rssplane_tcp_flows_ended_total{core="0",reason="fin"}')).toBe(0);
    expect(s.has('rssplane_tcp_flows_ended_total{core="0",reason="open"}')).toBe(false);

    // Every flow leaves at the end: two by FIN, one by RST, the lone SYN and the UDP flow at the end.
    flows.finish();
    s = samples(await metrics.text());
    expect(s.get('rssplane_flows_active{core="0"}')).toBe(0);
    expect(s.get('rssplane_tcp_flows_ended_total{core="0",reason="fin"}')).toBe(2);
    expect(s.get('rssplane_tcp_flows_ended_total{core="0",reason="rst"}')).toBe(1);
    expect(s.get('rssplane_tcp_flows_ended_total{core="0",reason="end"}')).toBe(1);
    expect(s.get('rssplane_udp_flows_ended_total{core="0"}')).toBe(1);
    const tally = flows.tally();
    expect(tally).toMatchObject({ tcp: 4, udp: 1, byClose: { fin: 2, rst: 1, end: 1 } });
    expect(s.get('rssplane_flow_table_evictions_total{core="0"}')).toBe(0);
  });

  it('an exporter\'s records sent and dropped, read at each scrape', async () => {
    const metrics = new RunMetrics();
    let sent = 0;
    metrics.addExporter({ exporter: 'udp://127.0.0.1:4739', sent: () => sent, dropped: () => 3 });
    sent = 41;
    const s = samples(await metrics.text());
    expect(s.get('rssplane_export_records_sent_total{exporter="udp://127.0.0.1:4739"}')).toBe(41);
    expect(s.get('rssplane_export_records_dropped_total{exporter="udp://127.0.0.1:4739"}')).toBe(3);
  });
});
