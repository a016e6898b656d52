/**
 * PPP (RFC 1661) as libpcap records it: LINKTYPE_PPP (9) and LINKTYPE_PPP_HDLC (50).
 *
 *   address u8, control u8   RFC 1662's HDLC-like framing: 0xff (all stations), 0x03 (UI)
 *   protocol u16 or u8       0x0021 IPv4, 0x0057 IPv6, 0xc021 LCP, ...
 *
 * LINKTYPE_PPP frames may start with the address and control or not (address-and-control-field
 * compression, RFC 1661 6.6, or a writer that leaves them out); LINKTYPE_PPP_HDLC frames have them.
 * The protocol field is one byte when protocol-field compression (RFC 1661 6.5) is on: protocol
 * numbers are odd in their low byte and even in their high byte, so an odd first byte is a whole
 * field. An 0xff first byte is taken for the address, as Wireshark takes it (a whole field never
 * starts with it, and IPv4 and IPv6 are not 0xff compressed).
 *
 * LINKTYPE_PPP_HDLC may also hold Cisco HDLC (RFC 1547 4.3.1): address 0x0f (unicast) or 0x8f
 * (broadcast), control 0x00, then an EtherType. Wireshark reads both link types all these ways,
 * and so does this file.
 */
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "./ethernet";

// Field offsets.
const ADDRESS = 0; // u8
const HDLC_LENGTH = 2; // address and control
const CISCO_PROTOCOL = 2; // u16, an EtherType
const CISCO_LENGTH = 4;

const ALL_STATIONS: u32 = 0xff;
const CISCO_UNICAST: u32 = 0x0f;
const CISCO_MULTICAST: u32 = 0x8f;

const PROTOCOL_IPV4: u32 = 0x0021;
const PROTOCOL_IPV6: u32 = 0x0057;

/** After `networkOffset`: 4 or 6 for IP, 0 for any other protocol (LCP, IPCP, ...). */
export let ipVersion: u32 = 0;

/**
 * The offset of the network header in the frame at `frame` (`caplen` bytes readable), setting
 * `ipVersion`; -1 when the PPP header is cut short.
 */
export function networkOffset(frame: usize, caplen: u32): i32 {
  if (caplen == 0) return -1;
  const first = <u32>load<u8>(frame + ADDRESS);
  if (first == CISCO_UNICAST || first == CISCO_MULTICAST) {
    if (caplen < <u32>CISCO_LENGTH) return -1;
    const type = <u32>bswap<u16>(load<u16>(frame + CISCO_PROTOCOL));
    ipVersion = type == ETHERTYPE_IPV4 ? 4 : type == ETHERTYPE_IPV6 ? 6 : 0;
    return CISCO_LENGTH;
  }
  const at: u32 = first == ALL_STATIONS ? HDLC_LENGTH : 0;
  if (caplen < at + 1) return -1;
  let protocol = <u32>load<u8>(frame + at);
  let length: u32 = 1;
  if ((protocol & 1) == 0) {
    if (caplen < at + 2) return -1;
    protocol = <u32>bswap<u16>(load<u16>(frame + at));
    length = 2;
  }
  ipVersion = protocol == PROTOCOL_IPV4 ? 4 : protocol == PROTOCOL_IPV6 ? 6 : 0;
  return <i32>(at + length);
}
