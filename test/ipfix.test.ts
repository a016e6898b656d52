/**
 * IPFIX export from the flow engine (RFC 7011, biflows RFC 5103): hand-made conversations in,
 * the messages the engine encoded read back field by field. octetDeltaCount is IP octets (IP
 * header and payload), not frames; tcpControlBits is the union of each direction's flags;
 * flowEndReason follows how the flow ended; long-lived flows report delta counts each active
 * timeout.
 */
import { describe, expect, it } from 'vitest';
import { Engine, FlowEngine, RssConfig, type FlowEngineOptions } from '../host/core/index.js';
import { readIpfix, templateMessage, TEMPLATES, stampMessages } from '../host/core/ipfix.js';
import { loadPackets, type Packet } from './helpers/pcap.js';
import { frame, ipv4, tcp4, tcp6, udp, ethernet, TCP_FLAGS } from './helpers/packets.js';

const { SYN, ACK, FIN, RST, PSH } = TCP_FLAGS;
const C = '10.1.0.1', S = '10.1.0.2';
const ms = 1_000_000n;
const T0 = 1_800_000_000_000_000_000n;
const T0_MS = T0 / ms;

function talk(port: number, steps: Array<[boolean, number, number, number, number, number]>, family: 4 | 6 = 4): Packet[] {
  return steps.map(([fromClient, flags, seq, ack, payload, at]) => {
    const spec = { sport: fromClient ? port : 80, dport: fromClient ? 80 : port, seq, ack, flags, payload: new Uint8Array(payload).fill(0x61) };
    const bytes = family === 4 ? (fromClient ? tcp4(C, S, spec) : tcp4(S, C, spec)) : (fromClient ? tcp6('2001:db8::1', '2001:db8::2', spec) : tcp6('2001:db8::2', '2001:db8::1', spec));
    return frame(bytes, { ts: T0 + BigInt(at) * ms });
  });
}

/** Handshake, 10 bytes up, 20 down, FIN from the client first. */
const clean = (port: number, t = 0, family: 4 | 6 = 4) => talk(port, [
  [true, SYN, 100, 0, 0, t], [false, SYN | ACK, 500, 101, 0, t + 2], [true, ACK, 101, 501, 0, t + 3],
  [true, PSH | ACK, 101, 501, 10, t + 4], [false, PSH | ACK, 501, 111, 20, t + 5],
  [true, FIN | ACK, 111, 521, 0, t + 6], [false, FIN | ACK, 521, 112, 0, t + 7], [true, ACK, 112, 522, 0, t + 8],
], family);

async function exportOf(packets: Packet[], options: FlowEngineOptions = {}, activeTimeout = 0) {
  const engine = await Engine.create();
  const flows = FlowEngine.create(engine, RssConfig.from({ key: 'symmetric', reta: 'equal:2' }), { flows: 64, ipfix: { domain: 7, activeTimeout }, ...options });
  const messages: Uint8Array[] = [];
  // One packet a batch: each batch's messages as a live run takes them.
  for (const p of packets) {
    flows.process(loadPackets(engine, [p]));
    messages.push(...flows.takeIpfix());
  }
  flows.finish();
  messages.push(...flows.takeIpfix());
  const raw = Buffer.concat(messages);
  const data = new Uint8Array(raw);
  stampMessages(data, 1234, 0);
  const file = Buffer.concat([templateMessage(7, 1234, 0), data]);
  return { messages: readIpfix(file), stats: flows.stats(), records: flows.takeRecords() };
}

