/**
 * ARP packets (RFC 826) for IPv4 over Ethernet, the only pairing the link layer resolves: hardware
 * type 1 with 6-byte addresses, protocol type 0x0800 with 4-byte addresses, 28 bytes in all.
 * `parse` fills the representation below from a packet; `emit` writes one from it, so a packet
 * parsed and emitted again comes out byte for byte the same.
 */

// Field offsets (bytes from the start of the ARP packet, after the Ethernet header).
const HARDWARE_TYPE = 0; // u16: 1, Ethernet
const PROTOCOL_TYPE = 2; // u16: an EtherType, 0x0800 for IPv4
const HARDWARE_LENGTH = 4; // u8: 6
const PROTOCOL_LENGTH = 5; // u8: 4
const OPERATION = 6; // u16: 1 request, 2 reply
const SENDER_HARDWARE = 8; // 6 bytes
const SENDER_PROTOCOL = 14; // 4 bytes
const TARGET_HARDWARE = 18; // 6 bytes
const TARGET_PROTOCOL = 24; // 4 bytes
export const LENGTH = 28;

const HARDWARE_ETHERNET: u16 = 1;
const PROTOCOL_IPV4: u16 = 0x0800;
/** Hardware type 1 and protocol type 0x0800 (bytes 00 01 08 00) as one little-endian load. */
const FIXED_LOW: u32 = 0x00080100;
/** Hardware length 6 and protocol length 4 (bytes 06 04), loaded likewise. */
const FIXED_LENGTHS: u16 = 0x0406;

export const REQUEST: u32 = 1;
export const REPLY: u32 = 2;

// The representation: what `parse` found, what `emit` writes. Addresses are pointers to the bytes
// (in the parsed packet, or wherever the caller keeps them), IPv4 addresses as loaded u32s.
export let operation: u32 = 0;
export let senderHardware: usize = 0;
export let senderProtocol: u32 = 0;
export let targetHardware: usize = 0;
export let targetProtocol: u32 = 0;

export const OK = 0;
/** fewer than LENGTH bytes captured */
export const TRUNCATED = 1;
/** not Ethernet and IPv4, lengths other than 6 and 4, or an operation other than 1 or 2 */
export const UNSUPPORTED = 2;

/** The one length check, then the fixed fields; fills the representation. */
export function parse(p: usize, captured: u32): i32 {
  if (captured < <u32>LENGTH) return TRUNCATED;
  if (load<u32>(p + HARDWARE_TYPE) != FIXED_LOW || load<u16>(p + HARDWARE_LENGTH) != FIXED_LENGTHS) return UNSUPPORTED;
  operation = <u32>bswap<u16>(load<u16>(p + OPERATION));
  if (operation != REQUEST && operation != REPLY) return UNSUPPORTED;
  senderHardware = p + SENDER_HARDWARE;
  senderProtocol = load<u32>(p + SENDER_PROTOCOL);
  targetHardware = p + TARGET_HARDWARE;
  targetProtocol = load<u32>(p + TARGET_PROTOCOL);
  return OK;
}

/**
 * Writes the representation as an ARP packet of LENGTH bytes at `p`. The hardware addresses are
 * copied before anything is written, so they may point into the packet being answered in place.
 */
export function emit(p: usize): void {
  const sha0 = load<u32>(senderHardware), sha4 = load<u16>(senderHardware, 4);
  const tha0 = load<u32>(targetHardware), tha4 = load<u16>(targetHardware, 4);
  store<u16>(p + HARDWARE_TYPE, bswap<u16>(HARDWARE_ETHERNET));
  store<u16>(p + PROTOCOL_TYPE, bswap<u16>(PROTOCOL_IPV4));
  store<u16>(p + HARDWARE_LENGTH, FIXED_LENGTHS);
  store<u16>(p + OPERATION, bswap<u16>(<u16>operation));
  store<u32>(p + SENDER_HARDWARE, sha0);
  store<u16>(p + SENDER_HARDWARE + 4, sha4);
  store<u32>(p + SENDER_PROTOCOL, senderProtocol);
  store<u32>(p + TARGET_HARDWARE, tha0);
  store<u16>(p + TARGET_HARDWARE + 4, tha4);
  store<u32>(p + TARGET_PROTOCOL, targetProtocol);
}
