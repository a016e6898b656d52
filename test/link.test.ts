/**
 * The link layer (assembly/link) from literal frames: ARP (RFC 826), neighbour discovery (RFC
 * 4861), ICMP and ICMPv6 echo. Frames in are real ones, captured from Linux 6.x on a veth pair
 * (kernel 02:00:00:00:00:01 at 198.18.0.1 and 2001:db8::1, us 02:00:00:00:00:02 at 198.18.0.2 and
 * 2001:db8::2); the frames expected back are what Linux sends in our place (its reply to the same
 * question, roles swapped), so equality is with an independent implementation, byte for byte.
 * The clock is the test's: neighbour timers run when the test says time has passed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { PacketFlag, PKT_FLAGS, PKT_DESCRIPTOR, SLOT_DESCRIPTORS } from '../assembly/shared/abi.js';
import {
  Engine, Link, allocateSlot, clearSlot, parseAddress, resolveMessage, slotFrames, type LinkStats, type SlotShape,
} from '../host/core/index.js';
import { describeWithDependency, haveTshark } from './helpers/deps.js';
import { concat, internetChecksum, ipv4, ipv6, tcp, udp } from './helpers/packets.js';
import { loadPackets, pcapHeader, type Packet } from './helpers/pcap.js';
import {
  LINUX_ARP_REPLY, LINUX_ARP_REQUEST, LINUX_DAD, LINUX_ECHO, LINUX_ECHO6, LINUX_MLD, LINUX_NA, LINUX_NS, LINUX_RS,
  OUR_ARP_REPLY, OUR_ARP_REQUEST, OUR_NA, OUR_NS,
} from './helpers/linux-frames.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const SHAPE: SlotShape = { slotPackets: 64, slotBytes: 64 + 64 * 32 + 64 * 2048 };
const US = { mac: hex('020000000002'), ipv4: '198.18.0.2', ipv6: '2001:db8::2' };
const bytesOf = (a: string) => parseAddress(a).bytes;
const S = 1_000_000_000n;

let engine: Engine;
let link: Link;
let tx: number;
let sent: Uint8Array[];

async function setUp(options: { gateway4?: string; neighbours?: number } = {}): Promise<void> {
  engine = await Engine.create();
  link = Link.configure(engine, {
    mac: US.mac, ipv4: { address: bytesOf(US.ipv4), prefix: 24 }, ipv6: { address: bytesOf(US.ipv6), prefix: 64 },
    ...(options.gateway4 ? { gateway4: bytesOf(options.gateway4) } : {}),
  }, { shape: SHAPE, neighbours: options.neighbours });
  tx = allocateSlot(engine, SHAPE);
  sent = [];
}

let clock = 1_000n * S;
function frameOf(data: Uint8Array, caplen = data.length): Packet {
  return { ts: clock, data: data.subarray(0, caplen), wirelen: data.length, linkType: 1 };
}

/** Hands frames to the link layer as one batch at `now`; returns the frames it sent, hex. */
function receive(frames: Array<string | Uint8Array | Packet>, now = clock): string[] {
  const packets = frames.map((f) => (typeof f === 'string' ? frameOf(hex(f)) : f instanceof Uint8Array ? frameOf(f) : f));
  const batch = loadPackets(engine, packets);
  expect(link.batch(batch, tx, 0, 0, now)).toBe(packets.length);
  batch.free();
  return drain();
}

/** The frames in the transmit slot, as hex; the slot is emptied (sent). */
function drain(): string[] {
  const frames = slotFrames(engine, tx, SHAPE);
  sent.push(...frames);
  clearSlot(engine, tx);
  return frames.map(toHex);
}

const h = (s: string) => s.replace(/\s+/g, '');

function expectBalanced(s: LinkStats): void {
  expect(s.received).toBe(s.processed + s.dropped);
  expect(Object.values(s.drops).reduce((a, b) => a + b, 0)).toBe(s.dropped);
}

