/**
 * Where `run --ipfix` sends its IPFIX messages: a file, a UDP collector or a TCP collector.
 *
 *   FILE              templates first, then every data message (RFC 7011's file format: messages
 *                     back to back)
 *   udp://HOST:PORT   one message a datagram; templates at the start and every
 *                     --ipfix-template-refresh seconds (a collector that restarts learns them again);
 *                     in a run with core threads each core sends its own engine's messages on a
 *                     socket of its own, all of one transport session (udp-sender.ts)
 *   tcp://HOST:PORT   one stream; templates at the start of each connection; reconnects when the
 *                     collector goes away
 *
 * The engines encode the records (assembly/flow/ipfix.ts); each target stamps its own copy of each
 * message with the export time and its own sequence number (records sent before it in this
 * transport session, RFC 7011 section 3.1) and writes it. Files and TCP streams have one writer,
 * the main thread; the core threads hand it their messages for them. A collector that is down or
 * slow never holds the data plane up: what a socket has not taken waits in a bounded queue, and
 * messages that find the queue full are dropped and their records counted (records_dropped).
 */
import { closeSync, openSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { connect, type Socket } from 'node:net';
import { invalid, RssplaneError } from '../../core/errors.js';
import { IPFIX_PORT, messageRecords, stampMessages, templateMessage } from '../../core/ipfix.js';

export { IPFIX_PORT };
import { writeAll } from '../io.js';
import { CLOSE_MS, UdpSender, type UdpSession } from './udp-sender.js';

/** Bytes a socket (TCP: a target; UDP: each thread's socket) holds that it has not sent yet; more are dropped. */
export const QUEUE_BYTES = 8 << 20;
/** A TCP target waits this long before it tries a collector that went away again. */
const RECONNECT_MS = 1000;

export interface TargetSpec {
  kind: 'file' | 'udp' | 'tcp';
  /** file path, or host */
  where: string;
  port: number;
  /** as given */
  text: string;
}

/** What one target did: records and messages sent (handed to the file or socket), records dropped. */
export interface TargetStats {
  target: string;
  records_sent: number;
  records_dropped: number;
  messages_sent: number;
  bytes_sent: number;
  template_messages: number;
  /** TCP: connections made */
  connections?: number;
}

/** Parses one --ipfix value: udp://HOST[:PORT], tcp://HOST[:PORT] (IPv6 in brackets), else a file. */
export function parseTarget(text: string): TargetSpec {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(text);
  if (!m) {
    if (!text) invalid('--ipfix', text, 'give a file, udp://HOST:PORT or tcp://HOST:PORT');
    return { kind: 'file', where: text, port: 0, text };
  }
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'udp' && scheme !== 'tcp') invalid('--ipfix', text, 'expected udp://HOST:PORT, tcp://HOST:PORT or a file name');
  const rest = m[2]!.replace(/\/$/, '');
  const hp = /^(?:\[([^\]]+)\]|([^:\[\]/]+))(?::(\d*))?$/.exec(rest);
  if (!hp) invalid('--ipfix', text, `expected ${scheme}://HOST:PORT (IPv6 in brackets: ${scheme}://[::1]:${IPFIX_PORT})`);
  const host = hp![1] ?? hp![2]!;
  if (hp![1] !== undefined && !isIPv6(host)) invalid('--ipfix', text, 'not an IPv6 address in the brackets');
  const portText = hp![3];
  const port = portText === undefined ? IPFIX_PORT : Number(portText);
  if (portText === '' || !Number.isInteger(port) || port < 1 || port > 65535) invalid('--ipfix', text, 'port from 1 to 65535');
  return { kind: scheme, where: host, port, text };
}

export interface TargetOptions {
  domain: number;
  /** seconds between template messages on UDP */
  templateRefresh: number;
  /** the queue bound (tests make it small) */
  queueBytes?: number;
}

const now = () => Math.floor(Date.now() / 1000);

