/**
 * Wire parsing, from real captured bytes and from hand-made packets: every header the engine
 * reads, every way a header can be cut short or lie about its length, checksums, RSS per packet.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PKT_DESCRIPTOR, PKT_HASH, PKT_QUEUE } from '../assembly/shared/abi.js';
import { Engine, FlowEngine, RssConfig, RssHasher, type FlowEngineOptions, type RssOptions } from '../host/core/index.js';
import { loadPackets, readPcap, type Packet } from './helpers/pcap.js';
import { concat, ethernet, frame, ipv4, ipv6, tcp, tcp4, tcp6, TCP_FLAGS, udp } from './helpers/packets.js';

const { SYN, ACK } = TCP_FLAGS;
const A = '10.0.0.1', B = '10.0.0.2', A6 = '2001:db8::1', B6 = '2001:db8::2';

async function run(packets: Packet[], rss: RssOptions = {}, options: FlowEngineOptions = {}) {
  const engine = await Engine.create();
  const flows = FlowEngine.create(engine, RssConfig.from({ reta: 'equal:4', ...rss }), { flows: 256, ...options });
  const batch = loadPackets(engine, packets);
  flows.process(batch);
  const dv = new DataView(engine.memory.buffer);
  const hashes = packets.map((_, i) => dv.getUint32(batch.descriptors + i * PKT_DESCRIPTOR + PKT_HASH, true));
  const queues = packets.map((_, i) => dv.getUint16(batch.descriptors + i * PKT_DESCRIPTOR + PKT_QUEUE, true));
  flows.finish();
  const stats = flows.stats();
  expect(stats.received).toBe(packets.length);
  expect(stats.processed + stats.dropped).toBe(stats.received);
  return { stats, records: flows.takeRecords(), hashes, queues };
}

const syn = (sport = 40000, dport = 80) => ({ sport, dport, seq: 1000, flags: SYN });

describe('real bytes: the first SYN of ipv4.pcap', () => {
  const capture = readPcap(fileURLToPath(new URL('./fixtures/captures/ipv4.pcap', import.meta.url)));
  const first = capture.find((p) => p.data.length > 54 && p.data[12] === 0x08 && p.data[23] === 6 && p.data[47] === SYN)!;

  it('options as tcptrace reads them: MSS 1460, window scale 10, SACK permitted, timestamps', async () => {
    const { records, stats } = await run([first]);
    expect(stats.drops).toEqual({});
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ proto: 'tcp', client: '10.99.0.2:' + ((first.data[34]! << 8) | first.data[35]!), server: '10.99.0.1:8080' });
    expect(records[0]!.dirs[0]).toMatchObject({ mss: 1460, windowScale: 10, sackPermitted: true, timestamps: true, state: 'SYN_SENT' });
    expect(records[0]!.dirs[1].state).toBe('SYN_RECEIVED');
    expect(stats.badChecksums).toEqual({ ipv4: 0, tcp: 0, udp: 0 });
  });

  it('under stacked 802.1ad + 802.1Q tags, the same flow; as raw IP, the same flow', async () => {
    const ip = first.data.subarray(14);
    const tagged = frame(ethernet(ip, 0x0800, [0x88a8, 0x8100]));
    const raw = { ...frame(ip), linkType: 101 };
    for (const p of [tagged, raw]) {
      const { records, stats } = await run([p]);
      expect(stats.drops).toEqual({});
      expect(records.map((r) => [r.client, r.server])).toEqual([[`10.99.0.2:${(first.data[34]! << 8) | first.data[35]!}`, '10.99.0.1:8080']]);
    }
  });

  it('a flipped payload bit is a bad TCP checksum: counted, not dropped; dropped on request', async () => {
    const data = capture.find((p) => p.data.length > 100 && p.data[23] === 6)!;
    const bad = new Uint8Array(data.data);
    bad[bad.length - 1]! ^= 1;
    const counted = await run([{ ...data, data: bad }]);
    expect(counted.stats.badChecksums.tcp).toBe(1);
    expect(counted.stats.dropped).toBe(0);
    expect(counted.records).toHaveLength(1);
    const dropped = await run([{ ...data, data: bad }], {}, { checksums: 'drop' });
    expect(dropped.stats.drops).toEqual({ 'bad-checksum': 1 });
    expect(dropped.records).toHaveLength(0);
    const unchecked = await run([{ ...data, data: bad }], {}, { checksums: 'off' });
    expect(unchecked.stats.badChecksums.tcp).toBe(0);
  });

  it('cut by the snap length: still tracked, checksum counted as unverifiable', async () => {
    const data = capture.find((p) => p.data.length > 100 && p.data[23] === 6)!;
    const { stats, records } = await run([{ ...data, data: data.data.subarray(0, 80) }]);
    expect(stats.unverifiedChecksums).toBe(1);
    expect(records[0]!.dirs.map((d) => d.packets).reduce((a, b) => a + b)).toBe(1);
    expect(records[0]!.dirs.map((d) => d.bytes).reduce((a, b) => a + b)).toBe(80);
  });
});

describe('malformed packets are counted by reason and skipped', () => {
  const good = tcp4(A, B, syn());
  const cases: Array<[string, Packet]> = [
    ['ethernet-truncated', frame(good.subarray(0, 10), { wirelen: good.length })],
    ['ethernet-truncated', frame(ethernet(new Uint8Array(0), 0x8100).subarray(0, 14))],
    ['ipv4-truncated', frame(good, { caplen: 14 + 19 })],
    ['ipv4-malformed', frame(ethernet(ipv4({ src: A, dst: B, protocol: 6, payload: tcp(syn(), A, B), ihl: 4 }), 0x0800))],
    ['ipv4-malformed', frame(ethernet(ipv4({ src: A, dst: B, protocol: 6, payload: tcp(syn(), A, B), totalLength: 1000 }), 0x0800))],
    ['ipv4-malformed', frame(ethernet(ipv4({ src: A, dst: B, protocol: 6, payload: tcp(syn(), A, B), totalLength: 19 }), 0x0800))],
    ['ipv4-truncated', frame(ethernet(ipv4({ src: A, dst: B, protocol: 6, payload: new Uint8Array(0), options: [1, 1, 1, 1] }), 0x0800), { caplen: 14 + 22, wirelen: 60 })],
    ['tcp-truncated', frame(good, { caplen: 14 + 20 + 10 })],
    ['tcp-malformed', frame(tcp4(A, B, { ...syn(), dataOffset: 16 }))],
    ['tcp-malformed', frame(tcp4(A, B, { ...syn(), dataOffset: 60 }))],
    ['udp-malformed', frame(ethernet(ipv4({ src: A, dst: B, protocol: 17, payload: udp(53, 53, new Uint8Array(4), A, B, { length: 4 }) }), 0x0800))],
    ['udp-malformed', frame(ethernet(ipv4({ src: A, dst: B, protocol: 17, payload: udp(53, 53, new Uint8Array(4), A, B, { length: 40 }) }), 0x0800))],
    ['ipv6-truncated', frame(tcp6(A6, B6, syn()), { caplen: 14 + 39 })],
    ['ipv6-truncated', frame(tcp6(A6, B6, syn(), [{ type: 0 }, { type: 60 }]), { caplen: 14 + 40 + 8 + 4 })],
    ['ipv6-malformed', frame(tcp6(A6, B6, syn(), Array.from({ length: 9 }, () => ({ type: 60 as const }))))],
    ['ipv6-malformed', frame(ethernet(ipv6(A6, B6, 6, new Uint8Array(20)), 0x86dd).subarray(0, 60), { wirelen: 60 })],
    ['link-type', frame(good, { linkType: 147 })],
    ['descriptor', frame(good, { wirelen: 20 })],
  ];
  it.each(cases)('%s (%#)', async (reason, packet) => {
    const { stats, records } = await run([packet]);
    expect(stats.drops).toEqual({ [reason]: 1 });
    expect(stats.processed).toBe(0);
    expect(records).toHaveLength(0);
  });
});

describe('headers the engine walks', () => {
  it('IPv4 options: the header length moves the TCP header', async () => {
    const p = frame(ethernet(ipv4({ src: A, dst: B, protocol: 6, payload: tcp(syn(1234, 443), A, B), options: [1, 1, 1, 0, 0x94, 4, 0, 0] }), 0x0800));
    const { stats, records } = await run([p]);
    expect(stats.drops).toEqual({});
    expect(stats.badChecksums.ipv4).toBe(0);
    expect(records.map((r) => [r.client, r.server])).toEqual([['10.0.0.1:1234', '10.0.0.2:443']]);
  });

  it('a bad IPv4 header checksum is counted', async () => {
    const p = frame(ethernet(ipv4({ src: A, dst: B, protocol: 6, payload: tcp(syn(), A, B), badChecksum: true }), 0x0800));
    expect((await run([p])).stats.badChecksums.ipv4).toBe(1);
  });

  it('IPv6 hop-by-hop, routing and destination options lead to TCP', async () => {
    const p = frame(tcp6(A6, B6, syn(5555, 443), [{ type: 0 }, { type: 43, body: [0, 0, 0, 0, 0, 0] }, { type: 60, body: [1, 12, ...new Array(12).fill(0)] }]));
    const { stats, records } = await run([p]);
    expect(stats.drops).toEqual({});
    expect(stats.badChecksums.tcp).toBe(0);
    expect(records.map((r) => [r.client, r.server])).toEqual([['[2001:db8::1]:5555', '[2001:db8::2]:443']]);
  });

  it('fragments (IPv4 MF, IPv6 fragment header) hash on addresses and are not tracked', async () => {
    const frag4 = frame(ethernet(ipv4({ src: A, dst: B, protocol: 17, payload: new Uint8Array(32), fragment: 0x2000 }), 0x0800));
    const frag6 = frame(ethernet(ipv6(A6, B6, 17, new Uint8Array(32), [{ type: 44 }]), 0x86dd));
    const { stats, records, hashes } = await run([frag4, frag6]);
    expect(stats.fragments).toBe(2);
    expect(records).toHaveLength(0);
    const rss = await RssHasher.create({ fields: 'ipv4' });
    expect(hashes).toEqual([rss.hash({ src: A, dst: B }), rss.hash({ src: A6, dst: B6 }, 'ipv6')]);
  });

  it('UDP: zero checksum is "none" over IPv4, bad over IPv6 (RFC 8200 8.1)', async () => {
    const u4 = frame(ethernet(ipv4({ src: A, dst: B, protocol: 17, payload: udp(53, 5353, new Uint8Array(10), A, B, { zeroChecksum: true }) }), 0x0800));
    const u6 = frame(ethernet(ipv6(A6, B6, 17, udp(53, 5353, new Uint8Array(10), A6, B6, { zeroChecksum: true })), 0x86dd));
    const ok6 = frame(ethernet(ipv6(A6, B6, 17, udp(53, 5353, new Uint8Array(10), A6, B6)), 0x86dd));
    const { stats, records } = await run([u4, u6, ok6]);
    expect(stats.badChecksums.udp).toBe(1);
    expect(records.map((r) => [r.proto, r.dirs[0].packets, r.dirs[0].payloadBytes])).toEqual([['udp', 1, 10], ['udp', 2, 20]]);
    expect(records[0]!.dirs[0].state).toBeNull();
  });

  it('non-IP (ARP) goes to queue 0 unhashed; other IP protocols hash on addresses', async () => {
    const arp = frame(ethernet(new Uint8Array(28), 0x0806));
    const icmp = frame(ethernet(ipv4({ src: A, dst: B, protocol: 1, payload: new Uint8Array(8) }), 0x0800));
    const { stats, queues, hashes } = await run([arp, icmp], { reta: 'equal:4' });
    expect(stats.unhashed).toBe(1);
    expect(stats.otherL4).toBe(1);
    expect(queues[0]).toBe(0);
    expect(stats.queues.reduce((a, b) => a + b)).toBe(2);
    expect(hashes[1]).toBe((await RssHasher.create({ fields: 'ipv4' })).hash({ src: A, dst: B }));
  });
});

describe('RSS per packet, from the programmed RssConfig', () => {
  it('TCP over IPv4 hashes as ipv4-l4, over IPv6 as ipv6-l4 under an ipv4-l4 config; queues from the table', async () => {
    const p4 = frame(tcp4(A, B, syn(2794, 1766)));
    const p6 = frame(tcp6(A6, B6, syn(2794, 1766)));
    const rss = await RssHasher.create({ key: 'microsoft', fields: 'ipv4-l4', reta: 'equal:6' });
    const { hashes, queues, stats } = await run([p4, p6], { key: 'microsoft', fields: 'ipv4-l4', reta: 'equal:6' });
    const h4 = rss.hash({ src: A, dst: B, sport: 2794, dport: 1766 });
    const h6 = rss.hash({ src: A6, dst: B6, sport: 2794, dport: 1766 }, 'ipv6-l4');
    expect(hashes).toEqual([h4, h6]);
    expect(queues).toEqual([rss.queue(h4), rss.queue(h6)]);
    expect(stats.queues[rss.queue(h4)]).toBeGreaterThanOrEqual(1);
  });

  it('an ipv4 (addresses only) config leaves ports out', async () => {
    const { hashes } = await run([frame(tcp4(A, B, syn(1, 2))), frame(tcp4(A, B, syn(3, 4)))], { fields: 'ipv4' });
    expect(hashes[0]).toBe(hashes[1]);
    expect(hashes[0]).toBe((await RssHasher.create({ fields: 'ipv4' })).hash({ src: A, dst: B }));
  });

  it('records carry both directions\' queues; an asymmetric key splits flows over cores, a symmetric one never', async () => {
    const packets = Array.from({ length: 64 }, (_, i) => [frame(tcp4(A, B, syn(10000 + i, 80))), frame(tcp4(B, A, { sport: 80, dport: 10000 + i, seq: 5, ack: 1001, flags: SYN | ACK }))]).flat();
    const asym = await run(packets, { key: 'microsoft', reta: 'equal:2' }, { cores: 2 });
    const rss = await RssHasher.create({ key: 'microsoft', reta: 'equal:2' });
    for (const r of asym.records) {
      const sport = Number(r.client.split(':')[1]);
      expect(r.queues).toEqual([rss.queue({ src: A, dst: B, sport, dport: 80 }), rss.queue({ src: B, dst: A, sport: 80, dport: sport })]);
      expect(r.split).toBe(r.cores[0] !== r.cores[1]);
    }
    expect(asym.records.filter((r) => r.split).length).toBeGreaterThan(10);
    const sym = await run(packets, { key: 'symmetric', reta: 'equal:2' }, { cores: 2 });
    expect(sym.records).toHaveLength(64);
    expect(sym.records.filter((r) => r.split)).toHaveLength(0);
  });
});

it('a hand-made segment equals its bytes: the builder is checked against tshark-verified real bytes', () => {
  // The first SYN of ipv4.pcap, rebuilt from its fields, must reproduce the captured bytes.
  const capture = readPcap(fileURLToPath(new URL('./fixtures/captures/ipv4.pcap', import.meta.url)));
  const real = capture.find((p) => p.data.length > 54 && p.data[23] === 6 && p.data[47] === SYN)!.data;
  const tcpBytes = real.subarray(34);
  const dv = new DataView(tcpBytes.buffer, tcpBytes.byteOffset);
  const rebuilt = tcp({
    sport: dv.getUint16(0), dport: dv.getUint16(2), seq: dv.getUint32(4), ack: dv.getUint32(8), flags: tcpBytes[13]!,
    window: dv.getUint16(14), options: Array.from(tcpBytes.subarray(20, (tcpBytes[12]! >> 4) * 4)),
  }, '10.99.0.2', '10.99.0.1');
  expect(Array.from(rebuilt)).toEqual(Array.from(tcpBytes));
  expect(concat(rebuilt).length).toBe(tcpBytes.length);
});
