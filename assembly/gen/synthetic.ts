/**
 * Synthetic traffic: realistic TCP conversations, deterministic from a seed.
 *
 * Each conversation is a client talking to one of 64 servers (IPv4, or IPv6 for a share of them):
 * a handshake with the options Linux sends (MSS, SACK permitted, timestamps, window scale), one to
 * three request/response rounds with heavy-tailed response sizes cut into MSS-sized segments and
 * acknowledged every second segment, a few retransmitted segments, and a close by FIN from either
 * side or by RST. Many conversations run at once, interleaved at random, with timestamps a few
 * microseconds apart. Frames are complete (Ethernet II, IP, TCP with valid checksums, payload),
 * so the flow engine sees exactly what a capture would give it.
 *
 * Payload bytes repeat one 16-bit word per direction and conversation: a retransmission carries the
 * same bytes as the original, and the payload's checksum is a multiplication.
 *
 * Conversation i is the same wherever it is generated: its random numbers come from its own state
 * seeded by (seed, i), and its timestamps from its own clock, starting at i times a fixed spacing.
 * A run split over N threads gives each thread a share of the conversations: together they
 * generate exactly the conversations one thread would, packet for packet; only the interleaving
 * between conversations differs. The split is by RSS: thread t generates the conversations whose
 * client-to-server packets the programmed key and table send to core t, as traffic arriving on
 * a NIC's queues would be split (the packets each core's steering then sends elsewhere, such as
 * the replies under an asymmetric key, still cross). A generator without RSS programmed splits by
 * conversation number instead (i = t, t + N, ...).
 */
import { FieldSet, GEN_CONVERSATION, GEN_STATE_HEADER, LinkType, PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR, PKT_LINKTYPE, PKT_TIMESTAMP, PKT_WIRELEN } from "../shared/abi";
import { below, chance, mix, next } from "./random";
import { hashTuple } from "../rss/hash";
import { coreOf, queueOf } from "../rss/reta";

// ---- frame layout (offsets within each header) ----
const ETH_DST = 0, ETH_SRC = 6, ETH_TYPE = 12, ETH_HEADER = 14;
const ETHERTYPE_IPV4: u16 = 0x0800, ETHERTYPE_IPV6: u16 = 0x86dd;
const V4_VERSION_IHL = 0, V4_LENGTH = 2, V4_ID = 4, V4_FRAGMENT = 6, V4_TTL = 8, V4_PROTOCOL = 9, V4_CHECKSUM = 10;
const V4_SOURCE = 12, V4_DESTINATION = 16, V4_HEADER = 20;
const V6_VERSION = 0, V6_PAYLOAD_LENGTH = 4, V6_NEXT_HEADER = 6, V6_HOP_LIMIT = 7, V6_SOURCE = 8, V6_DESTINATION = 24;
const V6_HEADER = 40;
const TCP_SOURCE = 0, TCP_DESTINATION = 2, TCP_SEQ = 4, TCP_ACK = 8, TCP_OFFSET = 12, TCP_FLAGS = 13;
const TCP_WINDOW = 14, TCP_CHECKSUM = 16, TCP_URGENT = 18, TCP_HEADER = 20;
const PROTO_TCP: u8 = 6;

const FIN: u8 = 0x01, SYN: u8 = 0x02, RST: u8 = 0x04, PSH: u8 = 0x08, ACK: u8 = 0x10;

/** SYN options: MSS, SACK permitted, timestamps, NOP, window scale (20 bytes, as Linux sends). */
const SYN_OPTIONS = 20;
/** Options on every later segment: NOP, NOP, timestamps (12 bytes). */
const TS_OPTIONS = 12;

