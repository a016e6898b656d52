/**
 * The TCP endpoint engine of one core: what it exports to its host. The host writes the
 * configuration (CFG_* at TCP_STATE), calls tcpConfigure once, then per batch:
 *
 *   tcpPoll(now)            the clock moves: TIME-WAIT ends, timers fire, the client opens
 *                           connections up to its concurrency
 *   tcpInput(batch, n)      segments arrive (PKT_* descriptors from any source); returns how many
 *                           it took (fewer when the transmit slot or the forward list filled:
 *                           drain them, call again with the rest)
 *   tcpOutput()             TCBs send what they owe into the transmit slot; false when it filled
 *
 * and after each call ships the transmit slot (SLOT_COUNT > 0) and the forward list (FWD_COUNT >
 * 0). The host never sees a connection: it reads counters, and at the end the histograms.
 */
import {
  APP_CONNECT_TIME, APP_DIGESTS, APP_LATENCY, APP_STATUS, AppKind, CFG_APP, CFG_APP_LISTEN, CFG_APP_RAW_LISTEN,
  CFG_CHUNK_SHIFT, CFG_CHUNKS, CFG_CORE, CFG_CORES, CFG_DATA_RETRIES, CFG_DELACK, CFG_DESTINATIONS, CFG_EPOCH,
  CFG_FORWARD, CFG_FORWARD_CORES, CFG_FORWARD_MAX, CFG_INIT_CWND, CFG_MTU, CFG_OPTIONS, CFG_RCVBUF,
  CFG_RTO_INITIAL, CFG_RTO_MAX, CFG_RTO_MIN, CFG_SECRET, CFG_SLOT_BYTES, CFG_SLOT_PACKETS, CFG_SNDBUF,
  CFG_SYN_RETRIES, CFG_TCBS, DEST_SIZE, TCB_DEST, TCB_LOCAL_PORT, CFG_TIME_WAIT, CFG_TIME_WAITS, CFG_WSCALE, DIGESTS_MAX, DropReason,
  FWD_COUNT, HIST_BUCKETS, PacketFlag, PKT_DESCRIPTOR, PKT_FLAGS, SLOT_DESCRIPTORS, TCB_BYTES, TCB_CHUNK_SLOTS,
  TCP_STATE, TCP_STAT_COUNT, TCP_STATS, TcpOption, TcpStat, TcpState, TcpStatus, TX_PENDING, TW_BYTES,
} from "../shared/abi";
import * as packet from "../wire/packet";
import * as tcp from "../wire/tcp";
import { configureClient, poll as clientPoll, stopOpening } from "../app/client";
import { configureCrc32 } from "../app/crc32";
import { histogramCreate } from "../app/histogram";
import { configureHttp } from "../app/http";
import { configureServer } from "../app/server";
import { localIndex } from "./address";
import { abort, close, open, receive, send } from "./api";
import { configureChunks } from "./chunks";
import { closedSegment, listenSegment, loadSegment, onTimer, synchronizedSegment, synSentSegment } from "./input";
import { listen, listenerApp, resetListeners } from "./listen";
import { configureNeighbors, refreshDefault } from "./neighbor";
import { configureOutput, runOutput, txHasRoom } from "./output";
import { configurePorts, destAt, destinations, ownerOf, portsAvailable } from "./ports";
import { cfg32, cfg64, count, core, loadSettings, nowMs, options, setClock, setCount, tcbAt, tcbCount } from "./state";
import { configureTable, indexFind, TW_REF, tupleHash, entryOf } from "./table";
import { outputPending, resetOutput, stateOf } from "./tcb";
import { advanceTimers, configureTimers, nextTimer } from "./timer";
import { configureTimeWait, timeWaitExpire, timeWaitNext, timeWaitPorts, timeWaitSegment, TW_REOPEN } from "./timewait";

export { tcpSetNeighbor } from "./neighbor";

/** Largest values tcpConfigure takes (the host checks user settings against these first). */
const TCBS_MAX: u32 = 1 << 22;
const TIME_WAITS_MAX: u32 = 1 << 24;

/**
 * Lays the endpoint out from CFG_* (once per engine: everything is allocated here, nothing
 * later). RSS must be programmed first (configureRss, configureReta, QUEUE_CORE): the peer hash
 * of every frame and the port pools come from it. Returns 0 or -TcpStatus.BAD_SIZE.
 */
