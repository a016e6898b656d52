/**
 * Linux cooked capture, version 1 (LINKTYPE_LINUX_SLL, 113): what `tcpdump -i any` wrote before
 * libpcap 1.10, and writes with `-y LINUX_SLL`. The "any" device spans links of every kind, so a
 * pseudo-header stands in for each packet's own link header (all fields big-endian):
 *
 *   packet type u16      to this host, broadcast, multicast, to another host, sent by this host
 *   ARPHRD type u16      the link's kind (1 Ethernet, 772 loopback, ...)
 *   address length u16   then the link-layer source address, 8 bytes, zero-padded
 *   protocol u16         an EtherType on the links IP runs on: 0x0800, 0x86dd, 0x0806 (ARP)
 *
 * A VLAN tag the kernel took off a packet is put back by libpcap right after the header, as in
 * an Ethernet frame: protocol 0x8100, then the TCI and the protocol inside (ethernet.skipTags).
 */

// Field offsets.
const PACKET_TYPE = 0; // u16
const ARPHRD_TYPE = 2; // u16
const ADDRESS_LENGTH = 4; // u16
const ADDRESS = 6; // 8 bytes
const PROTOCOL = 14; // u16
export const HEADER_LENGTH = 16;

// @ts-ignore: decorator
@inline export function packetType(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + PACKET_TYPE)); }
// @ts-ignore: decorator
@inline export function arphrdType(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + ARPHRD_TYPE)); }
// @ts-ignore: decorator
@inline export function addressLength(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + ADDRESS_LENGTH)); }
// @ts-ignore: decorator
@inline export function address(p: usize): usize { return p + ADDRESS; }
/** The protocol field: an EtherType (VLAN tags included) for every link that carries IP. */
// @ts-ignore: decorator
@inline export function protocol(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + PROTOCOL)); }
