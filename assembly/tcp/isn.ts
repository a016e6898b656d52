/**
 * Initial sequence numbers and timestamp offsets (RFC 6528): ISN = M + F(4-tuple, secret), M a
 * clock ticking every 4 microseconds, F a keyed pseudorandom function, here SipHash-2-4 (Aumasson
 * and Bernstein, 2012) keyed by CFG_SECRET. One SipHash gives both: its low half is F for the
 * ISN, its high half the connection's timestamp offset (RFC 7323 section 5.4 asks for a random
 * offset per connection, so timestamps reveal no clock and old ones from a previous incarnation
 * of the tuple compare as the clock says).
 */
import { CFG_SECRET } from "../shared/abi";
import { cfg64 } from "./state";

// @ts-ignore: decorator
@inline function rotl(x: u64, b: u64): u64 { return (x << b) | (x >> (64 - b)); }

let v0: u64 = 0, v1: u64 = 0, v2: u64 = 0, v3: u64 = 0;

// @ts-ignore: decorator
@inline function round(): void {
  v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
  v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
}

/** SipHash-2-4 of `length` bytes at `p` (a multiple of 4, at most 64) under key (k0, k1). */
export function siphash(p: usize, length: u32, k0: u64, k1: u64): u64 {
  v0 = k0 ^ 0x736f6d6570736575;
  v1 = k1 ^ 0x646f72616e646f6d;
  v2 = k0 ^ 0x6c7967656e657261;
  v3 = k1 ^ 0x7465646279746573;
  let i: u32 = 0;
  for (; i + 8 <= length; i += 8) {
    const m = load<u64>(p + i);
    v3 ^= m; round(); round(); v0 ^= m;
  }
  // The last block: the remaining bytes, zero-padded, and the length in the top byte.
  let last: u64 = <u64>(length & 0xff) << 56;
  if (i < length) last |= <u64>load<u32>(p + i);
  v3 ^= last; round(); round(); v0 ^= last;
  v2 ^= 0xff;
  round(); round(); round(); round();
  return v0 ^ v1 ^ v2 ^ v3;
}

/** F(tuple) for the tuple bytes at `tuple` (`length` bytes), under the configured secret. */
// @ts-ignore: decorator
@inline export function tupleSecret(tuple: usize, length: u32): u64 {
  return siphash(tuple, length, cfg64(CFG_SECRET), cfg64(CFG_SECRET + 8));
}
