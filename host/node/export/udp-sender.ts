/**
 * One socket of a `udp://` IPFIX target. A run's messages for a UDP collector leave from several
 * threads: the main thread sends the templates and the split flows it merges, each core thread
 * sends the records its own engine wrote (so that no one thread stamps and sends for all). Each
 * thread has a socket of its own, and the collector still sees one exporter transport session
 * (RFC 7011 section 3.1: the sequence number counts the data records sent before the message in
 * the session, per observation domain; a UDP session is the exporter's address and port):
 *
 * - every socket of a target is bound to the same local port: the main thread's first (port 0,
 *   the kernel picks), the cores' to that port, all with SO_REUSEADDR (Linux lets UDP sockets
 *   that all set it share a port, and each sends from it); each is connected to the collector's
 *   address as the main thread resolved it, so all leave from the same local address too;
 * - they share one sequence counter: Atomics.add of a message's record count gives the message
 *   its number, so each data record is counted once; messages of different threads may reach the
 *   collector out of order, which UDP allows anyway;
 * - they add what they sent and dropped to shared counters, which the main thread reads for the
 *   summary and the metrics.
 *
 * Each socket's queue is bounded: what the kernel has not taken yet (libuv's send queue, which
 * grows when the socket's buffer is full) counts against `queueBytes`; a message that does not
 * fit is dropped and its records counted, so a slow or absent collector never stalls a core.
 * (Bytes merely waiting for their send callback are not counted: the kernel took them. Counting
 * them would drop part of any burst larger than the bound, such as a second's merged split flows,
 * while the collector keeps up.) The thread's event loop runs the callbacks, which count what was
 * sent: a core thread gives it a turn every few milliseconds (core.ts `pause`).
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { RssplaneError } from '../../core/errors.js';
import { messageRecords, stampMessages, templateMessage } from '../../core/ipfix.js';

/** Where a target's shared counters are (u64 slots of UdpSession.counters). */
const enum Slot {
  RECORDS_SENT,
  RECORDS_DROPPED,
  MESSAGES_SENT,
  BYTES_SENT,
  TEMPLATE_MESSAGES,
  /** then the u32 sequence number: records sent before the next message (mod 2^32, as RFC 7011 counts) */
  COUNT,
}
const SEQUENCE_U32 = Slot.COUNT * 2;
const COUNTERS_BYTES = Slot.COUNT * 8 + 8;

/** At the end, a socket waits at most this long for what it has queued. */
export const CLOSE_MS = 3000;

/** What another thread needs to send on a UDP target's session (plain data: crosses postMessage). */
export interface UdpSession {
  /** the target as given (`udp://collector:4739`) */
  target: string;
  family: 'udp4' | 'udp6';
  /** the collector's address, resolved once by the main thread */
  address: string;
  port: number;
  /** the local port every socket of the session is bound to */
  localPort: number;
  domain: number;
  /** each socket's queue bound, bytes */
  queueBytes: number;
  /** shared counters and the sequence number (Slot) */
  counters: SharedArrayBuffer;
}

/** A UDP target's counts, over every socket of its session. */
export interface UdpCounts {
  records_sent: number;
  records_dropped: number;
  messages_sent: number;
  bytes_sent: number;
  template_messages: number;
}

const now = () => Math.floor(Date.now() / 1000);

export class UdpSender {
  /** bytes handed to the socket whose send has not called back yet */
  private queued = 0;
  private drained: Array<() => void> = [];
  private readonly counts: BigUint64Array;
  private readonly sequence: Uint32Array;

  private constructor(readonly session: UdpSession, private readonly socket: Socket) {
    this.counts = new BigUint64Array(session.counters, 0, Slot.COUNT);
    this.sequence = new Uint32Array(session.counters, SEQUENCE_U32 * 4, 1);
  }

  /**
   * The first socket of a target (the main thread's): bound to a port the kernel picks, connected
   * to `host` (a name is resolved here, once), the session's counters made. Throws a user error
   * (naming the target) when the host does not resolve or cannot be reached from here.
   */
  static async start(target: { text: string; where: string; port: number }, domain: number, queueBytes: number): Promise<UdpSender> {
    const family = isIPv6(target.where) ? 'udp6' : 'udp4';
    const socket = await open(family, 0, target.where, target.port, target.text);
    const session: UdpSession = {
      target: target.text, family, address: socket.remoteAddress().address, port: target.port,
      localPort: socket.address().port, domain, queueBytes, counters: new SharedArrayBuffer(COUNTERS_BYTES),
    };
    return new UdpSender(session, socket);
  }

