/**
 * Hostile traffic through `rssplane run`: SYN floods, RST floods, one 4-tuple reused over and
 * over, and mutated frames. Every packet accounted (received = processed + dropped), every flow
 * counted once and evictions counted, resident memory within 1.2x what the flow table reserves
 * plus 100 MB (nothing kept per flow outside the table), and never a trap. Floods are written to
 * a capture file first (scripts/make-flood-capture.mjs), as the benchmarks replay them; the
 * 10-million-frame fuzz run is scripts/fuzz-engine.mjs, here a small seeded run of it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { rssplane } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'rssplane-floods-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const script = (name: string) => fileURLToPath(new URL(`../scripts/${name}`, import.meta.url));

/** Writes a flood capture of `packets` packets: kind syn, rst or reuse. */
function flood(kind: string, packets: number, extra: string[] = []): string {
  const path = join(dir, `${kind}-${packets}-${extra.join('')}.pcap`);
  const r = spawnSync(process.execPath, [script('make-flood-capture.mjs'), path, '--kind', kind, '--packets', String(packets), '--seed', '5', ...extra], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return path;
}

function run(args: string[]) {
  const r = rssplane(['run', ...args, '--json', '--no-progress']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const s = JSON.parse(r.stdout);
  // Every packet accounted, on every core.
  for (const c of s.cores) expect(c.received).toBe(c.packets + c.dropped);
  expect(s.received).toBe(s.processed + s.dropped);
  return s;
}

describe('floods through `run`: each packet a flow, the table full, evictions counted', () => {
  it('300,000 SYNs from random sources into a 262,144-flow table: its SYN cache keeps the newest 16,384, 283,616 evicted, resident memory within the bound', () => {
    const s = run(['--input', flood('syn', 300_000), '--cores', '1', '--flow-table', '262144']);
    expect(s.packets).toBe(300_000);
    expect(s.dropped).toBe(0);
    expect(s.flows).toBe(300_000);
    expect(s.flows_by_state).toEqual({ 'SYN_SENT/SYN_RECEIVED': 300_000 });
    expect(s.flow_table).toEqual({ created: 300_000, timed_out: 0, evicted: 300_000 - 16_384, reused: 0 });
    expect(s.flows_by_close).toEqual({ evicted: 300_000 - 16_384, end: 16_384 });
    // Nothing grows with the flows outside the table.
    expect(s.memory.resident_peak).toBeLessThanOrEqual(1.2 * s.memory.flow_tables + 100e6);
  });

  it('--syn-cache 65536 keeps the newest 65,536 of the same flood, in a larger table and as the whole of a table of 65,536 (the table full)', () => {
    for (const table of ['262144', '65536']) {
      const args = ['--flow-table', table, '--syn-cache', '65536'];
      const s = run(['--input', flood('syn', 300_000), '--cores', '1', ...args]);
      expect(s.flow_table).toEqual({ created: 300_000, timed_out: 0, evicted: 300_000 - 65_536, reused: 0 });
      expect(s.flows_by_close).toEqual({ evicted: 300_000 - 65_536, end: 65_536 });
    }
  });

  it('--syn-cache from 1 to the flow table: one past it, 0 and a fraction exit 2 with one line', () => {
    const s = run(['--input', flood('syn', 1_000), '--cores', '1', '--flow-table', '64', '--syn-cache', '1']);
    expect(s.flow_table).toEqual({ created: 1_000, timed_out: 0, evicted: 999, reused: 0 });
    expect(run(['--input', flood('syn', 1_000), '--cores', '1', '--flow-table', '64', '--syn-cache', '64']).flow_table.evicted).toBe(1_000 - 64);
    for (const [bad, why] of [['65', 'at most 64, the flow table (--flow-table)'], ['0', 'expected a whole number >= 1'], ['1.5', 'expected a whole number >= 1']] as const) {
      const r = rssplane(['run', '--input', flood('syn', 1_000), '--cores', '1', '--flow-table', '64', '--syn-cache', bad, '--no-progress']);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`rssplane: bad --syn-cache "${bad}": ${why}\n`);
    }
    // A SYN cache as large as the table takes 72 bytes a flow more: the table's maximum says so.
    const r = rssplane(['run', '--input', flood('syn', 1_000), '--cores', '1', '--flow-table', '10000000', '--syn-cache', '10000000', '--no-progress']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^rssplane: bad --flow-table "10000000": at most [0-9,]+ flows a core with --syn-cache 10000000 \(the engine's 4 GiB memory\)\n$/);
  });

  it('an RST flood: every flow closed by its reset, evicted from a full table all the same', () => {
    const s = run(['--input', flood('rst', 100_000), '--cores', '1', '--flow-table', '16384']);
    expect(s.flows).toBe(100_000);
    expect(s.flows_by_state).toEqual({ 'CLOSED/CLOSED': 100_000 });
    expect(s.flows_by_close).toEqual({ rst: 100_000 });
    expect(s.flow_table.evicted).toBe(100_000 - 16_384);
    expect(s.memory.resident_peak).toBeLessThanOrEqual(1.2 * s.memory.flow_tables + 100e6);
  });

  it('one 4-tuple reused 100,000 times (a new ISN each SYN): one entry, 99,999 reuses, no eviction', () => {
    const s = run(['--input', flood('reuse', 100_000), '--cores', '1', '--flow-table', '16']);
    expect(s.flows).toBe(100_000);
    expect(s.flow_table).toEqual({ created: 100_000, timed_out: 0, evicted: 0, reused: 99_999 });
    expect(s.flows_by_close).toEqual({ end: 100_000 });
  });

  it('a SYN flood on two cores under the Microsoft key: about half the flows split, their halves merged in WASM, the same tally as one core', () => {
    const f = flood('syn', 60_000, ['--ipv6', '0.3']);
    // SYN caches (65,536 lone SYNs) that hold every flow: where evictions fall depends on each
    // core's share.
    const cache = ['--flow-table', '131072', '--syn-cache', '65536'];
    const one = run(['--input', f, '--cores', '1', '--reta', 'equal:2', ...cache]);
    const two = run(['--input', f, '--cores', '2', '--reta', 'equal:2', ...cache]);
    expect(two.packets).toBe(60_000);
    expect(two.flows).toBe(60_000);
    expect(two.split_flows).toBeGreaterThan(24_000);
    expect(two.split_flows).toBeLessThan(36_000);
    expect(two.flows_by_close).toEqual({ end: 60_000 });
    for (const k of ['flows_by_state', 'flows_by_close', 'queues']) expect(two[k]).toEqual(one[k]);
  });
});

describe('mutated frames (scripts/fuzz-engine.mjs, seeded)', () => {
  it('60,000 frames cut, flipped and rewritten from the real captures: no trap, accounting after every batch, memory bounded', () => {
    const r = spawnSync(process.execPath, [script('fuzz-engine.mjs'), '--frames', '60000', '--seed', '11', '--json'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.frames).toBe(60_000);
    expect(result.within_bound).toBe(true);
    for (const e of result.engines) {
      expect(e.received).toBe(60_000);
      expect(e.processed + e.dropped).toBe(60_000);
      // The mutations reach every layer: drops of several kinds, and flows all the same.
      expect(Object.keys(e.drops).length).toBeGreaterThan(6);
      expect(e.flows.created).toBeGreaterThan(1000);
    }
  });
});
