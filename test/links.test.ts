/**
 * Link types beside Ethernet and raw IP, as operators' captures come: Linux cooked captures
 * (`tcpdump -i any`: LINUX_SLL2, LINUX_SLL), BSD loopback (NULL in either byte order, LOOP) and
 * PPP (PPP, PPP_HDLC, with and without address and control, compressed protocol fields, Cisco
 * HDLC). Literal headers in front of real and hand-built packets; the committed captures
 * (test/fixtures/captures/make-links.mjs) against tshark, flow by flow, and hash by hash against
 * the Ethernet capture they were made from; headers cut short; `run --input` on one core and with
 * software RSS steering across two. Real `tcpdump -i any` captures: links-live.test.ts.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinkType, PacketFlag, PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR, PKT_FLAGS, PKT_HASH, PKT_QUEUE, PKT_TIMESTAMP } from '../assembly/shared/abi.js';
import { CaptureReader, DROP_REASON_NAMES, Engine, FlowEngine, RssConfig, type RssOptions } from '../host/core/index.js';
import { concat, fixture, fixtureBytes, pcapHeader, pcapRecord } from './helpers/capture.js';
import { rssplane } from './helpers/cli.js';
import { describeWithDependency, haveTshark } from './helpers/deps.js';
import { ipv4, ipv6, tcp, TCP_FLAGS } from './helpers/packets.js';
import { loadPackets, type Packet } from './helpers/pcap.js';
import { expectConversations } from './helpers/tshark.js';

const A = '198.18.0.1', B = '198.18.0.2', A6 = '2001:db8::1', B6 = '2001:db8::2';
const RSS: RssOptions = { key: 'microsoft', reta: 'equal:4' };

/**
 * One packet as the flow engine saw it: its time, and the hash and queue it was given. `key`
 * names the packet whatever its link header: its time and its last 40 bytes (all in the IP packet).
 */
interface Seen { time: bigint; key: string; hashed: boolean; hash: number; queue: number }

/** A capture through the capture reader and the flow engine, as `run --input` takes it on one core. */
async function through(bytes: Uint8Array, name = 'capture') {
  const engine = await Engine.create();
  const flows = FlowEngine.create(engine, RssConfig.from(RSS), { flows: 4096 });
  const reader = CaptureReader.create(engine, { name });
  const seen: Seen[] = [];
  for (const batch of reader.write(bytes)) {
    flows.process(batch);
    const dv = new DataView(engine.memory.buffer);
    for (let i = 0; i < batch.count; i++) {
      const d = batch.descriptors + i * PKT_DESCRIPTOR;
      const data = dv.getUint32(d + PKT_DATA, true), caplen = dv.getUint32(d + PKT_CAPLEN, true);
      const time = dv.getBigUint64(d + PKT_TIMESTAMP, true);
      seen.push({
        time,
        key: `${time} ${Buffer.from(engine.bytes.subarray(data + Math.max(caplen - 40, 0), data + caplen)).toString('hex')}`,
        hashed: (dv.getUint16(d + PKT_FLAGS, true) & PacketFlag.HASHED) !== 0,
        hash: dv.getUint32(d + PKT_HASH, true),
        queue: dv.getUint16(d + PKT_QUEUE, true),
      });
    }
  }
  const summary = reader.finish();
  reader.free();
  flows.finish();
  return { summary, stats: flows.stats(), records: flows.takeRecords(), seen };
}

/** Packets (with their link types) straight into a flow engine. */
async function run(packets: Packet[]) {
  const engine = await Engine.create();
  const flows = FlowEngine.create(engine, RssConfig.from(RSS), { flows: 256 });
  flows.process(loadPackets(engine, packets));
  flows.finish();
  const stats = flows.stats();
  expect(stats.received).toBe(packets.length);
  expect(stats.processed + stats.dropped).toBe(stats.received);
  return { stats, records: flows.takeRecords() };
}

