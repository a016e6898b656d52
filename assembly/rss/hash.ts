/**
 * Hashing tuples with the schedule from schedule.ts.
 *
 * A tuple is its field set's input bytes in network order (source address, destination address,
 * source port, destination port), packed back to back in a batch: stride = input length.
 *
 * Two paths compute the same function:
 * - scalar: one byte-table lookup per input byte; used for single tuples, the tail of a batch,
 *   and as the reference the SIMD path is tested against;
 * - SIMD: 16 tuples at a time. The group is transposed so that vector j holds input byte j of all
 *   16 tuples, then each byte's two nibbles index 16-entry tables with i8x16.swizzle, one table per
 *   hash byte. With relaxed SIMD (a separate build) the swizzle is relaxed_swizzle: nibbles are
 *   always in range, so the out-of-range guard plain swizzle pays for is dead weight.
 */
import {
  BYTE_TABLES, FieldSet, GROUP, InputTransform, IPV4_INPUT, IPV4_L4_INPUT, IPV6_INPUT, IPV6_L4_INPUT,
  NIBBLE_TABLES, SCRATCH, STAGE, TUPLE_TMP,
} from "../shared/abi";

let transform: i32 = InputTransform.NONE;

export function setTransform(xfrm: i32): void {
  transform = xfrm;
}

export function currentTransform(): i32 {
  return transform;
}

export function inputLength(fields: i32): i32 {
  switch (fields) {
    case FieldSet.IPV4: return IPV4_INPUT;
    case FieldSet.IPV4_L4: return IPV4_L4_INPUT;
    case FieldSet.IPV6: return IPV6_INPUT;
    default: return IPV6_L4_INPUT;
  }
}

// @ts-ignore: decorator
@inline function addressLength(fields: i32): i32 {
  return fields <= FieldSet.IPV4_L4 ? 4 : 16;
}

// ---------------------------------------------------------------------------------------------
// scalar path

/** Hash of `length` input bytes at `p`, no transform. */
// @ts-ignore: decorator
@inline function hashBytes(p: usize, length: i32): u32 {
  let h: u32 = 0;
  for (let j = 0; j < length; j++) {
    h ^= load<u32>(<usize>(BYTE_TABLES + (j << 10)) + (<usize>load<u8>(p + j) << 2));
  }
  return h;
}

/** Applies the input transform to the tuple at `p` into TUPLE_TMP and returns TUPLE_TMP. */
function transformed(p: usize, fields: i32): usize {
  const length = inputLength(fields);
  memory.copy(TUPLE_TMP, p, length);
  const a = addressLength(fields);
  pairUp(TUPLE_TMP, TUPLE_TMP + a, a);
  if (length > 2 * a) {
    pairUp(TUPLE_TMP + 2 * a, TUPLE_TMP + 2 * a + 2, 2);
  }
  return TUPLE_TMP;
}

/** (src, dst) -> the transform's pair, bytewise over `n` bytes. */
function pairUp(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const s = load<u8>(src + i), d = load<u8>(dst + i);
    store<u8>(src + i, transform == InputTransform.SYMMETRIC_XOR ? s ^ d : s | d);
    store<u8>(dst + i, s ^ d);
  }
}

/** Hash of one tuple of field set `fields` at `p`. */
export function hashTuple(p: usize, fields: i32): u32 {
  if (transform != InputTransform.NONE) p = transformed(p, fields);
  return hashBytes(p, inputLength(fields));
}

/** Scalar batch: `count` tuples at `tuples` to `count` u32 hashes at `out`. */
export function hashBatchScalar(tuples: usize, count: i32, fields: i32, out: usize): void {
  const stride = <usize>inputLength(fields);
  for (let i = 0; i < count; i++) {
    store<u32>(out + (<usize>i << 2), hashTuple(tuples + <usize>i * stride, fields));
  }
}

// ---------------------------------------------------------------------------------------------
// SIMD path

/**
 * Transposes 16 rows of 16 bytes (row t at src + t * stride) into SCRATCH + dst: vector j holds
 * byte j of every row. Only the first `vectors` (a multiple of 4) outputs are written.
 *
 * Four rows at a time, bytes then 16-bit pairs are interleaved, which leaves dword m of quarter k
 * holding byte 4k + m of those four rows; a 4 x 4 dword transpose across the four quarters
 * finishes the job. Staging the quarters in memory keeps V8 from spilling half the registers.
 */