export function tcpConfigure(): i32 {
  const tcbs = cfg32(CFG_TCBS), timeWaits = cfg32(CFG_TIME_WAITS), chunks = cfg32(CFG_CHUNKS);
  const shift = cfg32(CFG_CHUNK_SHIFT), sndbuf = cfg32(CFG_SNDBUF), rcvbuf = cfg32(CFG_RCVBUF);
  const mtu = cfg32(CFG_MTU), wscale = cfg32(CFG_WSCALE), app = cfg32(CFG_APP);
  const slotPackets = cfg32(CFG_SLOT_PACKETS), slotBytes = cfg32(CFG_SLOT_BYTES);
  if (tcbs < 1 || tcbs > TCBS_MAX || timeWaits > TIME_WAITS_MAX || chunks < 1) return -TcpStatus.BAD_SIZE;
  if (shift < 9 || shift > 16 || sndbuf < 1 || rcvbuf < 1) return -TcpStatus.BAD_SIZE;
  const bufferMax = (<u32>TCB_CHUNK_SLOTS - 1) << shift;
  if (sndbuf > bufferMax || rcvbuf > bufferMax || wscale > 14) return -TcpStatus.BAD_SIZE;
  if (mtu < 576 || mtu > 9216 || app > <u32>AppKind.HTTP_SERVER) return -TcpStatus.BAD_SIZE;
  if (slotPackets < 1 || slotBytes < <u32>SLOT_DESCRIPTORS + slotPackets * <u32>PKT_DESCRIPTOR + 2 * (mtu + 64)) return -TcpStatus.BAD_SIZE;
  if (cfg32(CFG_CORES) < 1 || cfg32(CFG_CORE) >= cfg32(CFG_CORES) || cfg32(CFG_DESTINATIONS) < 1) return -TcpStatus.BAD_SIZE;
  loadSettings(cfg32(CFG_CORE), cfg32(CFG_CORES), cfg32(CFG_OPTIONS), app, wscale, sndbuf, rcvbuf,
    cfg32(CFG_RTO_MIN), cfg32(CFG_RTO_INITIAL), cfg32(CFG_RTO_MAX), cfg32(CFG_SYN_RETRIES), cfg32(CFG_DATA_RETRIES),
    cfg32(CFG_DELACK), cfg32(CFG_TIME_WAIT), max<u32>(cfg32(CFG_INIT_CWND), 1), mtu, cfg64(CFG_EPOCH));
  memory.fill(TCP_STATE + TCP_STATS, 0, TCP_STAT_COUNT * 8);
  configureTable(tcbs, timeWaits);
  configureTimeWait(timeWaits);
  configureChunks(chunks, shift);
  configureTimers();
  configureNeighbors();
  configurePorts(cfg32(CFG_DESTINATIONS), cfg64(CFG_SECRET) ^ (<u64>cfg32(CFG_CORE) * 0x9e3779b97f4a7c15));
  configureOutput();
  resetOutput();
  resetListeners();
  store<u32>(TCP_STATE + FWD_COUNT, 0);
  store<u32>(TCP_STATE + TX_PENDING, 0);
  // The application's buffers: statuses, histograms, digests (read by the host at the end).
  const statuses = heap.alloc(600 * 4);
  memory.fill(statuses, 0, 600 * 4);
  store<u32>(TCP_STATE + APP_STATUS, <u32>statuses);
  store<u32>(TCP_STATE + APP_LATENCY, <u32>histogramCreate());
  store<u32>(TCP_STATE + APP_CONNECT_TIME, <u32>histogramCreate());
  const digests = heap.alloc(DIGESTS_MAX * 8);
  memory.fill(digests, 0, DIGESTS_MAX * 8);
  store<u32>(TCP_STATE + APP_DIGESTS, <u32>digests);
  configureHttp();
  configureCrc32();
  configureClient();
  if (app == AppKind.HTTP_SERVER) {
    configureServer();
    listen(cfg32(CFG_APP_LISTEN), AppKind.HTTP_SERVER);
  } else if (app == AppKind.RAW) {
    for (let i: u32 = 0; i < 4; i++) {
      const port = <u32>load<u16>(<usize>TCP_STATE + CFG_APP_RAW_LISTEN + (<usize>i << 1));
      if (port != 0) listen(port, AppKind.RAW);
    }
  }
  return 0;
}

/** Bytes of heap tcpConfigure takes for these settings (the host sizes memory and checks limits). */
export function tcpMemoryBytes(tcbs: u32, timeWaits: u32, chunks: u32, shift: u32): f64 {
  let index: f64 = 64;
  while (index < <f64>(tcbs + timeWaits) * 2) index *= 2;
  return <f64>tcbs * <f64>TCB_BYTES + index * 8 + <f64>timeWaits * <f64>TW_BYTES + <f64>chunks * (<f64>(1 << shift) + 4)
    + 600 * 4 + 2 * HIST_BUCKETS * 8 + 8 * 256 * 4 + 65536;
}

// ---- per batch ----

