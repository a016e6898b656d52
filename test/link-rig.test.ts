/**
 * The link layer on a wire, against the Linux kernel: the rig of test/helpers/rig.ts (two network
 * namespaces, a veth pair, DPDK's net_af_packet on our end, the kernel with 198.18.0.1 and
 * 2001:db8::1 and nginx on the other), our side run by the link harness (dist/link-harness.js).
 * The kernel's own tools are the judges: ping, ip neigh, tcpdump and tshark.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LinkDropName } from '../host/core/index.js';
import { describeWithDependency, haveDpdk, haveTshark } from './helpers/deps.js';
import { createRig, haveRig, KERNEL, OURS, OurSide, type Rig } from './helpers/rig.js';

const HARNESS = fileURLToPath(new URL('../dist/link-harness.js', import.meta.url));
const GARBAGE = fileURLToPath(new URL('./helpers/garbage.py', import.meta.url));
const have = haveRig('tcpdump', 'ping', 'nginx', 'curl', 'python3', 'nft') && haveDpdk() && haveTshark();
const NEEDS = 'root, iproute2, libdpdk-dev, tcpdump, iputils-ping, nginx-light, curl, python3, nftables, tshark';

type Summary = Record<string, unknown> & {
  received: number; processed: number; dropped: number; drops: Record<LinkDropName, number>;
  dpdk: { ipackets: number; opackets: number; imissed: number };
};

/** Our side on `rig`, up and answering. */
async function ourSide(rig: Rig, args: string[] = [], eal = rig.eal()): Promise<{ side: OurSide; up: Record<string, unknown> }> {
  const side = new OurSide(rig.spawnOurs([HARNESS, '--eal', eal, '--ip', OURS.cidr4, '--ip6', OURS.cidr6, ...args]));
  return { side, up: await side.event('up') };
}

function expectBalanced(s: Summary): void {
  expect(s.received).toBe(s.processed + s.dropped);
  expect(Object.values(s.drops).reduce((a, b) => a + b, 0)).toBe(s.dropped);
  // Every frame the port received reached a link layer: nothing lost between DPDK and WASM.
  expect(s.received).toBe(s.dpdk.ipackets);
}

const ping = (rig: Rig, address: string, count = 3) =>
  rig.inKernel('ping', [...(address.includes(':') ? ['-6'] : []), '-c', String(count), '-i', '0.2', '-W', '2', address], { check: false });

