/**
 * Load per table entry through the real engine and runner (`run --json` buckets, FlowEngine.stats),
 * and `rssplane advise` end to end: its fixes applied with `run` land exactly where it predicts,
 * and each diagnosis comes from traffic built to trigger it (real captures, edited, and
 * synthetic), with silence on balanced traffic.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureReader, Engine, FlowEngine, RssConfig, RssHasher, topFlows } from '../host/core/index.js';
import { expectUsageError, rssplane } from './helpers/cli.js';
import { concat, fixture, fixtureBytes, pcapHeader, pcapRecord } from './helpers/capture.js';
import { ethernet, ipv4, udp } from './helpers/packets.js';
import { readPcap, type Packet } from './helpers/pcap.js';

const dir = mkdtempSync(join(tmpdir(), 'rssplane-advise-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Bucket { index: number; packets: number; bytes: number; flows: number }

function run(args: string[]) {
  const r = rssplane(['run', '--json', '--no-progress', ...args]);
  expect(r.stderr.replace(/^rssplane: warning: .*\n/gm, '')).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as { queues: Array<{ queue: number; packets: number }>; buckets: Bucket[]; processed: number; unhashed: number; unhashed_bytes: number; imbalance: number };
}

interface AdviceJson {
  queues: Array<{ queue: number; load: number }>;
  imbalance: number;
  bound_imbalance: number;
  weights: { weights: number[]; command: string; imbalance: number; queues: Array<{ queue: number; load: number }> };
  table: { table: number[]; moves: number; flows_moved: number; imbalance: number; queues: Array<{ queue: number; load: number }>; moved: Array<{ index: number; flows: number }> };
  diagnoses: Array<{ code: string; message: string; fix: string }>;
  heaviest: { index: number; flows: Array<{ src: string; dst: string; proto: string }> };
}

function advise(args: string[]): AdviceJson {
  const r = rssplane(['advise', '--json', '--no-progress', ...args]);
  expect(r.stderr.replace(/^rssplane: warning: .*\n/gm, '')).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as AdviceJson;
}

const codes = (a: AdviceJson) => a.diagnoses.map((d) => d.code).sort();

/** A pcap file of these packets (microsecond records, 1 ms apart). */
function writePcap(name: string, frames: readonly Uint8Array[]): string {
  const path = join(dir, name);
  writeFileSync(path, concat(pcapHeader(), ...frames.map((data, i) => pcapRecord({ seconds: 1_700_000_000 + Math.floor(i / 1000), fraction: (i % 1000) * 1000, data }))));
  return path;
}