// ---- one conversation's state: a slot of a buffer allocated at configuration time ----
const F_FAMILY = 0;      // u8: 4 or 6
const F_PHASE = 1;       // u8: Phase
const F_CLOSE = 2;       // u8: Close
const F_ROUNDS = 3;      // u8: request/response rounds left
const F_CLIENT_PORT = 4; // u16
const F_SERVER_PORT = 6; // u16
const F_CLIENT_SEQ = 8;  // u32: next sequence number the client sends
const F_SERVER_SEQ = 12; // u32
const F_REMAINING = 16;  // u32: bytes left in the current request or response
const F_SEGMENTS = 20;   // u32: server segments since the client last acknowledged
const F_CLIENT_WORD = 24; // u16: client payload pattern
const F_SERVER_WORD = 26; // u16
const F_RETRANSMIT = 28; // u32: sequence number of a segment to send again, if F_RETRANSMIT_LENGTH
const F_RETRANSMIT_LENGTH = 32; // u16
const F_RETRANSMIT_FROM_CLIENT = 34; // u8
const F_ACTIVE = 35;     // u8
const F_CLIENT_ADDRESS = 36; // 16 bytes (IPv4 in the first 4)
const F_SERVER_ADDRESS = 52; // 16 bytes
const F_IP_ID = 68;      // u16: next IPv4 identification
const F_RANDOM = 72;     // u64: this conversation's random state
const F_CLOCK = 80;      // u64: this conversation's time, ns
const FLOW_SLOT = GEN_CONVERSATION;

/** The generator state starts with the scheduler's own random state (which slot goes next), then
 *  room for one conversation's RSS hash input. */
const G_SCHEDULER = 0;
const G_TUPLE = 16;
const STATE_HEADER = GEN_STATE_HEADER;

const enum Phase { SYN = 0, SYN_ACK = 1, ACK = 2, REQUEST = 3, RESPONSE = 4, CLIENT_ACK = 5, CLOSE_1 = 6, CLOSE_2 = 7, CLOSE_3 = 8, DONE = 9 }
const enum Close { CLIENT_FIN = 0, SERVER_FIN = 1, CLIENT_RST = 2, SERVER_RST = 3 }

let state: usize = 0;
let slots: usize = 0;
let concurrent: u32 = 0;
let active: u32 = 0;
let nextId: u64 = 0;
let lastId: u64 = 0;
let step_: u64 = 1;
let runSeed: u64 = 0;
let ipv6PerMille: u32 = 0;
let retransmitPerMille: u32 = 0;
let startNs: u64 = 0;
let spacingNs: u64 = 0;
let started: u64 = 0;
/** Split by RSS: keep conversation ids whose client-to-server core is `part` (else by number). */
let byRss = false;
let rssPorts = false;
let part_: u32 = 0;

/** Bytes of state for `flows` concurrent conversations (the host allocates them). */
export function genStateBytes(flows: u32): usize {
  return <usize>STATE_HEADER + <usize>flows * FLOW_SLOT;
}

/**
 * Starts a generator in `buffer` (genStateBytes(flows) bytes). The run's parameters (`total`
 * conversations, 0 for no end; `runConcurrent`; seed; IPv6 and retransmit shares per mille; the
 * first timestamp) define every conversation; `part` of `parts` picks this generator's share, and
 * `flows` (about runConcurrent / parts) how many of them it keeps going at once.
 */
export function genConfigure(
  buffer: usize, flows: u32, total: u64, seedValue: u64, ipv6: u32, retransmit: u32, start: u64,
  runConcurrent: u32, part: u32, parts: u32, splitByRss: bool, ports: bool,
): void {
  state = buffer;
  slots = buffer + STATE_HEADER;
  concurrent = flows;
  runSeed = seedValue;
  ipv6PerMille = ipv6;
  retransmitPerMille = retransmit;
  startNs = start;
  // Conversations last about 30 ms: spacing starts by 30 ms / concurrency keeps about that many
  // in progress at any time, so the stream stays close to time order.
  spacingNs = max<u64>(1, 30000000 / <u64>max<u32>(runConcurrent, 1));
  byRss = splitByRss && parts > 1;
  rssPorts = ports;
  part_ = part;
  nextId = byRss ? 0 : part;
  step_ = byRss ? 1 : max<u32>(parts, 1);
  lastId = total == 0 ? u64.MAX_VALUE : total;
  started = 0;
  active = 0;
  store<u64>(state + G_SCHEDULER, mix(seedValue ^ 0x5ced5ced) | 1);
  for (let i: u32 = 0; i < flows; i++) {
    const f = slots + <usize>i * FLOW_SLOT;
    memory.fill(f, 0, FLOW_SLOT);
    newConversation(f);
  }
}

