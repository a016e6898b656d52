/**
 * Lone SYNs: a connection that has sent one SYN and nothing else is kept in one cache line
 * (SYN_ENTRY, layout in shared/abi.ts) until a second packet of it comes, and is written out as
 * the full record it stands for when it leaves the table without one. A SYN flood's entries then
 * cost a sixth of the memory, the cache lines and the first touches of pages a full entry costs,
 * and the reverse direction's RSS hash and both sides' states are worked out only for the SYNs
 * that need them.
 *
 * What a lone SYN's record holds is what the flow path writes for a first packet that is a SYN
 * without ACK, FIN, RST or payload, sent by the client (engine.ts trackFlow, tcp.ts
 * trackSegment): `expand` writes exactly that, and engine.ts sends only such SYNs here.
 *
 * Also here: the record header both kinds of entry start from (writeHeader), so that a flow made
 * from a packet and a flow made from a lone SYN get it from the same code.
 */
import {
  DIR_BYTES, DIR_FIRST_TS, DIR_FLAGS, DIR_ISN, DIR_LAST_TS, DIR_MSS, DIR_PACKETS, DIR_SND_MAX, DIR_SYN_TS,
  DIR_WSCALE, DirFlag, FLOW_RECORD, FLOW_TUPLE_REVERSED, FlowFlag, REC_CLIENT_ADDR, REC_CLIENT_PORT, REC_CORE,
  REC_CORE_REVERSE, REC_FAMILY, REC_FLAGS, REC_KEY_HASH, REC_LAST_TS, REC_PROTO, REC_QUEUE, REC_QUEUE_REVERSE,
  REC_RSS_HASH, REC_SERVER_ADDR, REC_SERVER_PORT, REC_SYN_TSVAL, SYN_BYTES, SYN_ISN, SYN_MSS, SYN_OPTIONS,
  SYN_WSCALE, TcpState,
} from "../shared/abi";
import { hashTuple } from "../rss/hash";
import { coreOf, queueOf } from "../rss/reta";
import { dir, updateStates } from "./tcp";

const PROTOCOL_TCP: u8 = 6;

/**
 * Writes a record header: endpoints (client first; `client` and `server` point at 4 or 16
 * address bytes in network order), protocol and family, the flow-key hash, the RSS hash of each
 * direction with its queue and core (and SPLIT when the cores differ), `flags` (FlowFlag
 * CLIENT_BY_SYN, REUSED), and "no window scale" in both direction blocks. The entry is zero
 * already (IPv4 addresses fill 4 of their 16 bytes).
 */
// @ts-ignore: decorator
@inline export function writeHeader(
  e: usize, client: usize, server: usize, family: u32, protocol: u32, clientPort: u32, serverPort: u32,
  key: u32, c2sHash: u32, s2cHash: u32, flags: u32,
): void {
  if (family == 4) {
    store<u32>(e + REC_CLIENT_ADDR, load<u32>(client));
    store<u32>(e + REC_SERVER_ADDR, load<u32>(server));
  } else {
    v128.store(e + REC_CLIENT_ADDR, v128.load(client));
    v128.store(e + REC_SERVER_ADDR, v128.load(server));
  }
  store<u16>(e + REC_CLIENT_PORT, <u16>clientPort);
  store<u16>(e + REC_SERVER_PORT, <u16>serverPort);
  store<u8>(e + REC_PROTO, <u8>protocol);
  store<u8>(e + REC_FAMILY, <u8>family);
  store<u32>(e + REC_KEY_HASH, key);
  const c2sQueue = queueOf(c2sHash), s2cQueue = queueOf(s2cHash);
  store<u32>(e + REC_RSS_HASH, c2sHash);
  store<u16>(e + REC_QUEUE, <u16>c2sQueue);
  store<u16>(e + REC_QUEUE_REVERSE, <u16>s2cQueue);
  const c2sCore = coreOf(c2sQueue), s2cCore = coreOf(s2cQueue);
  store<u16>(e + REC_CORE, <u16>c2sCore);
  store<u16>(e + REC_CORE_REVERSE, <u16>s2cCore);
  if (c2sCore != s2cCore) flags |= FlowFlag.SPLIT;
  store<u8>(e + REC_FLAGS, <u8>flags);
  store<u8>(dir(e, 0) + DIR_WSCALE, 0xff);
  store<u8>(dir(e, 1) + DIR_WSCALE, 0xff);
}

