/**
 * The emit path: segments written as whole Ethernet frames into the transmit slot (a ring slot:
 * SLOT_COUNT, SLOT_BYTES, descriptors with PKT_DATA relative to the slot's packet bytes, each
 * carrying the peer's RSS hash), and the one function that decides what a TCB sends now
 * (`dispatch`, as smoltcp's socket has one): SYN or SYN-ACK, data within the peer's window and
 * the congestion window, FIN after the data, a probe into a zero window, an ACK alone when
 * nothing else carries it, or an RST for an abort.
 *
 * Segments no TCB sends (an RST for a segment to no connection, a TIME-WAIT entry's ACK) are
 * written from an entry: a TCB, a TIME-WAIT entry, or a stand-in at TCP_SCRATCH_ENTRY, which all
 * keep the tuple, next hop and peer hash at the same offsets.
 */
import {
  CFG_LINK_TX, CFG_SLOT_BYTES, CFG_SLOT_PACKETS, CFG_TX_SLOT, LinkType, PacketFlag, PKT_CAPLEN, PKT_DATA, PKT_DESCRIPTOR,
  PKT_FLAGS, PKT_HASH, PKT_IFACE, PKT_LINKTYPE, PKT_QUEUE, PKT_TIMESTAMP, PKT_WIRELEN, SLOT_BYTES, SLOT_COUNT,
  SLOT_DESCRIPTORS, TCB_DELACK_AT, TCB_FAMILY, TCB_ISS, TCB_LOCAL_ADDR, TCB_LOCAL_PORT, TCB_MSS,
  TCB_NEIGHBOR, TCB_OOO, TCB_OOO_COUNT, TCB_PEER_HASH, TCB_RCV_ADV, TCB_RCV_NXT, TCB_REMOTE_ADDR,
  TCB_REMOTE_PORT, TCB_RTO, TCB_RTO_AT, TCB_RTT_SEQ, TCB_RTT_START, TCB_SND_END, TCB_SND_MAX, TCB_SND_NXT,
  TCB_SND_UNA, TCB_SND_WND, TCB_CWND, TCB_TS_OFFSET, TCB_TS_RECENT, TCB_UNACKED_SEGMENTS, TCB_WSCALE, TcbFlag,
  TcpOption, TcpStat, TcpState,
} from "../shared/abi";
import { pseudoHeaderSum } from "../wire/checksum";
import * as ethernet from "../wire/ethernet";
import * as ipv4 from "../wire/ipv4";
import * as ipv6 from "../wire/ipv6";
import * as tcp from "../wire/tcp";
import { appPump } from "./app";
import { receiveWindow, sendCopy } from "./buffer";
import { linkNextHopMac, neighborMac, ourMac } from "./neighbor";
import { cfg32, count, mtu, nowMs, nowNs, nowUs, options, ourWscale } from "./state";
import { tcbGive } from "./table";
import {
  advanceMax, clearFlags, flags, receiveNextOffset, receiveReadOffset, requeueFirst, setFlags, stateOf, takeOutput,
  tcbRelease,
} from "./tcb";
import { timerUpdate } from "./timer";

let slot: usize = 0;
let slotPackets: u32 = 0;
let dataStart: usize = 0;
let dataRoom: u32 = 0;
/** the longest frame we write (Ethernet + the MTU), rounded as slot bytes are */
let frameMax: u32 = 1536;
let ipId: u32 = 0;

export function configureOutput(): void {
  slot = <usize>cfg32(CFG_TX_SLOT);
  slotPackets = cfg32(CFG_SLOT_PACKETS);
  dataStart = slot + SLOT_DESCRIPTORS + <usize>slotPackets * PKT_DESCRIPTOR;
  dataRoom = cfg32(CFG_SLOT_BYTES) - SLOT_DESCRIPTORS - slotPackets * PKT_DESCRIPTOR;
  frameMax = (ethernet.HEADER_LENGTH + mtu + 15) & ~15;
  store<u32>(slot + SLOT_COUNT, 0);
  store<u32>(slot + SLOT_BYTES, 0);
}

/** Whether the transmit slot can take one more frame of any length. */
// @ts-ignore: decorator
@inline export function txHasRoom(): bool {
  return load<u32>(slot + SLOT_COUNT) < slotPackets && load<u32>(slot + SLOT_BYTES) + frameMax <= dataRoom;
}