abstract class Target {
  /** records sent in this transport session: the next message's sequence number */
  protected sequence = 0;
  /** what it did so far (a copy, or a view the target keeps up to date) */
  abstract readonly stats: TargetStats;
  constructor(readonly spec: TargetSpec, protected readonly options: TargetOptions) {}
  /** Data messages as the engine wrote them (not yet stamped), `records` records in them. */
  abstract write(messages: Uint8Array, records: number): void;
  abstract close(): Promise<void>;
  /** A stamped copy of `messages` (this target's sequence numbers), the sequence moved on. */
  protected stamp(messages: Uint8Array): Uint8Array {
    const copy = messages.slice();
    this.sequence = (this.sequence + stampMessages(copy, now(), this.sequence)) >>> 0;
    return copy;
  }
  protected templates(): Uint8Array {
    this.stats.template_messages++;
    return templateMessage(this.options.domain, now(), this.sequence);
  }
}

/** A file: written as it comes (templates first), in large writes. */
class FileTarget extends Target {
  readonly stats: TargetStats = newStats(this.spec);
  private fd: number;
  private pending: Uint8Array[] = [];
  private size = 0;
  constructor(spec: TargetSpec, options: TargetOptions) {
    super(spec, options);
    try {
      this.fd = openSync(spec.where, 'w');
    } catch (e) {
      throw new RssplaneError('ENOENT', `cannot write --ipfix "${spec.where}": ${(e as Error).message}`, '--ipfix');
    }
    this.push(this.templates());
  }
  private push(b: Uint8Array): void {
    this.pending.push(b);
    this.size += b.length;
    this.stats.bytes_sent += b.length;
    if (this.size >= 1 << 20) this.flush();
  }
  write(messages: Uint8Array, records: number): void {
    this.push(this.stamp(messages));
    this.stats.records_sent += records;
    this.stats.messages_sent += messageRecords(messages).length;
  }
  private flush(): void {
    if (!this.pending.length) return;
    writeAll(this.fd, Buffer.concat(this.pending));
    this.pending = [];
    this.size = 0;
  }
  async close(): Promise<void> {
    this.flush();
    closeSync(this.fd);
  }
}

function newStats(spec: TargetSpec): TargetStats {
  return { target: spec.text, records_sent: 0, records_dropped: 0, messages_sent: 0, bytes_sent: 0, template_messages: 0 };
}


/**
 * UDP: a datagram a message, sent by a UdpSender (udp-sender.ts) of the target's session. The
 * main thread's sender sends the templates (at the start and every refresh) and what the main
 * thread writes; core threads join the session with senders of their own (CoreExport).
 */
class UdpTarget extends Target {
  private lastTemplates = 0;
  private timer: NodeJS.Timeout;
  private constructor(spec: TargetSpec, options: TargetOptions, readonly sender: UdpSender) {
    super(spec, options);
    // A write that found the templates due has just sent them: the timer then waits for its next
    // turn rather than sending them again a moment later.
    this.timer = setInterval(() => {
      if (Date.now() - this.lastTemplates >= options.templateRefresh * 500) this.sendTemplates();
    }, options.templateRefresh * 1000);
    this.timer.unref();
  }
  /** Opens the session and sends the templates; resolves once the socket has taken them. */
  static async open(spec: TargetSpec, options: TargetOptions): Promise<UdpTarget> {
    const t = new UdpTarget(spec, options, await UdpSender.start(spec, options.domain, options.queueBytes ?? QUEUE_BYTES));
    t.sendTemplates();
    await t.sender.flushed();
    return t;
  }
  get stats(): TargetStats {
    return { target: this.spec.text, ...UdpSender.counts(this.sender.session) };
  }
  private sendTemplates(): void {
    this.lastTemplates = Date.now();
    this.sender.sendTemplates();
  }
  write(messages: Uint8Array): void {
    if (Date.now() - this.lastTemplates >= this.options.templateRefresh * 1000) this.sendTemplates();
    this.sender.send(messages);
  }
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.sender.close();
  }
}