/**
 * Fills SYN entry `s` for the SYN now parsed: its tuple at `tuple` (FLOW_TUPLE: source,
 * destination, ports, as the RSS input holds them; the sender is the client), client and server
 * ports, its RSS hash, time, sequence number, captured bytes and options (mss, window scale,
 * DirFlag option bits), and `reused` when it reopens a closed connection's 4-tuple.
 */
// @ts-ignore: decorator
@inline export function createSyn(
  s: usize, tuple: usize, family: u32, clientPort: u32, serverPort: u32, hash: u32, ts: u64, seq: u32,
  bytes: u32, mss: u32, windowScale: u32, optionFlags: u32, reused: bool,
): void {
  // IPv4 zeroes the other 12 bytes of each address field, as a full entry has them: a lone SYN
  // that leaves uncopied (engine.ts leaveSyn) is counted from this line as it stands.
  if (family == 4) {
    v128.store(s + REC_CLIENT_ADDR, i32x4.replace_lane(i32x4.splat(0), 0, load<u32>(tuple)));
    v128.store(s + REC_SERVER_ADDR, i32x4.replace_lane(i32x4.splat(0), 0, load<u32>(tuple, 4)));
  } else {
    v128.store(s + REC_CLIENT_ADDR, v128.load(tuple));
    v128.store(s + REC_SERVER_ADDR, v128.load(tuple, 16));
  }
  store<u16>(s + REC_CLIENT_PORT, <u16>clientPort);
  store<u16>(s + REC_SERVER_PORT, <u16>serverPort);
  store<u8>(s + REC_PROTO, PROTOCOL_TCP);
  store<u8>(s + REC_FAMILY, <u8>family);
  store<u8>(s + REC_FLAGS, <u8>(FlowFlag.CLIENT_BY_SYN | (reused ? FlowFlag.REUSED : 0)));
  store<u8>(s + SYN_WSCALE, <u8>windowScale);
  store<u16>(s + SYN_MSS, <u16>mss);
  store<u8>(s + SYN_OPTIONS, <u8>optionFlags);
  store<u32>(s + REC_RSS_HASH, hash);
  store<u64>(s + REC_LAST_TS, ts);
  store<u32>(s + SYN_ISN, seq);
  store<u32>(s + SYN_BYTES, bytes);
}

/**
 * Writes the full entry (or record) `f` for lone SYN `s`: the flow's state after its one SYN,
 * byte for byte what the flow path leaves in an entry after such a first packet. `key` is the
 * flow-key hash, `tsval` the SYN's timestamp value (table.ts synTsval), `fields` the field set
 * its tuples hash with. The reverse direction's RSS hash is computed here (the flow path computes
 * it when a flow starts) and returned. Without `states`, both sides' states are left NONE, for a
 * caller about to work them out anyway.
 */
