/**
 * What a key does to a field set, proved from the hash's matrix rather than sampled.
 *
 * The hash is linear over GF(2): hash(x) = XOR of column[b] over the set bits b of x, where
 * column[b] is the hash of the input with only bit b set (the engine computes them). Hence:
 *
 * - Symmetric. For every tuple t, hash(t) = hash(reverse(t)) iff hash(t ^ reverse(t)) = 0 for all
 *   t. t ^ reverse(t) sets source bit i exactly when it sets destination bit i, so this holds iff
 *   column[source bit i] = column[destination bit i] for every address bit and port bit: a finite
 *   check that proves the property for all 2^n tuples. Both input transforms are symmetric by
 *   construction (XOR and OR commute).
 * - Rank. The hashes the field set can produce are the span of its columns, a subspace of
 *   dimension R = rank: exactly 2^R distinct values. mTCP's 0x05 key has R = 6, so 64 hashes for
 *   every flow there is, whatever the table size.
 */
import { FIELD_SETS, type FieldSetName } from './fields.js';
import type { RssConfig } from './rss.js';

export interface KeyAnalysis {
  fields: FieldSetName;
  /** hash(t) = hash(reverse t) for every tuple t of the field set */
  symmetric: boolean;
  /** GF(2) rank of the field set's hash map (at most 32) */
  rank: number;
  /** 2^rank: the number of distinct hashes any traffic can produce */
  distinctHashes: number;
  /** one line saying why */
  reason: string;
}

/**
 * Entries of a `size`-entry table the hashes can reach: the table is indexed by the hash's low
 * log2(size) bits, whose reachable values are the span of the columns' low bits.
 */
export function reachableEntries(columns: Uint32Array, fields: FieldSetName, size: number): number {
  const bits = FIELD_SETS[fields].inputLength * 8;
  return 2 ** gf2Rank(Array.from(columns.subarray(0, bits), (c) => c & (size - 1)));
}

/** Rank of a set of 32-bit vectors over GF(2), by building an XOR basis one pivot bit at a time. */
export function gf2Rank(vectors: Iterable<number>): number {
  const basis = new Uint32Array(32); // basis[b]: a vector whose highest set bit is b, or 0
  let rank = 0;
  for (let v of vectors) {
    v >>>= 0;
    for (let b = 31; b >= 0 && v; b--) {
      if (!((v >>> b) & 1)) continue;
      if (!basis[b]) {
        basis[b] = v;
        rank++;
        break;
      }
      v = (v ^ basis[b]!) >>> 0;
    }
  }
  return rank;
}

/** Source/destination bit pairs of a field set: [source bit, destination bit]. */
export function mirroredBits(fields: FieldSetName): Array<[number, number]> {
  const info = FIELD_SETS[fields];
  const pairs: Array<[number, number]> = [];
  const a = info.addressLength * 8;
  for (let i = 0; i < a; i++) pairs.push([i, a + i]);
  if (info.ports) for (let i = 0; i < 16; i++) pairs.push([2 * a + i, 2 * a + 16 + i]);
  return pairs;
}

const hex32 = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/**
 * Analyses `config` for `fields` given the engine's columns (`columns[b]` = hash of bit b alone,
 * from RssHasher's engine via `hashColumns`).
 */
export function analyze(config: RssConfig, columns: Uint32Array, fields: FieldSetName = config.fields): KeyAnalysis {
  const pairs = mirroredBits(fields);
  let vectors: number[];
  let symmetric = true;
  let reason: string;
  if (config.xfrm === 'symmetric-xor') {
    // Both fields of a pair carry src ^ dst: the pair's bit contributes column[s] ^ column[d].
    vectors = pairs.map(([s, d]) => columns[s]! ^ columns[d]!);
    reason = 'the symmetric-xor transform feeds src^dst to both fields, which is the same both ways';
  } else {
    vectors = Array.from(columns.subarray(0, FIELD_SETS[fields].inputLength * 8));
    if (config.xfrm === 'symmetric-or-xor') {
      reason = 'the symmetric-or-xor transform feeds src|dst and src^dst, the same both ways';
    } else {
      const odd = pairs.find(([s, d]) => columns[s] !== columns[d]);
      symmetric = odd === undefined;
      reason = odd
        ? `input bit ${odd[0]} (source) hashes to ${hex32(columns[odd[0]]!)} but its mirror bit ${odd[1]} (destination) to ${hex32(columns[odd[1]]!)}`
        : 'every source bit hashes exactly as its destination bit does (the key repeats with the field spacing)';
    }
  }
  const rank = gf2Rank(vectors);
  if (rank < 32) reason += `; only ${2 ** rank} distinct hashes (rank ${rank} of 32)`;
  return { fields, symmetric, rank, distinctHashes: 2 ** rank, reason };
}

/** One set input bit of a hash, taken apart (see `hashSteps`). */
export interface HashStep {
  /** input bit, 0 = the most significant bit of byte 0 (network order) */
  bit: number;
  /** column[bit]: for Toeplitz the 32-bit key window starting at key bit `bit` */
  column: number;
  /** XOR of the columns of this bit and every set bit before it */
  running: number;
}

/**
 * The hash of `input` (the field set's bytes after any input transform, network order) as the
 * XOR of the columns of its set bits, in bit order: the linearity the engine's tables rely on,
 * spelt out one bit at a time. `columns[b]` is the hash of bit b alone (RssHasher.columns()).
 * The last step's `running` is the hash (0 when no bit is set).
 */
export function hashSteps(columns: Uint32Array, input: Uint8Array): { steps: HashStep[]; hash: number } {
  const steps: HashStep[] = [];
  let running = 0;
  for (let bit = 0; bit < input.length * 8; bit++) {
    if (!((input[bit >> 3]! >> (7 - (bit & 7))) & 1)) continue;
    const column = columns[bit]!;
    running = (running ^ column) >>> 0;
    steps.push({ bit, column, running });
  }
  return { steps, hash: running };
}