/** The send MSS our announced MSS allows for `family` (the MTU less IP and TCP headers). */
// @ts-ignore: decorator
@inline export function familyMss(family: u32): u32 {
  return mtu - (family == 4 ? 40 : 60);
}

/**
 * Starts a frame for entry `e` carrying a TCP segment of `tcpLength` bytes: Ethernet and IP
 * headers written at the slot's next free bytes. Returns the TCP header's address, or 0 when the
 * next hop is not resolved (the segment is not sent; counted).
 */
function frameBegin(e: usize, tcpLength: u32): usize {
  const family = <u32>load<u8>(e + TCB_FAMILY);
  const linkTx = <usize>cfg32(CFG_LINK_TX);
  const mac = linkTx ? linkNextHopMac(family, e + TCB_REMOTE_ADDR, linkTx, nowNs) : neighborMac(<u32>load<u16>(e + TCB_NEIGHBOR));
  if (mac == 0) {
    count(TcpStat.NO_NEIGHBOR);
    return 0;
  }
  const frame = dataStart + <usize>load<u32>(slot + SLOT_BYTES);
  if (family == 4) {
    ethernet.emit(frame, mac, ourMac(), ethernet.ETHERTYPE_IPV4);
    ipv4.emit(frame + ethernet.HEADER_LENGTH, e + TCB_LOCAL_ADDR, e + TCB_REMOTE_ADDR, 6, tcpLength, ipId++, 64);
    return frame + ethernet.HEADER_LENGTH + ipv4.HEADER_LENGTH;
  }
  ethernet.emit(frame, mac, ourMac(), ethernet.ETHERTYPE_IPV6);
  // RFC 6437: a flow label from the flow's own hash, the same for every packet of it.
  ipv6.emit(frame + ethernet.HEADER_LENGTH, e + TCB_LOCAL_ADDR, e + TCB_REMOTE_ADDR, 6, tcpLength, 64, load<u32>(e + TCB_PEER_HASH));
  return frame + ethernet.HEADER_LENGTH + ipv6.HEADER_LENGTH;
}

/** Checksums the segment at `header` and adds the frame's descriptor to the slot. */
function frameEnd(e: usize, header: usize, tcpLength: u32): void {
  const family = <u32>load<u8>(e + TCB_FAMILY);
  const a: u32 = family == 4 ? 4 : 16;
  tcp.fillChecksum(header, tcpLength, pseudoHeaderSum(e + TCB_LOCAL_ADDR, e + TCB_REMOTE_ADDR, a, 6, tcpLength));
  const used = load<u32>(slot + SLOT_BYTES);
  const n = load<u32>(slot + SLOT_COUNT);
  const length = <u32>(header - dataStart) - used + tcpLength;
  const d = slot + SLOT_DESCRIPTORS + <usize>n * PKT_DESCRIPTOR;
  store<u32>(d + PKT_DATA, used);
  store<u32>(d + PKT_CAPLEN, length);
  store<u32>(d + PKT_WIRELEN, length);
  store<u16>(d + PKT_LINKTYPE, <u16>LinkType.ETHERNET);
  store<u16>(d + PKT_IFACE, 0);
  store<u64>(d + PKT_TIMESTAMP, nowNs);
  store<u32>(d + PKT_HASH, load<u32>(e + 48)); // TCB_PEER_HASH (TW_PEER_HASH, the stand-in's too)
  store<u16>(d + PKT_QUEUE, 0);
  store<u16>(d + PKT_FLAGS, <u16>PacketFlag.HASHED);
  store<u32>(slot + SLOT_COUNT, n + 1);
  store<u32>(slot + SLOT_BYTES, (used + length + 15) & ~15);
  count(TcpStat.SEGMENTS_SENT);
}

/**
 * A segment without data from entry `e` (an RST, or a TIME-WAIT entry's or a challenge ACK):
 * `tsValue`/`tsEcho` written when `timestamps`. Call with room in the slot.
 */
export function sendControl(e: usize, seq: u32, ack: u32, flagBits: u32, window: u32, timestamps: bool, tsValue: u32, tsEcho: u32): void {
  const length: u32 = tcp.HEADER_LENGTH + (timestamps ? 12 : 0);
  const h = frameBegin(e, length);
  if (h == 0) return;
  tcp.emitHeader(h, <u32>load<u16>(e + TCB_LOCAL_PORT), <u32>load<u16>(e + TCB_REMOTE_PORT), seq, ack, flagBits, window, length);
  if (timestamps) tcp.emitTimestamps(h + tcp.HEADER_LENGTH, tsValue, tsEcho);
  frameEnd(e, h, length);
  if (flagBits & tcp.RST) count(TcpStat.RST_SENT);
}