function transpose16(src: usize, stride: usize, dst: usize, vectors: i32): void {
  const stage = <usize>STAGE;
  for (let q: usize = 0; q < 4; q++) {
    const row = src + q * 4 * stride;
    const r0 = v128.load(row), r1 = v128.load(row + stride);
    const r2 = v128.load(row + 2 * stride), r3 = v128.load(row + 3 * stride);
    const a0 = i8x16.shuffle(r0, r1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const a1 = i8x16.shuffle(r0, r1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const a2 = i8x16.shuffle(r2, r3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const a3 = i8x16.shuffle(r2, r3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const s = stage + q * 16;
    v128.store(s, i16x8.shuffle(a0, a2, 0, 8, 1, 9, 2, 10, 3, 11));
    v128.store(s, i16x8.shuffle(a0, a2, 4, 12, 5, 13, 6, 14, 7, 15), 64);
    if (vectors > 8) {
      v128.store(s, i16x8.shuffle(a1, a3, 0, 8, 1, 9, 2, 10, 3, 11), 128);
      if (vectors > 12) v128.store(s, i16x8.shuffle(a1, a3, 4, 12, 5, 13, 6, 14, 7, 15), 192);
    }
  }
  for (let k = 0; k < vectors >> 2; k++) {
    const s = stage + <usize>k * 64;
    const q0 = v128.load(s), q1 = v128.load(s, 16), q2 = v128.load(s, 32), q3 = v128.load(s, 48);
    const lo01 = i32x4.shuffle(q0, q1, 0, 4, 1, 5), hi01 = i32x4.shuffle(q0, q1, 2, 6, 3, 7);
    const lo23 = i32x4.shuffle(q2, q3, 0, 4, 1, 5), hi23 = i32x4.shuffle(q2, q3, 2, 6, 3, 7);
    const d = dst + <usize>k * 64;
    v128.store(d, i64x2.shuffle(lo01, lo23, 0, 2));
    v128.store(d, i64x2.shuffle(lo01, lo23, 1, 3), 16);
    v128.store(d, i64x2.shuffle(hi01, hi23, 0, 2), 32);
    v128.store(d, i64x2.shuffle(hi01, hi23, 1, 3), 48);
  }
}

// @ts-ignore: decorator
@inline function lookup(table: v128, nibbles: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(table, nibbles);
  return i8x16.swizzle(table, nibbles);
}

/** The transform on transposed vectors: pairs (src + i, dst + i) for i < n vectors. */
function pairUpVectors(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const p = src + (<usize>i << 4), q = dst + (<usize>i << 4);
    const s = v128.load(p), d = v128.load(q);
    v128.store(p, transform == InputTransform.SYMMETRIC_XOR ? v128.xor(s, d) : v128.or(s, d));
    v128.store(q, v128.xor(s, d));
  }
}

/** Hashes 16 tuples at `tuples` (stride = input length) into 16 u32 at `out`. */
function hashGroup(tuples: usize, fields: i32, out: usize): void {
  const length = inputLength(fields);
  const stride = <usize>length;
  // 16-byte rows: a 12-byte tuple's row reads 4 bytes of the next tuple, which the lookups ignore.
  for (let c = 0; c < length; c += 16) {
    const valid = min(length - c, 16);
    transpose16(tuples + <usize>c, stride, <usize>SCRATCH + (<usize>c << 4), (valid + 3) & ~3);
  }
  if (transform != InputTransform.NONE) {
    const a = addressLength(fields);
    pairUpVectors(SCRATCH, <usize>SCRATCH + (<usize>a << 4), a);
    if (length > 2 * a) {
      const ports = <usize>SCRATCH + (<usize>(2 * a) << 4);
      pairUpVectors(ports, ports + 32, 2);
    }
  }
  const mask = i8x16.splat(0x0f);
  let h0 = i32x4.splat(0), h1 = i32x4.splat(0), h2 = i32x4.splat(0), h3 = i32x4.splat(0);
  for (let j = 0; j < length; j++) {
    const v = v128.load(<usize>SCRATCH + (<usize>j << 4));
    const high = v128.and(i16x8.shr_u(v, 4), mask);
    const low = v128.and(v, mask);
    const t = <usize>(NIBBLE_TABLES + (j << 7));
    h0 = v128.xor(h0, v128.xor(lookup(v128.load(t), high), lookup(v128.load(t, 64), low)));
    h1 = v128.xor(h1, v128.xor(lookup(v128.load(t, 16), high), lookup(v128.load(t, 80), low)));
    h2 = v128.xor(h2, v128.xor(lookup(v128.load(t, 32), high), lookup(v128.load(t, 96), low)));
    h3 = v128.xor(h3, v128.xor(lookup(v128.load(t, 48), high), lookup(v128.load(t, 112), low)));
  }
  // h0 holds the most significant hash byte of each tuple; memory wants little-endian u32s.
  const b32lo = i8x16.shuffle(h3, h2, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const b32hi = i8x16.shuffle(h3, h2, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const b10lo = i8x16.shuffle(h1, h0, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const b10hi = i8x16.shuffle(h1, h0, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  v128.store(out, i16x8.shuffle(b32lo, b10lo, 0, 8, 1, 9, 2, 10, 3, 11));
  v128.store(out, i16x8.shuffle(b32lo, b10lo, 4, 12, 5, 13, 6, 14, 7, 15), 16);
  v128.store(out, i16x8.shuffle(b32hi, b10hi, 0, 8, 1, 9, 2, 10, 3, 11), 32);
  v128.store(out, i16x8.shuffle(b32hi, b10hi, 4, 12, 5, 13, 6, 14, 7, 15), 48);
}

/**
 * Batch: `count` tuples at `tuples` to `count` u32 hashes at `out`. Groups of 16 go through the
 * SIMD kernel while their 16-byte row reads stay inside the batch; the rest go scalar.
 */
export function hashBatch(tuples: usize, count: i32, fields: i32, out: usize): void {
  const stride = <usize>inputLength(fields);
  const rowBytes = <usize>((inputLength(fields) + 15) & ~15);
  const end = tuples + <usize>count * stride;
  let i = 0;
  while (i + GROUP <= count && tuples + <usize>(i + GROUP - 1) * stride + rowBytes <= end) {
    hashGroup(tuples + <usize>i * stride, fields, out + (<usize>i << 2));
    i += GROUP;
  }
  if (i < count) hashBatchScalar(tuples + <usize>i * stride, count - i, fields, out + (<usize>i << 2));
}
