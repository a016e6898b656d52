/**
 * The flow key: one table entry serves both directions of a connection, so its hash must not
 * change when source and destination swap, whatever the RSS key does. Each endpoint (address,
 * port) is written as one 64-bit word (IPv4: exactly, address << 16 | port; IPv6: mixed down), the
 * two words are put in order, smaller first, and the ordered pair is mixed. Ordering makes the
 * hash symmetric without adding the endpoints, so no arithmetic pattern in addresses or ports
 * makes two flows meet; one mix per packet keeps the multiply chain short.
 *
 * The packet's endpoints are read from FLOW_TUPLE (the RSS input: source address, destination
 * address, source port, destination port, network order), which the engine fills per packet.
 */
import {
  FLOW_TUPLE, REC_CLIENT_ADDR, REC_CLIENT_PORT, REC_FAMILY, REC_PROTO, REC_SERVER_ADDR, REC_SERVER_PORT,
} from "../shared/abi";

/** The finalizer of MurmurHash3 (fmix64): every input bit flips each output bit with p ~ 1/2. */
// @ts-ignore: decorator
@inline export function mix(x: u64): u64 {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccd;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53;
  x ^= x >> 33;
  return x;
}

/** 2^64 / golden ratio, odd: multiplying by it spreads the smaller endpoint over all 64 bits. */
export const SPREAD: u64 = 0x9e3779b97f4a7c15;

// @ts-ignore: decorator
@inline export function endpoint6(address: usize, port: u32): u64 {
  return mix(load<u64>(address) ^ mix(load<u64>(address, 8) ^ <u64>port));
}

/** The symmetric hash of two endpoint words (either order) and the protocol. */
// @ts-ignore: decorator
@inline export function keyOf(a: u64, b: u64, protocol: u32): u32 {
  const lo = a < b ? a : b, hi = a < b ? b : a;
  const h = mix((lo * SPREAD + hi) ^ (<u64>protocol << 56));
  return <u32>(h ^ (h >> 32));
}

/** An IPv4 endpoint as one word: the address as loaded (any fixed byte order is an exact encoding). */
// @ts-ignore: decorator
@inline export function endpoint4(address: usize, port: u32): u64 {
  return (<u64>load<u32>(address) << 16) | <u64>port;
}

/** The symmetric hash of the packet's flow (ports as host-order numbers). */
// @ts-ignore: decorator
@inline export function flowKeyHash(family: u32, protocol: u32, sport: u32, dport: u32): u32 {
  if (family == 4) return keyOf(endpoint4(FLOW_TUPLE, sport), endpoint4(FLOW_TUPLE + 4, dport), protocol);
  return keyOf(endpoint6(FLOW_TUPLE, sport), endpoint6(FLOW_TUPLE + 16, dport), protocol);
}

/** The same hash from the endpoints an entry (or record) holds. */
export function entryKeyHash(e: usize): u32 {
  const protocol = <u32>load<u8>(e + REC_PROTO);
  const cport = <u32>load<u16>(e + REC_CLIENT_PORT), sport = <u32>load<u16>(e + REC_SERVER_PORT);
  if (load<u8>(e + REC_FAMILY) == 4) return keyOf(endpoint4(e + REC_CLIENT_ADDR, cport), endpoint4(e + REC_SERVER_ADDR, sport), protocol);
  return keyOf(endpoint6(e + REC_CLIENT_ADDR, cport), endpoint6(e + REC_SERVER_ADDR, sport), protocol);
}

/**
 * Which direction of entry `e` the packet travels: 0 client to server, 1 server to client, -1 when
 * the entry is another flow. IPv4 addresses sit in the first 4 of the entry's 16 bytes.
 */
// @ts-ignore: decorator
@inline export function directionOf(e: usize, family: u32, protocol: u32, sport: u32, dport: u32): i32 {
  if (load<u8>(e + REC_FAMILY) != <u8>family || load<u8>(e + REC_PROTO) != <u8>protocol) return -1;
  const clientPort = <u32>load<u16>(e + REC_CLIENT_PORT);
  const serverPort = <u32>load<u16>(e + REC_SERVER_PORT);
  if (family == 4) {
    const src = load<u32>(FLOW_TUPLE), dst = load<u32>(FLOW_TUPLE, 4);
    const client = load<u32>(e + REC_CLIENT_ADDR), server = load<u32>(e + REC_SERVER_ADDR);
    if (sport == clientPort && dport == serverPort && src == client && dst == server) return 0;
    if (sport == serverPort && dport == clientPort && src == server && dst == client) return 1;
    return -1;
  }
  const s0 = load<u64>(FLOW_TUPLE), s1 = load<u64>(FLOW_TUPLE, 8);
  const d0 = load<u64>(FLOW_TUPLE, 16), d1 = load<u64>(FLOW_TUPLE, 24);
  const c0 = load<u64>(e + REC_CLIENT_ADDR), c1 = load<u64>(e + REC_CLIENT_ADDR, 8);
  const v0 = load<u64>(e + REC_SERVER_ADDR), v1 = load<u64>(e + REC_SERVER_ADDR, 8);
  if (sport == clientPort && dport == serverPort && s0 == c0 && s1 == c1 && d0 == v0 && d1 == v1) return 0;
  if (sport == serverPort && dport == clientPort && s0 == v0 && s1 == v1 && d0 == c0 && d1 == c1) return 1;
  return -1;
}
