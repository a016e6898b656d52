/**
 * Cross-check against a native build of mTCP's method (test/native/ports_mtcp.c: DPDK's
 * rte_softrss for every port, table i % cores): the per-core counts of our pools, built from the
 * hash's linearity, equal the ones it gets by hashing port by port. Also runs the native peer the
 * way `bench ports --anchor` does.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { KEY_PRESETS, PortPool, Reta, RssConfig } from '../host/core/index.js';
import { rssplane } from './helpers/cli.js';
import { describeWithDependency, haveDpdk } from './helpers/deps.js';
import { Random } from './helpers/random.js';

describeWithDependency('libdpdk-dev and a C compiler', haveDpdk(), "port pools against mTCP's method on DPDK rte_softrss", () => {
  let peer = '';
  beforeAll(() => {
    peer = join(mkdtempSync(join(tmpdir(), 'rssplane-')), 'ports_mtcp');
    const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/);
    execFileSync('cc', ['-O2', new URL('./native/ports_mtcp.c', import.meta.url).pathname, ...flags, '-lpthread', '-o', peer]);
  });

  const counts = (key: string, cores: number) => {
    const text = execFileSync(peer, [key, String(cores), '1', '1000', '64'], { encoding: 'utf8' });
    return /^counts ([0-9 ]+)$/m.exec(text)![1]!.split(' ').map(Number);
  };
  const hex = (k: Uint8Array) => Array.from(k, (b) => b.toString(16).padStart(2, '0')).join('');

  const random = new Random(2024);
  const keys: Array<[string, Uint8Array]> = [
    ['microsoft', KEY_PRESETS.microsoft],
    ['mtcp', KEY_PRESETS.mtcp],
    ['a random key', random.bytes(40)],
  ];
  it.each(keys.flatMap(([name, key]) => [3, 6, 16].map((cores) => [name, key, cores] as const)))(
    '%s, %i cores: per-core counts equal rte_softrss port by port', async (_, key, cores) => {
      const pool = await PortPool.create(RssConfig.from({ key, reta: Reta.equal(128, cores) }), { src: '10.0.0.2', dst: '10.0.0.1', dport: 80, cores });
      expect(Array.from({ length: cores }, (_, c) => pool.core(c).size)).toEqual(counts(hex(key), cores));
    });

  it('bench ports --anchor runs the peer between rounds and reports ratios (shape only: no timing is asserted)', () => {
    const r = rssplane(['bench', 'ports', '--rounds', '1', '--pairs', '2000', '--window', '64', '--anchor', peer, '--json']);
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout);
    expect(Object.keys(result.anchor).sort()).toEqual(['alloc_free_per_s', 'build_softrss_ms', 'build_table_ms']);
    expect(Object.keys(result.ratio_vs_anchor).sort()).toEqual(['alloc_free', 'build_vs_softrss', 'build_vs_table']);
  });
});