/** Conversations started so far. */
export function genStarted(): u64 {
  return started;
}

/** Starts the next conversation of this generator's share in slot `f`; false if none is left. */
function newConversation(f: usize): bool {
  while (nextId < lastId) {
    const id = nextId;
    nextId += step_;
    build(f, id);
    if (byRss && rssCore(f) != part_) continue;
    started++;
    active++;
    store<u8>(f, 1, F_ACTIVE);
    return true;
  }
  return false;
}

/** The core the client-to-server packets of conversation `f` land on: hash, table, queue map. */
function rssCore(f: usize): u32 {
  const t = state + G_TUPLE;
  const v6 = load<u8>(f, F_FAMILY) == 6;
  const a: usize = v6 ? 16 : 4;
  memory.copy(t, f + F_CLIENT_ADDRESS, a);
  memory.copy(t + a, f + F_SERVER_ADDRESS, a);
  store<u16>(t + 2 * a, bswap<u16>(load<u16>(f, F_CLIENT_PORT)));
  store<u16>(t + 2 * a + 2, bswap<u16>(load<u16>(f, F_SERVER_PORT)));
  const fields = v6 ? (rssPorts ? FieldSet.IPV6_L4 : FieldSet.IPV6) : (rssPorts ? FieldSet.IPV4_L4 : FieldSet.IPV4);
  return coreOf(queueOf(hashTuple(t, fields)));
}

/** Conversation `id`, drawn from its own random state, into slot `f` (not yet active). */
function build(f: usize, id: u64): void {
  const r = f + F_RANDOM;
  store<u64>(r, mix(runSeed ^ mix(id)) | 1);
  store<u64>(f, startNs + id * spacingNs + <u64>below(r, <u32>spacingNs), F_CLOCK);
  const v6 = chance(r, ipv6PerMille);
  store<u8>(f, v6 ? 6 : 4, F_FAMILY);
  store<u8>(f, Phase.SYN, F_PHASE);
  const c = below(r, 100);
  store<u8>(f, c < 70 ? Close.CLIENT_FIN : c < 90 ? Close.SERVER_FIN : c < 97 ? Close.CLIENT_RST : Close.SERVER_RST, F_CLOSE);
  store<u8>(f, <u8>(1 + below(r, 3)), F_ROUNDS);
  store<u16>(f, <u16>(32768 + below(r, 28232)), F_CLIENT_PORT);
  const p = below(r, 10);
  store<u16>(f, p < 6 ? 443 : p < 9 ? 80 : 8080, F_SERVER_PORT);
  store<u32>(f, <u32>next(r), F_CLIENT_SEQ);
  store<u32>(f, <u32>next(r), F_SERVER_SEQ);
  store<u16>(f, <u16>next(r), F_CLIENT_WORD);
  store<u16>(f, <u16>next(r), F_SERVER_WORD);
  store<u16>(f, <u16>next(r), F_IP_ID);
  store<u16>(f, 0, F_RETRANSMIT_LENGTH);
  const server = below(r, 64) + 1;
  const client = f + F_CLIENT_ADDRESS, srv = f + F_SERVER_ADDRESS;
  memory.fill(client, 0, 32);
  if (v6) {
    // fd00:1::/64 clients with random interface identifiers, fd00:200::N servers
    store<u64>(client, bswap<u64>(0xfd00000100000000));
    store<u64>(client, next(r), 8);
    store<u64>(srv, bswap<u64>(0xfd00020000000000));
    store<u64>(srv, bswap<u64>(<u64>server), 8);
  } else {
    // 10.0.0.0/8 clients (10.200/16 left to servers), 10.200.0.N servers
    store<u32>(client, bswap<u32>(0x0a000000 | (below(r, 0xc80000) + 1)));
    store<u32>(srv, bswap<u32>(0x0ac80000 | server));
  }
}

