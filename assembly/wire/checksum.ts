/**
 * The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit
 * words. That sum does not depend on byte order (RFC 1071 section 2(B)): summing little-endian
 * words gives the byte-swapped sum, so we add words as WebAssembly loads them and never swap
 * until the end. A header or segment with its checksum field in place sums to 0xffff when valid.
 */

/**
 * The unfolded sum of `length` bytes at `p` as little-endian 16-bit words (an odd last byte is
 * padded with zero, as the RFC pads it). Thirty-two bytes a step into two accumulators, so the
 * additions of one step do not wait for the last: i32x4.extadd_pairwise adds eight words into
 * four 32-bit lanes, which cannot overflow within a 64 KiB packet. The tail goes four bytes at a
 * time: a little-endian u32 is two words, and 2^16 = 1 modulo 0xffff, so adding it whole is
 * adding the two words (the final fold takes the carries round).
 */
export function sumWords(p: usize, length: u32): u64 {
  let a = i32x4.splat(0), b = i32x4.splat(0);
  let i: u32 = 0;
  for (; i + 32 <= length; i += 32) {
    a = i32x4.add(a, i32x4.extadd_pairwise_i16x8_u(v128.load(p + i)));
    b = i32x4.add(b, i32x4.extadd_pairwise_i16x8_u(v128.load(p + i, 16)));
  }
  if (i + 16 <= length) {
    a = i32x4.add(a, i32x4.extadd_pairwise_i16x8_u(v128.load(p + i)));
    i += 16;
  }
  const lanes = i32x4.add(a, b);
  let sum: u64 = <u64>i32x4.extract_lane(lanes, 0) + <u64>i32x4.extract_lane(lanes, 1)
    + <u64>i32x4.extract_lane(lanes, 2) + <u64>i32x4.extract_lane(lanes, 3);
  for (; i + 4 <= length; i += 4) sum += <u64>load<u32>(p + i);
  if (i + 2 <= length) {
    sum += <u64>load<u16>(p + i);
    i += 2;
  }
  if (i < length) sum += <u64>load<u8>(p + i);
  return sum;
}

/** Folds a sum to 16 bits with end-around carries. */
// @ts-ignore: decorator
@inline export function fold(sum: u64): u32 {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return <u32>((sum & 0xffff) + (sum >> 16));
}

/** True when `sum` (data including its checksum field) is a valid ones' complement sum. */
// @ts-ignore: decorator
@inline export function sumIsValid(sum: u64): bool {
  return fold(sum) == 0xffff;
}

/**
 * The pseudo-header sum for TCP and UDP (RFC 9293 section 3.1, RFC 8200 section 8.1):
 * addresses (`addressLength` bytes each at `src` and `dst`), protocol and upper-layer length,
 * in the little-endian word domain of sumWords.
 */
// @ts-ignore: decorator
@inline export function pseudoHeaderSum(src: usize, dst: usize, addressLength: u32, protocol: u32, length: u32): u64 {
  // Big-endian word w read little-endian is bswap16(w): protocol (0, p) -> p << 8.
  const addresses: u64 = addressLength == 4
    ? <u64>load<u32>(src) + <u64>load<u32>(dst)
    : sumWords(src, addressLength) + sumWords(dst, addressLength);
  return addresses + <u64>(protocol << 8) + <u64>bswap<u16>(<u16>length) + <u64>bswap<u16>(<u16>(length >> 16));
}