const be16 = (x: number) => [(x >> 8) & 0xff, x & 0xff];
const be32 = (x: number) => [(x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];
const le32 = (x: number) => be32(x).reverse();

// The headers, written from the link types' descriptions (tcpdump.org's LINKTYPE_ pages, RFC 1661/1662).
const MAC = [2, 0, 0, 0, 0, 1, 0, 0];
/** LINUX_SLL: packet type 0 (to us), ARPHRD_ETHER, address length 6, address, protocol. */
const sll = (protocol: number) => [0, 0, ...be16(1), ...be16(6), ...MAC, ...be16(protocol)];
/** LINUX_SLL2: protocol, reserved, ifindex 3, ARPHRD_ETHER, packet type 4 (outgoing), address length 6, address. */
const sll2 = (protocol: number) => [...be16(protocol), 0, 0, ...be32(3), ...be16(1), 4, 6, ...MAC];
/** An 802.1Q (or 802.1ad) tag as it follows a cooked header whose protocol was the TPID: TCI, then the protocol inside. */
const tag = (protocol: number, vlan = 100) => [...be16(vlan), ...be16(protocol)];

const packet = (linkType: number, header: number[], payload: Uint8Array, o: { caplen?: number } = {}): Packet => {
  const data = concat(Uint8Array.from(header), payload);
  return { ts: 1_700_000_000_000_000_000n, data: data.subarray(0, o.caplen ?? data.length), wirelen: data.length, linkType };
};

const syn4 = () => ipv4({ src: A, dst: B, protocol: 6, payload: tcp({ sport: 40000, dport: 80, seq: 1, flags: TCP_FLAGS.SYN }, A, B) });
const syn6 = () => ipv6(A6, B6, 6, tcp({ sport: 40000, dport: 80, seq: 1, flags: TCP_FLAGS.SYN }, A6, B6));

describe('IP under every link header: the same flow, frame bytes as captured', () => {
  const four: Array<[string, number, number[]]> = [
    ['LINUX_SLL, IPv4', LinkType.LINUX_SLL, sll(0x0800)],
    ['LINUX_SLL, 802.1Q, IPv4', LinkType.LINUX_SLL, [...sll(0x8100), ...tag(0x0800)]],
    ['LINUX_SLL2, IPv4', LinkType.LINUX_SLL2, sll2(0x0800)],
    ['LINUX_SLL2, 802.1ad + 802.1Q, IPv4', LinkType.LINUX_SLL2, [...sll2(0x88a8), ...tag(0x8100, 7), ...tag(0x0800)]],
    ['NULL, AF_INET little-endian', LinkType.NULL, le32(2)],
    ['NULL, AF_INET big-endian', LinkType.NULL, be32(2)],
    ['LOOP, AF_INET', LinkType.LOOP, be32(2)],
    ['PPP, ff 03 00 21', LinkType.PPP, [0xff, 0x03, 0x00, 0x21]],
    ['PPP, 00 21', LinkType.PPP, [0x00, 0x21]],
    ['PPP, 21 (compressed protocol)', LinkType.PPP, [0x21]],
    ['PPP, ff 03 21', LinkType.PPP, [0xff, 0x03, 0x21]],
    ['PPP_HDLC, ff 03 00 21', LinkType.PPP_HDLC, [0xff, 0x03, 0x00, 0x21]],
    ['PPP_HDLC, Cisco HDLC 0f 00 08 00', LinkType.PPP_HDLC, [0x0f, 0x00, 0x08, 0x00]],
  ];
  const six: Array<[string, number, number[]]> = [
    ['LINUX_SLL, IPv6', LinkType.LINUX_SLL, sll(0x86dd)],
    ['LINUX_SLL2, IPv6', LinkType.LINUX_SLL2, sll2(0x86dd)],
    ['LINUX_SLL2, 802.1Q, IPv6', LinkType.LINUX_SLL2, [...sll2(0x8100), ...tag(0x86dd)]],
    ...[24, 28, 30].flatMap((af): Array<[string, number, number[]]> => [
      [`NULL, AF_INET6 ${af} little-endian`, LinkType.NULL, le32(af)],
      [`NULL, AF_INET6 ${af} big-endian`, LinkType.NULL, be32(af)],
      [`LOOP, AF_INET6 ${af}`, LinkType.LOOP, be32(af)],
    ]),
    ['PPP, ff 03 00 57', LinkType.PPP, [0xff, 0x03, 0x00, 0x57]],
    ['PPP, 57 (compressed protocol)', LinkType.PPP, [0x57]],
    ['PPP_HDLC, ff 03 00 57', LinkType.PPP_HDLC, [0xff, 0x03, 0x00, 0x57]],
    ['PPP_HDLC, Cisco HDLC 8f 00 86 dd', LinkType.PPP_HDLC, [0x8f, 0x00, 0x86, 0xdd]],
  ];
  it.each([...four.map((c) => [...c, 4] as const), ...six.map((c) => [...c, 6] as const)])('%s', async (_, linkType, header, version) => {
    const p = packet(linkType, header, version === 4 ? syn4() : syn6());
    const { stats, records } = await run([p]);
    expect(stats.drops).toEqual({});
    expect(version === 4 ? stats.ipv4 : stats.ipv6).toBe(1);
    expect(stats.badChecksums).toEqual({ ipv4: 0, tcp: 0, udp: 0 });
    expect(records.map((r) => [r.client, r.server, r.dirs[0].packets, r.dirs[0].bytes])).toEqual([
      [version === 4 ? `${A}:40000` : `[${A6}]:40000`, version === 4 ? `${B}:80` : `[${B6}]:80`, 1, p.data.length],
    ]);
  });
});

describe('link payloads that are not IP: queue 0, unhashed, as a NIC does with ARP', () => {
  const arp = Uint8Array.of(0, 1, 0x08, 0x00, 6, 4, 0, 1, ...MAC.slice(0, 6), 198, 18, 0, 1, 0, 0, 0, 0, 0, 0, 198, 18, 0, 2);
  const cases: Array<[string, Packet]> = [
    ['LINUX_SLL, ARP', packet(LinkType.LINUX_SLL, sll(0x0806), arp)],
    ['LINUX_SLL, 802.1Q, ARP', packet(LinkType.LINUX_SLL, [...sll(0x8100), ...tag(0x0806)], arp)],
    ['LINUX_SLL, 802.2 LLC (protocol 4)', packet(LinkType.LINUX_SLL, sll(0x0004), Uint8Array.of(0x42, 0x42, 0x03, 0, 0, 0))],
    ['LINUX_SLL2, ARP', packet(LinkType.LINUX_SLL2, sll2(0x0806), arp)],
    ['NULL, AF 7 (ISO)', packet(LinkType.NULL, le32(7), syn4())],
    ["NULL, AF 10 (Linux's AF_INET6: not a loopback capture's; tshark shows data)", packet(LinkType.NULL, le32(10), syn6())],
    ['LOOP, AF_INET little-endian (LOOP is network order; tshark shows data)', packet(LinkType.LOOP, le32(2), syn4())],
    ['PPP, LCP echo request', packet(LinkType.PPP, [0xff, 0x03, 0xc0, 0x21], Uint8Array.of(9, 1, 0, 8, 0, 0, 0, 0))],
    ['PPP_HDLC, IPCP', packet(LinkType.PPP_HDLC, [0xff, 0x03, 0x80, 0x21], Uint8Array.of(1, 1, 0, 4))],
    ['PPP_HDLC, Cisco HDLC keepalive (0x8035)', packet(LinkType.PPP_HDLC, [0x8f, 0x00, 0x80, 0x35], new Uint8Array(14))],
  ];
  it.each(cases)('%s', async (_, p) => {
    const { stats, records } = await run([p]);
    expect(stats.drops).toEqual({});
    expect(stats.unhashed).toBe(1);
    expect(stats.queues).toEqual([1, 0, 0, 0]);
    expect(records).toEqual([]);
  });

  it('the IP version comes from the link header: IPv6 bytes under an IPv4 protocol field are malformed IPv4', async () => {
    expect((await run([packet(LinkType.LINUX_SLL2, sll2(0x0800), syn6())])).stats.drops).toEqual({ 'ipv4-malformed': 1 });
    expect((await run([packet(LinkType.PPP, [0x00, 0x57], syn4())])).stats.drops).toEqual({ 'ipv6-malformed': 1 });
  });
});

describe('link headers cut short: counted drops (link-truncated), never a trap', () => {
  const full: Array<[string, number, number[]]> = [
    ['LINUX_SLL', LinkType.LINUX_SLL, sll(0x0800)],
    ['LINUX_SLL, 802.1Q', LinkType.LINUX_SLL, [...sll(0x8100), ...tag(0x0800)]],
    ['LINUX_SLL2', LinkType.LINUX_SLL2, sll2(0x0800)],
    ['LINUX_SLL2, 802.1ad + 802.1Q', LinkType.LINUX_SLL2, [...sll2(0x88a8), ...tag(0x8100), ...tag(0x0800)]],
    ['NULL', LinkType.NULL, le32(2)],
    ['LOOP', LinkType.LOOP, be32(2)],
    ['PPP, ff 03 00 21', LinkType.PPP, [0xff, 0x03, 0x00, 0x21]],
    ['PPP, 00 21', LinkType.PPP, [0x00, 0x21]],
    ['PPP_HDLC, Cisco HDLC', LinkType.PPP_HDLC, [0x0f, 0x00, 0x08, 0x00]],
  ];
  it.each(full)('%s: every cut inside the header, and the header alone (an empty IPv4 packet)', async (_, linkType, header) => {
    const cuts = Array.from({ length: header.length }, (_, n) => n + 1);
    const { stats } = await run(cuts.map((caplen) => packet(linkType, header, syn4(), { caplen })));
    // a cut at the header's last byte leaves a whole link header and no IPv4 header
    expect(stats.drops).toEqual(header.length > 1 ? { 'link-truncated': header.length - 1, 'ipv4-truncated': 1 } : { 'ipv4-truncated': 1 });
  });

  it('in a capture file: a 10-byte LINUX_SLL2 record between two whole ones', async () => {
    const whole = concat(Uint8Array.from(sll2(0x0800)), syn4());
    const file = concat(
      pcapHeader({ linkType: 276 }),
      pcapRecord({ seconds: 1, fraction: 0, data: whole }),
      pcapRecord({ seconds: 2, fraction: 0, data: whole.subarray(0, 10), wirelen: whole.length }),
      pcapRecord({ seconds: 3, fraction: 0, data: whole }),
    );
    const { summary, stats } = await through(file);
    expect(summary).toMatchObject({ packets: 3, warnings: [] });
    expect(stats).toMatchObject({ received: 3, processed: 2, dropped: 1, drops: { 'link-truncated': 1 } });
  });

  it('random damage to packets of every link type: processed + dropped = received, nothing thrown', async () => {
    const linkTypes = [LinkType.LINUX_SLL, LinkType.LINUX_SLL2, LinkType.NULL, LinkType.LOOP, LinkType.PPP, LinkType.PPP_HDLC];
    const valid = full.map(([, linkType, header]) => packet(linkType, header, syn4()));
    const engine = await Engine.create();
    const flows = FlowEngine.create(engine, RssConfig.from(RSS), { flows: 1024 });
    fc.assert(
      fc.property(
        fc.array(fc.record({
          base: fc.nat(valid.length - 1),
          linkType: fc.constantFrom(...linkTypes),
          edits: fc.array(fc.tuple(fc.nat(63), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
          caplen: fc.integer({ min: 1, max: 80 }),
        }), { minLength: 1, maxLength: 64 }),
        (specs) => {
          const packets = specs.map((s) => {
            const data = valid[s.base]!.data.slice();
            for (const [at, value] of s.edits) data[at % data.length] = value;
            return { ts: 1n, data: data.subarray(0, Math.min(s.caplen, data.length)), wirelen: data.length, linkType: s.linkType };
          });
          const before = flows.stats();
          const batch = loadPackets(engine, packets);
          flows.process(batch);
          batch.free();
          const after = flows.stats();
          expect(after.received - before.received).toBe(packets.length);
          expect(after.processed + after.dropped).toBe(after.received);
          expect(Object.keys(after.drops).every((r) => DROP_REASON_NAMES.includes(r) && r !== 'link-type')).toBe(true);
        },
      ),
      { numRuns: 300, seed: 16 },
    );
  });
});

const LINK_FIXTURES = ['null.pcap', 'null-be.pcap', 'null-swapped.pcap', 'loop.pcap', 'ppp.pcap', 'ppp-hdlc.pcap', 'links.pcapng'];

/** tshark's decode of each frame of the capture at `path`, counted: IPv4, IPv6, TCP, neither IP, all. */
function tsharkCounts(path: string) {
  const frames = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.protocols'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .trim().split('\n').map((line) => line.split(':'));
  const count = (test: (layers: string[]) => boolean) => frames.filter(test).length;
  return {
    ipv4: count((l) => l.includes('ip')), ipv6: count((l) => l.includes('ipv6')), tcp: count((l) => l.includes('tcp')),
    unhashed: count((l) => !l.includes('ip') && !l.includes('ipv6')), received: frames.length,
  };
}

describeWithDependency('tshark', haveTshark(), 'link-type captures against tshark', () => {
  it.each(LINK_FIXTURES)('%s: flows as tshark -z conv,tcp has them; IPv4, IPv6, TCP and not-IP counts as tshark decodes the frames', async (name) => {
    const { summary, stats, records } = await through(fixtureBytes(name), name);
    expect(summary.unsupported.packets).toBe(0);
    expect(summary.warnings).toEqual([]);
    expect(stats.drops).toEqual({});
    expect(expectConversations(fixture(name), records)).toBeGreaterThanOrEqual(13);
    const counts = tsharkCounts(fixture(name));
    expect({ ipv4: stats.ipv4, ipv6: stats.ipv6, tcp: stats.tcp, unhashed: stats.unhashed, received: stats.received }).toEqual(counts);
    expect(counts.unhashed).toBe({ 'ppp.pcap': 1, 'ppp-hdlc.pcap': 2, 'links.pcapng': 2 }[name] ?? 0);
  });
});

describe('link-type captures against the Ethernet capture they were made from', () => {
  it.each(LINK_FIXTURES)('%s: every IP packet has the hash and queue it has in ipv6.pcap; the rest queue 0, unhashed', async (name) => {
    const ethernet = await through(fixtureBytes('ipv6.pcap'));
    const byKey = new Map(ethernet.seen.map((s) => [s.key, s]));
    expect(byKey.size).toBe(ethernet.seen.length); // the keys name the packets
    const { seen } = await through(fixtureBytes(name));
    let matched = 0;
    for (const s of seen) {
      const original = byKey.get(s.key);
      if (original?.hashed) {
        expect([s.hashed, s.hash, s.queue], `packet at ${s.time}`).toEqual([true, original.hash, original.queue]);
        matched++;
      } else {
        // ARP in ipv6.pcap; LCP echoes in the PPP files, which ipv6.pcap does not have
        expect([s.hashed, s.queue], `packet at ${s.time}`).toEqual([false, 0]);
      }
    }
    expect(matched).toBeGreaterThanOrEqual(100);
    if (name === 'links.pcapng') expect(seen.map((s) => s.time)).toEqual(ethernet.seen.map((s) => s.time));
  });
});

describe('rssplane run --input: one core, and software RSS steering across two', () => {
  const runJson = (file: string, cores: number) => {
    const r = rssplane(['run', '--input', file, '--cores', String(cores), '--reta', 'equal:4', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout) as { packets: number; bytes: number; queues: Array<{ queue: number; packets: number }>; flows: number; dropped: number; unhashed: number };
  };

  it('links.pcapng (Ethernet, SLL2 and SLL interfaces): the queues and flows of ipv6.pcap, its own frame bytes', async () => {
    const ethernet = runJson(fixture('ipv6.pcap'), 1);
    const mixed = runJson(fixture('links.pcapng'), 2);
    expect(runJson(fixture('links.pcapng'), 1)).toMatchObject({ queues: mixed.queues, flows: mixed.flows, bytes: mixed.bytes });
    expect(mixed).toMatchObject({ packets: ethernet.packets, queues: ethernet.queues, flows: ethernet.flows, dropped: 0, unhashed: ethernet.unhashed });
    // cooked headers are 20 and 16 bytes and tags 4, Ethernet's 14: the bytes are the file's frames'
    expect(mixed.bytes).toBe((await through(fixtureBytes('links.pcapng'))).summary.bytes);
    expect(mixed.bytes).toBeGreaterThan(ethernet.bytes);
  });

  it.each(['null-be.pcap', 'loop.pcap', 'ppp-hdlc.pcap'])('%s: two cores steered in software count what one core counts', (name) => {
    const one = runJson(fixture(name), 1);
    expect(one.flows).toBeGreaterThanOrEqual(13);
    expect(runJson(fixture(name), 2)).toMatchObject({ packets: one.packets, queues: one.queues, flows: one.flows, dropped: 0 });
  });
});
