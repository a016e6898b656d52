/**
 * rssplane bench run: the run command end to end against the peers on one capture; and
 * bench flows --input: the engine alone on a capture's packets. The figures themselves are
 * measurements (never asserted); what is checked is that every tool ran on the same capture,
 * the rounds were all kept, and the speedups are what the rounds say.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectUsageError, rssplane } from './helpers/cli.js';
import { median } from './helpers/median.js';
import { commandWorks, describeWithDependency } from './helpers/deps.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/captures/${name}`, import.meta.url));

const havePeers = commandWorks('tcptrace', ['-v']) && commandWorks('sh', ['-c', 'command -v ndpiReader']);

describeWithDependency('tcptrace libndpi-bin', havePeers, 'rssplane bench run: against tcptrace and ndpiReader', () => {
  it('--json: each tool timed in every round, medians, and speedups over the same rounds', () => {
    const r = rssplane(['bench', 'run', '--input', fixture('ipv4.pcap'), '--rounds', '3', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    // the run command's own summary of the capture (182 packets, 12 TCP connections)
    expect(result).toMatchObject({ bench: 'run', packets: 182, flows: 12, rounds: 3, target: 3 });
    expect(Object.keys(result.rounds_seconds)).toEqual(['rssplane', 'tcptrace', 'ndpiReader']);
    for (const [tool, rounds] of Object.entries(result.rounds_seconds as Record<string, number[]>)) {
      expect(rounds).toHaveLength(3);
      expect(result.seconds[tool]).toBe(median(rounds));
    }
    const ours = result.rounds_seconds.rssplane as number[];
    for (const peer of ['tcptrace', 'ndpiReader']) {
      const perRound = (result.rounds_seconds[peer] as number[]).map((s, i) => s / ours[i]!);
      expect(result.speedup[peer]).toBeCloseTo(median(perRound), 1);
    }
    expect(result.fastest_peer).toBe(result.seconds.tcptrace <= result.seconds.ndpiReader ? 'tcptrace' : 'ndpiReader');
    expect(result.target_met).toBe(result.speedup_vs_fastest >= 3);
  });

  it('--peers picks the peers', () => {
    const r = rssplane(['bench', 'run', '--input', fixture('ipv4.pcap'), '--rounds', '1', '--peers', 'ndpiReader', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(Object.keys(JSON.parse(r.stdout).seconds)).toEqual(['rssplane', 'ndpiReader']);
  });
});

describe('rssplane bench run: usage', () => {
  it('names a missing input, an unknown peer', () => {
    expectUsageError(rssplane(['bench', 'run', '--input', '/nonexistent.pcap']), '/nonexistent.pcap');
    expectUsageError(rssplane(['bench', 'run']), '--input');
    expectUsageError(rssplane(['bench', 'run', '--input', fixture('ipv4.pcap'), '--peers', 'wireshark']), 'wireshark');
  });
});

describe('rssplane bench flows --input: the engine on a capture\'s packets, in memory', () => {
  it('every packet of the capture, every connection recorded, nothing dropped', () => {
    const r = rssplane(['bench', 'flows', '--input', fixture('ipv4.pcapng'), '--rounds', '3', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ bench: 'flows', packets: 182, flows_tracked: 12, dropped: 0, bad_checksums: 0 });
    expect(result.rounds_pps).toHaveLength(3);
    expect(result.ns_per_packet).toBeCloseTo(1e9 / result.pps, 0);
    expectUsageError(rssplane(['bench', 'flows', '--input', '/nonexistent.pcap']), '/nonexistent.pcap');
  });

  it('--baseline-wasm: another build beside ours, rounds paired, the same records from both', () => {
    // this build as its own baseline: the records must match, and the ratios are what the rounds say
    const wasm = fileURLToPath(new URL('../build/rssplane.wasm', import.meta.url));
    const r = rssplane(['bench', 'flows', '--input', fixture('ipv6.pcap'), '--rounds', '3', '--baseline-wasm', wasm, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.baseline).toMatchObject({ wasm, kernel: 'simd', flows_tracked: result.flows_tracked, records_sha256: result.records_sha256 });
    expect(result.same_records).toBe(true);
    expect(result.baseline.rounds_pps).toHaveLength(3);
    const paired = (result.rounds_pps as number[]).map((pps, i) => pps / result.baseline.rounds_pps[i]);
    expect(result.speedup_paired).toBeCloseTo(median(paired), 1);
    expectUsageError(rssplane(['bench', 'flows', '--input', fixture('ipv6.pcap'), '--baseline-wasm', fixture('ipv6.pcap')]), '--baseline-wasm');
  });

  it('--counts-only: flows counted and not copied out, as run without --flows-out; the baseline\'s counts compared with ours', () => {
    const wasm = fileURLToPath(new URL('../build/rssplane.wasm', import.meta.url));
    const r = rssplane(['bench', 'flows', '--input', fixture('ipv4-loss.pcap'), '--rounds', '3', '--counts-only', '--baseline-wasm', wasm, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ records_copied: false, records_in_round: 0, same_records: true, same_counts: true });
    expect(result.counts_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.baseline.counts_sha256).toBe(result.counts_sha256);
    expectUsageError(rssplane(['bench', 'flows', '--counts-only', '--decode-records']), '--counts-only');
  });

  it('--syn-cache: 20,000 connections opened at once overflow the default cache of 16,384 (3,616 SYNs evicted), not one of 32,768', () => {
    const bench = (...args: string[]) => {
      const r = rssplane(['bench', 'flows', '--flows', '20000', '--rounds', '1', '--counts-only', ...args, '--json']);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    expect(bench()).toMatchObject({ flows: 20_000, evicted: 20_000 - 16_384, flows_tracked: 20_000 + 20_000 - 16_384 });
    expect(bench('--syn-cache', '32768')).toMatchObject({ flows: 20_000, evicted: 0, flows_tracked: 20_000 });
  });
});
