/**
 * The synthetic generator against Wireshark's dissectors: what it writes must be traffic a
 * capture could hold, byte for byte valid.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { Engine, SyntheticSource } from '../host/core/index.js';
import { commandWorks, describeWithDependency } from './helpers/deps.js';
import { pcapHeader, pcapRecords } from './helpers/pcap.js';

async function generate(options: ConstructorParameters<typeof SyntheticSource>[1]) {
  const engine = await Engine.create();
  const source = new SyntheticSource(engine, options, 512);
  const parts = [pcapHeader()];
  let packets = 0;
  for (let b = source.next(); b.count; b = source.next()) {
    parts.push(...pcapRecords(engine.memory.buffer, b.descriptors, b.count));
    packets += b.count;
  }
  return { pcap: Buffer.concat(parts), packets, conversations: source.conversationsStarted };
}

it('is deterministic from its seed, and another seed gives other traffic', async () => {
  const a = await generate({ concurrent: 50, conversations: 100, seed: 3 });
  const b = await generate({ concurrent: 50, conversations: 100, seed: 3 });
  const c = await generate({ concurrent: 50, conversations: 100, seed: 4 });
  expect(a.pcap.equals(b.pcap)).toBe(true);
  expect(a.pcap.equals(c.pcap)).toBe(false);
  expect(a.conversations).toBe(100);
});

describeWithDependency('tshark', commandWorks('tshark', ['--version']), 'synthetic traffic as Wireshark dissects it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rssplane-synth-'));
  const file = join(dir, 'synthetic.pcap');
  let packets = 0;
  const tshark = (...args: string[]) => execFileSync('tshark', ['-r', file, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const count = (filter: string) => Number(tshark('-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-Y', filter, '-T', 'fields', '-e', 'frame.number').trim().split('\n').filter(Boolean).length);

  beforeAll(async () => {
    const g = await generate({ concurrent: 300, conversations: 600, seed: 11, ipv6: 0.3, retransmit: 0.02 });
    writeFileSync(file, g.pcap);
    packets = g.packets;
  });

  it('every frame decodes, with valid IPv4 and TCP checksums and no expert errors', () => {
    expect(count('frame')).toBe(packets);
    expect(count('ip.checksum.status == 2 || tcp.checksum.status == 2 || _ws.malformed || _ws.expert.severity == error')).toBe(0);
    expect(count('ip.checksum.status == 1')).toBeGreaterThan(0); // checked and good
  });

  it('600 TCP conversations, IPv4 and IPv6, each with a handshake and a close', () => {
    const conv = tshark('-q', '-z', 'conv,tcp').split('\n').filter((l) => l.includes('<->'));
    expect(conv.length).toBe(600);
    expect(count('tcp.flags.syn == 1 && tcp.flags.ack == 0')).toBe(600);
    expect(count('tcp.flags.syn == 1 && tcp.flags.ack == 1')).toBe(600);
    const closes = count('tcp.flags.fin == 1') + count('tcp.flags.reset == 1');
    expect(closes).toBeGreaterThanOrEqual(600);
    expect(count('ipv6')).toBeGreaterThan(0);
    expect(count('ip')).toBeGreaterThan(0);
  });

  it('the only TCP anomalies are the retransmissions it means to send', () => {
    const retransmissions = count('tcp.analysis.retransmission || tcp.analysis.fast_retransmission');
    const data = count('tcp.len > 0');
    expect(retransmissions / data).toBeGreaterThan(0.01);
    expect(retransmissions / data).toBeLessThan(0.04);
    expect(count('tcp.analysis.flags && !tcp.analysis.retransmission && !tcp.analysis.fast_retransmission')).toBe(0);
  });
});
