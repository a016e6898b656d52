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
  NIBBLE_TABLES, SCRATCH, TUPLE_TMP,
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
 * Transposes 16 rows of 16 bytes (row t at src + t * stride) into vectors at dst: vector j
 * holds byte j of every row. Four interleaving stages (bytes, 16-bit pairs, dwords, qwords), each
 * an unpack instruction on x86, straight-line so V8 keeps the rows in registers. Only the first
 * `vectors` outputs (4, 8, 12 or 16; a constant once inlined) are computed.
 */
// @ts-ignore: decorator
@inline function transpose16(src: usize, stride: usize, dst: usize, vectors: i32): void {
  const r0 = v128.load(src), r1 = v128.load(src + stride);
  const r2 = v128.load(src + 2 * stride), r3 = v128.load(src + 3 * stride);
  const r4 = v128.load(src + 4 * stride), r5 = v128.load(src + 5 * stride);
  const r6 = v128.load(src + 6 * stride), r7 = v128.load(src + 7 * stride);
  const r8 = v128.load(src + 8 * stride), r9 = v128.load(src + 9 * stride);
  const r10 = v128.load(src + 10 * stride), r11 = v128.load(src + 11 * stride);
  const r12 = v128.load(src + 12 * stride), r13 = v128.load(src + 13 * stride);
  const r14 = v128.load(src + 14 * stride), r15 = v128.load(src + 15 * stride);
  // bytes: a(2k) = rows 2k, 2k+1 interleaved, bytes 0-7; a(2k+1) bytes 8-15
  const a0 = lo8(r0, r1), a1 = hi8(r0, r1), a2 = lo8(r2, r3), a3 = hi8(r2, r3);
  const a4 = lo8(r4, r5), a5 = hi8(r4, r5), a6 = lo8(r6, r7), a7 = hi8(r6, r7);
  const a8 = lo8(r8, r9), a9 = hi8(r8, r9), a10 = lo8(r10, r11), a11 = hi8(r10, r11);
  const a12 = lo8(r12, r13), a13 = hi8(r12, r13), a14 = lo8(r14, r15), a15 = hi8(r14, r15);
  // 16-bit pairs: b holds four rows' bytes 4m..4m+3
  const b0 = lo16(a0, a2), b1 = hi16(a0, a2), b4 = lo16(a4, a6), b5 = hi16(a4, a6);
  const b8 = lo16(a8, a10), b9 = hi16(a8, a10), b12 = lo16(a12, a14), b13 = hi16(a12, a14);
  // dwords: eight rows' bytes 2m, 2m+1; qwords: all sixteen rows' byte j
  const c0 = lo32(b0, b4), c1 = hi32(b0, b4), c8 = lo32(b8, b12), c9 = hi32(b8, b12);
  v128.store(dst, lo64(c0, c8)); v128.store(dst, hi64(c0, c8), 16);
  v128.store(dst, lo64(c1, c9), 32); v128.store(dst, hi64(c1, c9), 48);
  if (vectors <= 4) return;
  const c2 = lo32(b1, b5), c3 = hi32(b1, b5), c10 = lo32(b9, b13), c11 = hi32(b9, b13);
  v128.store(dst, lo64(c2, c10), 64); v128.store(dst, hi64(c2, c10), 80);
  v128.store(dst, lo64(c3, c11), 96); v128.store(dst, hi64(c3, c11), 112);
  if (vectors <= 8) return;
  const b2 = lo16(a1, a3), b6 = lo16(a5, a7), b10 = lo16(a9, a11), b14 = lo16(a13, a15);
  const c4 = lo32(b2, b6), c5 = hi32(b2, b6), c12 = lo32(b10, b14), c13 = hi32(b10, b14);
  v128.store(dst, lo64(c4, c12), 128); v128.store(dst, hi64(c4, c12), 144);
  v128.store(dst, lo64(c5, c13), 160); v128.store(dst, hi64(c5, c13), 176);
  if (vectors <= 12) return;
  const b3 = hi16(a1, a3), b7 = hi16(a5, a7), b11 = hi16(a9, a11), b15 = hi16(a13, a15);
  const c6 = lo32(b3, b7), c7 = hi32(b3, b7), c14 = lo32(b11, b15), c15 = hi32(b11, b15);
  v128.store(dst, lo64(c6, c14), 192); v128.store(dst, hi64(c6, c14), 208);
  v128.store(dst, lo64(c7, c15), 224); v128.store(dst, hi64(c7, c15), 240);
}

