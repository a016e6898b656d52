/**
 * The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit
 * words. That sum does not depend on byte order (RFC 1071 section 2(B)): summing little-endian
 * words gives the byte-swapped sum, so we add words as WebAssembly loads them and never swap
 * until the end. A header or segment with its checksum field in place sums to 0xffff when valid.
 */

/**
 * The unfolded sum of `length` bytes at `p` as little-endian 16-bit words (an odd last byte is
 * padded with zero, as the RFC pads it). Sixteen bytes a step: i32x4.extadd_pairwise adds eight
 * words into four 32-bit lanes, which cannot overflow within a 64 KiB packet.
 */
export function sumWords(p: usize, length: u32): u64 {
  let lanes = i32x4.splat(0);
  let i: u32 = 0;
  for (; i + 16 <= length; i += 16) {
    lanes = i32x4.add(lanes, i32x4.extadd_pairwise_i16x8_u(v128.load(p + i)));
  }
  let sum: u64 = <u64>i32x4.extract_lane(lanes, 0) + <u64>i32x4.extract_lane(lanes, 1)
    + <u64>i32x4.extract_lane(lanes, 2) + <u64>i32x4.extract_lane(lanes, 3);
  for (; i + 2 <= length; i += 2) sum += <u64>load<u16>(p + i);
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
export function pseudoHeaderSum(src: usize, dst: usize, addressLength: u32, protocol: u32, length: u32): u64 {
  // Big-endian word w read little-endian is bswap16(w): protocol (0, p) -> p << 8.
  return sumWords(src, addressLength) + sumWords(dst, addressLength)
    + <u64>(protocol << 8) + <u64>bswap<u16>(<u16>length) + <u64>bswap<u16>(<u16>(length >> 16));
}
