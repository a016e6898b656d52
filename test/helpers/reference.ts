/**
 * Reference definitions written from the specifications, independent of the engine's tables:
 * Toeplitz as the Microsoft/Intel pseudo-code states it (one key shift per input bit), the XOR
 * hash, and ethtool's input transforms. Slow and obvious on purpose.
 */
import { FIELD_SETS, type FieldSetName, type HashFunctionName, type TransformName } from '../../host/core/index.js';

/** ComputeHash(input, N): for each input bit that is 1, XOR the left-most 32 bits of K; shift K. */
export function toeplitz(key: Uint8Array, input: Uint8Array): number {
  const keyBit = (i: number) => (i < key.length * 8 ? (key[i >> 3]! >> (7 - (i & 7))) & 1 : 0);
  let result = 0;
  for (let b = 0; b < input.length * 8; b++) {
    if (!((input[b >> 3]! >> (7 - (b & 7))) & 1)) continue;
    let window = 0;
    for (let k = 0; k < 32; k++) window = (window << 1) | keyBit(b + k);
    result ^= window;
  }
  return result >>> 0;
}

/** XOR of the input's big-endian 32-bit words. */
export function xorHash(input: Uint8Array): number {
  let h = 0;
  for (let i = 0; i < input.length; i += 4) h ^= (input[i]! << 24) | (input[i + 1]! << 16) | (input[i + 2]! << 8) | input[i + 3]!;
  return h >>> 0;
}

/** ethtool's xfrm on each (source, destination) pair: addresses, then ports. */
export function transform(fields: FieldSetName, xfrm: TransformName, tuple: Uint8Array): Uint8Array {
  const out = new Uint8Array(tuple);
  if (xfrm === 'none') return out;
  const info = FIELD_SETS[fields];
  const pairs: Array<[number, number, number]> = [[0, info.addressLength, info.addressLength]];
  if (info.ports) pairs.push([2 * info.addressLength, 2 * info.addressLength + 2, 2]);
  for (const [s, d, n] of pairs) {
    for (let i = 0; i < n; i++) {
      const a = tuple[s + i]!, b = tuple[d + i]!;
      out[s + i] = xfrm === 'symmetric-xor' ? a ^ b : a | b;
      out[d + i] = a ^ b;
    }
  }
  return out;
}

export function referenceHash(key: Uint8Array, fields: FieldSetName, hfunc: HashFunctionName, xfrm: TransformName, tuple: Uint8Array): number {
  const input = transform(fields, xfrm, tuple);
  return hfunc === 'xor' ? xorHash(input) : toeplitz(key, input);
}

/** The tuple with source and destination swapped (addresses and ports). */
export function reverse(fields: FieldSetName, tuple: Uint8Array): Uint8Array {
  const info = FIELD_SETS[fields];
  const a = info.addressLength;
  const out = new Uint8Array(tuple.length);
  out.set(tuple.subarray(a, 2 * a), 0);
  out.set(tuple.subarray(0, a), a);
  if (info.ports) {
    out.set(tuple.subarray(2 * a + 2, 2 * a + 4), 2 * a);
    out.set(tuple.subarray(2 * a, 2 * a + 2), 2 * a + 2);
  }
  return out;
}