describe('ARP (RFC 826)', () => {
  beforeEach(() => setUp());

  it("answers Linux's request for our address with the reply Linux would send, and learns the asker (STALE)", () => {
    expect(receive([LINUX_ARP_REQUEST])).toEqual([h(OUR_ARP_REPLY)]);
    expect(link.neighbours()).toEqual([{ family: 4, address: '198.18.0.1', mac: '02:00:00:00:00:01', state: 'STALE', probes: 0 }]);
    const s = link.stats();
    expect(s).toMatchObject({ received: 1, processed: 1, dropped: 0, arp_replies_sent: 1, neighbours_created: 1, neighbours_resolved: 1 });
    expectBalanced(s);
  });

  it('resolves 198.18.0.1: a broadcast request as Linux sends it, then REACHABLE on its reply', () => {
    expect(link.resolve(bytesOf('198.18.0.1'), tx, clock)).toEqual({ status: 'pending', nextHop: '198.18.0.1' });
    expect(drain()).toEqual([h(OUR_ARP_REQUEST)]);
    expect(link.resolve(bytesOf('198.18.0.1'), tx, clock)).toEqual({ status: 'pending', nextHop: '198.18.0.1' });
    expect(drain()).toEqual([]); // one request in flight, not one per call
    expect(receive([LINUX_ARP_REPLY])).toEqual([]);
    expect(link.resolve(bytesOf('198.18.0.1'), tx, clock)).toEqual({ status: 'resolved', mac: '02:00:00:00:00:01', nextHop: '198.18.0.1' });
    expect(link.neighbours()[0]).toMatchObject({ state: 'REACHABLE', mac: '02:00:00:00:00:01' });
    expect(link.stats()).toMatchObject({ arp_requests_sent: 1, arp_replies_received: 1, processed: 1 });
  });

  it('gives up after three requests a second apart: FAILED with a message, kept 3 s, then tried afresh', () => {
    const t0 = clock;
    expect(link.resolve(bytesOf('198.18.0.99'), tx, t0).status).toBe('pending');
    link.poll(tx, t0 + S / 2n); // not due yet
    const requests = [...drain()];
    for (const t of [t0 + S, t0 + 2n * S]) {
      link.poll(tx, t);
      requests.push(...drain());
      expect(link.resolve(bytesOf('198.18.0.99'), tx, t).status).toBe('pending');
    }
    expect(requests).toEqual(Array(3).fill(h(OUR_ARP_REQUEST).replace(/c6120001$/, 'c6120063')));
    link.poll(tx, t0 + 3n * S);
    expect(drain()).toEqual([]);
    const failed = link.resolve(bytesOf('198.18.0.99'), tx, t0 + 3n * S);
    expect(failed).toEqual({ status: 'failed', nextHop: '198.18.0.99', probes: 3, waitedMs: 3000 });
    expect(resolveMessage('198.18.0.99', failed, '198.18.0.2/24'))
      .toBe('no ARP answer from 198.18.0.99 to 3 ARP requests in 3 s: is it up and on the link of 198.18.0.2/24?');
    expect(link.stats().neighbours_failed).toBe(1);
    link.poll(tx, t0 + 6n * S); // the failure has been on show long enough
    expect(link.neighbours()).toEqual([]);
    expect(link.resolve(bytesOf('198.18.0.99'), tx, t0 + 6n * S).status).toBe('pending');
  });

  it('off the link: the gateway is resolved instead, or no route without one', async () => {
    expect(link.resolve(bytesOf('203.0.113.5'), tx, clock)).toEqual({ status: 'no-route' });
    expect(resolveMessage('203.0.113.5', { status: 'no-route' }, '198.18.0.2/24'))
      .toBe('203.0.113.5 is not on the link of 198.18.0.2/24 and there is no --gateway for IPv4');
    expect(link.resolve(bytesOf('198.18.0.2'), tx, clock)).toEqual({ status: 'bad-address' });
    expect(link.resolve(bytesOf('224.0.0.1'), tx, clock)).toEqual({ status: 'bad-address' });
    await setUp({ gateway4: '198.18.0.1' });
    expect(link.resolve(bytesOf('203.0.113.5'), tx, clock)).toEqual({ status: 'pending', nextHop: '198.18.0.1' });
    expect(drain()).toEqual([h(OUR_ARP_REQUEST)]);
    receive([LINUX_ARP_REPLY]);
    expect(link.resolve(bytesOf('203.0.113.5'), tx, clock)).toEqual({ status: 'resolved', mac: '02:00:00:00:00:01', nextHop: '198.18.0.1' });
  });

  it('ages entries as RFC 4861 says: REACHABLE 30 s, STALE, DELAY 5 s when used, unicast probes, then gone', () => {
    const t0 = clock;
    link.resolve(bytesOf('198.18.0.1'), tx, t0);
    drain();
    receive([LINUX_ARP_REPLY], t0);
    link.poll(tx, t0 + 30n * S);
    expect(link.neighbours()[0]!.state).toBe('STALE');
    expect(link.resolve(bytesOf('198.18.0.1'), tx, t0 + 31n * S).status).toBe('resolved');
    expect(link.neighbours()[0]!.state).toBe('DELAY');
    link.poll(tx, t0 + 36n * S);
    // The probe goes to the MAC we hold, not to everyone.
    const probe = h(OUR_ARP_REQUEST).replace(/^ffffffffffff/, '020000000001');
    expect(drain()).toEqual([probe]);
    expect(link.neighbours()[0]).toMatchObject({ state: 'PROBE', probes: 1 });
    link.poll(tx, t0 + 37n * S);
    link.poll(tx, t0 + 38n * S);
    expect(drain()).toEqual([probe, probe]);
    link.poll(tx, t0 + 39n * S);
    expect(link.neighbours()).toEqual([]);
    expect(link.stats().neighbours_expired).toBe(1);
  });

  it('an answer to a probe makes the entry REACHABLE again; an upper layer can confirm it too', () => {
    const t0 = clock;
    link.resolve(bytesOf('198.18.0.1'), tx, t0);
    receive([LINUX_ARP_REPLY], t0);
    link.poll(tx, t0 + 30n * S);
    link.resolve(bytesOf('198.18.0.1'), tx, t0 + 31n * S);
    link.poll(tx, t0 + 36n * S);
    receive([LINUX_ARP_REPLY], t0 + 36n * S);
    expect(link.neighbours()[0]!.state).toBe('REACHABLE');
    link.poll(tx, t0 + 66n * S);
    expect(link.neighbours()[0]!.state).toBe('STALE');
    expect(link.confirm(bytesOf('198.18.0.1'), t0 + 67n * S)).toBe(true);
    expect(link.neighbours()[0]!.state).toBe('REACHABLE');
    expect(link.confirm(bytesOf('198.18.0.7'), t0 + 67n * S)).toBe(false);
  });

  it('an unused STALE entry is collected after 60 s', () => {
    receive([LINUX_ARP_REQUEST], clock);
    link.poll(tx, clock + 59n * S);
    expect(link.neighbours()).toHaveLength(1);
    link.poll(tx, clock + 60n * S);
    expect(link.neighbours()).toEqual([]);
  });

  it('gratuitous ARP updates an entry but never creates one; another MAC for our address is a conflict', () => {
    const gratuitous = (mac: string) => `ffffffffffff ${mac} 0806 0001 0800 0604 0001 ${mac} c6120001 000000000000 c6120001`;
    expect(receive([gratuitous('020000000001')])).toEqual([]);
    expect(link.neighbours()).toEqual([]);
    receive([LINUX_ARP_REQUEST]);
    receive([gratuitous('020000000009')]);
    expect(link.neighbours()).toEqual([{ family: 4, address: '198.18.0.1', mac: '02:00:00:00:00:09', state: 'STALE', probes: 0 }]);
    const conflict = 'ffffffffffff 020000000009 0806 0001 0800 0604 0002 020000000009 c6120002 000000000000 c6120002';
    expect(receive([conflict])).toEqual([]);
    const s = link.stats();
    expect(s).toMatchObject({ gratuitous: 2, neighbours_changed: 1, received: 4, processed: 3 });
    expect(s.drops.address_conflict).toBe(1);
    expectBalanced(s);
  });

  it('requests for other addresses are not answered; their sender is learned only if already known', () => {
    const other = 'ffffffffffff 020000000001 0806 0001 0800 0604 0001 020000000001 c6120001 000000000000 c6120005';
    expect(receive([other])).toEqual([]);
    expect(link.neighbours()).toEqual([]);
    expect(link.stats().drops.arp_other_target).toBe(1);
    const probe = 'ffffffffffff 020000000003 0806 0001 0800 0604 0001 020000000003 00000000 000000000000 c6120002';
    // An address probe (RFC 5227) for our address: answered, to 0.0.0.0 at the prober's MAC; nothing learned.
    expect(receive([probe])).toEqual([h('020000000003 020000000002 0806 0001 0800 0604 0002 020000000002 c6120002 020000000003 00000000')]);
    expect(link.neighbours()).toEqual([]);
  });
});

