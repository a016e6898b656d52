/**
 * Our local addresses: per family, a first address and a count of consecutive ones (as
 * `--src-count` and the port pools number them). Address index i is the first plus i.
 */
import { CFG_LOCAL4, CFG_LOCAL4_COUNT, CFG_LOCAL6, CFG_LOCAL6_COUNT } from "../shared/abi";
import { cfg32, cfgAt } from "./state";

/** The index of `address` among our addresses of `family`, or -1 when it is not ours. */
// @ts-ignore: decorator
@inline export function localIndex(family: u32, address: usize): i32 {
  if (family == 4) {
    const i = bswap<u32>(load<u32>(address)) - bswap<u32>(load<u32>(cfgAt(CFG_LOCAL4)));
    return i < cfg32(CFG_LOCAL4_COUNT) ? <i32>i : -1;
  }
  const first = cfgAt(CFG_LOCAL6);
  if (load<u64>(address) != load<u64>(first)) return -1;
  const i = bswap<u64>(load<u64>(address, 8)) - bswap<u64>(load<u64>(first, 8));
  return i < <u64>cfg32(CFG_LOCAL6_COUNT) ? <i32>i : -1;
}

/** Writes our address `index` of `family` (4 or 16 bytes) at `to`. */
export function localAddress(family: u32, index: u32, to: usize): void {
  if (family == 4) {
    store<u32>(to, bswap<u32>(bswap<u32>(load<u32>(cfgAt(CFG_LOCAL4))) + index));
    return;
  }
  const first = cfgAt(CFG_LOCAL6);
  store<u64>(to, load<u64>(first));
  store<u64>(to, bswap<u64>(bswap<u64>(load<u64>(first, 8)) + <u64>index), 8);
}

/** How many local addresses `family` has (0: none configured). */
// @ts-ignore: decorator
@inline export function localCount(family: u32): u32 {
  return family == 4 ? cfg32(CFG_LOCAL4_COUNT) : cfg32(CFG_LOCAL6_COUNT);
}