describe('run --json buckets: the load per table entry', () => {
  it('adds up: entries plus what is not IP are the packets processed, and each queue is the sum of its entries', () => {
    for (const name of ['ipv4.pcap', 'ipv6.pcap', 'multi.pcapng']) {
      const r = run(['--input', fixture(name), '--cores', '1', '--reta', 'equal:4']);
      expect(r.buckets).toHaveLength(128);
      expect(r.buckets.map((b) => b.index)).toEqual(Array.from({ length: 128 }, (_, i) => i));
      expect(r.buckets.reduce((n, b) => n + b.packets, 0) + r.unhashed).toBe(r.processed);
      const perQueue = [0, 0, 0, 0];
      perQueue[0] = r.unhashed;
      for (const b of r.buckets) perQueue[b.index % 4]! += b.packets;
      expect(perQueue).toEqual(r.queues.map((q) => q.packets));
    }
  });

  it('counts a flow direction in the entry its own hash selects: ipv4.pcap\'s 12 connections are 24 directions', () => {
    const r = run(['--input', fixture('ipv4.pcap'), '--cores', '1']);
    expect(r.buckets.reduce((n, b) => n + b.flows, 0)).toBe(24);
    // ARP: 2 frames of 42 bytes, no entry.
    expect([r.unhashed, r.unhashed_bytes]).toEqual([2, 84]);
  });

  it('is the same summed over 1 and 2 cores (a capture read and steered by core 0, and synthetic traffic generated on both)', () => {
    for (const input of [['--input', fixture('ipv4-loss.pcap')], ['--input', fixture('ipv6.pcap')], ['--conversations', '2000']]) {
      const one = run([...input, '--cores', '1', '--reta', 'equal:4']);
      const two = run([...input, '--cores', '2', '--reta', 'equal:4']);
      expect(two.buckets).toEqual(one.buckets);
      expect(two.buckets.some((b) => b.flows > 0)).toBe(true);
    }
  });

  it('is in FlowEngine.stats(), with the heaviest flows per entry once finish() has run', async () => {
    const engine = await Engine.create();
    const flows = FlowEngine.create(engine, RssConfig.from({ reta: 'equal:4' }), { flows: 1024 });
    const reader = CaptureReader.create(engine, { name: 'ipv4.pcap' });
    for (const batch of reader.write(fixtureBytes('ipv4.pcap'))) flows.process(batch);
    reader.finish();
    const before = flows.stats();
    expect(before.bucketDetail).toBeUndefined();
    expect(before.buckets.reduce((n, b) => n + b.packets, 0)).toBe(180);
    flows.finish();
    const after = flows.stats();
    expect(after.buckets).toEqual(run(['--input', fixture('ipv4.pcap'), '--cores', '1', '--reta', 'equal:4']).buckets);
    expect(after.bucketDetail?.tops.length).toBe(128 * 2 * 3 * 64);
    expect(after.bucketDetail?.portDeltas).toBeUndefined(); // ipv4-l4 hashes ports already
  });

  it('keeps, per entry, the heaviest flow directions exactly: checked against the flow records, each direction hashed again', async () => {
    const engine = await Engine.create();
    const config = RssConfig.from({ reta: 'equal:4' });
    const flows = FlowEngine.create(engine, config, { flows: 1024 });
    const reader = CaptureReader.create(engine, { name: 'ipv4-loss.pcap' });
    for (const batch of reader.write(fixtureBytes('ipv4-loss.pcap'))) flows.process(batch);
    reader.finish();
    flows.finish();
    const detail = flows.stats().bucketDetail!;
    const rss = await RssHasher.create(config);
    const split = (e: string) => { const i = e.lastIndexOf(':'); return { addr: e.slice(0, i), port: Number(e.slice(i + 1)) }; };
    const directions = flows.takeRecords().flatMap((r) => r.dirs.map((d, i) => {
      const [a, b] = i === 0 ? [split(r.client), split(r.server)] : [split(r.server), split(r.client)];
      const bucket = rss.hash({ src: a.addr, dst: b.addr, sport: a.port, dport: b.port }) & 127;
      return { bucket, src: `${a.addr}:${a.port}`, dst: `${b.addr}:${b.port}`, packets: d.packets, bytes: d.bytes };
    })).filter((d) => d.packets > 0);
    expect(directions.length).toBe(28);
    for (let bucket = 0; bucket < 128; bucket++) {
      for (const by of ['packets', 'bytes'] as const) {
        const expected = directions.filter((d) => d.bucket === bucket).sort((x, y) => y[by] - x[by]).slice(0, 3);
        const kept = topFlows([detail], bucket, by);
        expect(kept.map((f) => f[by])).toEqual(expected.map((d) => d[by]));
        if (new Set(expected.map((d) => d[by])).size === expected.length) {
          expect(kept.map((f) => `${f.src} ${f.dst} ${f.packets} ${f.bytes}`)).toEqual(expected.map((d) => `${d.src} ${d.dst} ${d.packets} ${d.bytes}`));
        }
      }
    }
  });
});