describe('neighbour discovery (RFC 4861)', () => {
  beforeEach(() => setUp());

  it("answers Linux's solicitation with the advertisement Linux would send, and learns the asker", () => {
    expect(receive([LINUX_NS])).toEqual([h(OUR_NA)]);
    expect(link.neighbours()).toEqual([{ family: 6, address: '2001:db8::1', mac: '02:00:00:00:00:01', state: 'STALE', probes: 0 }]);
    expect(link.stats()).toMatchObject({ received: 1, processed: 1, na_sent: 1 });
  });

  it('resolves 2001:db8::1 with a solicitation to its solicited-node group; REACHABLE on the solicited answer', () => {
    expect(link.resolve(bytesOf('2001:db8::1'), tx, clock)).toEqual({ status: 'pending', nextHop: '2001:db8::1' });
    expect(drain()).toEqual([h(OUR_NS)]);
    expect(receive([LINUX_NA])).toEqual([]);
    expect(link.resolve(bytesOf('2001:db8::1'), tx, clock)).toEqual({ status: 'resolved', mac: '02:00:00:00:00:01', nextHop: '2001:db8::1' });
    expect(link.neighbours()[0]!.state).toBe('REACHABLE');
    expect(link.stats()).toMatchObject({ ns_sent: 1, na_received: 1, gratuitous: 0 });
    expect(resolveMessage('2001:db8::99', { status: 'failed', nextHop: '2001:db8::99', probes: 3, waitedMs: 3000 }, '2001:db8::2/64'))
      .toBe('no neighbour discovery answer from 2001:db8::99 to 3 neighbour solicitations in 3 s: is it up and on the link of 2001:db8::2/64?');
  });

  it('answers for our link-local address too (fe80:: and the MAC\'s modified EUI-64), from it', () => {
    expect(toHex(link.linkLocal)).toBe('fe80000000000000000000fffe000002');
    const ns = concat(hex('3333ff000002 020000000001 86dd'), ipv6ND('fe80::ff:fe00:1', 'ff02::1:ff00:2', 135, 0, 'fe80::ff:fe00:2', 1, '020000000001'));
    expect(receive([ns])).toEqual([toHex(concat(hex('020000000001 020000000002 86dd'),
      ipv6ND('fe80::ff:fe00:2', 'fe80::ff:fe00:1', 136, 0x60, 'fe80::ff:fe00:2', 2, '020000000002')))]);
  });

  it('a duplicate address detection probe for our address gets an unsolicited advertisement to all nodes', () => {
    const dad = concat(hex('3333ff000002 020000000001 86dd'), ipv6ND('::', 'ff02::1:ff00:2', 135, 0, '2001:db8::2'));
    expect(receive([dad])).toEqual([toHex(concat(hex('333300000001 020000000002 86dd'),
      ipv6ND('2001:db8::2', 'ff02::1', 136, 0x20, '2001:db8::2', 2, '020000000002')))]);
    expect(link.neighbours()).toEqual([]);
  });

  it('checks what RFC 4861 7.1 asks: hop limit 255, checksum, code 0, a unicast target, option lengths', () => {
    const good = hex(LINUX_NS);
    const variant = (at: number, value: number) => {
      const b = new Uint8Array(good);
      b[at] = value;
      return b;
    };
    const hop64 = variant(21, 64);
    const badSum = variant(57, 0x28);
    const code1 = fixSum(variant(55, 1));
    const zeroOption = fixSum(variant(79, 0));
    expect(receive([hop64, badSum, code1, zeroOption])).toEqual([]);
    expect(link.stats().drops).toMatchObject({ nd_invalid: 3, icmpv6_bad_checksum: 1 });
    expect(link.neighbours()).toEqual([]);
  });

  it('an unsolicited advertisement with another MAC and override replaces the MAC (STALE); without override it does not', () => {
    link.resolve(bytesOf('2001:db8::1'), tx, clock);
    receive([LINUX_NA]);
    const na = (flags: number, mac: string) => concat(hex('333300000001 020000000001 86dd'), ipv6ND('2001:db8::1', 'ff02::1', 136, flags, '2001:db8::1', 2, mac));
    receive([na(0x00, '020000000007')]);
    expect(link.neighbours()[0]).toMatchObject({ mac: '02:00:00:00:00:01', state: 'STALE' });
    receive([na(0x20, '020000000007')]);
    expect(link.neighbours()[0]).toMatchObject({ mac: '02:00:00:00:00:07', state: 'STALE' });
    expect(link.stats()).toMatchObject({ gratuitous: 2, neighbours_changed: 1 });
    // An advertisement of our own address from elsewhere: someone else claims it.
    receive([concat(hex('333300000001 020000000007 86dd'), ipv6ND('2001:db8::1', 'ff02::1', 136, 0x20, '2001:db8::2', 2, '020000000007'))]);
    expect(link.stats().drops.address_conflict).toBe(1);
  });

  it("Linux's own DAD probe, router solicitation and MLD report are not for us; router advertisements are not learned from", () => {
    expect(receive([LINUX_DAD, LINUX_RS, LINUX_MLD])).toEqual([]);
    expect(link.stats().drops.other_mac).toBe(3);
    const ra = concat(hex('333300000001 020000000001 86dd'), ipv6Packet('fe80::ff:fe00:1', 'ff02::1', 58, new Uint8Array([134, 0, 0, 0, 64, 0, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0])));
    expect(receive([ra])).toEqual([]);
    expect(link.stats().drops.nd_router).toBe(1);
    expect(link.neighbours()).toEqual([]);
  });
});

