/**
 * A small deterministic generator (xorshift64*): the same seed gives the same traffic on every
 * machine and in every core count.
 */
let state: u64 = 0x9e3779b97f4a7c15;

export function seed(s: u64): void {
  state = s != 0 ? s : 0x9e3779b97f4a7c15;
}

export function next(): u64 {
  let x = state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  state = x;
  return x * 0x2545f4914f6cdd1d;
}

/** Uniform in [0, n). */
// @ts-ignore: decorator
@inline export function below(n: u32): u32 {
  return <u32>(((next() >> 32) * <u64>n) >> 32);
}

/** True with probability perMille / 1000. */
// @ts-ignore: decorator
@inline export function chance(perMille: u32): bool {
  return below(1000) < perMille;
}
