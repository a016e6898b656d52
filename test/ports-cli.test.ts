/**
 * `rssplane ports`: the MISSION.md contract ({"cores":[{"core","count","ports"}]}), checked
 * against return tuples hashed independently, and every user mistake it can meet.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEY_PRESETS, Reta, RssConfig } from '../host/core/index.js';
import { expectUsageError, rssplane } from './helpers/cli.js';
import { expectedPools, expectedQueues } from './helpers/pool.js';

const tmp = mkdtempSync(join(tmpdir(), 'rssplane-ports-'));
const peer = ['--src', '10.0.0.2', '--dst', '10.0.0.1', '--dport', '80'];

interface PortsJson {
  cores: Array<{ core: number; count: number; ports: Array<number | string> }>;
  [k: string]: unknown;
}
const run = (args: string[]): PortsJson => {
  const r = rssplane(['ports', ...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as PortsJson;
};

describe('rssplane ports --json', () => {
  it('symmetric key, 4 cores: each core lists exactly the ports whose return tuple lands on its queue', async () => {
    const got = run([...peer, '--cores', '4', '--key', 'symmetric']);
    const config = RssConfig.from({ key: 'symmetric', reta: Reta.equal(128, 4) });
    const c = { src: '10.0.0.2', dst: '10.0.0.1', dport: 80, cores: 4 };
    const expected = expectedPools(config, c, await expectedQueues(config, c));
    expect(got.cores.map((x) => x.core)).toEqual([0, 1, 2, 3]);
    got.cores.forEach((x, core) => {
      expect(x.ports).toEqual(expected[core]!.map((s) => Number(s.split(':')[1])));
      expect(x.count).toBe(x.ports.length);
    });
    expect(got.cores.reduce((n, x) => n + x.count, 0)).toBe(64511);
  });

  it("the default table is equal:C over 128 entries and the default key microsoft; --reta-size alone resizes it", () => {
    const implicit = run([...peer, '--cores', '6']);
    expect(run([...peer, '--cores', '6', '--key', 'microsoft', '--reta', 'equal:6', '--reta-size', '128'])).toEqual(implicit);
    expect(run([...peer, '--cores', '6', '--reta-size', '512'])).toEqual(run([...peer, '--cores', '6', '--reta', 'equal:6', '--reta-size', '512']));
    expect(implicit).toMatchObject({ reta_size: 128, queues: 6, range: [1025, 65535], port_rank: 7 });
  });

  it('--src-count > 1: "ADDR:PORT" strings; IPv6 as "[ADDR]:PORT" (the field set follows the addresses)', () => {
    const v4 = run([...peer, '--src-count', '3', '--cores', '2', '--ports', '5000-5009']);
    const all4 = v4.cores.flatMap((x) => x.ports);
    expect(all4.length).toBe(30);
    expect(all4.every((p) => /^10\.0\.0\.[234]:50\d\d$/.test(String(p)))).toBe(true);
    const v6 = run(['--src', 'fd00::ffff', '--src-count', '2', '--dst', 'fd00::1', '--dport', '443', '--cores', '2', '--ports', '5000-5009']);
    expect(v6.fields).toBe('ipv6-l4');
    expect(v6.cores.flatMap((x) => x.ports).sort()).toEqual(
      ['fd00::ffff', 'fd00::1:0'].flatMap((a) => Array.from({ length: 10 }, (_, i) => `[${a}]:${5000 + i}`)).sort());
  });

  it("--reta-file: a NIC's pasted `ethtool -x` (its key and a 512-entry table) gives what the same key and table give", () => {
    const pasted = rssplane(['reta', '--reta', 'weight:3,1,1,1,2', '--reta-size', '512', '--key', 'symmetric']).stdout;
    const file = join(tmp, 'eth0.txt');
    writeFileSync(file, pasted);
    const fromFile = run([...peer, '--cores', '5', '--reta-file', file]);
    expect(fromFile).toEqual(run([...peer, '--cores', '5', '--key', 'symmetric', '--reta', 'weight:3,1,1,1,2', '--reta-size', '512']));
    expect(fromFile.reta_size).toBe(512);
  });

  it('--queue-core: 4 queues on 2 cores, 3 and 0 on core 1', () => {
    const mapped = run([...peer, '--cores', '2', '--reta', 'equal:4', '--queue-core', '0,1,0,1', '--ports', '1025-3000']);
    const map2 = run([...peer, '--cores', '2', '--reta', 'equal:4', '--queue-core', '1,0,0,1', '--ports', '1025-3000']);
    const byQueue = run([...peer, '--cores', '4', '--reta', 'equal:4', '--ports', '1025-3000']).cores.map((x) => x.ports as number[]);
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    expect(mapped.cores[1]!.ports).toEqual(sorted([...byQueue[1]!, ...byQueue[3]!]));
    expect(map2.cores[1]!.ports).toEqual(sorted([...byQueue[0]!, ...byQueue[3]!]));
  });

  it("mTCP's configuration (key 0x05 repeated) reports rank 6 and the per-core counts of its 64 reachable entries", async () => {
    const got = run([...peer, '--cores', '6', '--key', 'mtcp']);
    const config = RssConfig.from({ key: KEY_PRESETS.mtcp, reta: Reta.equal(128, 6) });
    const queues = await expectedQueues(config, { src: '10.0.0.2', dst: '10.0.0.1', dport: 80, cores: 6 });
    const counts = new Array<number>(6).fill(0);
    for (const q of queues) counts[q]!++;
    expect(got.cores.map((x) => x.count)).toEqual(counts);
    expect(got.port_rank).toBe(6);
  });
});

describe('rssplane ports, human output', () => {
  it('a row per core with its queues, count, share and first ports, then the balance', () => {
    const r = rssplane(['ports', ...peer, '--cores', '4', '--sample', '3']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^local 10\.0\.0\.2, ports 1025-65535 {2}-> {2}peer 10\.0\.0\.1:80$/m);
    expect(r.stdout).toMatch(/^hash {2}toeplitz, ipv4-l4, microsoft; 128-entry table over 4 queue\(s\); 4 core\(s\)$/m);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d\s+\d\s+\d+\s+[\d.]+%/.test(l));
    expect(rows.length).toBe(4);
    const json = run([...peer, '--cores', '4']);
    rows.forEach((row, c) => {
      const [, , count, , ...ports] = row.trim().split(/\s+/);
      expect(Number(count)).toBe(json.cores[c]!.count);
      expect(ports).toEqual([...json.cores[c]!.ports.slice(0, 3).map(String), '...']);
    });
    expect(r.stdout).toMatch(/^balance {2}min \d+ \(core \d\), max \d+ \(core \d\), max\/mean 1\.0\d\d$/m);
  });

  it("mTCP's key gets a note on its rank; a core with no port at all gets a warning", () => {
    expect(rssplane(['ports', ...peer, '--cores', '4', '--key', 'mtcp']).stdout).toMatch(/only 64 of the 128 table entries \(rank 6 of 7\)/);
    const lonely = rssplane(['ports', ...peer, '--cores', '3', '--reta', 'weight:1,0,0']);
    expect(lonely.stdout).toMatch(/^WARNING: cores 1, 2 get no port at all/m);
  });

  it('--help explains the return tuple and the default table, with examples', () => {
    const r = rssplane(['ports', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/return\* tuple/);
    expect(r.stdout).toMatch(/equal:C over 128 entries/);
    expect(r.stdout).toMatch(/Examples:\n\s+rssplane ports --src/);
  });
});

describe('rssplane bench ports', () => {
  it('--json has build_ms and alloc_free_per_s, medians of the rounds (shape only: no timing is asserted)', () => {
    const r = rssplane(['bench', 'ports', '--rounds', '3', '--pairs', '5000', '--window', '256', '--json']);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ bench: 'ports', cores: 16, ports: 64511, pairs: 5000, window: 256 });
    expect(result.build_ms).toBe([...result.rounds_build_ms].sort((a: number, b: number) => a - b)[1]);
    expect(result.alloc_free_per_s).toBe([...result.rounds_alloc_free_per_s].sort((a: number, b: number) => a - b)[1]);
    expectUsageError(rssplane(['bench', 'ports', '--window', '100']), '--window');
  });
});

describe('rssplane ports: user mistakes', () => {
  const cases: Array<[string, string[], string]> = [
    ['missing --src', ['--dst', '10.0.0.1', '--dport', '80', '--cores', '4'], '--src'],
    ['missing --cores', [...peer], '--cores'],
    ['a bad --src', ['--src', '10.0.0.256', '--dst', '10.0.0.1', '--dport', '80', '--cores', '4'], '10.0.0.256'],
    ['families that differ', ['--src', '10.0.0.2', '--dst', 'fd00::1', '--dport', '80', '--cores', '4'], 'fd00::1'],
    ['a field set without ports', [...peer, '--cores', '4', '--fields', 'ipv4'], 'ipv4'],
    ['ipv6-l4 with IPv4 addresses', [...peer, '--cores', '4', '--fields', 'ipv6-l4'], '10.0.0.2'],
    ['a bad --dport', ['--src', '10.0.0.2', '--dst', '10.0.0.1', '--dport', '65536', '--cores', '4'], '65536'],
    ['zero cores', [...peer, '--cores', '0'], '--cores'],
    ['too many cores', [...peer, '--cores', '5000'], '5000'],
    ['a reversed --ports', [...peer, '--cores', '4', '--ports', '3000-2000'], '3000-2000'],
    ['a malformed --ports', [...peer, '--cores', '4', '--ports', '1025:2000'], '1025:2000'],
    ['a --queue-core that misses a queue', [...peer, '--cores', '2', '--reta', 'equal:4', '--queue-core', '0,1'], '0,1'],
    ['a --queue-core naming a core too many', [...peer, '--cores', '2', '--reta', 'equal:2', '--queue-core', '0,2'], 'core 2'],
    ['a --queue-core that is not numbers', [...peer, '--cores', '2', '--queue-core', '0,x'], '0,x'],
    ['addresses past the last one', ['--src', '255.255.255.255', '--src-count', '2', '--dst', '10.0.0.1', '--dport', '80', '--cores', '2'], '255.255.255.255'],
    ['a --reta-size that is not a power of two', [...peer, '--cores', '2', '--reta-size', '100'], '100'],
    ['a short key', [...peer, '--cores', '2', '--key', '6d5a'], 'bad key "2 bytes"'],
    ['a missing --reta-file', [...peer, '--cores', '2', '--reta-file', join(tmp, 'nope.txt')], 'nope.txt'],
  ];
  it.each(cases)('%s: exit 2, one line naming it, nothing on stdout', (_, args, names) => {
    expectUsageError(rssplane(['ports', ...args]), names);
  });
});