describe('echo (ping)', () => {
  beforeEach(() => setUp());

  it('answers ping: same identifier, sequence and data, from the address pinged, TTL 64, DF', () => {
    const request = hex(LINUX_ECHO);
    const icmpReply = new Uint8Array(request.subarray(34));
    icmpReply[0] = 0;
    icmpReply.set([0, 0], 2);
    icmpReply.set(be16(internetChecksum(icmpReply)), 2);
    const ip = hex('4500 0034 0000 4000 4001 0000 c6120002 c6120001'); // DF: an atomic datagram (RFC 6864)
    ip.set(be16(internetChecksum(ip)), 10);
    expect(receive([LINUX_ECHO])).toEqual([toHex(concat(hex('020000000001 020000000002 0800'), ip, icmpReply))]);
    // The next reply carries the next identification.
    expect(receive([LINUX_ECHO])[0]!.slice(36, 40)).toBe('0001');
    expect(link.stats()).toMatchObject({ echo_replies: 2, processed: 2 });
  });

  it('answers ping -6 from the address pinged, hop limit 64, the checksum over the new pseudo-header', () => {
    const request = hex(LINUX_ECHO6);
    const message = new Uint8Array(request.subarray(54));
    message[0] = 129;
    message.set([0, 0], 2);
    const expected = concat(hex('020000000001 020000000002 86dd'), ipv6Packet('2001:db8::2', '2001:db8::1', 58, message, 64));
    expect(receive([LINUX_ECHO6])).toEqual([toHex(expected)]);
    expect(link.stats().echo6_replies).toBe(1);
  });

  it('does not answer echo from a broadcast or group source, nor echo to a group', () => {
    const fromBroadcast = toUs(ipv4({ src: '255.255.255.255', dst: US.ipv4, protocol: 1, payload: icmpEcho(8) }), 0x0800);
    const toAllNodes = concat(hex('333300000001 020000000001 86dd'), ipv6Packet('2001:db8::1', 'ff02::1', 58, icmpv6Echo('2001:db8::1', 'ff02::1')));
    expect(receive([fromBroadcast, toAllNodes])).toEqual([]);
    expect(link.stats().drops).toMatchObject({ bad_source: 1, icmp_unsupported: 1 });
  });
});