// ---- a TCB's segments ----

/** Our timestamp clock for TCB t (ms, offset per connection). */
// @ts-ignore: decorator
@inline export function tsNow(t: usize): u32 { return nowMs + load<u32>(t + TCB_TS_OFFSET); }

/**
 * The window field for TCB t's next segment: the receive space (receiveWindow), never less than
 * what we advertised before (RFC 9293 3.8.6.2.2: do not shrink it), scaled by our shift (none on
 * a SYN). Records the new right edge in TCB_RCV_ADV.
 */
function windowField(t: usize, syn: bool): u32 {
  const next = load<u32>(t + TCB_RCV_NXT);
  // Before the peer's SYN (SYN-SENT) nothing is received: both offsets are 0.
  const opening = stateOf(t) == TcpState.SYN_SENT;
  let w = receiveWindow(opening ? 0 : receiveReadOffset(t), opening ? 0 : receiveNextOffset(t));
  const advertised = <i32>(load<u32>(t + TCB_RCV_ADV) - next);
  if (advertised > <i32>w) w = <u32>advertised;
  const shift: u32 = syn ? 0 : <u32>load<u8>(t + TCB_WSCALE) & 15;
  const field = min<u32>(w >> shift, 65535);
  store<u32>(t + TCB_RCV_ADV, next + (field << shift));
  return field;
}

/** The SYN (or SYN-ACK) of TCB t with our options. */
function sendSyn(t: usize, synAck: bool): void {
  const f = flags(t);
  const family = <u32>load<u8>(t + TCB_FAMILY);
  // On a SYN-ACK an option goes only where the SYN offered it (RFC 7323 2.2, 1.3; RFC 2018 2).
  const sack = synAck ? (f & TcbFlag.PEER_SACK) != 0 : (options & TcpOption.SACK) != 0;
  const ts = synAck ? (f & TcbFlag.TIMESTAMPS) != 0 : (options & TcpOption.TIMESTAMPS) != 0;
  const ws = synAck ? (f & TcbFlag.WINDOW_SCALE) != 0 : (options & TcpOption.WINDOW_SCALE) != 0;
  const length: u32 = tcp.HEADER_LENGTH + 4 + (ts ? 12 : sack ? 4 : 0) + (ws ? 4 : 0);
  const h = frameBegin(t, length);
  if (h == 0) return;
  tcp.emitHeader(h, <u32>load<u16>(t + TCB_LOCAL_PORT), <u32>load<u16>(t + TCB_REMOTE_PORT), load<u32>(t + TCB_ISS),
    synAck ? load<u32>(t + TCB_RCV_NXT) : 0, synAck ? tcp.SYN | tcp.ACK : tcp.SYN, windowField(t, true), length);
  tcp.emitSynOptions(h + tcp.HEADER_LENGTH, familyMss(family), sack, ts, tsNow(t), synAck ? load<u32>(t + TCB_TS_RECENT) : 0, ws ? <i32>ourWscale : -1);
  frameEnd(t, h, length);
}

/**
 * A segment of TCB t: sequence number `seq`, `flagBits` (ACK always), `length` bytes of the send
 * stream from `offset`. With SACK blocks when it carries no data and holes are held.
 */
function sendSegment(t: usize, seq: u32, flagBits: u32, offset: u32, length: u32): void {
  const f = flags(t);
  const ts = (f & TcbFlag.TIMESTAMPS) != 0;
  let blocks: u32 = 0;
  if (length == 0 && (f & TcbFlag.PEER_SACK) && load<u8>(t + TCB_OOO_COUNT) > 0) {
    blocks = min<u32>(<u32>load<u8>(t + TCB_OOO_COUNT), ts ? tcp.SACK_BLOCKS_MAX : tcp.SACK_BLOCKS_MAX + 1);
  }
  const optionsLength: u32 = (ts ? 12 : 0) + (blocks ? 4 + (blocks << 3) : 0);
  const header = tcp.HEADER_LENGTH + optionsLength;
  const h = frameBegin(t, header + length);
  if (h == 0) return;
  tcp.emitHeader(h, <u32>load<u16>(t + TCB_LOCAL_PORT), <u32>load<u16>(t + TCB_REMOTE_PORT), seq,
    load<u32>(t + TCB_RCV_NXT), flagBits, windowField(t, false), header);
  let at = h + tcp.HEADER_LENGTH;
  if (ts) at += tcp.emitTimestamps(at, tsNow(t), load<u32>(t + TCB_TS_RECENT));
  if (blocks) {
    tcp.emitSack(at, t + TCB_OOO, blocks);
    count(TcpStat.SACKS_SENT);
  }
  if (length) {
    sendCopy(t, offset, h + header, length);
    count(TcpStat.BYTES_SENT, length);
  }
  frameEnd(t, h, header + length);
}

