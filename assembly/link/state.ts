/**
 * The link layer's fixed region (shared/abi.ts, LINK_STATE): our addresses, timers, counters.
 * Names here are absolute addresses, so the other files read `load<u32>(IPV4)` and not offsets.
 */
import {
  LINK_DELAY_MS, LINK_FAILED_MS, LINK_FLAGS, LINK_GATEWAY4, LINK_GATEWAY6, LINK_IP_ID, LINK_IPV4, LINK_IPV4_MASK,
  LINK_IPV4_PREFIX, LINK_IPV6, LINK_IPV6_LINK_LOCAL, LINK_IPV6_PREFIX, LINK_MAC, LINK_MULTICAST_SOLICIT,
  LINK_NEXT_TIMER, LINK_REACHABLE_MS, LINK_RETRANS_MS, LINK_SLOT_BYTES, LINK_SLOT_PACKETS, LINK_STALE_MS,
  LINK_STAT_DROP, LINK_STAT_DROPPED, LINK_STATE, LINK_STATS, LINK_UNICAST_SOLICIT, LinkFlag,
} from "../shared/abi";
import * as ipv6 from "../wire/ipv6";

export const MAC: usize = LINK_STATE + LINK_MAC;
export const FLAGS: usize = LINK_STATE + LINK_FLAGS;
export const IPV4: usize = LINK_STATE + LINK_IPV4;
export const IPV4_PREFIX: usize = LINK_STATE + LINK_IPV4_PREFIX;
export const IPV4_MASK: usize = LINK_STATE + LINK_IPV4_MASK;
export const GATEWAY4: usize = LINK_STATE + LINK_GATEWAY4;
export const IPV6: usize = LINK_STATE + LINK_IPV6;
export const IPV6_PREFIX: usize = LINK_STATE + LINK_IPV6_PREFIX;
export const GATEWAY6: usize = LINK_STATE + LINK_GATEWAY6;
export const LINK_LOCAL: usize = LINK_STATE + LINK_IPV6_LINK_LOCAL;
export const IP_ID: usize = LINK_STATE + LINK_IP_ID;
export const SLOT_PACKETS: usize = LINK_STATE + LINK_SLOT_PACKETS;
export const SLOT_BYTES: usize = LINK_STATE + LINK_SLOT_BYTES;
export const NEXT_TIMER: usize = LINK_STATE + LINK_NEXT_TIMER;

/** ff:ff:ff:ff:ff:ff */
export const BROADCAST: usize = memory.data<u8>([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0]);
/** Zero bytes: the target hardware address of an ARP request ("not known yet"). */
export const ZEROS: usize = memory.data(16);

// @ts-ignore: decorator
@inline export function has(flag: LinkFlag): bool { return (load<u32>(FLAGS) & flag) != 0; }

// Timers in ns, limits as counts.
// @ts-ignore: decorator
@inline function ms(at: u32): i64 { return <i64>load<u32>(LINK_STATE + at) * 1_000_000; }
// @ts-ignore: decorator
@inline export function retransNs(): i64 { return ms(LINK_RETRANS_MS); }
// @ts-ignore: decorator
@inline export function reachableNs(): i64 { return ms(LINK_REACHABLE_MS); }
// @ts-ignore: decorator
@inline export function delayNs(): i64 { return ms(LINK_DELAY_MS); }
// @ts-ignore: decorator
@inline export function staleNs(): i64 { return ms(LINK_STALE_MS); }
// @ts-ignore: decorator
@inline export function failedNs(): i64 { return ms(LINK_FAILED_MS); }
// @ts-ignore: decorator
@inline export function multicastSolicit(): u32 { return load<u32>(LINK_STATE + LINK_MULTICAST_SOLICIT); }
// @ts-ignore: decorator
@inline export function unicastSolicit(): u32 { return load<u32>(LINK_STATE + LINK_UNICAST_SOLICIT); }

/** Brings the earliest timer forward to `at` when it is sooner. */
// @ts-ignore: decorator
@inline export function schedule(at: i64): void {
  if (at < load<i64>(NEXT_TIMER)) store<i64>(NEXT_TIMER, at);
}

// @ts-ignore: decorator
@inline export function count(stat: i32, n: u64 = 1): void {
  const a = <usize>LINK_STATE + <usize>LINK_STATS + (<usize>stat << 3);
  store<u64>(a, load<u64>(a) + n);
}

// @ts-ignore: decorator
@inline export function countDrop(reason: i32): void {
  count(LINK_STAT_DROPPED);
  count(LINK_STAT_DROP + reason);
}

/** Our address (global, else link-local) is `a`: 16 bytes. */
// @ts-ignore: decorator
@inline export function isOurIpv6(a: usize): bool {
  return has(LinkFlag.IPV6) && (ipv6.sameAddress(a, IPV6) || ipv6.sameAddress(a, LINK_LOCAL));
}

/** Our IPv4 address is the 4 bytes at `a`. */
// @ts-ignore: decorator
@inline export function isOurIpv4(a: usize): bool {
  return has(LinkFlag.IPV4) && load<u32>(a) == load<u32>(IPV4);
}
