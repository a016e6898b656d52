/**
 * The flow table and the TCP observer on hand-made conversations: states (RFC 9293 names) on
 * both sides, close reasons, handshake RTT, sequence accounting, 4-tuple reuse, idle timeouts,
 * eviction when full, and in-order reassembly with its events.
 */
import { describe, expect, it } from 'vitest';
import { Engine, FlowEngine, RssConfig, type FlowEngineOptions } from '../host/core/index.js';
import { loadPackets, type Packet } from './helpers/pcap.js';
import { frame, tcp4, TCP_FLAGS } from './helpers/packets.js';

const { SYN, ACK, FIN, RST, PSH } = TCP_FLAGS;
const C = '10.1.0.1', S = '10.1.0.2';
const ms = 1_000_000n;
const T0 = 1_800_000_000_000_000_000n;

/** A conversation from the client's port `port`: segments as [fromClient, flags, seq, ack, payload, at ms]. */
function talk(port: number, steps: Array<[boolean, number, number, number, number | Uint8Array, number]>): Packet[] {
  return steps.map(([fromClient, flags, seq, ack, payload, at]) => {
    const bytes = typeof payload === 'number' ? new Uint8Array(payload).fill(0x61) : payload;
    const spec = { sport: fromClient ? port : 80, dport: fromClient ? 80 : port, seq, ack, flags, payload: bytes };
    return frame(fromClient ? tcp4(C, S, spec) : tcp4(S, C, spec), { ts: T0 + BigInt(at) * ms });
  });
}

/** Handshake (ISNs 100 client, 500 server), 10 bytes up, 20 down, FIN from the client first. */
const clean = (port: number, t = 0) => talk(port, [
  [true, SYN, 100, 0, 0, t], [false, SYN | ACK, 500, 101, 0, t + 2], [true, ACK, 101, 501, 0, t + 3],
  [true, PSH | ACK, 101, 501, 10, t + 4], [false, PSH | ACK, 501, 111, 20, t + 5],
  [true, FIN | ACK, 111, 521, 0, t + 6], [false, FIN | ACK, 521, 112, 0, t + 7], [true, ACK, 112, 522, 0, t + 8],
]);

async function run(packets: Packet[], options: FlowEngineOptions = {}) {
  const engine = await Engine.create();
  const flows = FlowEngine.create(engine, RssConfig.from({ key: 'symmetric', reta: 'equal:2' }), { flows: 64, ...options });
  flows.process(loadPackets(engine, packets));
  flows.finish();
  return { records: flows.takeRecords(), stats: flows.stats(), events: flows.takeEvents() };
}

