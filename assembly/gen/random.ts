/**
 * Deterministic random numbers (xorshift64*). Each conversation carries its own state, seeded from
 * (run seed, conversation id) by splitmix64, so what a conversation contains never depends on
 * which thread generated it or what else was generated around it.
 */

/** splitmix64: decorrelates nearby seeds (conversation 7 and 8 look nothing alike). */
export function mix(x: u64): u64 {
  x += 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

/** Advances the xorshift64* state at `p` and returns the next value. */
export function next(p: usize): u64 {
  let x = load<u64>(p);
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  store<u64>(p, x);
  return x * 0x2545f4914f6cdd1d;
}

/** Uniform in [0, n). */
// @ts-ignore: decorator
@inline export function below(p: usize, n: u32): u32 {
  return <u32>(((next(p) >> 32) * <u64>n) >> 32);
}

/** True with probability perMille / 1000. */
// @ts-ignore: decorator
@inline export function chance(p: usize, perMille: u32): bool {
  return below(p, 1000) < perMille;
}
