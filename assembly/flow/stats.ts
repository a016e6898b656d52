/** The engine's u64 counters in FLOW_STATE (STAT_* in shared/abi.ts), read by the host. */
import { FLOW_STATE } from "../shared/abi";

// @ts-ignore: decorator
@inline export function count(stat: i32, n: u64 = 1): void {
  const p = <usize>FLOW_STATE + (<usize>stat << 3);
  store<u64>(p, load<u64>(p) + n);
}

// @ts-ignore: decorator
@inline export function stat(stat: i32): u64 {
  return load<u64>(<usize>FLOW_STATE + (<usize>stat << 3));
}

// @ts-ignore: decorator
@inline export function setStat(stat: i32, value: u64): void {
  store<u64>(<usize>FLOW_STATE + (<usize>stat << 3), value);
}