describe('TCP observer', () => {
  it('a clean connection: TIME_WAIT for the active closer, CLOSED for the other, close fin, RTT SYN to ACK', async () => {
    const { records } = await run(clean(1000));
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r).toMatchObject({ client: '10.1.0.1:1000', server: '10.1.0.2:80', close: 'fin', clientBySyn: true, handshakeRtt: 3n * ms });
    expect(r.dirs.map((d) => [d.state, d.packets, d.payloadBytes, d.uniqueBytes, d.retransmits])).toEqual([
      ['TIME_WAIT', 5, 10, 10, 0], ['CLOSED', 3, 20, 20, 0],
    ]);
  });

  it('states along the way, as each segment would leave them', async () => {
    const steps = clean(1000);
    const expected = [
      ['SYN_SENT', 'SYN_RECEIVED'], ['ESTABLISHED', 'SYN_RECEIVED'], ['ESTABLISHED', 'ESTABLISHED'], ['ESTABLISHED', 'ESTABLISHED'],
      ['ESTABLISHED', 'ESTABLISHED'], ['FIN_WAIT_1', 'CLOSE_WAIT'], ['TIME_WAIT', 'LAST_ACK'], ['TIME_WAIT', 'CLOSED'],
    ];
    for (let n = 1; n <= steps.length; n++) {
      const { records } = await run(steps.slice(0, n));
      expect(records[0]!.dirs.map((d) => d.state), `after segment ${n}`).toEqual(expected[n - 1]);
    }
  });

  it('one direction only (a core\'s half of a split flow, a one-way capture): states along the way', async () => {
    // The engine works out the states of such a flow only when a segment can move them (the
    // first segment of an entry, a SYN, FIN or RST, or the first ACK of the peer's SYN; a lone SYN
    // becomes an entry on the segment after it): these are what working them out after every
    // segment gives.
    const steps = clean(1000);
    const cases: Array<[string, Packet[], string[][]]> = [
      ['client', steps.filter((_, i) => [0, 2, 3, 5, 7].includes(i)), [
        ['SYN_SENT', 'SYN_RECEIVED'], ['ESTABLISHED', 'ESTABLISHED'], ['ESTABLISHED', 'ESTABLISHED'],
        ['FIN_WAIT_1', 'CLOSE_WAIT'], ['FIN_WAIT_1', 'CLOSE_WAIT'],
      ]],
      ['client, its SYN retransmitted before the ACK', [steps[0]!, steps[0]!, steps[2]!, steps[3]!], [
        ['SYN_SENT', 'SYN_RECEIVED'], ['SYN_SENT', 'SYN_RECEIVED'], ['ESTABLISHED', 'ESTABLISHED'], ['ESTABLISHED', 'ESTABLISHED'],
      ]],
      ['client, a segment without ACK after its SYN', [steps[0]!, ...talk(1000, [[true, PSH, 101, 0, 10, 1]]), steps[2]!], [
        ['SYN_SENT', 'SYN_RECEIVED'], ['SYN_SENT', 'SYN_RECEIVED'], ['ESTABLISHED', 'ESTABLISHED'],
      ]],
      ['server', steps.filter((_, i) => [1, 4, 6].includes(i)), [
        ['ESTABLISHED', 'SYN_RECEIVED'], ['ESTABLISHED', 'SYN_RECEIVED'], ['CLOSE_WAIT', 'FIN_WAIT_1'],
      ]],
    ];
    for (const [name, packets, expected] of cases) {
      for (let n = 1; n <= packets.length; n++) {
        const { records } = await run(packets.slice(0, n));
        expect(records[0]!.dirs.map((d) => d.state), `${name}, after segment ${n}`).toEqual(expected[n - 1]);
      }
    }
  });

  it('a refused connection (SYN, RST-ACK) closes rst; a SYN-ACK first makes its sender the server', async () => {
    const refused = await run(talk(2000, [[true, SYN, 100, 0, 0, 0], [false, RST | ACK, 0, 101, 0, 1]]));
    expect(refused.records[0]).toMatchObject({ close: 'rst', client: '10.1.0.1:2000' });
    expect(refused.records[0]!.dirs.map((d) => d.state)).toEqual(['CLOSED', 'CLOSED']);
    const late = await run(talk(2001, [[false, SYN | ACK, 500, 101, 0, 0], [true, ACK, 101, 501, 0, 1]]));
    expect(late.records[0]).toMatchObject({ client: '10.1.0.1:2001', server: '10.1.0.2:80', clientBySyn: true });
    expect(late.records[0]!.dirs.map((d) => d.state)).toEqual(['ESTABLISHED', 'ESTABLISHED']);
  });

  it('mid-stream (no SYN seen): the first sender is the client, both ESTABLISHED, close end', async () => {
    const { records } = await run(talk(2002, [[false, ACK, 900, 50, 100, 0], [true, ACK, 50, 1000, 0, 1]]));
    expect(records[0]).toMatchObject({ client: '10.1.0.2:80', server: '10.1.0.1:2002', clientBySyn: false, close: 'end' });
    expect(records[0]!.dirs.map((d) => d.state)).toEqual(['ESTABLISHED', 'ESTABLISHED']);
  });

  it('sequence space: a hole filled later is out of order, a repeat is a retransmission, unique counts once', async () => {
    const { records } = await run(talk(3000, [
      [true, SYN, 100, 0, 0, 0], [false, SYN | ACK, 500, 101, 0, 1], [true, ACK, 101, 501, 0, 2],
      [true, ACK, 101, 501, 100, 3], [true, ACK, 301, 501, 100, 4], // 201..300 skipped
      [true, ACK, 201, 501, 100, 5], // fills the hole: out of order
      [true, ACK, 151, 501, 100, 6], // 151..250 all seen: a retransmission
      [true, ACK, 351, 501, 100, 7], // half seen, half new: a retransmission with 50 new bytes
    ]));
    expect(records[0]!.dirs[0]).toMatchObject({ payloadBytes: 500, uniqueBytes: 350, outOfOrder: 1, retransmits: 2 });
  });
});