/** Arms the retransmission timer if it is off. */
// @ts-ignore: decorator
@inline function armRetransmit(t: usize): void {
  if (load<u32>(t + TCB_RTO_AT) == 0) {
    store<u32>(t + TCB_RTO_AT, nowMs + load<u32>(t + TCB_RTO));
    timerUpdate(t);
  }
}

/**
 * Sends what TCB t has to send now. Returns false when the transmit slot filled first: t keeps
 * its place at the head of the output list, and what it sent so far is recorded.
 */
export function dispatch(t: usize): bool {
  let f = flags(t);
  if (f & TcbFlag.RELEASED) {
    tcbGive(t);
    return true;
  }
  if (!txHasRoom()) return false;
  if (f & TcbFlag.RST_QUEUED) {
    sendControl(t, load<u32>(t + TCB_SND_NXT), load<u32>(t + TCB_RCV_NXT), tcp.RST | tcp.ACK, 0, false, 0, 0);
    clearFlags(t, TcbFlag.RST_QUEUED);
    tcbRelease(t, true, false); // out of the index since the abort; off the output list: freed now
    return true;
  }
  const state = stateOf(t);
  const iss = load<u32>(t + TCB_ISS);
  if (state == TcpState.SYN_SENT || state == TcpState.SYN_RECEIVED) {
    if (load<u32>(t + TCB_SND_NXT) == iss) {
      sendSyn(t, state == TcpState.SYN_RECEIVED);
      store<u32>(t + TCB_RTT_START, nowUs); // the handshake's round trip, without timestamps
      store<u32>(t + TCB_SND_NXT, iss + 1);
      advanceMax(t, iss + 1);
      armRetransmit(t);
    }
    clearFlags(t, TcbFlag.ACK_NOW | TcbFlag.ACK_DELAYED | TcbFlag.WINDOW_UPDATE);
    return true;
  }
  if (state == TcpState.TIME_WAIT || state == TcpState.CLOSED || state == TcpState.LISTEN) return true;

  if (f & TcbFlag.APP_WANTS_ROOM) {
    clearFlags(t, TcbFlag.APP_WANTS_ROOM);
    appPump(t);
    f = flags(t);
  }
  const mss = <u32>load<u16>(t + TCB_MSS);
  const dataEnd = iss + 1 + load<u32>(t + TCB_SND_END);
  const finQueued = (f & TcbFlag.FIN_QUEUED) != 0;
  let sent = false;

  if (f & (TcbFlag.RETRANSMIT_ONE | TcbFlag.PROBE)) {
    // Fast retransmit, a NewReno partial ACK, or a zero-window probe: the segment at SND.UNA,
    // whatever the windows say (a probe: one byte of it).
    const una = load<u32>(t + TCB_SND_UNA);
    const probe = (f & TcbFlag.PROBE) != 0;
    let length: u32 = tcp.seqLt(una, dataEnd) ? min(dataEnd - una, probe ? 1 : mss) : 0;
    const fin = finQueued && una + length == dataEnd;
    if (length > 0 || fin) {
      sendSegment(t, una, tcp.ACK | (fin ? tcp.FIN : 0) | (una + length == dataEnd ? tcp.PSH : 0), una - iss - 1, length);
      if (fin) setFlags(t, TcbFlag.FIN_SENT);
      const end = una + length + (fin ? 1 : 0);
      if (tcp.seqLt(una, load<u32>(t + TCB_SND_MAX))) count(TcpStat.RETRANSMITS);
      if (tcp.seqGt(end, load<u32>(t + TCB_SND_NXT))) store<u32>(t + TCB_SND_NXT, end);
      advanceMax(t, end);
      if (probe) count(TcpStat.ZERO_WINDOW_PROBES);
      else armRetransmit(t);
      sent = true;
    }
    clearFlags(t, TcbFlag.RETRANSMIT_ONE | TcbFlag.PROBE);
  }

  let more = true;
  while (more) {
    more = false;
    const nxt = load<u32>(t + TCB_SND_NXT), una = load<u32>(t + TCB_SND_UNA);
    if (tcp.seqLt(nxt, dataEnd)) {
      const inFlight = nxt - una;
      const window = min(load<u32>(t + TCB_SND_WND), load<u32>(t + TCB_CWND));
      const left = dataEnd - nxt;
      const usable = window > inFlight ? window - inFlight : 0;
      const length = min(min(left, mss), usable);
      if (length == 0) {
        if (load<u32>(t + TCB_SND_WND) == 0 && inFlight == 0 && !(flags(t) & TcbFlag.PERSIST)) {
          // RFC 9293 3.8.6.1: the peer's window is shut: probe it on the retransmission timer.
          setFlags(t, TcbFlag.PERSIST);
          store<u32>(t + TCB_RTO_AT, nowMs + load<u32>(t + TCB_RTO));
          timerUpdate(t);
        }
        break;
      }
      // Sender SWS avoidance (RFC 9293 3.8.6.2.1), no Nagle: a short segment only when it is the
      // rest of the data, or when nothing is in flight.
      if (length < mss && length < left && inFlight > 0) break;
      if (!txHasRoom()) return false;
      const end = nxt + length;
      const fin = finQueued && end == dataEnd;
      sendSegment(t, nxt, tcp.ACK | (end == dataEnd ? tcp.PSH : 0) | (fin ? tcp.FIN : 0), nxt - iss - 1, length);
      if (tcp.seqLt(nxt, load<u32>(t + TCB_SND_MAX))) count(TcpStat.RETRANSMITS);
      else if (!(f & TcbFlag.TIMESTAMPS) && !(flags(t) & TcbFlag.RTT_TIMING)) {
        // Karn: time only new data (RFC 6298 3); timestamps time every ACK instead.
        setFlags(t, TcbFlag.RTT_TIMING);
        store<u32>(t + TCB_RTT_SEQ, end);
        store<u32>(t + TCB_RTT_START, nowUs);
      }
      const next = end + (fin ? 1 : 0);
      if (fin) setFlags(t, TcbFlag.FIN_SENT);
      store<u32>(t + TCB_SND_NXT, next);
      advanceMax(t, next);
      armRetransmit(t);
      sent = true;
      more = true;
      continue;
    }
    if (finQueued && nxt == dataEnd) {
      // The FIN alone: it takes a sequence number but no window (RFC 9293 3.10.4).
      if (!txHasRoom()) return false;
      sendSegment(t, nxt, tcp.ACK | tcp.FIN, 0, 0);
      if (tcp.seqLt(nxt, load<u32>(t + TCB_SND_MAX))) count(TcpStat.RETRANSMITS);
      setFlags(t, TcbFlag.FIN_SENT);
      store<u32>(t + TCB_SND_NXT, nxt + 1);
      advanceMax(t, nxt + 1);
      armRetransmit(t);
      sent = true;
    }
  }
  if (!sent && (flags(t) & (TcbFlag.ACK_NOW | TcbFlag.WINDOW_UPDATE))) {
    if (!txHasRoom()) return false;
    sendSegment(t, load<u32>(t + TCB_SND_NXT), tcp.ACK, 0, 0);
    count(TcpStat.ACKS_SENT);
    sent = true;
  }
  if (sent) {
    // Every segment carries the ACK: nothing is owed any more.
    clearFlags(t, TcbFlag.ACK_NOW | TcbFlag.ACK_DELAYED | TcbFlag.WINDOW_UPDATE);
    store<u32>(t + TCB_DELACK_AT, 0);
    store<u8>(t + TCB_UNACKED_SEGMENTS, 0);
  }
  return true;
}

/**
 * Sends for the TCBs on the output list until it is empty (true) or the transmit slot is full
 * (false: ship the slot, then call again).
 */
export function runOutput(): bool {
  let t = takeOutput();
  while (t != 0) {
    if (!dispatch(t)) {
      requeueFirst(t);
      return false;
    }
    t = takeOutput();
  }
  return true;
}

/** Frames in the transmit slot. */
export function txCount(): u32 {
  return load<u32>(slot + SLOT_COUNT);
}