describe('everything else to us is counted by reason and dropped', () => {
  beforeEach(() => setUp());

  it('one frame per reason; received = processed + dropped', () => {
    const tcp4 = toUs(ipv4({ src: '198.18.0.1', dst: US.ipv4, protocol: 6, payload: tcp({ sport: 80, dport: 40000, flags: 0x12 }, '198.18.0.1', US.ipv4) }), 0x0800);
    const frames: Array<[string, Uint8Array | Packet]> = [
      ['descriptor', { ts: 0n, data: new Uint8Array(0), wirelen: 0, linkType: 1 }],
      ['ethernet_truncated', hex('020000000002 0200000000')],
      ['other_mac', hex('020000000077 020000000001 0800').slice()],
      ['own_frame', hex('020000000001 020000000002 0800 4500')],
      ['ethertype', hex('020000000002 020000000001 88cc 0000')],
      ['vlan', concat(hex('020000000002 020000000001 8100 0064'), toUs(new Uint8Array(20), 0x0800).subarray(12))],
      ['arp_malformed', hex('ffffffffffff 020000000001 0806 0001 0800 0604 0001 020000000001')],
      ['ipv4_truncated', hex('020000000002 020000000001 0800 4500 0034 0000')],
      ['ipv4_malformed', toUs(ipv4({ src: '198.18.0.1', dst: US.ipv4, protocol: 1, payload: icmpEcho(8), totalLength: 4000 }), 0x0800)],
      ['ipv4_bad_checksum', toUs(ipv4({ src: '198.18.0.1', dst: US.ipv4, protocol: 1, payload: icmpEcho(8), badChecksum: true }), 0x0800)],
      ['ipv6_truncated', hex('020000000002 020000000001 86dd 6000 0000')],
      ['ipv6_malformed', toUs(concat(hex('4000 0000 0000 3a40'), new Uint8Array(32)), 0x86dd)],
      ['other_ip', toUs(ipv4({ src: '198.18.0.1', dst: '198.18.0.3', protocol: 1, payload: icmpEcho(8) }), 0x0800)],
      ['fragment', toUs(ipv4({ src: '198.18.0.1', dst: US.ipv4, protocol: 1, payload: icmpEcho(8), fragment: 0x2000 }), 0x0800)],
      ['icmp_truncated', frameOf(hex(LINUX_ECHO), 40)],
      ['icmp_bad_checksum', hex(LINUX_ECHO).map((b, i) => (i === 40 ? b ^ 1 : b))],
      ['icmp_unsupported', toUs(ipv4({ src: '198.18.0.1', dst: US.ipv4, protocol: 1, payload: icmpEcho(0) }), 0x0800)],
      ['udp', toUs(ipv4({ src: '198.18.0.1', dst: US.ipv4, protocol: 17, payload: udp(5353, 5353, new Uint8Array(4), '198.18.0.1', US.ipv4) }), 0x0800)],
      ['tcp', tcp4],
      ['protocol', toUs(ipv4({ src: '198.18.0.1', dst: US.ipv4, protocol: 47, payload: new Uint8Array(8) }), 0x0800)],
    ];
    for (const [reason, frame] of frames) {
      const before = link.stats().drops;
      expect(receive([frame]), reason).toEqual([]);
      const after = link.stats().drops;
      const changed = Object.keys(after).filter((k) => after[k as keyof typeof after] !== before[k as keyof typeof before]);
      expect(changed, reason).toEqual([reason]);
    }
    const s = link.stats();
    expect(s.received).toBe(frames.length);
    expect(s.dropped).toBe(frames.length);
    expectBalanced(s);
  });

  it('with a pass list, TCP to our addresses is handed on as descriptors, nothing else is', () => {
    const pass = engine.allocate(8 * PKT_DESCRIPTOR);
    const tcp4 = toUs(ipv4({ src: '198.18.0.1', dst: US.ipv4, protocol: 6, payload: tcp({ sport: 80, dport: 40000, flags: 0x12 }, '198.18.0.1', US.ipv4) }), 0x0800);
    const tcp6 = toUs(ipv6('2001:db8::1', US.ipv6, 6, tcp({ sport: 80, dport: 40000, flags: 0x12 }, '2001:db8::1', US.ipv6)), 0x86dd);
    const batch = loadPackets(engine, [frameOf(tcp4), frameOf(hex(LINUX_ECHO)), frameOf(tcp6)]);
    expect(link.batch(batch, tx, 0, pass, clock)).toBe(3);
    expect(link.passCount).toBe(2);
    const d = (base: number, i: number) => toHex(engine.bytes.slice(base + i * PKT_DESCRIPTOR, base + (i + 1) * PKT_DESCRIPTOR));
    expect([d(pass, 0), d(pass, 1)]).toEqual([d(batch.descriptors, 0), d(batch.descriptors, 2)]);
    expect(link.stats()).toMatchObject({ received: 3, processed: 3, passed: 2, echo_replies: 1 });
    link.clearPass();
    expect(link.passCount).toBe(0);
  });

  it('stops before a reply that might not fit the transmit slot, and goes on after it is sent', async () => {
    const small: SlotShape = { slotPackets: 2, slotBytes: 64 + 2 * 32 + 2048 };
    engine = await Engine.create();
    link = Link.configure(engine, { mac: US.mac, ipv4: { address: bytesOf(US.ipv4), prefix: 24 } }, { shape: small });
    tx = allocateSlot(engine, small);
    const batch = loadPackets(engine, Array.from({ length: 5 }, () => frameOf(hex(LINUX_ECHO))));
    let done = link.batch(batch, tx, 0, 0, clock);
    expect(done).toBe(2);
    let rounds = 1;
    while (done < batch.count) {
      expect(slotFrames(engine, tx, small)).toHaveLength(2);
      clearSlot(engine, tx);
      done += link.batch({ descriptors: batch.descriptors + done * PKT_DESCRIPTOR, count: batch.count - done }, tx, 0, 0, clock);
      rounds++;
    }
    expect(rounds).toBe(3);
    expect(link.stats()).toMatchObject({ received: 5, echo_replies: 5 });
  });

  it('a full cache evicts the least recently used entry of the address\'s window', async () => {
    await setUp({ neighbours: 8 });
    const asks = Array.from({ length: 12 }, (_, i) => h(LINUX_ARP_REQUEST).replace('020000000001c6120001', `0200000000${(16 + i).toString(16)}c61200${(16 + i).toString(16)}`));
    receive(asks);
    expect(link.neighbours()).toHaveLength(8);
    expect(link.stats()).toMatchObject({ neighbours_created: 12, neighbours_evicted: 4, arp_replies_sent: 12 });
  });
});

