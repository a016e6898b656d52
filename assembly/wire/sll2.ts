/**
 * Linux cooked capture, version 2 (LINKTYPE_LINUX_SLL2, 276): what `tcpdump -i any` writes since
 * libpcap 1.10. Version 1's fields (sll.ts), reordered with the protocol first, and the index of
 * the interface the packet was seen on (all fields big-endian):
 *
 *   protocol u16          an EtherType on the links IP runs on: 0x0800, 0x86dd, 0x0806 (ARP)
 *   reserved u16          zero
 *   interface index u32   the kernel's ifindex
 *   ARPHRD type u16       the link's kind (1 Ethernet, 772 loopback, ...)
 *   packet type u8        to this host, broadcast, multicast, to another host, sent by this host
 *   address length u8     then the link-layer source address, 8 bytes, zero-padded
 *
 * A VLAN tag after the header reads as after version 1's: protocol 0x8100, then TCI and protocol.
 */

// Field offsets.
const PROTOCOL = 0; // u16
const INTERFACE_INDEX = 4; // u32
const ARPHRD_TYPE = 8; // u16
const PACKET_TYPE = 10; // u8
const ADDRESS_LENGTH = 11; // u8
const ADDRESS = 12; // 8 bytes
export const HEADER_LENGTH = 20;

/** The protocol field: an EtherType (VLAN tags included) for every link that carries IP. */
// @ts-ignore: decorator
@inline export function protocol(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + PROTOCOL)); }
// @ts-ignore: decorator
@inline export function interfaceIndex(p: usize): u32 { return bswap<u32>(load<u32>(p + INTERFACE_INDEX)); }
// @ts-ignore: decorator
@inline export function arphrdType(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + ARPHRD_TYPE)); }
// @ts-ignore: decorator
@inline export function packetType(p: usize): u32 { return <u32>load<u8>(p + PACKET_TYPE); }
// @ts-ignore: decorator
@inline export function addressLength(p: usize): u32 { return <u32>load<u8>(p + ADDRESS_LENGTH); }
// @ts-ignore: decorator
@inline export function address(p: usize): usize { return p + ADDRESS; }
