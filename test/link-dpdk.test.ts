/**
 * The link layer's DPDK loop (host/node/link) on net_pcap: frames Linux sent, read from capture
 * files by the port's receive queues, answered through its transmit queues into capture files.
 * No namespaces, so the loop itself is checked to the byte: every frame the port received reaches
 * a link layer, the replies are those of the literal tests, on one core and on two (a transmit
 * queue per core, or core 0 sending for both), and the run ends by itself (--dpdk-idle).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeWithDependency, haveDpdk } from './helpers/deps.js';
import {
  LINUX_ARP_REPLY, LINUX_ARP_REQUEST, LINUX_ECHO, LINUX_ECHO6, LINUX_MLD, LINUX_NS, LINUX_RS, OUR_ARP_REPLY, OUR_NA,
} from './helpers/linux-frames.js';
import { pcapHeader, readPcap } from './helpers/pcap.js';

const HARNESS = fileURLToPath(new URL('../dist/link-harness.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rssplane-link-dpdk-'));
const h = (s: string) => s.replace(/\s+/g, '');

function writePcap(name: string, frames: string[]): string {
  const path = join(dir, name);
  const records = frames.map((f, i) => {
    const b = Buffer.from(h(f), 'hex');
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(b.length, 8);
    r.writeUInt32LE(b.length, 12);
    return Buffer.concat([r, b]);
  });
  writeFileSync(path, Buffer.concat([pcapHeader(), ...records]));
  return path;
}

function run(args: string[]) {
  const r = spawnSync(process.execPath, [HARNESS, ...args], { encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  return { up: lines[0], summary: lines.at(-1) };
}

const sent = (path: string) => readPcap(path).map((p) => Buffer.from(p.data).toString('hex')).sort();

describeWithDependency('libdpdk-dev', haveDpdk(), 'the link loop on net_pcap', () => {
  const questions = [LINUX_ARP_REQUEST, LINUX_NS, LINUX_ECHO, LINUX_ECHO6, LINUX_MLD, LINUX_RS];
  const addresses = ['--ip', '198.18.0.2/24', '--ip6', '2001:db8::2/64', '--mac', '02:00:00:00:00:02'];

  it('one core: every frame reaches the link layer, each question gets the answer Linux would give', () => {
    const rx = writePcap('one.pcap', questions);
    const tx = join(dir, 'one-out.pcap');
    const { up, summary } = run(['--eal', `--no-huge -m 256 --no-pci --vdev net_pcap0,rx_pcap=${rx},tx_pcap=${tx}`, ...addresses]);
    expect(up).toMatchObject({ driver: 'net_pcap', cores: 1, tx: 'per-core' });
    expect(summary).toMatchObject({
      received: 6, processed: 4, dropped: 2, arp_replies_sent: 1, na_sent: 1, echo_replies: 1, echo6_replies: 1,
      drops: expect.objectContaining({ other_mac: 2 }), dpdk: { ipackets: 6, opackets: 4, imissed: 0 },
    });
    const out = sent(tx);
    expect(out).toHaveLength(4);
    expect(out).toEqual(expect.arrayContaining([h(OUR_ARP_REPLY), h(OUR_NA)]));
    expect(out.filter((f) => f.startsWith('020000000001020000000002080045000034000040004001')).length).toBe(1); // echo reply, id 0, DF, TTL 64
    expect(out.filter((f) => f.startsWith('02000000000102000000000286dd6000000000203a40')).length).toBe(1); // echo6 reply, hop limit 64
    expect(summary.neighbours.map((n: { address: string; state: string }) => `${n.address} ${n.state}`).sort()).toEqual(['198.18.0.1 STALE', '2001:db8::1 STALE']);
  });

  for (const tx of ['per-core', 'owner'] as const) {
    it(`two cores, ${tx === 'per-core' ? 'a transmit queue each' : 'one transmit queue that core 0 sends on for both'}: the same answers; the caches agree`, () => {
      const a = writePcap(`two-a-${tx}.pcap`, [LINUX_ARP_REQUEST, LINUX_ECHO, LINUX_MLD]);
      const b = writePcap(`two-b-${tx}.pcap`, [LINUX_NS, LINUX_ECHO6, LINUX_RS, LINUX_ARP_REPLY]);
      const outs = tx === 'per-core' ? [join(dir, `two-0-${tx}.pcap`), join(dir, `two-1-${tx}.pcap`)] : [join(dir, `two-0-${tx}.pcap`)];
      const vdev = `net_pcap0,rx_pcap=${a},rx_pcap=${b},${outs.map((o) => `tx_pcap=${o}`).join(',')}`;
      const { up, summary } = run(['--eal', `--no-huge -m 256 --no-pci --vdev ${vdev}`, ...addresses, '--cores', '2']);
      expect(up).toMatchObject({ cores: 2, rx_queues: 2, tx_queues: outs.length, tx });
      expect(summary).toMatchObject({ received: 7, processed: 5, dropped: 2, dpdk: { ipackets: 7, opackets: 4 } });
      const out = outs.flatMap(sent);
      expect(out).toHaveLength(4);
      expect(out).toEqual(expect.arrayContaining([h(OUR_ARP_REPLY), h(OUR_NA)]));
      // What one core learned, the other learned from its copies: both know both neighbours.
      for (const core of summary.cores) expect(core.copies_in).toBeGreaterThan(0);
      expect(summary.copies_out).toBe(summary.copies_in);
      if (tx === 'owner') expect(summary.cores[1].tx_sent).toBe(0);
    });
  }
});
