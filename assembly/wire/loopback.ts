/**
 * BSD loopback encapsulation: LINKTYPE_NULL (0; lo0 on the BSDs and macOS) and LINKTYPE_LOOP (108;
 * OpenBSD). A 4-byte header holds the packet's address family (AF_*), then the network header.
 *
 * LOOP writes the family in network byte order. NULL writes it in the byte order of the host that
 * captured, which the file does not record (a pcap's byte order is its writer's, and files are
 * converted and moved): every family value is below 2^16, so a value that is not was written in
 * the other order, and swapping it gives the family. Wireshark reads NULL the same way.
 *
 * AF_INET is 2 everywhere. AF_INET6 differs: 24 on NetBSD, OpenBSD and BSD/OS, 28 on FreeBSD and
 * DragonFly, 30 on Darwin; all three mean IPv6 whichever system reads the file. (Linux's 10 does
 * not occur: Linux loopback captures are Ethernet or cooked.)
 */

// Field offsets.
const FAMILY = 0; // u32
export const HEADER_LENGTH = 4;

const AF_INET: u32 = 2;
const AF_INET6_BSD: u32 = 24;
const AF_INET6_FREEBSD: u32 = 28;
const AF_INET6_DARWIN: u32 = 30;

/** LINKTYPE_NULL's family, in whichever byte order it was written. */
// @ts-ignore: decorator
@inline export function familyEitherOrder(p: usize): u32 {
  const loaded = load<u32>(p + FAMILY);
  return loaded > 0xffff ? bswap<u32>(loaded) : loaded;
}

/** LINKTYPE_LOOP's family, network byte order. */
// @ts-ignore: decorator
@inline export function familyNetworkOrder(p: usize): u32 { return bswap<u32>(load<u32>(p + FAMILY)); }

/** 4 or 6 for the IP families, 0 for any other (not IP). */
// @ts-ignore: decorator
@inline export function ipVersion(family: u32): u32 {
  if (family == AF_INET) return 4;
  if (family == AF_INET6_BSD || family == AF_INET6_FREEBSD || family == AF_INET6_DARWIN) return 6;
  return 0;
}
