/**
 * rssplane bench toeplitz: the JSON contract, and the arithmetic against an anchor. The native
 * anchor lives outside this repository, so a stand-in script plays it here: it prints the
 * anchor's `NAME X Mhash/s` lines with a figure that changes on every run, which shows whether
 * each of our rounds is paired with the anchor run just before it.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectUsageError, rssplane } from './helpers/cli.js';
import { median } from './helpers/median.js';

/** Ratios are printed to two decimals (0.005) from unrounded rounds; ours are printed to one (0.05 / 100). */
const expectRatio = (printed: number, expected: number) => expect(Math.abs(printed - expected)).toBeLessThanOrEqual(0.0056);
const dir = mkdtempSync(join(tmpdir(), 'rssplane-bench-toeplitz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in anchor: run k (from 1) reports byte_table at 100 k Mhash/s; logs its arguments. */
function standIn(): string {
  const path = join(dir, 'anchor.sh');
  writeFileSync(path, [
    '#!/bin/sh',
    `n=$(cat "${path}.count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "${path}.count"`,
    `echo "$@" >> "${path}.args"`,
    'echo "byte_table $((n * 100)).0 Mhash/s  checksum 1a0ca2ed"',
    'echo "rte_softrss 10.0 Mhash/s  checksum 1a0ca2ed"',
    '',
  ].join('\n'));
  chmodSync(path, 0o755);
  return path;
}

describe('rssplane bench toeplitz', () => {
  it('--json: the contract fields, every round kept, the median', () => {
    const r = rssplane(['bench', 'toeplitz', '--tuples', '20000', '--rounds', '3', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ bench: 'toeplitz', tuples: 20000, fields: 'ipv4-l4' });
    expect(['simd', 'relaxed-simd']).toContain(result.kernel);
    expect(result.rounds_mhash_per_s).toHaveLength(3);
    expect(result.mhash_per_s).toBe(median(result.rounds_mhash_per_s));
    expect(result.scalar_mhash_per_s).toBeGreaterThan(0);
    expect(result.anchor_mhash_per_s).toBeUndefined();
  });

  it('--anchor: run between our rounds, each round paired with the run before it', () => {
    const anchor = standIn();
    const r = rssplane(['bench', 'toeplitz', '--tuples', '20000', '--rounds', '5', '--anchor', anchor, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    // one anchor run before each timed round, given the tuple count and one round of its own
    expect(readFileSync(`${anchor}.args`, 'utf8').trim().split('\n')).toEqual(Array(5).fill('20000 1'));
    expect(result.anchor_mhash_per_s).toEqual({ byte_table: 300, rte_softrss: 10 });
    expectRatio(result.ratio_vs_anchor.byte_table, result.mhash_per_s / 300);
    const ours = result.rounds_mhash_per_s as number[];
    expectRatio(result.ratio_vs_anchor_paired.byte_table, median(ours.map((x, i) => x / (100 * (i + 1)))));
    expect(Math.abs(result.ratio_vs_anchor_paired.rte_softrss - median(ours) / 10)).toBeLessThanOrEqual(0.0051 + 0.05 / 10);
  });

  it('names an anchor that cannot run or prints no figures, and bad counts', () => {
    expectUsageError(rssplane(['bench', 'toeplitz', '--tuples', '1000', '--rounds', '1', '--anchor', join(dir, 'missing')]), '--anchor');
    const silent = join(dir, 'silent.sh');
    writeFileSync(silent, '#!/bin/sh\necho hello\n');
    chmodSync(silent, 0o755);
    expectUsageError(rssplane(['bench', 'toeplitz', '--tuples', '1000', '--rounds', '1', '--anchor', silent]), '--anchor');
    expectUsageError(rssplane(['bench', 'toeplitz', '--tuples', '0']), '--tuples');
    expectUsageError(rssplane(['bench', 'toeplitz', '--rounds', 'many']), '--rounds');
  });
});
