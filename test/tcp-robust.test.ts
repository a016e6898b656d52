/**
 * Whatever arrives, the endpoint neither aborts nor loses count: random segments (any flags,
 * numbers near and far from the window, options, payloads) at a listener and at an established
 * connection, and frames that are not TCP or not whole. received = processed + forwarded +
 * dropped after every batch; the TCB table never leaks.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { TcpStat } from '../assembly/shared/abi.js';
import { ACK, Harness, SYN, type Seg } from './helpers/tcp.js';
import { ethernet, ipv4, tcp4, udp } from './helpers/packets.js';
import { loadPackets } from './helpers/pcap.js';

const balanced = (h: Harness) => {
  const e = h.endpoint;
  expect(e.counter(TcpStat.RECEIVED)).toBe(e.counter(TcpStat.PROCESSED) + e.counter(TcpStat.FORWARDED) + e.counter(TcpStat.DROPPED));
};

it('random segments at a listener and at an established connection: no abort, every one counted', async () => {
  const flags = fc.integer({ min: 0, max: 63 });
  const segment = fc.record({
    flags, near: fc.boolean(), seqOffset: fc.integer({ min: -70_000, max: 70_000 }), ackOffset: fc.integer({ min: -70_000, max: 70_000 }),
    win: fc.integer({ min: 0, max: 65535 }), payload: fc.integer({ min: 0, max: 1400 }), mss: fc.option(fc.integer({ min: 0, max: 65535 })),
    ws: fc.option(fc.integer({ min: 0, max: 255 })), ts: fc.option(fc.tuple(fc.nat(), fc.nat())), sack: fc.boolean(),
    toListener: fc.boolean(),
  });
  const seen = { accepted: 0, rst: 0, challenges: 0, outOfWindow: 0, established: 0 };
  await fc.assert(fc.asyncProperty(fc.array(segment, { minLength: 50, maxLength: 300 }), fc.integer({ min: 1, max: 50 }), async (segs, ms) => {
    const h = await Harness.create({ listen: [80], tcp: { timestamps: true, sack: true, windowScale: true } });
    h.connect();
    const syn = h.recvOne();
    h.send({ flags: SYN | ACK, seq: 1000, ack: syn.seq + 1, mss: 1460, ts: [1, 1], ws: 3, sackPermitted: true });
    h.recv();
    const client = { local: h.localPort, peer: 80 };
    for (const s of segs) {
      const base = s.toListener ? 100 : 1001;
      const seg: Seg = {
        flags: s.flags, seq: (s.near ? base + (s.seqOffset % 3000) : base + s.seqOffset) >>> 0, ack: (syn.seq + 1 + s.ackOffset) >>> 0,
        win: s.win, payload: new Uint8Array(s.payload).fill(65), mss: s.mss ?? undefined, ws: s.ws ?? undefined, ts: s.ts ?? undefined,
        sack: s.sack ? [[1000, 2000]] : undefined,
      };
      if (s.toListener) h.send(seg, 40000 + (s.seqOffset & 7), 80);
      else h.send(seg, client.peer, client.local);
      h.advance(ms);
      h.recv();
      balanced(h);
    }
    h.advance(600_000); // every timer and TIME-WAIT runs out
    h.recv();
    balanced(h);
    expect(h.endpoint.counter(TcpStat.RECEIVED)).toBe(segs.length + 1);
    expect(h.endpoint.counter(TcpStat.TCBS_ACTIVE)).toBeLessThanOrEqual(16);
    seen.accepted += h.endpoint.counter(TcpStat.ACCEPTED);
    seen.rst += h.endpoint.counter(TcpStat.RST_SENT);
    seen.challenges += h.endpoint.counter(TcpStat.CHALLENGE_ACKS);
    seen.outOfWindow += h.endpoint.counter(TcpStat.OUT_OF_WINDOW);
    seen.established += h.endpoint.counter(TcpStat.ESTABLISHED);
  }), { numRuns: 12, seed: 11 });
  // The segments reached the state machine's every branch of note, not only its first checks.
  for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(5);
});

it('frames that are not whole, not TCP or not ours: counted and dropped, nothing answered', async () => {
  const h = await Harness.create({ listen: [80] });
  const good = tcp4('198.18.0.2', '198.18.0.1', { sport: 40000, dport: 80, seq: 5, flags: SYN });
  const frames = [
    good.subarray(0, 20), // Ethernet and part of IP
    good.subarray(0, 40), // the TCP header cut short
    (() => { const f = good.slice(); f[40] = f[40]! ^ 0xff; return f; })(), // a bad TCP checksum
    ethernet(new Uint8Array(28), 0x0806), // ARP: the link layer's
    ethernet(ipv4({ src: '198.18.0.2', dst: '198.18.0.1', protocol: 1, payload: new Uint8Array(8) }), 0x0800), // ICMP
    ethernet(ipv4({ src: '198.18.0.2', dst: '198.18.0.1', protocol: 17, payload: udp(53, 53, new Uint8Array(4), '198.18.0.2', '198.18.0.1') }), 0x0800), // UDP
    tcp4('198.18.0.2', '198.18.0.99', { sport: 40000, dport: 80, seq: 5, flags: SYN }), // not our address
    new Uint8Array(0),
  ];
  const batch = loadPackets(h.endpoint.engine, frames.map((data) => ({ ts: h.now, data, wirelen: Math.max(data.length, 1), linkType: 1 })));
  expect(h.endpoint.input(batch)).toBe(frames.length);
  expect(h.recv()).toEqual([]);
  const s = h.endpoint.stats();
  expect(s).toMatchObject({ received: 8, processed: 0, dropped: 8, drop_link: 2, drop_not_tcp: 1, drop_bad_checksum: 1, drop_not_ours: 1 });
});