// @ts-ignore: decorator
@inline function drop(stat: i32): void {
  count(TcpStat.DROPPED);
  count(stat);
}

/**
 * Segments arrive: `n` descriptors at `descriptors` (bytes where the descriptors say). Returns
 * how many were taken: all, unless the transmit slot or the forward list filled first.
 */
export function tcpInput(descriptors: usize, n: u32): u32 {
  const verify = (options & TcpOption.VERIFY_CHECKSUMS) != 0;
  const fwdMax = cfg32(CFG_FORWARD_MAX);
  let i: u32 = 0;
  for (; i < n; i++) {
    // Room for what one segment can make at once (an answer and an abort's RST), and a forward.
    if (!txHasRoom() || load<u32>(TCP_STATE + FWD_COUNT) >= fwdMax) break;
    count(TcpStat.RECEIVED);
    arrive(descriptors + <usize>i * PKT_DESCRIPTOR, verify);
  }
  return i;
}

function arrive(d: usize, verify: bool): void {
  const parsed = packet.parsePacket(d, verify, true);
  if (parsed != packet.PARSED) {
    drop(TcpStat.PARSE_DROP + parsed);
    return;
  }
  if (packet.family == 0) {
    // ARP, LLDP, ...: the link layer's (assembly/link will take these; counted and dropped here).
    drop(TcpStat.DROP_LINK);
    return;
  }
  if (packet.fragment || packet.protocol != packet.PROTOCOL_TCP) {
    // ICMP and ICMPv6 (echo, ND) are the link layer's too; anything else is not for a TCP endpoint.
    drop(packet.protocol == 1 || packet.protocol == 58 ? TcpStat.DROP_LINK : TcpStat.DROP_NOT_TCP);
    return;
  }
  if (packet.payloadCaptured < packet.payloadLength) {
    drop(TcpStat.PARSE_DROP + DropReason.TCP_TRUNCATED);
    return;
  }
  if (verify && (packet.badIpv4Checksum || packet.badL4Checksum)) {
    drop(TcpStat.DROP_BAD_CHECKSUM);
    return;
  }
  const family = packet.family;
  const local = packet.destinationAddress, remote = packet.sourceAddress;
  const a = localIndex(family, local);
  if (a < 0) {
    drop(TcpStat.DROP_NOT_OURS);
    return;
  }
  const lport = packet.destinationPort, rport = packet.sourcePort;
  const ports = lport | (rport << 16);
  const ref = indexFind(tupleHash(family, local, remote, ports), family, local, remote, ports);
  if (ref == 0) {
    const owner = ownerOf(family, remote, rport, a, lport);
    if (owner != core) {
      forward(d, owner);
      return;
    }
  }
  if (load<u16>(d + PKT_FLAGS) & PacketFlag.FORWARDED) count(TcpStat.MISDELIVERED);
  loadSegment(packet.transport, packet.payload, packet.payloadLength);
  if (ref & TW_REF) {
    count(TcpStat.PROCESSED);
    const listener = listenerApp(lport);
    const outcome = timeWaitSegment(ref, tcp.sequence(packet.transport), tcp.flags(packet.transport), packet.payloadLength,
      tcp.optionTimestamps, tcp.optionTsValue, listener >= 0);
    if (outcome == TW_REOPEN) listenSegment(<u32>listener, family, local, remote, lport, rport, <u32>a);
    return;
  }
  if (ref != 0) {
    count(TcpStat.PROCESSED);
    const t = entryOf(ref);
    if (stateOf(t) == TcpState.SYN_SENT) synSentSegment(t);
    else synchronizedSegment(t);
    return;
  }
  const listener = listenerApp(lport);
  if (listener >= 0) {
    if (listenSegment(<u32>listener, family, local, remote, lport, rport, <u32>a)) count(TcpStat.PROCESSED);
    else drop(TcpStat.DROP_NO_TCB);
    return;
  }
  count(TcpStat.PROCESSED);
  closedSegment(family, local, remote, lport, rport);
}

/** A segment of another core's connection: onto the forward list, to be shipped to `owner`. */
function forward(d: usize, owner: u32): void {
  const n = load<u32>(TCP_STATE + FWD_COUNT);
  const to = <usize>cfg32(CFG_FORWARD) + <usize>n * PKT_DESCRIPTOR;
  memory.copy(to, d, PKT_DESCRIPTOR);
  store<u16>(to + PKT_FLAGS, load<u16>(to + PKT_FLAGS) | PacketFlag.FORWARDED);
  store<u16>(<usize>cfg32(CFG_FORWARD_CORES) + (<usize>n << 1), <u16>owner);
  store<u32>(TCP_STATE + FWD_COUNT, n + 1);
  count(TcpStat.FORWARDED);
}