/** TCP: one stream, templates at the start of each connection, reconnects; a bounded queue. */
class TcpTarget extends Target {
  readonly stats: TargetStats = newStats(this.spec);
  private socket: Socket | undefined;
  private connected = false;
  private closing = false;
  private retry: NodeJS.Timeout | undefined;
  /** messages not yet handed to a connected socket, with their record counts */
  private queue: Array<[Uint8Array, number]> = [];
  private queued = 0;
  private drained: Array<() => void> = [];
  constructor(spec: TargetSpec, options: TargetOptions) {
    super(spec, options);
    this.stats.connections = 0;
    this.open();
  }
  private open(): void {
    if (this.closing) return;
    const s = connect({ host: this.spec.where, port: this.spec.port });
    this.socket = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.connected = true;
      this.stats.connections!++;
      // A new transport session: sequence numbers start over, templates first.
      this.sequence = 0;
      this.put(this.templates(), 0);
      this.pump();
    });
    s.on('drain', () => this.pump());
    s.on('error', () => {});
    s.on('close', () => {
      this.connected = false;
      this.socket = undefined;
      if (this.closing) {
        for (const w of this.drained.splice(0)) w();
        return;
      }
      this.retry = setTimeout(() => this.open(), RECONNECT_MS);
      this.retry.unref();
    });
  }
  /** Writes one message to the connected socket. */
  private put(m: Uint8Array, records: number): void {
    this.socket!.write(m);
    this.stats.bytes_sent += m.length;
    this.stats.records_sent += records;
    if (records) this.stats.messages_sent++;
  }
  /** Moves queued messages (stamped as they go: this session's sequence) to the socket while it takes them. */
  private pump(): void {
    while (this.connected && this.queue.length && this.socket!.writableLength < (1 << 20)) {
      const [m, n] = this.queue.shift()!;
      this.queued -= m.length;
      this.put(this.stamp(m), n);
    }
    if (!this.queue.length && this.socket && this.socket.writableLength === 0) for (const w of this.drained.splice(0)) w();
  }
  write(messages: Uint8Array, records: number): void {
    void records;
    const limit = this.options.queueBytes ?? QUEUE_BYTES;
    for (const { offset, length, records: n } of messageRecords(messages)) {
      if (this.queued + length > limit) {
        this.stats.records_dropped += n;
        continue;
      }
      this.queue.push([messages.slice(offset, offset + length), n]);
      this.queued += length;
    }
    this.pump();
  }
  async close(): Promise<void> {
    // Give a connected collector the queue; one that is down gets CLOSE_MS to come back.
    const deadline = sleep(CLOSE_MS);
    if (this.queue.length || (this.socket && this.socket.writableLength)) {
      await Promise.race([new Promise<void>((r) => this.drained.push(r)), deadline]);
    }
    this.closing = true;
    if (this.retry) clearTimeout(this.retry);
    for (const [, n] of this.queue) this.stats.records_dropped += n;
    this.queue = [];
    const s = this.socket;
    if (s) {
      const closed = new Promise<void>((r) => this.drained.push(r));
      s.end();
      await Promise.race([closed, sleep(CLOSE_MS)]);
      s.destroy();
    }
  }
}