describeWithDependency(NEEDS, have, 'the link layer on a veth, against the kernel (net_af_packet)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await createRig({ nginx: true });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('the rig itself: curl in the kernel\'s namespace gets the 1 KiB file from its nginx, over IPv4 and IPv6; its loss rules drop', () => {
    for (const host of [KERNEL.ipv4, `[${KERNEL.ipv6}]`]) {
      const r = rig.inKernel('sh', ['-c', `curl -s --max-time 5 http://${host}/1k | sha256sum`]);
      expect(r.stdout.split(' ')[0]).toBe(rig.files.small.sha256);
    }
    // Its loss (nftables in the kernel's namespace, both directions): all of it, then none.
    rig.setLoss(100);
    const lost = rig.inKernel('curl', ['-s', '-o', '/dev/null', '--max-time', '1', `http://${KERNEL.ipv4}/1k`], { check: false });
    rig.setLoss(0);
    const back = rig.inKernel('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', `http://${KERNEL.ipv4}/1k`]);
    expect(lost.status).not.toBe(0);
    expect(back.stdout).toBe('200');
  });

  it('ping and ping -6 from the kernel are answered; the kernel learns our MAC', async () => {
    const { side, up } = await ourSide(rig);
    expect(up).toMatchObject({ driver: 'net_af_packet', mac: OURS.mac, link_local: 'fe80::ff:fe00:2', cores: 1, tx: 'per-core' });
    const v4 = ping(rig, OURS.ipv4);
    const v6 = ping(rig, OURS.ipv6);
    const ll = ping(rig, `fe80::ff:fe00:2%${rig.kernelIf}`, 1);
    const neighbours = rig.neighbours();
    const s = (await side.stop()) as Summary;
    expect(v4.stdout).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);
    expect(v6.stdout).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);
    expect(ll.stdout).toMatch(/1 packets transmitted, 1 received/);
    expect(v4.stdout).toMatch(/ttl=64/);
    for (const a of [OURS.ipv4, OURS.ipv6]) {
      expect(neighbours.find((l) => l.startsWith(`${a} `)), neighbours.join('\n')).toMatch(new RegExp(`lladdr ${OURS.mac} (REACHABLE|STALE|DELAY|PROBE)`));
    }
    expect(s).toMatchObject({ echo_replies: 3, echo6_replies: 4 });
    expect(s.arp_replies_sent).toBeGreaterThanOrEqual(1);
    expect(s.na_sent).toBeGreaterThanOrEqual(1);
    expectBalanced(s);
  });

  it('our side resolves the kernel\'s addresses, and says clearly when nobody answers: three requests, then FAILED', async () => {
    await rig.startCapture();
    const { side } = await ourSide(rig);
    const [v4, v6, gone4, gone6] = await Promise.all(['198.18.0.1', '2001:db8::1', '198.18.0.99', '2001:db8::99'].map((a) => side.resolve(a)));
    const s = (await side.stop()) as Summary;
    const pcap = await rig.stopCapture();
    expect(v4).toMatchObject({ status: 'resolved', mac: KERNEL.mac, next_hop: '198.18.0.1' });
    expect(v6).toMatchObject({ status: 'resolved', mac: KERNEL.mac, next_hop: '2001:db8::1' });
    expect(gone4).toMatchObject({
      status: 'failed', probes: 3,
      message: expect.stringMatching(/^no ARP answer from 198\.18\.0\.99 to 3 ARP requests in 3(\.\d)? s: is it up and on the link of 198\.18\.0\.2\/24\?$/),
    });
    // Three retransmission timers of 1 s, then the failure: never sooner, and bounded.
    expect(gone4!.waited_ms).toBeGreaterThanOrEqual(3000);
    expect(gone4!.waited_ms).toBeLessThan(10000);
    expect(gone6).toMatchObject({ status: 'failed', probes: 3, message: expect.stringMatching(/^no neighbour discovery answer from 2001:db8::99 to 3 neighbour solicitations/) });
    // On the wire, as the kernel's side saw it: three requests for each, no more.
    const frames = spawnSync('tshark', ['-r', pcap, '-T', 'fields', '-E', 'separator=;', '-e', 'eth.src', '-e', 'arp.opcode', '-e', 'arp.dst.proto_ipv4',
      '-e', 'icmpv6.type', '-e', 'icmpv6.nd.ns.target_address'], { encoding: 'utf8' }).stdout.trim().split('\n');
    const count = (line: string) => frames.filter((l) => l === line).length;
    expect(count(`${OURS.mac};1;198.18.0.99;;`)).toBe(3);
    expect(count(`${OURS.mac};;;135;2001:db8::99`)).toBe(3);
    expect(count(`${KERNEL.mac};2;${OURS.ipv4};;`)).toBe(1); // the kernel's reply to our one request for 198.18.0.1
    expect(s.neighbours_failed).toBe(2);
    expectBalanced(s);
  });

  it('a flood of garbage frames at our MAC is counted and dropped; nothing hangs, ping still works', async () => {
    const { side } = await ourSide(rig);
    const flood = rig.inKernel('python3', [GARBAGE, rig.kernelIf, OURS.mac, KERNEL.mac, OURS.ipv4, OURS.ipv6, '3000', '12']);
    const sent = Number(flood.stdout.trim());
    const after = ping(rig, OURS.ipv4, 2);
    const s = (await side.stop()) as Summary;
    expect(sent).toBe(3000);
    expect(after.stdout).toMatch(/2 packets transmitted, 2 received/);
    expectBalanced(s);
    // Every garbage frame arrived (or the port says it missed it), and the link layer took them all.
    expect(s.received + s.dpdk.imissed).toBeGreaterThanOrEqual(sent);
    const reasons = Object.entries(s.drops).filter(([, n]) => n > 0).map(([r]) => r);
    expect(reasons).toEqual(expect.arrayContaining(['ethertype', 'arp_malformed', 'ipv4_truncated', 'ipv4_bad_checksum', 'ipv6_truncated', 'ipv6_malformed', 'protocol']));
    expect(s.drops.ipv4_truncated + s.drops.ipv6_truncated + s.drops.arp_malformed).toBeGreaterThan(3000 * 2 / 7);
  });

  for (const qpairs of [2, 1]) {
    it(`on two cores, ${qpairs === 2 ? 'each sending on its own queue' : 'one transmit queue, core 0 sending for both'}: pings answered, the kernel resolved, caches shared`, async () => {
      const { side, up } = await ourSide(rig, ['--cores', '2'], rig.eal({ qpairs }));
      expect(up).toMatchObject({ cores: 2, rx_queues: qpairs, tx_queues: qpairs, tx: qpairs === 2 ? 'per-core' : 'owner', rss: 'software' });
      const v4 = ping(rig, OURS.ipv4, 5);
      const v6 = ping(rig, OURS.ipv6, 5);
      const resolved = await side.resolve('198.18.0.1');
      const s = (await side.stop()) as Summary & { cores: Array<Summary & { tx_sent: number }> };
      expect(v4.stdout).toMatch(/5 packets transmitted, 5 received/);
      expect(v6.stdout).toMatch(/5 packets transmitted, 5 received/);
      expect(resolved).toMatchObject({ status: 'resolved', mac: KERNEL.mac });
      expect(s).toMatchObject({ echo_replies: 5, echo6_replies: 5 });
      expectBalanced(s);
      // ARP reaches core 0 only (not IP: queue 0); core 1 learns the kernel from the copies.
      expect(s.cores[1]!.copies_in).toBeGreaterThan(0);
      if (qpairs === 1) expect(s.cores[1]!.tx_sent).toBe(0); // core 0 sent what core 1 answered
    });
  }
});

describeWithDependency(NEEDS, have, 'the link layer on net_tap (the kernel\'s end is the tap DPDK makes)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await createRig({ driver: 'tap' });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('ping and ping -6 are answered', async () => {
    // net_tap's port has the kernel tap's MAC: our end needs one of its own.
    const { side, up } = await ourSide(rig, ['--mac', OURS.mac]);
    expect(up).toMatchObject({ driver: 'net_tap', cores: 1, mac: OURS.mac });
    rig.tapUp();
    const v4 = ping(rig, OURS.ipv4);
    const v6 = ping(rig, OURS.ipv6);
    const s = (await side.stop()) as Summary;
    expect(v4.stdout).toMatch(/3 packets transmitted, 3 received/);
    expect(v6.stdout).toMatch(/3 packets transmitted, 3 received/);
    expectBalanced(s);
  });
});