describe('rssplane advise', () => {
  it('prints the MISSION.md shape; its weights, applied with run --reta weight:..., give the predicted loads exactly', () => {
    for (const [name, queues] of [['ipv4-loss.pcap', '4'], ['ipv6.pcap', '3'], ['ipv4.pcap', '8']] as const) {
      const a = advise(['--input', fixture(name), '--queues', queues, '--cores', '1']);
      for (const k of ['queues', 'imbalance', 'bound_imbalance', 'weights', 'table', 'diagnoses']) expect(a).toHaveProperty(k);
      expect(a.weights.command).toBe(`ethtool -X eth0 weight ${a.weights.weights.join(' ')}`);
      const applied = run(['--input', fixture(name), '--cores', '2', '--reta', `weight:${a.weights.weights.join(',')}`]);
      const loads = applied.queues.map((q) => q.packets);
      while (loads.length < Number(queues)) loads.push(0); // queues that got weight 0 and no entry
      expect(loads).toEqual(a.weights.queues.map((q) => q.load));
      expect(a.weights.imbalance).toBeLessThanOrEqual(Math.max(...loads) / (loads.reduce((x, y) => x + y, 0) / loads.length) + 1e-4);
    }
  });

  it('--out writes the proposed table as ethtool -x prints it: run --reta-file gives the predicted loads, reta --parse reads it back', () => {
    const out = join(dir, 'fixed.txt');
    const a = advise(['--input', fixture('ipv4-loss.pcap'), '--queues', '4', '--cores', '1', '--out', out, '--dev', 'enp3s0']);
    expect(a.table.moves).toBeGreaterThan(0);
    const text = readFileSync(out, 'utf8');
    expect(text.split('\n')[0]).toBe('RX flow hash indirection table for enp3s0 with 4 RX ring(s):');
    const parsed = rssplane(['reta', '--parse', out, '--json']);
    expect(JSON.parse(parsed.stdout).table).toEqual(a.table.table);
    const applied = run(['--input', fixture('ipv4-loss.pcap'), '--cores', '2', '--reta-file', out]);
    expect(applied.queues.map((q) => q.packets)).toEqual(a.table.queues.map((q) => q.load));
    expect(a.table.imbalance).toBeLessThanOrEqual(a.imbalance);
  });

  it('keeps to --max-moves, and moving nothing leaves the table as it is', () => {
    for (const k of [0, 1, 3]) {
      const a = advise(['--input', fixture('ipv4-loss.pcap'), '--queues', '4', '--cores', '1', '--max-moves', String(k), '--metric', 'bytes']);
      expect(a.table.moves).toBeLessThanOrEqual(k);
      expect(a.table.moved).toHaveLength(a.table.moves);
      expect(a.table.flows_moved).toBe(a.table.moved.reduce((n, m) => n + m.flows, 0));
      expect(a.table.imbalance).toBeLessThanOrEqual(a.imbalance);
      if (k === 0) expect(a.table.table).toEqual(Array.from({ length: 128 }, (_, i) => i % 4));
    }
  });

  it('the same advice on 1 and 2 cores', () => {
    // (but for the times they took)
    const advice = (cores: string) => {
      const { seconds: _s, advice_ms: _ms, ...rest } = advise(['--input', fixture('ipv6.pcap'), '--queues', '4', '--cores', cores, '--metric', 'flows']) as AdviceJson & { seconds: number; advice_ms: number };
      return rest;
    };
    expect(advice('2')).toEqual(advice('1'));
  });

  describe('diagnoses, each from traffic built to trigger it', () => {
    it('is silent on balanced traffic', () => {
      const a = advise(['--conversations', '5000', '--queues', '4', '--cores', '2']);
      expect(a.diagnoses).toEqual([]);
      expect(a.imbalance).toBeLessThan(1.1);
    });

    it('elephant: ipv4.pcap\'s 60 kB download is most of its bytes, and its entry names the flow', () => {
      const a = advise(['--input', fixture('ipv4.pcap'), '--queues', '4', '--cores', '1', '--metric', 'bytes']);
      expect(codes(a)).toEqual(['elephant']);
      const d = a.diagnoses[0]!;
      expect(d.message).toContain('10.99.0.1:8080 -> 10.99.0.2:33470 tcp');
      expect(d.fix).toMatch(/split it at the source/);
      expect(a.heaviest.flows[0]).toMatchObject({ src: '10.99.0.1:8080', dst: '10.99.0.2:33470', proto: 'tcp' });
      expect(a.bound_imbalance).toBeGreaterThan(3);
    });

    it('ports-not-hashed: UDP between two hosts on many ports, hashed on addresses; its prediction is what --fields ipv4-l4 gives', () => {
      // 300 UDP flows between two hosts (varying ports), 20 datagrams each, and 100 one-datagram flows from others.
      const frames: Uint8Array[] = [];
      const datagram = (src: string, dst: string, sport: number, dport: number) =>
        ethernet(ipv4({ src, dst, protocol: 17, payload: udp(sport, dport, new Uint8Array(64), src, dst) }), 0x0800);
      for (let round = 0; round < 20; round++) for (let f = 0; f < 300; f++) frames.push(datagram('198.18.0.1', '198.18.0.2', 20000 + f, 4789));
      for (let h = 0; h < 100; h++) frames.push(datagram(`198.18.1.${h}`, '198.18.0.2', 5000, 53));
      const path = writePcap('udp-pair.pcap', frames);
      const a = advise(['--input', path, '--fields', 'ipv4', '--queues', '4', '--cores', '1']);
      expect(codes(a)).toContain('ports-not-hashed');
      const d = a.diagnoses.find((x) => x.code === 'ports-not-hashed')!;
      expect(d.fix).toBe('`ethtool -N eth0 rx-flow-hash udp4 sdfn` (rssplane --fields ipv4-l4)');
      expect(d.message).toContain('198.18.0.1 -> 198.18.0.2');
      const predicted = Number(/imbalance ([0-9.]+) on this table/.exec(d.message)![1]);
      const withPorts = run(['--input', path, '--fields', 'ipv4-l4', '--reta', 'equal:4', '--cores', '1']);
      expect(predicted).toBe(withPorts.imbalance);
      expect(codes(advise(['--input', path, '--fields', 'ipv4-l4', '--queues', '4', '--cores', '1']))).toEqual([]);
    });

    it('ports-not-hashed on a real capture: ipv4.pcap\'s connections are all between two hosts (the tcp4 command)', () => {
      const a = advise(['--input', fixture('ipv4.pcap'), '--fields', 'ipv4', '--queues', '4', '--cores', '1']);
      expect(codes(a)).toEqual(['elephant', 'ports-not-hashed']);
      expect(a.diagnoses.find((d) => d.code === 'ports-not-hashed')!.fix).toBe('`ethtool -N eth0 rx-flow-hash tcp4 sdfn` (rssplane --fields ipv4-l4)');
    });

    it('low-rank: mTCP\'s key reaches 64 of 128 entries, one queue per entry leaves half the queues idle', () => {
      const a = advise(['--conversations', '5000', '--key', 'mtcp', '--reta', 'equal:128', '--cores', '2']);
      expect(codes(a)).toContain('low-rank');
      const d = a.diagnoses.find((x) => x.code === 'low-rank')!;
      expect(d.message).toContain('64 distinct ipv4-l4 hashes (rank 6 of 32), reaching 64 of the 128 table entries');
      expect(d.message).toMatch(/here 64 entries carry load/);
      expect(a.queues.filter((q) => q.load === 0)).toHaveLength(64);
    });

    it('rank-zero: a symmetric key with the symmetric-xor transform sends everything to entry 0', () => {
      const a = advise(['--input', fixture('ipv6.pcap'), '--key', 'symmetric', '--xfrm', 'symmetric-xor', '--queues', '4', '--cores', '1']);
      expect(codes(a)).toContain('rank-zero');
      const d = a.diagnoses.find((x) => x.code === 'rank-zero')!;
      expect(d.message).toContain('ipv4-l4 and ipv6-l4');
      expect(d.fix).toContain('ethtool -X eth0 xfrm none');
      expect(a.heaviest.index).toBe(0);
    });

    it('not-ip: ipv4.pcap with its ARP frames repeated lands a third of its packets on queue 0 whatever the table', () => {
      const packets = readPcap(fixture('ipv4.pcap'));
      const arp = packets.filter((p: Packet) => p.data[12] === 0x08 && p.data[13] === 0x06);
      expect(arp).toHaveLength(2);
      const frames = [...packets.map((p) => p.data), ...Array.from({ length: 45 }, () => arp.map((p) => p.data)).flat()];
      const a = advise(['--input', writePcap('arp.pcap', frames), '--queues', '4', '--cores', '1']);
      expect(codes(a)).toContain('not-ip');
      expect(a.diagnoses.find((x) => x.code === 'not-ip')!.message).toMatch(/^92 packets that are not IP \(33\.8% of the packets\)/);
      expect(a.queues[0]!.load).toBeGreaterThanOrEqual(92);
      // The fix gives queue 0 less of the table to make up for it.
      expect(a.table.queues[0]!.load).toBeLessThan(a.queues[0]!.load);
    });

    it('fragments: UDP datagrams sent in two fragments each', () => {
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 60; i++) {
        const src = `198.18.2.${i}`, dst = '198.18.0.9';
        const whole = udp(4000 + i, 9999, new Uint8Array(1400), src, dst);
        // First fragment: offset 0, more fragments; second: the rest at offset 1400/8... (multiples of 8).
        frames.push(ethernet(ipv4({ src, dst, protocol: 17, payload: whole.subarray(0, 1000), fragment: 0x2000 }), 0x0800));
        frames.push(ethernet(ipv4({ src, dst, protocol: 17, payload: whole.subarray(1000), fragment: 1000 / 8 }), 0x0800));
        frames.push(ethernet(ipv4({ src, dst, protocol: 17, payload: udp(4000 + i, 9999, new Uint8Array(20), src, dst) }), 0x0800));
      }
      const a = advise(['--input', writePcap('fragments.pcap', frames), '--queues', '4', '--cores', '1']);
      expect(codes(a)).toContain('fragments');
      expect(a.diagnoses.find((x) => x.code === 'fragments')!.message).toMatch(/^120 packets \(66\.7%\) are IP fragments/);
    });

    it('uneven-entries: 6 queues cannot share 128 entries evenly', () => {
      const a = advise(['--conversations', '5000', '--queues', '6', '--cores', '2']);
      expect(codes(a)).toEqual(['uneven-entries']);
      expect(a.diagnoses[0]!.message).toBe('128 entries over 6 queues: each queue gets 21 or 22 entries, so evenly loaded entries give at best imbalance 1.031 with an equal table');
    });
  });

  it('bench advise --json: ms for the 2048-entry table fix, and advise against run on a capture', () => {
    const r = rssplane(['bench', 'advise', '--rounds', '1', '--input', fixture('ipv4.pcap'), '--json']);
    expect(r.stderr).toBe('');
    const b = JSON.parse(r.stdout);
    expect(b.table).toMatchObject({ size: 2048, queues: 64, flows: 200000 });
    for (const k of ['ms', 'ms_max_moves_64', 'weights_ms', 'advise_ms', 'overhead_ms', 'advice_ms', 'run_seconds', 'advise_seconds']) expect(typeof b[k]).toBe('number');
    expect(b.fix_imbalance).toBeLessThan(b.table.imbalance);
    expect(b.fix_imbalance).toBeLessThanOrEqual(b.table.bound_imbalance * 1.02);
    expect(b.fix_imbalance_max_moves_64).toBeGreaterThanOrEqual(b.table.bound_imbalance);
    expect(b.packets).toBe(182);
  });

  it('mistakes: one line, exit 2, nothing on stdout', () => {
    const input = ['--input', fixture('ipv4.pcap'), '--cores', '1'];
    expectUsageError(rssplane(['advise', ...input, '--metric', 'frames']), '--metric');
    expectUsageError(rssplane(['advise', ...input, '--reta', 'equal:4', '--queues', '2']), '--queues');
    expectUsageError(rssplane(['advise', ...input, '--queues', '1025']), '--queues');
    expectUsageError(rssplane(['advise', ...input, '--max-moves', '129']), '--max-moves');
    expectUsageError(rssplane(['advise', ...input, '--max-moves', '-1']), '--max-moves');
    expectUsageError(rssplane(['advise', '--input', 'dpdk']), '--input');
    expectUsageError(rssplane(['advise', '--input', join(dir, 'missing.pcap')]), 'missing.pcap');
    expectUsageError(rssplane(['advise', ...input, '--out', join(dir, 'no/such/dir/t.txt')]), '--out');
  });
});