/** Response sizes: many small objects, a heavy tail of large ones. */
function responseSize(r: usize): u32 {
  const c = below(r, 100);
  if (c < 35) return 200 + below(r, 1800);
  if (c < 75) return 2000 + below(r, 30000);
  if (c < 97) return 32000 + below(r, 200000);
  return 232000 + below(r, 1000000);
}

// ---- checksums ----

/** One's complement sum of big-endian 16-bit words (not folded). */
function sum16(p: usize, length: i32): u64 {
  let s: u64 = 0;
  let i = 0;
  for (; i + 1 < length; i += 2) s += <u64>bswap<u16>(load<u16>(p + i));
  if (i < length) s += <u64>load<u8>(p + i) << 8;
  return s;
}

function fold(s: u64): u16 {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return <u16>s;
}

/** Sum of `length` payload bytes repeating `word` (big-endian), from an even offset. */
// @ts-ignore: decorator
@inline function patternSum(word: u16, length: i32): u64 {
  return <u64>word * <u64>(length >> 1) + ((length & 1) ? <u64>(word & 0xff00) : 0);
}

// ---- emitting one segment ----

/**
 * Writes one Ethernet/IP/TCP frame at `p` for conversation `f` and returns its length.
 * `fromClient` picks the direction; the payload is `length` bytes of the sender's word.
 */