/**
 * TCBs send what they owe. Returns 1 when all is sent, 0 when the transmit slot filled first
 * (ship it and call again); TX_PENDING says the same.
 */
export function tcpOutput(): i32 {
  const finished = runOutput();
  store<u32>(TCP_STATE + TX_PENDING, finished ? 0 : 1);
  return finished ? 1 : 0;
}

/**
 * The clock moves to `now` (ns since the epoch): TIME-WAIT entries end, timers fire, the
 * client opens connections. Call before tcpInput with each batch.
 */
export function tcpPoll(now: u64): void {
  setClock(now);
  setCount(TcpStat.NOW_MS, nowMs);
  timeWaitExpire(nowMs);
  advanceTimers(nowMs, onTimer);
  clientPoll();
}

/** When the next timer (or TIME-WAIT end) is due, ms since CFG_EPOCH; 0xffffffff when none. */
export function tcpNextTimer(): u32 {
  return min(nextTimer(), timeWaitNext());
}

/** The host changed CFG_NEXT_HOP_MAC / CFG_NEXT_HOP_VALID: take it. */
export function tcpRefreshNextHop(): void {
  refreshDefault();
}

/** The client opens no more connections; the open ones finish (APP_DONE once they have). */
export function tcpStopOpening(): void {
  stopOpening();
}

/** Whether TCBs wait on the output list. */
export function tcpOutputPending(): bool {
  return outputPending();
}

// ---- the RAW application's calls (tests, library users); TCBs by index ----

/** Opens a connection to (family, the address at `remote`, port): a TCB index or -TcpStatus. */
export function tcpConnect(family: u32, remote: usize, port: u32): i32 {
  return open(family, remote, port, AppKind.RAW);
}

/** Listens on `port` with the RAW application. */
export function tcpListen(port: u32): bool {
  return listen(port, AppKind.RAW);
}

export function tcpSend(i: u32, src: usize, length: u32): u32 {
  return i < tcbCount ? send(tcbAt(i), src, length) : 0;
}

export function tcpRecv(i: u32, dst: usize, max: u32): u32 {
  return i < tcbCount ? receive(tcbAt(i), dst, max) : 0;
}

export function tcpClose(i: u32): void {
  if (i < tcbCount && stateOf(tcbAt(i)) != TcpState.CLOSED) close(tcbAt(i));
}

export function tcpAbort(i: u32): void {
  if (i < tcbCount && stateOf(tcbAt(i)) != TcpState.CLOSED) abort(tcbAt(i));
}

/** TCB i's address, to read its fields (TCB_* in abi.ts). */
export function tcpTcb(i: u32): usize {
  return i < tcbCount ? tcbAt(i) : 0;
}

/**
 * The TCB index (>= 0) or TIME-WAIT entry (-2 - entry) holding (family, local, remote, ports),
 * or -1.
 */
export function tcpFind(family: u32, local: usize, remote: usize, lport: u32, rport: u32): i32 {
  const ports = lport | (rport << 16);
  const ref = indexFind(tupleHash(family, local, remote, ports), family, local, remote, ports);
  if (ref == 0) return -1;
  if (ref & TW_REF) return -2 - <i32>(ref & ~TW_REF);
  return <i32>(ref - 1);
}

/** Destinations (port pools) made so far, and their ports on this core: free, and in all. */
export function tcpDestinations(): u32 {
  return destinations();
}
export function tcpPortsAvailable(dest: u32): u32 {
  return dest < destinations() ? portsAvailable(dest) : 0;
}
export function tcpPortsSize(dest: u32): u32 {
  return dest < destinations() ? load<u32>(destAt(dest) + DEST_SIZE) : 0;
}
/** The pool record of destination `dest` (assembly/pool, or a partition bitmap's). */
export function tcpDestination(dest: u32): usize {
  return dest < destinations() ? destAt(dest) : 0;
}

/**
 * Debugging and tests: the local ports (u16 at `out`, at most `most`) that connections to
 * destination `dest` hold now: live TCBs, then TIME-WAIT entries. Returns how many.
 */
export function tcpPortsInUse(dest: u32, out: usize, most: u32): u32 {
  let n: u32 = 0;
  for (let i: u32 = 0; i < tcbCount && n < most; i++) {
    const t = tcbAt(i);
    const s = stateOf(t);
    if (s == TcpState.NONE || s == TcpState.CLOSED || <u32>load<u16>(t + TCB_DEST) != dest + 1) continue;
    store<u16>(out + (<usize>n << 1), load<u16>(t + TCB_LOCAL_PORT));
    n++;
  }
  return n + timeWaitPorts(dest + 1, out + (<usize>n << 1), most - n);
}
