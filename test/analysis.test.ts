/**
 * The key analysis is a proof from the hash matrix; here it is held against brute force.
 */
import { describe, expect, it } from 'vitest';
import { FIELD_SETS, gf2Rank, KEY_PRESETS, RssHasher, type FieldSetName } from '../host/core/index.js';
import { Random } from './helpers/random.js';
import { reverse } from './helpers/reference.js';

/** Every tuple whose bits outside `free` (bit positions) are those of `base`: 2^free.length tuples. */
function subspace(base: Uint8Array, free: number[]): Uint8Array[] {
  return Array.from({ length: 2 ** free.length }, (_, m) => {
    const t = new Uint8Array(base);
    free.forEach((bit, k) => {
      if ((m >> k) & 1) t[bit >> 3]! ^= 0x80 >> (bit & 7);
    });
    return t;
  });
}

/** Brute force: does hash(t) = hash(reverse t) for every tuple of the subspace? */
async function symmetricByBruteForce(rss: RssHasher, fields: FieldSetName, tuples: Uint8Array[]): Promise<boolean> {
  const length = FIELD_SETS[fields].inputLength;
  const forward = new Uint8Array(tuples.length * length);
  const backward = new Uint8Array(tuples.length * length);
  tuples.forEach((t, i) => {
    forward.set(t, i * length);
    backward.set(reverse(fields, t), i * length);
  });
  const a = rss.hashBatch(forward, fields), b = rss.hashBatch(backward, fields);
  return a.every((h, i) => h === b[i]);
}

describe('symmetry: proof against brute force', () => {
  // 16 free bits: the low nibble of each address's last byte and of each port.
  const freeBits = (fields: FieldSetName) => {
    const { addressLength: a, ports } = FIELD_SETS[fields];
    const nibble = (byte: number) => [4, 5, 6, 7].map((b) => byte * 8 + b);
    return [...nibble(a - 1), ...nibble(2 * a - 1), ...(ports ? [...nibble(2 * a + 1), ...nibble(2 * a + 3)] : [])];
  };

  const cases: Array<[string, Uint8Array, FieldSetName, boolean]> = [
    ['symmetric preset', KEY_PRESETS.symmetric, 'ipv4-l4', true],
    ['symmetric preset', KEY_PRESETS.symmetric, 'ipv6-l4', true],
    ['mtcp preset', KEY_PRESETS.mtcp, 'ipv4-l4', true],
    ['microsoft preset', KEY_PRESETS.microsoft, 'ipv4-l4', false],
    ['microsoft preset', KEY_PRESETS.microsoft, 'ipv6', false],
  ];
  it.each(cases)('%s, %s: proof says %s, brute force over 2^16 tuples agrees', async (_, key, fields, symmetric) => {
    const rss = await RssHasher.create({ key, fields });
    expect(rss.analyze().symmetric).toBe(symmetric);
    const base = new Random(3).bytes(FIELD_SETS[fields].inputLength);
    expect(await symmetricByBruteForce(rss, fields, subspace(base, freeBits(fields)))).toBe(symmetric);
  });

  it('a key that breaks the 16-bit period at one bit is caught, and the witness bit is named', async () => {
    // 0x6d5a repeated is symmetric; flipping one key bit under the destination port makes the
    // destination-port windows differ from the source-port ones.
    const key = new Uint8Array(KEY_PRESETS.symmetric);
    key[11]! ^= 0x01; // key bit 95: inside windows of ports' bits
    const rss = await RssHasher.create({ key, fields: 'ipv4-l4' });
    const a = rss.analyze();
    expect(a.symmetric).toBe(false);
    const witness = Number(/mirror bit (\d+)/.exec(a.reason)![1]);
    const source = Number(/input bit (\d+)/.exec(a.reason)![1]);
    // brute force on a subspace containing the witness pair finds the asymmetry
    const base = new Uint8Array(12);
    expect(await symmetricByBruteForce(rss, 'ipv4-l4', subspace(base, [source, witness, 0, 1]))).toBe(false);
    // and the addresses alone are still symmetric under this key
    expect((await RssHasher.create({ key, fields: 'ipv4' })).analyze().symmetric).toBe(true);
  });

  it('random keys: the proof and brute force agree on 20 keys with planted periods', async () => {
    const random = new Random(11);
    for (let k = 0; k < 20; k++) {
      // half the keys repeat a random 16-bit seed (symmetric), half are random
      const seed = random.bytes(2);
      const key = k % 2 ? Uint8Array.from({ length: 40 }, (_, i) => seed[i % 2]!) : random.bytes(40);
      const rss = await RssHasher.create({ key, fields: 'ipv4-l4' });
      const proved = rss.analyze().symmetric;
      expect(proved).toBe(k % 2 === 1);
      const base = random.bytes(12);
      expect(await symmetricByBruteForce(rss, 'ipv4-l4', subspace(base, freeBits('ipv4-l4')))).toBe(proved);
    }
  });
});

describe('rank: distinct hashes seen equal 2^rank', () => {
  it.each([
    ['mtcp', 6, KEY_PRESETS.mtcp],
    ['symmetric', 16, KEY_PRESETS.symmetric],
  ] as const)('%s key, ipv4-l4: rank %i, and 2,000,000 random tuples produce exactly 2^rank hashes', async (_, rank, key) => {
    const rss = await RssHasher.create({ key, fields: 'ipv4-l4' });
    expect(rss.analyze().rank).toBe(rank);
    expect(rss.analyze().distinctHashes).toBe(2 ** rank);
    const batch = rss.batch(2_000_000);
    const random = new Random(17);
    const tuples = batch.tuples;
    for (let i = 0; i < tuples.length; i += 4) {
      const w = random.u32();
      tuples[i] = w; tuples[i + 1] = w >> 8; tuples[i + 2] = w >> 16; tuples[i + 3] = w >> 24;
    }
    batch.run();
    expect(new Set(batch.hashes).size).toBe(2 ** rank);
    batch.free();
  });

  it('the Microsoft key has full rank 32 for every field set', async () => {
    for (const fields of Object.keys(FIELD_SETS) as FieldSetName[]) {
      expect((await RssHasher.create({ key: 'microsoft', fields })).analyze().rank).toBe(32);
    }
  });

  it('a symmetric key under symmetric-xor has rank 0: both fields carry src^dst into equal windows, every flow hashes to 0', async () => {
    for (const key of ['symmetric', 'mtcp']) {
      const rss = await RssHasher.create({ key, xfrm: 'symmetric-xor' });
      expect(rss.analyze().rank).toBe(0);
      expect(rss.analyze().distinctHashes).toBe(1);
      expect(Array.from(rss.hashBatch(new Random(8).bytes(12 * 1000))).every((h) => h === 0)).toBe(true);
    }
    // an asymmetric key keeps full rank under the transform
    expect((await RssHasher.create({ key: 'microsoft', xfrm: 'symmetric-xor' })).analyze().rank).toBe(32);
  });

  it('gf2Rank on hand-made vectors', () => {
    expect(gf2Rank([])).toBe(0);
    expect(gf2Rank([0, 0])).toBe(0);
    expect(gf2Rank([1, 2, 3])).toBe(2);
    expect(gf2Rank([0x80000000, 0x80000001, 1])).toBe(2);
    expect(gf2Rank(Array.from({ length: 32 }, (_, i) => 2 ** i))).toBe(32);
  });
});