export function expand(s: usize, f: usize, key: u32, tsval: u32, fields: i32, states: bool = true): u32 {
  const zero = i64x2.splat(0);
  for (let o: usize = 0; o < <usize>FLOW_RECORD; o += 64) {
    v128.store(f + o, zero);
    v128.store(f + o, zero, 16);
    v128.store(f + o, zero, 32);
    v128.store(f + o, zero, 48);
  }
  const family = <u32>load<u8>(s + REC_FAMILY);
  const clientPort = <u32>load<u16>(s + REC_CLIENT_PORT), serverPort = <u32>load<u16>(s + REC_SERVER_PORT);
  const reverseHash = reverseHashOf(s, fields);
  const ts = load<u64>(s + REC_LAST_TS);
  writeHeader(f, s + REC_CLIENT_ADDR, s + REC_SERVER_ADDR, family, PROTOCOL_TCP, clientPort, serverPort, key,
    load<u32>(s + REC_RSS_HASH), reverseHash, <u32>load<u8>(s + REC_FLAGS));
  store<u64>(f + REC_LAST_TS, ts);
  const b = dir(f, 0);
  store<u32>(b + DIR_PACKETS, 1);
  store<u64>(b + DIR_BYTES, <u64>load<u32>(s + SYN_BYTES));
  const options = <u32>load<u8>(s + SYN_OPTIONS);
  let flags = DirFlag.SEEN | DirFlag.SYN | DirFlag.SEQ_VALID | options;
  if (options & DirFlag.TIMESTAMPS) {
    flags |= DirFlag.SYN_TSVAL;
    store<u32>(f + REC_SYN_TSVAL, tsval);
  }
  store<u16>(b + DIR_FLAGS, <u16>flags);
  store<u8>(b + DIR_WSCALE, load<u8>(s + SYN_WSCALE));
  store<u64>(b + DIR_FIRST_TS, ts);
  store<u64>(b + DIR_LAST_TS, ts);
  store<u64>(b + DIR_SYN_TS, ts);
  const isn = load<u32>(s + SYN_ISN);
  store<u32>(b + DIR_ISN, isn);
  store<u32>(b + DIR_SND_MAX, isn + 1);
  store<u16>(b + DIR_MSS, load<u16>(s + SYN_MSS));
  if (states) updateStates(f);
  return reverseHash;
}

/**
 * The RSS hash of lone SYN `s`'s server-to-client direction (the flow path hashes it when a flow
 * starts; a lone SYN waits until it is wanted): its tuple server first, ports in network order
 * as the RSS input holds them, hashed with field set `fields`.
 */
export function reverseHashOf(s: usize, fields: i32): u32 {
  const clientPort = <u32>load<u16>(s + REC_CLIENT_PORT), serverPort = <u32>load<u16>(s + REC_SERVER_PORT);
  const ports = (<u32>bswap<u16>(<u16>clientPort) << 16) | <u32>bswap<u16>(<u16>serverPort);
  if (load<u8>(s + REC_FAMILY) == 4) {
    store<u32>(FLOW_TUPLE_REVERSED, load<u32>(s + REC_SERVER_ADDR));
    store<u32>(FLOW_TUPLE_REVERSED, load<u32>(s + REC_CLIENT_ADDR), 4);
    store<u32>(FLOW_TUPLE_REVERSED, ports, 8);
  } else {
    v128.store(FLOW_TUPLE_REVERSED, v128.load(s + REC_SERVER_ADDR));
    v128.store(FLOW_TUPLE_REVERSED, v128.load(s + REC_CLIENT_ADDR), 16);
    store<u32>(FLOW_TUPLE_REVERSED, ports, 32);
  }
  return hashTuple(FLOW_TUPLE_REVERSED, fields);
}

/**
 * Whether lone SYN `s`, whose reverse direction hashes to `reverseHash`, is a split flow: its
 * two directions' queues on different cores (writeHeader's SPLIT).
 */
// @ts-ignore: decorator
@inline export function synSplit(s: usize, reverseHash: u32): bool {
  return coreOf(queueOf(load<u32>(s + REC_RSS_HASH))) != coreOf(queueOf(reverseHash));
}

/**
 * Both sides' TCP states in a lone SYN's record (tcp.ts sideState over what expand writes): the
 * client has sent its SYN and seen no answer (SYN-SENT); the server has had the SYN and sent
 * nothing seen (SYN-RECEIVED). Tests hold that the full record says the same.
 */
export const SYN_CLIENT_STATE: u32 = TcpState.SYN_SENT;
export const SYN_SERVER_STATE: u32 = TcpState.SYN_RECEIVED;