describe('IPFIX records from the flow engine', () => {
  it('one IPv4 biflow per connection: IP octets, packets, flags each way, end of flow', async () => {
    const { messages } = await exportOf(clean(40000));
    const records = messages.flatMap((m) => m.records);
    expect(records).toHaveLength(1);
    // Client: SYN, ACK, 10 bytes, FIN, ACK = 5 packets of 40 + 40 + 50 + 40 + 40 IP octets.
    // Server: SYN-ACK, 20 bytes, FIN = 3 packets of 40 + 60 + 40.
    expect(records[0]).toEqual({
      sourceIPv4Address: C, destinationIPv4Address: S, sourceTransportPort: 40000, destinationTransportPort: 80,
      protocolIdentifier: 6, flowEndReason: 3,
      tcpControlBits: SYN | ACK | PSH | FIN, reverseTcpControlBits: SYN | ACK | PSH | FIN,
      ingressInterface: expect.any(Number), reverseIngressInterface: expect.any(Number),
      octetDeltaCount: 210n, packetDeltaCount: 5n, reverseOctetDeltaCount: 140n, reversePacketDeltaCount: 3n,
      flowStartMilliseconds: T0_MS, flowEndMilliseconds: T0_MS + 8n,
    });
    expect(messages[1]!.domain).toBe(7);
  });

  it('IPv6 goes to its own template; octets are the 40-byte header and the payload length', async () => {
    const { messages } = await exportOf(clean(40001, 0, 6));
    const records = messages.flatMap((m) => m.records);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      sourceIPv6Address: '2001:db8::1', destinationIPv6Address: '2001:db8::2',
      octetDeltaCount: 5n * 60n + 10n, packetDeltaCount: 5n, reverseOctetDeltaCount: 3n * 60n + 20n, reversePacketDeltaCount: 3n,
    });
    const data = messages.filter((m) => m.records.length);
    expect(data.every((m) => m.records.every((r) => 'sourceIPv6Address' in r))).toBe(true);
  });

  it('a reset ends the flow (end of flow detected); an open flow at the end is a forced end', async () => {
    const reset = talk(40002, [[true, SYN, 100, 0, 0, 0], [false, RST | ACK, 0, 101, 0, 1]]);
    const open = talk(40003, [[true, SYN, 100, 0, 0, 10], [false, SYN | ACK, 500, 101, 0, 11], [true, ACK, 101, 501, 0, 12]]);
    const { messages } = await exportOf([...reset, ...open]);
    const records = messages.flatMap((m) => m.records);
    const byPort = Object.fromEntries(records.map((r) => [Number(r.sourceTransportPort), r]));
    expect(byPort[40002]).toMatchObject({ flowEndReason: 3, tcpControlBits: SYN, reverseTcpControlBits: RST | ACK, packetDeltaCount: 1n, reversePacketDeltaCount: 1n });
    expect(byPort[40003]).toMatchObject({ flowEndReason: 4, octetDeltaCount: 80n, reverseOctetDeltaCount: 40n });
  });

  it('idle timeout and lack of resources (a full table evicts)', async () => {
    // A UDP datagram, then another flow 2 s later: the first is idle past 1 s.
    const u = (sport: number, at: number) => frame(ethernet(ipv4({ src: C, dst: S, protocol: 17, payload: udp(sport, 53, new Uint8Array(12), C, S) }), 0x0800), { ts: T0 + BigInt(at) * ms });
    const idle = await exportOf([u(1000, 0), u(1001, 2000)], { idleTimeout: 1 });
    const reasons = idle.messages.flatMap((m) => m.records).map((r) => [r.sourceTransportPort, r.flowEndReason, r.octetDeltaCount]);
    expect(reasons).toEqual(expect.arrayContaining([[1000, 1, 40n], [1001, 4, 40n]]));
    const full = await exportOf([u(2000, 0), u(2001, 1), u(2002, 2)], { flows: 2 });
    const evicted = full.messages.flatMap((m) => m.records).filter((r) => r.flowEndReason === 5);
    expect(evicted.map((r) => r.sourceTransportPort)).toEqual([2000]);
  });

  it('a long-lived flow reports delta counts every active timeout, and the rest when it ends', async () => {
    // One datagram a second for 10 s each way; active timeout 4 s.
    const packets: Packet[] = [];
    for (let s = 0; s <= 10; s++) {
      packets.push(frame(ethernet(ipv4({ src: C, dst: S, protocol: 17, payload: udp(5000, 6000, new Uint8Array(100), C, S) }), 0x0800), { ts: T0 + BigInt(s * 1000) * ms }));
      packets.push(frame(ethernet(ipv4({ src: S, dst: C, protocol: 17, payload: udp(6000, 5000, new Uint8Array(50), S, C) }), 0x0800), { ts: T0 + BigInt(s * 1000 + 1) * ms }));
    }
    const { messages, records, stats } = await exportOf(packets, {}, 4);
    const out = messages.flatMap((m) => m.records);
    expect(out.length).toBeGreaterThanOrEqual(3);
    const sum = (k: string) => out.reduce((n, r) => n + (r[k] as bigint), 0n);
    // Every packet counted once over all records: 11 datagrams of 128 IP octets up, 11 of 78 down.
    expect(sum('packetDeltaCount')).toBe(11n);
    expect(sum('octetDeltaCount')).toBe(11n * 128n);
    expect(sum('reversePacketDeltaCount')).toBe(11n);
    expect(sum('reverseOctetDeltaCount')).toBe(11n * 78n);
    expect(out.slice(0, -1).every((r) => r.flowEndReason === 2)).toBe(true);
    expect(out.at(-1)!.flowEndReason).toBe(4);
    // Records follow on: each starts where the one before ended.
    for (let i = 1; i < out.length; i++) expect(out[i]!.flowStartMilliseconds).toBe(out[i - 1]!.flowEndMilliseconds);
    expect(out[0]!.flowStartMilliseconds).toBe(T0_MS);
    expect(out.at(-1)!.flowEndMilliseconds).toBe(T0_MS + 10_001n);
    // Counted in WASM: every record, the active-timeout ones among them.
    expect(stats.ipfix).toMatchObject({ records: out.length, active: out.length - 1 });
    // The flow's own record still holds the whole flow.
    expect(records[0]!.dirs[0].packets).toBe(11);
  });

  it('templates: both families, RFC 5103 reverse elements under enterprise 29305', () => {
    const [m] = readIpfix(templateMessage(1, 0, 0));
    expect(m!.templates).toEqual([256, 257]);
    expect(TEMPLATES[0]!.elements.filter((e) => e.enterprise === 29305).map((e) => e.name)).toEqual([
      'reverseTcpControlBits', 'reverseIngressInterface', 'reverseOctetDeltaCount', 'reversePacketDeltaCount',
    ]);
  });

  it('sequence numbers count the data records sent before each message', async () => {
    const packets = Array.from({ length: 40 }, (_, i) => clean(41000 + i, i * 10)).flat();
    const { messages } = await exportOf(packets);
    const data = messages.filter((m) => m.records.length);
    expect(data.length).toBeGreaterThan(1);
    let seq = 0;
    for (const m of data) {
      expect(m.sequence).toBe(seq);
      seq += m.records.length;
    }
    expect(seq).toBe(40);
  });
});
