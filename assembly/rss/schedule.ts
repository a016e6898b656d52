/**
 * The key schedule: from a key and a hash function to the tables the kernels read.
 *
 * Toeplitz, as NICs define it: for each input bit b (left to right, MSB first) that is 1, XOR the
 * 32-bit key window starting at bit b into the result. So the hash is linear over GF(2):
 *
 *     hash(x) = XOR over set bits b of x of column[b],   column[b] = key bits b .. b+31
 *
 * and hash(a ^ b) = hash(a) ^ hash(b). Everything below follows from that one property:
 * - a byte at input position j contributes byteTable[j][value], the XOR of the columns of its set
 *   bits, so one lookup per input byte replaces eight window extractions (the scalar path);
 * - a byte is its high nibble XOR its low nibble, so a 16-entry table per nibble and per hash byte
 *   gives the same answer with i8x16.swizzle on 16 tuples at once (the SIMD path);
 * - any other linear hash fits the same tables: ethtool's `xor` is column[b] = 1 << (31 - b % 32),
 *   the XOR of the input's big-endian 32-bit words.
 *
 * Columns depend on the bit position only, never on the field set, so one schedule serves IPv4 and
 * IPv6, with and without ports: a field set is a prefix length. A key of K bytes covers K - 4
 * input bytes (the last input bit needs 31 key bits after it).
 */
import {
  BYTE_TABLES, HashFunction, INPUT_MAX, KEY_MAX, NIBBLE_TABLES, RSS_COLUMNS, RSS_KEY,
} from "../shared/abi";

/** Input bytes the current schedule covers (0 until configured). */
let covered: i32 = 0;
let hashFunction: i32 = HashFunction.TOEPLITZ;

export function coveredBytes(): i32 {
  return covered;
}

export function currentHashFunction(): i32 {
  return hashFunction;
}

/** The 32-bit key window starting at key bit `bit`: key bytes are big-endian, bit 0 is the MSB. */
// @ts-ignore: decorator
@inline function keyWindow(bit: i32): u32 {
  // Five bytes hold any 32-bit window that starts inside the first of them.
  const p = <usize>(RSS_KEY + (bit >> 3));
  const forty = (<u64>bswap<u32>(load<u32>(p)) << 8) | <u64>load<u8>(p, 4);
  return <u32>(forty >> (8 - (bit & 7)));
}

/**
 * Builds columns, byte tables and nibble tables for the key at RSS_KEY (`keyLength` bytes,
 * zero-filled after) and the hash function. Returns the input bytes covered: keyLength - 4 for
 * Toeplitz (at most INPUT_MAX), INPUT_MAX for XOR.
 */
export function buildSchedule(keyLength: i32, hfunc: i32): i32 {
  hashFunction = hfunc;
  covered = hfunc == HashFunction.XOR ? INPUT_MAX : min(max(keyLength - 4, 0), INPUT_MAX);
  if (keyLength > KEY_MAX) covered = 0;

  const bits = covered * 8;
  for (let b = 0; b < bits; b++) {
    const column = hfunc == HashFunction.XOR ? (<u32>1 << (31 - (b & 31))) : keyWindow(b);
    store<u32>(RSS_COLUMNS + (b << 2), column);
  }
  for (let b = bits; b < INPUT_MAX * 8; b++) store<u32>(RSS_COLUMNS + (b << 2), 0);

  for (let j = 0; j < INPUT_MAX; j++) {
    const table = <usize>(BYTE_TABLES + (j << 10));
    store<u32>(table, 0);
    // Grow each entry from the one without its lowest set bit; bit 7 of a byte is input bit 8j.
    for (let v = 1; v < 256; v++) {
      const low = ctz(v);
      const column = load<u32>(RSS_COLUMNS + ((j * 8 + 7 - low) << 2));
      store<u32>(table + (v << 2), load<u32>(table + ((v & (v - 1)) << 2)) ^ column);
    }
    // Nibble tables, laid out for the SIMD kernel: [high nibble: hash byte 0..3][low nibble: 0..3],
    // 16 entries each; hash byte 0 is the most significant.
    const nibbles = <usize>(NIBBLE_TABLES + (j << 7));
    for (let v = 0; v < 16; v++) {
      const high = load<u32>(table + ((v << 4) << 2));
      const low = load<u32>(table + (v << 2));
      for (let k = 0; k < 4; k++) {
        const shift = <u32>(24 - 8 * k);
        store<u8>(nibbles + (k << 4) + v, <u8>(high >> shift));
        store<u8>(nibbles + 64 + (k << 4) + v, <u8>(low >> shift));
      }
    }
  }
  return covered;
}