function emit(p: usize, f: usize, fromClient: bool, flags: u8, seq: u32, ack: u32, length: i32): i32 {
  const v6 = load<u8>(f, F_FAMILY) == 6;
  const syn = (flags & SYN) != 0;
  const options = syn ? SYN_OPTIONS : TS_OPTIONS;
  const tcpLength = TCP_HEADER + options + length;

  // Ethernet II: locally administered addresses, one per side.
  store<u32>(p + ETH_DST, 0x00000002);
  store<u16>(p + ETH_DST + 4, fromClient ? 0x0200 : 0x0100);
  store<u32>(p + ETH_SRC, 0x00000002);
  store<u16>(p + ETH_SRC + 4, fromClient ? 0x0100 : 0x0200);
  store<u16>(p + ETH_TYPE, bswap<u16>(v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4));

  const ip = p + ETH_HEADER;
  const src = f + (fromClient ? F_CLIENT_ADDRESS : F_SERVER_ADDRESS);
  const dst = f + (fromClient ? F_SERVER_ADDRESS : F_CLIENT_ADDRESS);
  let pseudo: u64;
  let tcp: usize;
  if (v6) {
    store<u32>(ip + V6_VERSION, bswap<u32>(0x60000000));
    store<u16>(ip + V6_PAYLOAD_LENGTH, bswap<u16>(<u16>tcpLength));
    store<u8>(ip + V6_NEXT_HEADER, PROTO_TCP);
    store<u8>(ip + V6_HOP_LIMIT, 64);
    memory.copy(ip + V6_SOURCE, src, 16);
    memory.copy(ip + V6_DESTINATION, dst, 16);
    tcp = ip + V6_HEADER;
    pseudo = sum16(ip + V6_SOURCE, 32) + <u64>tcpLength + PROTO_TCP;
  } else {
    store<u8>(ip + V4_VERSION_IHL, 0x45);
    store<u8>(ip, 0, 1);
    store<u16>(ip + V4_LENGTH, bswap<u16>(<u16>(V4_HEADER + tcpLength)));
    const id = load<u16>(f, F_IP_ID);
    store<u16>(f, id + 1, F_IP_ID);
    store<u16>(ip + V4_ID, bswap<u16>(id));
    store<u16>(ip + V4_FRAGMENT, bswap<u16>(0x4000)); // don't fragment
    store<u8>(ip + V4_TTL, 64);
    store<u8>(ip + V4_PROTOCOL, PROTO_TCP);
    store<u16>(ip + V4_CHECKSUM, 0);
    store<u32>(ip + V4_SOURCE, load<u32>(src));
    store<u32>(ip + V4_DESTINATION, load<u32>(dst));
    store<u16>(ip + V4_CHECKSUM, bswap<u16>(~fold(sum16(ip, V4_HEADER))));
    tcp = ip + V4_HEADER;
    pseudo = sum16(ip + V4_SOURCE, 8) + <u64>tcpLength + PROTO_TCP;
  }

  const clientPort = load<u16>(f, F_CLIENT_PORT), serverPort = load<u16>(f, F_SERVER_PORT);
  store<u16>(tcp + TCP_SOURCE, bswap<u16>(fromClient ? clientPort : serverPort));
  store<u16>(tcp + TCP_DESTINATION, bswap<u16>(fromClient ? serverPort : clientPort));
  store<u32>(tcp + TCP_SEQ, bswap<u32>(seq));
  store<u32>(tcp + TCP_ACK, bswap<u32>((flags & ACK) ? ack : 0));
  store<u8>(tcp + TCP_OFFSET, <u8>(((TCP_HEADER + options) >> 2) << 4));
  store<u8>(tcp + TCP_FLAGS, flags);
  store<u16>(tcp + TCP_WINDOW, bswap<u16>(syn ? 64240 : 502)); // 502 << 7 once scaled
  store<u16>(tcp + TCP_CHECKSUM, 0);
  store<u16>(tcp + TCP_URGENT, 0);
  const o = tcp + TCP_HEADER;
  const tsval = <u32>(load<u64>(f, F_CLOCK) / 1000000) + (fromClient ? 0 : 0x40000000);
  if (syn) {
    store<u32>(o, bswap<u32>(0x02040000 | (v6 ? 1440 : 1460))); // MSS
    store<u16>(o + 4, bswap<u16>(0x0402));                       // SACK permitted
    store<u16>(o + 6, bswap<u16>(0x080a));                       // timestamps
    store<u32>(o + 8, bswap<u32>(tsval));
    store<u32>(o + 12, bswap<u32>((flags & ACK) ? tsval ^ 0x40000000 : 0));
    store<u32>(o + 16, bswap<u32>(0x01030307));                  // NOP, window scale 7
  } else {
    store<u32>(o, bswap<u32>(0x0101080a));                       // NOP, NOP, timestamps
    store<u32>(o + 4, bswap<u32>(tsval));
    store<u32>(o + 8, bswap<u32>(tsval ^ 0x40000000));
  }
  const word = fromClient ? load<u16>(f, F_CLIENT_WORD) : load<u16>(f, F_SERVER_WORD);
  const payload = o + options;
  // Fill 8 bytes at a time; a few bytes past the payload are written but not part of the frame.
  const w8 = <u64>bswap<u16>(word) * 0x0001000100010001;
  for (let i = 0; i < length; i += 8) store<u64>(payload + i, w8);
  const sum = pseudo + sum16(tcp, TCP_HEADER + options) + patternSum(word, length);
  store<u16>(tcp + TCP_CHECKSUM, bswap<u16>(~fold(sum)));
  return ETH_HEADER + (v6 ? V6_HEADER : V4_HEADER) + tcpLength;
}

// ---- the conversation script ----

// @ts-ignore: decorator
@inline function mss(f: usize): u32 {
  return (load<u8>(f, F_FAMILY) == 6 ? 1440 : 1460) - TS_OPTIONS;
}

/**
 * Writes the next packet of conversation `f` at `p`; returns the frame length. Advances the
 * conversation, ending it (and starting the next) after its last packet.
 */