describe('flow table', () => {
  it('configured again on the same engine, the table starts empty: the same packets give the same records', async () => {
    const config = RssConfig.from({ key: 'microsoft', reta: 'equal:2' });
    const packets = [...clean(1000), ...clean(1001, 20), ...clean(1000, 40)];
    const records = (engine: Engine, finish: boolean) => {
      const flows = FlowEngine.create(engine, config, { flows: 64 });
      const batch = loadPackets(engine, packets);
      flows.process(batch);
      if (finish) flows.finish();
      batch.free();
      return flows.takeRecords();
    };
    const fresh = records(await Engine.create(), true);
    expect(fresh.map((r) => [r.client, r.reused, r.dirs[0].packets])).toEqual([
      ['10.1.0.1:1000', false, 5], ['10.1.0.1:1000', true, 5], ['10.1.0.1:1001', false, 5],
    ]);
    // the first table is left holding flows: the second reuses its memory
    const engine = await Engine.create();
    records(engine, false);
    expect(records(engine, true)).toEqual(fresh);
  });

  it('a 4-tuple reused after close starts a new flow (both recorded, the second marked reused)', async () => {
    const { records, stats } = await run([...clean(4000, 0), ...clean(4000, 20)]);
    expect(records.map((r) => [r.client, r.close, r.reused, r.dirs[0].packets])).toEqual([
      ['10.1.0.1:4000', 'fin', false, 5], ['10.1.0.1:4000', 'fin', true, 5],
    ]);
    expect(stats.flows.reused).toBe(1);
  });

  it('idle timeout by packet time: a flow silent past it ends as timeout, the next packet starts another', async () => {
    const packets = talk(5000, [[true, ACK, 1, 1, 10, 0], [true, ACK, 11, 1, 10, 2000], [true, ACK, 21, 1, 10, 2100]]);
    const { records, stats } = await run(packets, { idleTimeout: 1 });
    expect(records.map((r) => [r.close, r.dirs[0].packets])).toEqual([['timeout', 1], ['end', 2]]);
    expect(stats.flows.timedOut).toBe(1);
  });

  it('full table: the least recently active flow is evicted, counted, and recorded as evicted', async () => {
    const packets = Array.from({ length: 6 }, (_, i) => talk(6000 + i, [[true, ACK, 1, 1, 10, i]])).flat();
    const { records, stats } = await run(packets, { flows: 4 });
    expect(stats.flows.evicted).toBe(2);
    expect(records.filter((r) => r.close === 'evicted').map((r) => r.client).sort()).toEqual(['10.1.0.1:6000', '10.1.0.1:6001']);
    expect(records).toHaveLength(6);
  });

  it('counts(), what a run publishes every 16 batches, agrees with stats() without reading the buckets', async () => {
    const engine = await Engine.create();
    const flows = FlowEngine.create(engine, RssConfig.from({ key: 'symmetric', reta: 'equal:2' }), { flows: 64 });
    // A frame cut to 20 bytes (no IPv4 header) is dropped, and its time is not a packet's time.
    const cut = frame(tcp4(C, S, { sport: 7000, dport: 80, seq: 1, flags: ACK }), { caplen: 20, ts: T0 + 100n * ms });
    flows.process(loadPackets(engine, [...clean(7001), cut]));
    const { received, processed, dropped, now } = flows.stats();
    expect(flows.counts()).toEqual({ received, processed, dropped, now });
    expect(flows.counts()).toEqual({ received: 9, processed: 8, dropped: 1, now: T0 + 8n * ms });
  });

  it('10,000 flows through a table of 1,024: every packet accounted, every flow recorded once', async () => {
    const packets = Array.from({ length: 10000 }, (_, i) => frame(tcp4(`10.2.${i >> 8}.${i & 255}`, S, { sport: 1024 + i, dport: 80, seq: 1, flags: ACK, payload: new Uint8Array(5) })));
    const { records, stats } = await run(packets, { flows: 1024 });
    expect(records).toHaveLength(10000);
    expect(stats.flows.evicted + stats.flows.timedOut).toBe(10000 - 1024);
    expect(records.reduce((n, r) => n + r.dirs[0].packets, 0)).toBe(10000);
  });
});

describe('reassembly and events (off by default)', () => {
  it('delivers the stream in order though segments arrive out of order, with the flow events', async () => {
    const text = new TextEncoder().encode('GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n');
    const part = (a: number, b: number) => text.subarray(a, b);
    const packets = talk(7000, [
      [true, SYN, 100, 0, 0, 0], [false, SYN | ACK, 500, 101, 0, 1], [true, ACK, 101, 501, 0, 2],
      [true, ACK, 101, 501, part(0, 10), 3], [true, ACK, 121, 501, part(20, text.length), 4],
      [true, ACK, 111, 501, part(10, 20), 5], [true, ACK, 101, 501, part(0, 10), 6],
      [true, FIN | ACK, 101 + text.length, 501, 0, 7], [false, RST, 501, 0, 0, 8],
    ]);
    const off = await run(packets);
    expect(off.events).toEqual([]);
    const { events, records } = await run(packets, { reassembly: { streams: 4, window: 4096 } });
    expect(events.map((e) => e.type)).toEqual(['new', 'established', 'data', 'data', 'data', 'fin', 'rst', 'closed']);
    const stream = events.filter((e) => e.type === 'data').map((e) => Buffer.from(e.data!).toString()).join('');
    expect(stream).toBe(Buffer.from(text).toString());
    expect(events.filter((e) => e.type === 'data').map((e) => e.offset)).toEqual([0, 10, 20]);
    expect(records[0]!.close).toBe('rst');
  });
});
