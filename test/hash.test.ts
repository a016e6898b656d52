/**
 * Every field set, hash function and input transform against the reference definitions, through
 * the single-tuple path, the SIMD batch path and the scalar batch path.
 */
import { describe, expect, it } from 'vitest';
import { FIELD_SETS, KEY_PRESETS, RssHasher, type FieldSetName, type HashFunctionName, type TransformName } from '../host/core/index.js';
import { Random } from './helpers/random.js';
import { referenceHash, reverse } from './helpers/reference.js';

const FIELDS = Object.keys(FIELD_SETS) as FieldSetName[];
const HFUNCS: HashFunctionName[] = ['toeplitz', 'xor'];
const XFRMS: TransformName[] = ['none', 'symmetric-xor', 'symmetric-or-xor'];
const combos = FIELDS.flatMap((f) => HFUNCS.flatMap((h) => XFRMS.map((x) => [f, h, x] as const)));

describe.each(combos)('%s, %s, xfrm %s', (fields, hfunc, xfrm) => {
  const length = FIELD_SETS[fields].inputLength;

  it('single, SIMD batch and scalar batch all equal the reference on 2,000 random tuples', async () => {
    const random = new Random(length * 31 + hfunc.length * 7 + xfrm.length);
    const key = random.bytes(52);
    const rss = await RssHasher.create({ key, fields, hfunc, xfrm });
    const count = 2000;
    const tuples = random.bytes(count * length);
    const expected = Array.from({ length: count }, (_, i) => referenceHash(key, fields, hfunc, xfrm, tuples.subarray(i * length, (i + 1) * length)));
    const batch = rss.batch(count);
    batch.tuples.set(tuples);
    batch.run(count, 'simd');
    expect(Array.from(batch.hashes)).toEqual(expected);
    batch.run(count, 'scalar');
    expect(Array.from(batch.hashes)).toEqual(expected);
    batch.free();
    const single = Array.from({ length: count }, (_, i) => rss.hash(tuples.subarray(i * length, (i + 1) * length)));
    expect(single).toEqual(expected);
  });

});

describe.each(combos.filter(([, , x]) => x !== 'none'))('%s, %s, xfrm %s', (fields, hfunc, xfrm) => {
  it('the transform makes an asymmetric key symmetric', async () => {
    const length = FIELD_SETS[fields].inputLength;
    const random = new Random(99);
    const rss = await RssHasher.create({ key: KEY_PRESETS.microsoft, fields, hfunc, xfrm });
    for (let i = 0; i < 200; i++) {
      const t = random.bytes(length);
      expect(rss.hash(reverse(fields, t))).toBe(rss.hash(t));
    }
  });
});

describe('batch boundaries', () => {
  it('any count from 0 to 70 hashes exactly like the single path (SIMD groups plus scalar tail)', async () => {
    const rss = await RssHasher.create({ fields: 'ipv6-l4' });
    const random = new Random(5);
    for (let count = 0; count <= 70; count++) {
      const tuples = random.bytes(count * 36);
      const batch = rss.hashBatch(tuples);
      expect(Array.from(batch)).toEqual(Array.from({ length: count }, (_, i) => rss.hash(tuples.subarray(i * 36, i * 36 + 36))));
    }
  });
});

describe('key length', () => {
  it('accepts exactly input length + 4 bytes and refuses one fewer, naming the need', async () => {
    for (const fields of FIELDS) {
      const need = FIELD_SETS[fields].inputLength + 4;
      await expect(RssHasher.create({ key: new Uint8Array(need).fill(0x6d), fields })).resolves.toBeDefined();
      await expect(RssHasher.create({ key: new Uint8Array(need - 1).fill(0x6d), fields })).rejects.toThrow(`at least ${need} bytes`);
    }
  });

  it('the xor function needs no key length', async () => {
    const rss = await RssHasher.create({ key: new Uint8Array([1]), fields: 'ipv6-l4', hfunc: 'xor' });
    expect(rss.hash({ src: '::1', dst: '::2', sport: 1, dport: 2 })).toBe(0x00000003 ^ 0x00010002);
  });
});