function step(p: usize, f: usize): i32 {
  const r = f + F_RANDOM;
  let cseq = load<u32>(f, F_CLIENT_SEQ), sseq = load<u32>(f, F_SERVER_SEQ);
  // A segment marked for retransmission goes out again first, byte for byte.
  const rlen = <i32>load<u16>(f, F_RETRANSMIT_LENGTH);
  if (rlen > 0) {
    store<u16>(f, 0, F_RETRANSMIT_LENGTH);
    const fromClient = load<u8>(f, F_RETRANSMIT_FROM_CLIENT) != 0;
    return emit(p, f, fromClient, ACK | PSH, load<u32>(f, F_RETRANSMIT), fromClient ? sseq : cseq, rlen);
  }
  let n: i32 = 0;
  switch (<i32>load<u8>(f, F_PHASE)) {
    case Phase.SYN:
      n = emit(p, f, true, SYN, cseq, 0, 0);
      store<u32>(f, cseq + 1, F_CLIENT_SEQ);
      store<u8>(f, Phase.SYN_ACK, F_PHASE);
      break;
    case Phase.SYN_ACK:
      n = emit(p, f, false, SYN | ACK, sseq, cseq, 0);
      store<u32>(f, sseq + 1, F_SERVER_SEQ);
      store<u8>(f, Phase.ACK, F_PHASE);
      break;
    case Phase.ACK:
      n = emit(p, f, true, ACK, cseq, sseq, 0);
      store<u32>(f, 80 + below(r, 720), F_REMAINING);
      store<u8>(f, Phase.REQUEST, F_PHASE);
      break;
    case Phase.REQUEST: {
      const length = <i32>min(load<u32>(f, F_REMAINING), mss(f));
      n = emit(p, f, true, ACK | PSH, cseq, sseq, length);
      maybeRetransmit(f, true, cseq, length);
      store<u32>(f, cseq + length, F_CLIENT_SEQ);
      const left = load<u32>(f, F_REMAINING) - length;
      store<u32>(f, left, F_REMAINING);
      if (left == 0) {
        store<u32>(f, responseSize(r), F_REMAINING);
        store<u32>(f, 0, F_SEGMENTS);
        store<u8>(f, Phase.RESPONSE, F_PHASE);
      }
      break;
    }
    case Phase.RESPONSE: {
      const length = <i32>min(load<u32>(f, F_REMAINING), mss(f));
      const left = load<u32>(f, F_REMAINING) - length;
      n = emit(p, f, false, left == 0 ? ACK | PSH : ACK, sseq, cseq, length);
      maybeRetransmit(f, false, sseq, length);
      store<u32>(f, sseq + length, F_SERVER_SEQ);
      store<u32>(f, left, F_REMAINING);
      const segments = load<u32>(f, F_SEGMENTS) + 1;
      store<u32>(f, segments, F_SEGMENTS);
      // The client acknowledges every second segment, and the last one.
      if (segments == 2 || left == 0) store<u8>(f, Phase.CLIENT_ACK, F_PHASE);
      break;
    }
    case Phase.CLIENT_ACK: {
      n = emit(p, f, true, ACK, cseq, sseq, 0);
      store<u32>(f, 0, F_SEGMENTS);
      if (load<u32>(f, F_REMAINING) > 0) {
        store<u8>(f, Phase.RESPONSE, F_PHASE);
      } else {
        const rounds = load<u8>(f, F_ROUNDS) - 1;
        store<u8>(f, rounds, F_ROUNDS);
        if (rounds > 0) {
          store<u32>(f, 80 + below(r, 720), F_REMAINING);
          store<u8>(f, Phase.REQUEST, F_PHASE);
        } else {
          store<u8>(f, Phase.CLOSE_1, F_PHASE);
        }
      }
      break;
    }
    case Phase.CLOSE_1: {
      const close = <i32>load<u8>(f, F_CLOSE);
      if (close == Close.CLIENT_FIN || close == Close.CLIENT_RST) {
        const flags = close == Close.CLIENT_FIN ? FIN | ACK : RST | ACK;
        n = emit(p, f, true, flags, cseq, sseq, 0);
        if (close == Close.CLIENT_FIN) store<u32>(f, cseq + 1, F_CLIENT_SEQ);
      } else {
        const flags = close == Close.SERVER_FIN ? FIN | ACK : RST | ACK;
        n = emit(p, f, false, flags, sseq, cseq, 0);
        if (close == Close.SERVER_FIN) store<u32>(f, sseq + 1, F_SERVER_SEQ);
      }
      store<u8>(f, close >= Close.CLIENT_RST ? Phase.DONE : Phase.CLOSE_2, F_PHASE);
      break;
    }
    case Phase.CLOSE_2: {
      // The other side's FIN, acknowledging the first.
      const clientFirst = load<u8>(f, F_CLOSE) == Close.CLIENT_FIN;
      if (clientFirst) {
        n = emit(p, f, false, FIN | ACK, sseq, cseq, 0);
        store<u32>(f, sseq + 1, F_SERVER_SEQ);
      } else {
        n = emit(p, f, true, FIN | ACK, cseq, sseq, 0);
        store<u32>(f, cseq + 1, F_CLIENT_SEQ);
      }
      store<u8>(f, Phase.CLOSE_3, F_PHASE);
      break;
    }
    default: {
      // CLOSE_3: the last ACK, from the side that sent the first FIN.
      const clientFirst = load<u8>(f, F_CLOSE) == Close.CLIENT_FIN;
      n = clientFirst ? emit(p, f, true, ACK, cseq, sseq, 0) : emit(p, f, false, ACK, sseq, cseq, 0);
      store<u8>(f, Phase.DONE, F_PHASE);
    }
  }
  if (load<u8>(f, F_PHASE) == Phase.DONE) {
    active--;
    store<u8>(f, 0, F_ACTIVE);
    newConversation(f);
  }
  return n;
}