describe('copies for the other cores', () => {
  it('what one core learns, another learns from the copy without answering it', async () => {
    await setUp();
    const a = { engine, link, tx };
    const copies = allocateSlot(engine, SHAPE);
    const batch = loadPackets(engine, [frameOf(hex(LINUX_ARP_REPLY)), frameOf(hex(LINUX_NS)), frameOf(hex(LINUX_ECHO))]);
    link.resolve(bytesOf('198.18.0.1'), tx, clock);
    drain();
    expect(link.batch(batch, tx, copies, 0, clock)).toBe(3);
    expect(slotFrames(engine, copies, SHAPE).map(toHex)).toEqual([h(LINUX_ARP_REPLY), h(LINUX_NS)]);
    const flags = new DataView(engine.memory.buffer).getUint16(copies + SLOT_DESCRIPTORS + PKT_FLAGS, true);
    expect(flags).toBe(PacketFlag.LINK_COPY);

    // Core B: the copies slot arrives in its memory (as the rings carry it) and is taken.
    await setUp();
    const image = a.engine.bytes.slice(copies, copies + SHAPE.slotBytes);
    const slot = engine.allocate(SHAPE.slotBytes);
    engine.bytes.set(image, slot);
    const count = engine.exports.takeSlot(slot, SHAPE.slotPackets);
    expect(link.batch({ descriptors: slot + SLOT_DESCRIPTORS, count }, tx, 0, 0, clock)).toBe(2);
    expect(drain()).toEqual([]);
    // B never asked for 198.18.0.1, but we were the target: it learns it (RFC 826); and the asker of the NS.
    expect(link.neighbours().map((n) => [n.address, n.mac, n.state])).toEqual(expect.arrayContaining([
      ['198.18.0.1', '02:00:00:00:00:01', 'REACHABLE'], ['2001:db8::1', '02:00:00:00:00:01', 'STALE'],
    ]));
    expect(link.stats()).toMatchObject({ received: 0, copies_in: 2, arp_replies_received: 0, na_sent: 0 });
    expect(a.link.stats()).toMatchObject({ copies_out: 2, received: 3 });
  });
});

