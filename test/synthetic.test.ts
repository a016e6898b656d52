/**
 * The synthetic generator against Wireshark's dissectors: what it writes must be traffic a
 * capture could hold, byte for byte valid.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { Engine, FlowEngine, RssConfig, RssHasher, SyntheticSource } from '../host/core/index.js';
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

it('shares of a run generate exactly the packets one generator would, conversation for conversation', async () => {
  // Group each generator's frames by conversation (the TCP 4-tuple and family, read from the frame).
  const byConversation = async (part: number, parts: number, split: 'rss' | 'number' = 'number') => {
    const engine = await Engine.create();
    // The run's RSS (one queue per share), as a runner's core engine has it programmed.
    if (split === 'rss') FlowEngine.create(engine, RssConfig.from({ key: 'microsoft', reta: `equal:${parts}` }), { cores: parts, core: part, flows: 16 });
    const source = new SyntheticSource(engine, { concurrent: 64, conversations: 300, seed: 5, part, parts, split }, 256);
    const out = new Map<string, string[]>();
    for (let b = source.next(); b.count; b = source.next()) {
      const d = new DataView(engine.memory.buffer, b.descriptors, b.count * 32);
      for (let i = 0; i < b.count; i++) {
        const frame = Buffer.from(new Uint8Array(engine.memory.buffer, d.getUint32(i * 32, true), d.getUint32(i * 32 + 4, true)));
        const v6 = frame.readUInt16BE(12) === 0x86dd;
        const ip = frame.subarray(14);
        const [a, z] = v6 ? [ip.subarray(8, 24), ip.subarray(24, 40)] : [ip.subarray(12, 16), ip.subarray(16, 20)];
        const tcp = ip.subarray(v6 ? 40 : 20);
        const ends = [`${a.toString('hex')}:${tcp.readUInt16BE(0)}`, `${z.toString('hex')}:${tcp.readUInt16BE(2)}`].sort().join('-');
        const key = `${v6 ? 6 : 4}/${ends}`;
        const list = out.get(key) ?? [];
        list.push(`${d.getBigUint64(i * 32 + 16, true)}:${frame.toString('hex')}`);
        out.set(key, list);
      }
    }
    return out;
  };
  const whole = await byConversation(0, 1);
  expect(whole.size).toBe(300);
  for (const split of ['number', 'rss'] as const) {
    const shares = [await byConversation(0, 3, split), await byConversation(1, 3, split), await byConversation(2, 3, split)];
    expect(shares.reduce((n, s) => n + s.size, 0)).toBe(300);
    for (const s of shares) for (const [key, packets] of s) expect(packets).toEqual(whole.get(key));
  }
});

it('split by RSS: each share holds the conversations whose client-to-server packets its core receives', async () => {
  const config = RssConfig.from({ key: 'microsoft', reta: 'equal:3' });
  const hasher = await RssHasher.create(config);
  for (const part of [0, 1, 2]) {
    const engine = await Engine.create();
    FlowEngine.create(engine, config, { cores: 3, core: part, flows: 16 });
    const source = new SyntheticSource(engine, { concurrent: 32, conversations: 200, seed: 8, part, parts: 3, split: 'rss' }, 256);
    let syns = 0;
    for (let b = source.next(); b.count; b = source.next()) {
      const d = new DataView(engine.memory.buffer, b.descriptors, b.count * 32);
      for (let i = 0; i < b.count; i++) {
        const frame = new Uint8Array(engine.memory.buffer, d.getUint32(i * 32, true), d.getUint32(i * 32 + 4, true));
        const v6 = frame[12] === 0x86 && frame[13] === 0xdd;
        const ip = frame.subarray(14);
        const tcp = ip.subarray(v6 ? 40 : 20);
        if ((tcp[13]! & 0x12) !== 0x02) continue; // client SYNs: the client-to-server direction
        syns++;
        const a = v6 ? 16 : 4;
        const tuple = new Uint8Array(2 * a + 4);
        tuple.set(ip.subarray(v6 ? 8 : 12, (v6 ? 8 : 12) + 2 * a));
        tuple.set(tcp.subarray(0, 4), 2 * a);
        expect(hasher.queue(hasher.hash(tuple, v6 ? 'ipv6-l4' : 'ipv4-l4')) % 3).toBe(part);
      }
    }
    expect(syns).toBe(source.conversationsStarted);
  }
});