// @ts-ignore: decorator
@inline function lo8(a: v128, b: v128): v128 { return i8x16.shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23); }
// @ts-ignore: decorator
@inline function hi8(a: v128, b: v128): v128 { return i8x16.shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31); }
// @ts-ignore: decorator
@inline function lo16(a: v128, b: v128): v128 { return i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11); }
// @ts-ignore: decorator
@inline function hi16(a: v128, b: v128): v128 { return i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15); }
// @ts-ignore: decorator
@inline function lo32(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 0, 4, 1, 5); }
// @ts-ignore: decorator
@inline function hi32(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 2, 6, 3, 7); }
// @ts-ignore: decorator
@inline function lo64(a: v128, b: v128): v128 { return i64x2.shuffle(a, b, 0, 2); }
// @ts-ignore: decorator
@inline function hi64(a: v128, b: v128): v128 { return i64x2.shuffle(a, b, 1, 3); }

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

/**
 * Hashes 16 tuples at `tuples` (stride = input length) into 16 u32 at `out`. Inlined with a
 * constant `length` per field set, so the loops below have constant bounds.
 */
// @ts-ignore: decorator
@inline function hashGroup(tuples: usize, fields: i32, length: i32, out: usize): void {
  const stride = <usize>length;
  // 16-byte rows: a 12-byte tuple's row reads 4 bytes of the next tuple, which the lookups ignore.
  for (let c = 0; c < length; c += 16) {
    transpose16(tuples + <usize>c, stride, <usize>SCRATCH + (<usize>c << 4), (min(length - c, 16) + 3) & ~3);
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
  switch (fields) {
    case FieldSet.IPV4: hashGroupsIpv4(tuples, count, out); break;
    case FieldSet.IPV4_L4: hashGroupsIpv4L4(tuples, count, out); break;
    case FieldSet.IPV6: hashGroupsIpv6(tuples, count, out); break;
    default: hashGroupsIpv6L4(tuples, count, out);
  }
}

// One function per field set, each optimized with its length a constant before anything inlines
// it. Inlined straight into the switch above, the four bodies differ only in the constants their
// parameters are set to, and Binaryen folds them into one body whose loops test a variable
// length: measured, that costs the kernel 4 to 5 percent (BENCHMARKS.md).
function hashGroupsIpv4(tuples: usize, count: i32, out: usize): void {
  hashGroups(tuples, count, FieldSet.IPV4, IPV4_INPUT, out);
}
function hashGroupsIpv4L4(tuples: usize, count: i32, out: usize): void {
  hashGroups(tuples, count, FieldSet.IPV4_L4, IPV4_L4_INPUT, out);
}
function hashGroupsIpv6(tuples: usize, count: i32, out: usize): void {
  hashGroups(tuples, count, FieldSet.IPV6, IPV6_INPUT, out);
}
function hashGroupsIpv6L4(tuples: usize, count: i32, out: usize): void {
  hashGroups(tuples, count, FieldSet.IPV6_L4, IPV6_L4_INPUT, out);
}

// @ts-ignore: decorator
@inline function hashGroups(tuples: usize, count: i32, fields: i32, length: i32, out: usize): void {
  const stride = <usize>length;
  const rowBytes = <usize>((length + 15) & ~15);
  const end = tuples + <usize>count * stride;
  let i = 0;
  while (i + GROUP <= count && tuples + <usize>(i + GROUP - 1) * stride + rowBytes <= end) {
    hashGroup(tuples + <usize>i * stride, fields, length, out + (<usize>i << 2));
    i += GROUP;
  }
  if (i < count) hashBatchScalar(tuples + <usize>i * stride, count - i, fields, out + (<usize>i << 2));
}