/** A wait that keeps the process alive (the run's end waits on it). */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The records in a run of messages (each message's count, where the engine leaves it). */
function recordsIn(messages: Uint8Array): number {
  return messageRecords(messages).reduce((n, m) => n + m.records, 0);
}

/**
 * What a core thread needs to export its own engine's messages (plain data: crosses postMessage):
 * the UDP targets' sessions it sends on itself, the shared count of records encoded, and whether
 * the main thread must have the messages too (for file and TCP targets).
 */
export interface CoreShare {
  udp: UdpSession[];
  /** records the engines encoded: one u64 every thread adds to */
  encoded: SharedArrayBuffer;
  post: boolean;
}

/**
 * Every --ipfix target of a run. `write` takes the messages of one engine (unstamped, in the
 * engine's byte layout), each target stamps and sends its own copy. In a run with core threads,
 * the cores send to the UDP targets themselves (`coreShare`, CoreExport) and hand the main thread
 * their messages for the other targets only (`writeFromCore`).
 */
export class IpfixExport {
  private readonly encoded = new SharedArrayBuffer(8);
  private constructor(readonly targets: Target[]) {}

  /** Opens every target: files created, sockets made (UDP: bound), templates sent. */
  static async open(specs: readonly TargetSpec[], options: TargetOptions): Promise<IpfixExport> {
    const targets: Target[] = [];
    try {
      for (const s of specs) targets.push(s.kind === 'file' ? new FileTarget(s, options) : s.kind === 'udp' ? await UdpTarget.open(s, options) : new TcpTarget(s, options));
    } catch (e) {
      for (const t of targets) void t.close();
      throw e;
    }
    return new IpfixExport(targets);
  }

  /** records the engines encoded (handed to every target) */
  get records(): number {
    return Number(Atomics.load(new BigUint64Array(this.encoded), 0));
  }

  /** Messages for every target (the main thread's own: a one-core run's, merged split flows'). */
  write(messages: Uint8Array): void {
    if (!messages.length) return;
    const records = recordsIn(messages);
    Atomics.add(new BigUint64Array(this.encoded), 0, BigInt(records));
    for (const t of this.targets) t.write(messages, records);
  }

  /** What core threads need to send to the UDP targets themselves; undefined without a UDP target. */
  coreShare(): CoreShare | undefined {
    const udp = this.targets.flatMap((t) => (t instanceof UdpTarget ? [t.sender.session] : []));
    if (!udp.length) return undefined;
    return { udp, encoded: this.encoded, post: udp.length < this.targets.length };
  }

  /** A core's messages that it counted and sent to the UDP targets itself: for the other targets. */
  writeFromCore(messages: Uint8Array): void {
    if (!messages.length) return;
    const records = recordsIn(messages);
    for (const t of this.targets) if (!(t instanceof UdpTarget)) t.write(messages, records);
  }

  /** Sent and dropped, over all targets and per target: what the metrics read. */
  stats(): { records_encoded: number; records_sent: number; records_dropped: number; targets: TargetStats[] } {
    const targets = this.targets.map((t) => ({ ...t.stats }));
    return {
      records_encoded: this.records,
      records_sent: targets.reduce((n, t) => n + t.records_sent, 0),
      records_dropped: targets.reduce((n, t) => n + t.records_dropped, 0),
      targets,
    };
  }
  async close(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.close()));
  }
}

/**
 * A core thread's part of the export (worker.ts): a socket of its own on every UDP target's
 * session, where it stamps and sends its engine's messages itself, and the messages handed on to
 * the main thread when there are file or TCP targets.
 */
export class CoreExport {
  private readonly encoded: BigUint64Array;
  private constructor(private readonly share: CoreShare, private readonly senders: UdpSender[]) {
    this.encoded = new BigUint64Array(share.encoded);
  }

  static async open(share: CoreShare): Promise<CoreExport> {
    const senders: UdpSender[] = [];
    try {
      for (const s of share.udp) senders.push(await UdpSender.join(s));
    } catch (e) {
      await Promise.all(senders.map((x) => x.close()));
      throw e;
    }
    return new CoreExport(share, senders);
  }

  /** The engine's messages (unstamped): counted and sent; true when the main thread must have them too. */
  write(messages: readonly Uint8Array[]): boolean {
    let records = 0;
    for (const m of messages) {
      records += recordsIn(m);
      for (const s of this.senders) s.send(m);
    }
    if (records) Atomics.add(this.encoded, 0, BigInt(records));
    return this.share.post;
  }

  /** Waits (bounded) for every socket to take what it has queued, and closes them. */
  async close(): Promise<void> {
    await Promise.all(this.senders.map((s) => s.close()));
  }
}
