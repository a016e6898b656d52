/**
 * Cross-check against DPDK's own Toeplitz (rte_softrss from libdpdk-dev), independent of our
 * tables: random keys and random tuples for every field set, single and batch paths.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { formatKey, RssHasher, FIELD_SETS, type FieldSetName } from '../host/core/index.js';
import { describeWithDependency, haveDpdk } from './helpers/deps.js';
import { Random } from './helpers/random.js';

const TUPLES_PER_FIELD_SET = 100_000;
const KEYS = 10;

describeWithDependency('libdpdk-dev and a C compiler', haveDpdk(), 'Toeplitz against DPDK rte_softrss', () => {
  let softrss = '';
  beforeAll(() => {
    softrss = join(mkdtempSync(join(tmpdir(), 'rssplane-')), 'softrss');
    const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/);
    execFileSync('cc', ['-O2', new URL('./native/softrss.c', import.meta.url).pathname, ...flags, '-o', softrss]);
  });

  it.each(Object.keys(FIELD_SETS) as FieldSetName[])('%s: 100,000 random tuples under 10 random keys', async (fields) => {
    const random = new Random(fields.length * 7919);
    const length = FIELD_SETS[fields].inputLength;
    const perKey = TUPLES_PER_FIELD_SET / KEYS;
    for (let k = 0; k < KEYS; k++) {
      // 40- and 52-byte keys (what NICs use), and the shortest each field set accepts.
      const keyLength = [40, 52, length + 4][k % 3]!;
      const key = random.bytes(keyLength);
      const tuples = random.bytes(perKey * length);
      const expected = new Uint32Array(
        new Uint8Array(execFileSync(softrss, [formatKey(key), String(length)], { input: tuples, maxBuffer: 1 << 26 })).buffer,
      );
      expect(expected.length).toBe(perKey);
      const rss = await RssHasher.create({ key, fields });
      const batch = rss.hashBatch(tuples);
      const single = Uint32Array.from({ length: perKey }, (_, i) => rss.hash(tuples.subarray(i * length, (i + 1) * length)));
      // Compare whole arrays: on a mismatch vitest shows the first differing index.
      expect(Array.from(batch)).toEqual(Array.from(expected));
      expect(Array.from(single)).toEqual(Array.from(expected));
    }
  });
});