describeWithDependency('tshark', haveTshark(), 'what we send, as Wireshark reads it', () => {
  it('every frame we sent in these tests has good IPv4, ICMP and ICMPv6 checksums and dissects without error', async () => {
    await setUp();
    const all: Uint8Array[] = [];
    receive([LINUX_ARP_REQUEST, LINUX_NS, LINUX_ECHO, LINUX_ECHO6]);
    all.push(...sent);
    link.resolve(bytesOf('198.18.0.7'), tx, clock);
    link.resolve(bytesOf('2001:db8::7'), tx, clock);
    all.push(...slotFrames(engine, tx, SHAPE));
    clearSlot(engine, tx);
    const big = toUs(ipv4({ src: '198.18.0.1', dst: US.ipv4, protocol: 1, payload: icmpEcho(8, 1400) }), 0x0800);
    receive([big]);
    all.push(sent.at(-1)!);
    expect(all).toHaveLength(7);
    const dir = mkdtempSync(join(tmpdir(), 'rssplane-link-'));
    const file = join(dir, 'sent.pcap');
    const records = all.map((f) => {
      const r = Buffer.alloc(16);
      r.writeUInt32LE(f.length, 8);
      r.writeUInt32LE(f.length, 12);
      return Buffer.concat([r, f]);
    });
    writeFileSync(file, Buffer.concat([pcapHeader(), ...records]));
    const out = execFileSync('tshark', [
      '-r', file, '-o', 'ip.check_checksum:TRUE',
      '-T', 'fields', '-E', 'separator=;', '-e', '_ws.col.Protocol', '-e', 'ip.checksum.status', '-e', 'icmp.checksum.status',
      '-e', 'icmpv6.checksum.status', '-e', '_ws.expert.severity', '-e', '_ws.col.Info',
    ], { encoding: 'utf8' });
    const lines = out.trim().split('\n').map((l) => l.split(';'));
    expect(lines.map((l) => l[0])).toEqual(['ARP', 'ICMPv6', 'ICMP', 'ICMPv6', 'ARP', 'ICMPv6', 'ICMP']);
    expect(lines.map((l) => l.slice(1, 4).join(''))).toEqual(['', '1', '11', '1', '', '1', '11']); // every checksum there is, checked
    for (const l of lines) {
      // 1 is "Good" in Wireshark's checksum status (2 bad); an empty field: the protocol has none.
      expect(l.slice(1, 4).filter((x) => x !== '').every((x) => x === '1'), l.join(' ')).toBe(true);
      expect(l[4], l.join(' ')).toBe(''); // no expert info: nothing malformed
    }
    expect(lines[0]![5]).toMatch(/198\.18\.0\.2 is at 02:00:00:00:00:02/);
    expect(lines[1]![5]).toMatch(/Neighbor Advertisement 2001:db8::2 \(sol, ovr\) is at 02:00:00:00:00:02/);
    expect(lines[5]![5]).toMatch(/Neighbor Solicitation for 2001:db8::7 from 02:00:00:00:00:02/);
  });
});