  /** Another thread's socket of `session` (started by the main thread). */
  static async join(session: UdpSession): Promise<UdpSender> {
    return new UdpSender(session, await open(session.family, session.localPort, session.address, session.port, session.target));
  }

  /** The session's counts (any thread's view: every socket's sends and drops). */
  static counts(session: UdpSession): UdpCounts {
    const c = new BigUint64Array(session.counters, 0, Slot.COUNT);
    const at = (s: Slot) => Number(Atomics.load(c, s));
    return {
      records_sent: at(Slot.RECORDS_SENT), records_dropped: at(Slot.RECORDS_DROPPED), messages_sent: at(Slot.MESSAGES_SENT),
      bytes_sent: at(Slot.BYTES_SENT), template_messages: at(Slot.TEMPLATE_MESSAGES),
    };
  }

  /**
   * Data messages as the engine wrote them, back to back (their record counts where the
   * sequence number goes): each is copied, stamped (export time, the session's next sequence
   * number) and sent, or dropped with its records counted when this socket's queue is full.
   */
  send(messages: Uint8Array): void {
    for (const { offset, length, records } of messageRecords(messages)) {
      if (this.socket.getSendQueueSize() + length > this.session.queueBytes) {
        this.add(Slot.RECORDS_DROPPED, records);
        continue;
      }
      const datagram = messages.slice(offset, offset + length);
      // The old value is this message's number: records of every socket's messages before it.
      stampMessages(datagram, now(), Atomics.add(this.sequence, 0, records));
      this.transmit(datagram, records);
    }
  }

  /** A template message (no records: its sequence number is the next record's). */
  sendTemplates(): void {
    this.add(Slot.TEMPLATE_MESSAGES, 1);
    const m = templateMessage(this.session.domain, now(), Atomics.load(this.sequence, 0));
    if (this.socket.getSendQueueSize() + m.length <= this.session.queueBytes) this.transmit(m, 0);
  }

  private transmit(datagram: Uint8Array, records: number): void {
    this.queued += datagram.length;
    this.socket.send(datagram, (err) => {
      this.queued -= datagram.length;
      if (err) this.add(Slot.RECORDS_DROPPED, records);
      else {
        this.add(Slot.RECORDS_SENT, records);
        this.add(Slot.BYTES_SENT, datagram.length);
        if (records) this.add(Slot.MESSAGES_SENT, 1);
      }
      if (this.queued === 0) for (const w of this.drained.splice(0)) w();
    });
  }

  private add(slot: Slot, n: number): void {
    if (n) Atomics.add(this.counts, slot, BigInt(n));
  }

  /** Resolves once every send has called back (sent or failed), or after `ms`. */
  async flushed(ms = CLOSE_MS): Promise<void> {
    if (this.queued === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((r) => this.drained.push(r)), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /** Waits (at most CLOSE_MS) for the sends to complete, then closes the socket. */
  async close(): Promise<void> {
    await this.flushed();
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}

/** A socket bound to `localPort` (0: the kernel picks) with SO_REUSEADDR, connected to the collector. */
function open(family: 'udp4' | 'udp6', localPort: number, host: string, port: number, target: string): Promise<Socket> {
  const socket = createSocket({ type: family, reuseAddr: true });
  return new Promise<Socket>((resolve, reject) => {
    const failed = (e: Error) => {
      socket.close();
      reject(new RssplaneError('EINVAL', `bad --ipfix "${target}": ${e.message}`, '--ipfix'));
    };
    socket.once('error', failed);
    socket.bind(localPort, () => socket.connect(port, host, (e?: Error) => {
      if (e) return failed(e);
      socket.off('error', failed);
      // A collector that is not there answers with ICMP port unreachable, which a connected
      // socket reports as an error on its reads: nothing to do (UDP gives no delivery report).
      socket.on('error', () => {});
      resolve(socket);
    }));
  });
}