function maybeRetransmit(f: usize, fromClient: bool, seq: u32, length: i32): void {
  if (length > 0 && chance(f + F_RANDOM, retransmitPerMille)) {
    store<u32>(f, seq, F_RETRANSMIT);
    store<u16>(f, <u16>length, F_RETRANSMIT_LENGTH);
    store<u8>(f, fromClient ? 1 : 0, F_RETRANSMIT_FROM_CLIENT);
  }
}

/** Largest frame the generator writes (Ethernet + IPv6 + TCP with options + a full MSS). */
const MAX_FRAME = 1600;

/**
 * Writes up to `max` packets into `buffer` (`bytes` long, frames 16-byte aligned) and their
 * descriptors at `descriptors`; returns the count, 0 once every conversation has ended.
 */
export function genFill(buffer: usize, bytes: usize, descriptors: usize, max: i32): i32 {
  let p = buffer;
  const end = buffer + bytes;
  let count = 0;
  while (count < max && active > 0 && p + MAX_FRAME <= end) {
    // Pick a live conversation at random.
    let f: usize;
    do {
      f = slots + <usize>below(state + G_SCHEDULER, concurrent) * FLOW_SLOT;
    } while (!load<u8>(f, F_ACTIVE));
    // The conversation's clock: 10 to 500 microseconds since its previous packet.
    const clock = load<u64>(f, F_CLOCK) + 10000 + <u64>below(f + F_RANDOM, 490000);
    store<u64>(f, clock, F_CLOCK);
    const n = step(p, f);
    const d = descriptors + <usize>count * PKT_DESCRIPTOR;
    store<u32>(d + PKT_DATA, <u32>p);
    store<u32>(d + PKT_CAPLEN, n);
    store<u32>(d + PKT_WIRELEN, n);
    store<u16>(d + PKT_LINKTYPE, LinkType.ETHERNET);
    store<u16>(d, 0, 14);
    store<u64>(d + PKT_TIMESTAMP, clock);
    store<u64>(d, 0, 24);
    p += (<usize>n + 15) & ~15;
    count++;
  }
  return count;
}