// ---- helpers: messages built here from the RFCs' layouts, checksums RFC 1071's way ----

/** Ethernet II from the kernel's MAC to ours. */
function toUs(payload: Uint8Array, etherType: number): Uint8Array {
  return concat(hex('020000000002 020000000001'), new Uint8Array(be16(etherType)), payload);
}

function be16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function icmpEcho(type: number, size = 16): Uint8Array {
  const m = new Uint8Array(8 + size);
  m[0] = type;
  m.set([0x12, 0x34, 0, 1], 4);
  for (let i = 0; i < size; i++) m[8 + i] = i;
  m.set(be16(internetChecksum(m)), 2);
  return m;
}

/** An IPv6 packet whose ICMPv6 checksum (the message's bytes 2-3 zero on entry) is computed here. */
function ipv6Packet(src: string, dst: string, next: number, message: Uint8Array, hopLimit = 255): Uint8Array {
  const m = new Uint8Array(message);
  if (next === 58) {
    m.set([0, 0], 2);
    const pseudo = concat(bytesOf(src), bytesOf(dst), new Uint8Array([0, 0, ...be16(m.length), 0, 0, 0, 58]));
    m.set(be16(internetChecksum(pseudo, m)), 2);
  }
  return concat(new Uint8Array([0x60, 0, 0, 0, ...be16(m.length), next, hopLimit]), bytesOf(src), bytesOf(dst), m);
}

function icmpv6Echo(src: string, dst: string): Uint8Array {
  void src;
  void dst;
  const m = new Uint8Array(16);
  m[0] = 128;
  m.set([0x12, 0x34, 0, 1], 4);
  return m;
}

/** A neighbour solicitation (135) or advertisement (136), with a link-layer address option of `optionType` when given. */
function ipv6ND(src: string, dst: string, type: number, flags: number, target: string, optionType?: number, mac?: string): Uint8Array {
  const option = optionType ? concat(new Uint8Array([optionType, 1]), hex(mac!)) : new Uint8Array(0);
  const m = concat(new Uint8Array([type, 0, 0, 0, flags, 0, 0, 0]), bytesOf(target), option);
  return ipv6Packet(src, dst, 58, m);
}

/** Recomputes the ICMPv6 checksum of an Ethernet frame holding IPv6 without extension headers. */
function fixSum(frame: Uint8Array): Uint8Array {
  const ip = frame.subarray(14);
  const src = ip.subarray(8, 24), dst = ip.subarray(24, 40), m = new Uint8Array(ip.subarray(40));
  m.set([0, 0], 2);
  const pseudo = concat(src, dst, new Uint8Array([0, 0, ...be16(m.length), 0, 0, 0, 58]));
  m.set(be16(internetChecksum(pseudo, m)), 2);
  return concat(frame.subarray(0, 54), m);
}
