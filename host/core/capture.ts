/**
 * Capture files (pcap, pcapng) into an engine, in any JavaScript runtime: the bytes of a file
 * arrive in chunks (read by Node straight into engine memory, or copied from a browser's File),
 * the engine walks the records in place, and out come batches of packet descriptors pointing at
 * the packets where they lie. JavaScript handles chunks and batches, never packets.
 *
 *   const reader = CaptureReader.create(engine, { name: 'trace.pcap' });
 *   for (const batch of reader.write(fileBytes)) flows.process(batch);   // browser: copies in
 *   const summary = reader.finish();                                      // warnings, counters
 *
 * A record cut by a chunk's end waits, moved to the front of the buffer, for the next chunk. At
 * the end of the input such a record means the file was cut short (tcpdump killed mid-write):
 * the packets before it were delivered, and `finish()` says so in `warnings`. Input that is not a
 * capture, or a record no valid file has, is an RssplaneError (EINVAL) naming the input, the
 * byte offset and what was found.
 */
import {
  CAP_BYTES, CAP_CONSUMED, CAP_DROPPED, CAP_ERROR, CAP_ERROR_VALUE, CAP_FORMAT, CAP_IFACE_BASE, CAP_IFACE_COUNT,
  CAP_PACKETS, CAP_PENDING, CAP_RECORDS, CAP_SECTIONS, CAP_SKIP, CAP_SKIP_LENGTH, CAP_SKIP_TRAILER, CAP_SKIPPED_BLOCKS, CAP_STOP,
  CAP_UNSUPPORTED, CAP_UNSUPPORTED_TYPES, CAPTURE_CAPLEN_MAX, CAPTURE_RECORD_MAX, CAPTURE_STATE,
  CAPTURE_UNSUPPORTED_MAX, CaptureError, CaptureFormat, CaptureStop, PKT_DESCRIPTOR,
} from '../../assembly/shared/abi.js';
import type { Engine, PacketBatch } from './engine.js';
import { invalid, RssplaneError } from './errors.js';

/**
 * Packets ready for an engine: `count` descriptors of PKT_DESCRIPTOR (32) bytes at byte address
 * `descriptors` in engine memory (fields PKT_* in assembly/shared/abi.ts, little-endian). The
 * descriptors and the packet bytes they point at stay valid until the next batch is asked for.
 */
export interface CaptureOptions {
  /**
   * Bytes taken in per step, default 1 MiB; the buffer holds this plus CAPTURE_RECORD_MAX. A
   * chunk this size is still in the core's L2 cache when the walk and the flow engine read it
   * after the copy in (an 8 MiB chunk is not): on a 5 GB capture, 1 MiB reads as fast and the
   * walk and engine run faster.
   */
  chunkSize?: number;
  /** Descriptors per batch, default 4096. */
  batchSize?: number;
  /** What messages call the input (a file name), default "capture". */
  name?: string;
}

/** What a capture held, and what the reader could not deliver. Counts are whole numbers. */
export interface CaptureSummary {
  format: 'pcap' | 'pcapng';
  /** packets delivered in batches */
  packets: number;
  /** captured bytes of those packets (link layer included) */
  bytes: number;
  /** records walked: packets, plus pcapng's other blocks */
  records: number;
  /** bytes taken in */
  inputBytes: number;
  /** pcapng sections (pcap: 1) */
  sections: number;
  /** interfaces described, numbered through the file (pcap: 1) */
  interfaces: number;
  /** packets skipped because no engine parses their link type, in all and by link type */
  unsupported: { packets: number; linkTypes: Array<{ linkType: number; name: string; packets: number }> };
  /** packets skipped because their interface was never described */
  dropped: number;
  /** pcapng blocks skipped (statistics, name resolution, custom...) */
  skippedBlocks: number;
  /** set when the input ended inside a record: where it starts, the bytes it needs and has */
  truncated?: { offset: number; need: number; have: number };
  /** one line each, for a person: cut short, link types skipped, packets dropped */
  warnings: string[];
}

const MiB = 1 << 20;

/** The reader whose file each engine's walker state (CAPTURE_STATE, one per engine) belongs to. */
const walking = new WeakMap<Engine, CaptureReader>();

/**
 * Reads one capture at a time into one engine: the walker keeps its state (byte order,
 * interfaces, counters) in the engine's CAPTURE_STATE, so a second reader on the same engine
 * takes it over, and the first then refuses to go on (EINVAL) rather than misread.
 */
export class CaptureReader {
  /** engine addresses of the unconsumed bytes in the buffer, and of their end */
  private start = 0;
  private end = 0;
  /** input offset of the byte at `start` */
  private offset = 0;
  private taken = 0;
  private format = CaptureFormat.NONE;
  private state: DataView | undefined;

  private constructor(
    private readonly engine: Engine,
    /** byte address of the chunk buffer in engine memory */
    readonly buffer: number,
    /** its size: chunkSize + CAPTURE_RECORD_MAX */
    readonly capacity: number,
    /** byte address of the descriptor array */
    readonly descriptors: number,
    readonly batchSize: number,
    readonly chunkSize: number,
    readonly name: string,
  ) {}

  /**
   * A reader with its buffers allocated in `engine` (configuration time: nothing is allocated
   * while reading). Throws EINVAL for a chunk or batch size out of range, ENOMEM when the engine
   * cannot hold the buffers.
   */
  static create(engine: Engine, options: CaptureOptions = {}): CaptureReader {
    const chunkSize = options.chunkSize ?? MiB;
    const batchSize = options.batchSize ?? 4096;
    if (!Number.isInteger(chunkSize) || chunkSize < 64 || chunkSize > 1024 * MiB) invalid('chunk size', chunkSize, 'expected 64 bytes to 1 GiB');
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1 << 20) invalid('batch size', batchSize, 'expected 1 to 1048576 descriptors');
    const capacity = chunkSize + CAPTURE_RECORD_MAX;
    const buffer = engine.allocate(capacity);
    const descriptors = engine.allocate(batchSize * PKT_DESCRIPTOR);
    const reader = new CaptureReader(engine, buffer, capacity, descriptors, batchSize, chunkSize, options.name ?? 'capture');
    reader.reset();
    return reader;
  }

  /** Starts over, for a new input. */
  reset(): void {
    this.start = this.end = this.buffer;
    this.offset = this.taken = 0;
    this.format = CaptureFormat.NONE;
  }

  /**
   * Engine memory for the next bytes: a view of up to chunkSize bytes. Write into it (Node's
   * fs.readSync does, with no copy on the way), then call `feed` with the count written. Moves
   * the unconsumed end of the last chunk (part of one record) to the front of the buffer first.
   * The view is valid until the engine allocates again.
   */
  space(): Uint8Array {
    const bytes = this.engine.bytes;
    if (this.start > this.buffer) {
      bytes.copyWithin(this.buffer, this.start, this.end);
      this.end -= this.start - this.buffer;
      this.start = this.buffer;
    }
    const room = Math.min(this.chunkSize, this.buffer + this.capacity - this.end);
    if (room <= 0) throw new RssplaneError('EINVAL', `${this.label}: space() called before the last feed() was run to its end`, 'capture');
    return bytes.subarray(this.end, this.end + room);
  }

  /**
   * Takes `n` bytes just written into `space()` and yields the batches of packets now whole.
   * Run it to its end before calling `space()` again. Throws RssplaneError (EINVAL) when the
   * input is not a capture, or at a damaged record (after yielding the packets before it).
   */
  *feed(n: number): Generator<PacketBatch, void, undefined> {
    if (!Number.isInteger(n) || n < 0 || this.end + n > this.buffer + this.capacity) invalid('byte count', n, 'more than space() offered');
    this.end += n;
    this.taken += n;
    if (this.format === CaptureFormat.NONE && !this.begin(false)) return;
    yield* this.walk();
  }

  /**
   * Takes the input's next `n` bytes, already at engine address `at` (a chunk read ahead into a
   * slot of its own, outside this reader's buffer), and yields the batches of packets now whole,
   * as `feed` does. The unconsumed end of the last chunk (part of one record, at most
   * CAPTURE_RECORD_MAX bytes) is copied in front of them first: the slot must have that much room
   * before `at`. Run it to its end before the next call; the bytes it leaves unconsumed stay
   * where they are until then.
   */
  *feedAt(at: number, n: number): Generator<PacketBatch, void, undefined> {
    const tail = this.end - this.start;
    if (!Number.isInteger(n) || n < 0 || !Number.isInteger(at) || at - tail < 0 || at + n > this.engine.bytes.length) invalid('chunk', `${n} bytes at ${at}`, 'outside the engine\'s memory');
    if (tail > CAPTURE_RECORD_MAX) throw new RssplaneError('EINVAL', `${this.label}: ${tail} bytes left over, more than a record`, 'capture');
    this.engine.bytes.copyWithin(at - tail, this.start, this.end);
    this.start = at - tail;
    this.end = at + n;
    this.taken += n;
    if (this.format === CaptureFormat.NONE && !this.begin(false)) return;
    yield* this.walk();
  }

  // ---- one input walked by several engines, a piece each, in turn ----
  //
  // The walker's state (byte order, pcapng interfaces, counters, a block being skipped) lives in
  // CAPTURE_STATE: an engine that walks the next piece of the input copies it from the engine
  // that walked the one before (resume), and goes on from where that one stopped (position).

  /** Input offset of the first byte not yet walked: where the next piece starts. */
  get position(): number {
    return this.offset;
  }

  /**
   * Takes the walk over from another engine's reader: `state` is that engine's CAPTURE_STATE
   * (4 KiB), copied here. This reader then walks the input's next piece (walkPiece).
   */
  resume(state: Uint8Array): void {
    this.engine.bytes.set(state, CAPTURE_STATE);
    this.format = this.u32(CAP_FORMAT) as CaptureFormat;
    walking.set(this.engine, this);
  }

  /**
   * Walks the piece of the input at engine address `at` (`length` bytes, inside this reader's
   * buffer) that starts at input offset `offset`, where the walk before it stopped (0 for the
   * first piece, which holds the file header), and yields its batches as `feed` does. What is
   * left at the end (the start of a record the piece cuts) is walked by the next piece, which
   * starts at `position`.
   */
  *walkPiece(offset: number, at: number, length: number): Generator<PacketBatch, void, undefined> {
    if (at < this.buffer || at + length > this.buffer + this.capacity) invalid('piece', `${length} bytes at ${at}`, 'outside the reader\'s buffer');
    this.start = at;
    this.end = at + length;
    this.offset = offset;
    this.taken = offset + length;
    if (this.format === CaptureFormat.NONE && !this.begin(false)) return;
    yield* this.walk();
  }

  /** Copies `bytes` (not in engine memory: a browser File's contents, say) in and yields batches. */
  *write(bytes: Uint8Array): Generator<PacketBatch, void, undefined> {
    for (let at = 0; at < bytes.length;) {
      const space = this.space();
      const n = Math.min(space.length, bytes.length - at);
      space.set(bytes.subarray(at, at + n));
      at += n;
      yield* this.feed(n);
    }
  }

  /**
   * The end of the input. Returns the summary, with a warning when the input ended inside a
   * record. Throws EINVAL when it ended before a whole file header (an empty file, say).
   */
  finish(): CaptureSummary {
    if (this.format === CaptureFormat.NONE) {
      if (this.taken === 0) throw new RssplaneError('EINVAL', `${this.label} is empty: not a pcap or pcapng file`, 'capture');
      this.begin(true);
    }
    const summary = this.summary();
    const have = this.end - this.start;
    if (this.u32(CAP_SKIP_TRAILER)) {
      // a large block the walker was streaming past (not a packet): what it passed is consumed
      const need = this.u32(CAP_SKIP_LENGTH);
      const passed = need - 4 - this.u32(CAP_SKIP);
      summary.truncated = { offset: this.offset - passed, need, have: passed + have };
      summary.warnings.unshift(`${this.label} is cut short: its last block (at byte ${this.offset - passed}, not a packet) needs ${need} bytes and has ${passed + have}; read all ${summary.packets} packets before it`);
    } else if (have > 0) {
      const need = this.u32(CAP_PENDING);
      summary.truncated = { offset: this.offset, need, have };
      summary.warnings.unshift(`${this.label} is cut short: its last record (at byte ${this.offset}) needs ${need} bytes and has ${have}` +
        ` (the capture was probably stopped mid-write); read the ${summary.packets} packets before it`);
    }
    return summary;
  }

  /** Counters so far (the warnings about skipped packets included; `finish` adds truncation). */
  summary(): CaptureSummary {
    if (this.format === CaptureFormat.NONE) throw new RssplaneError('EINVAL', `${this.label}: no capture header read yet`, 'capture');
    if (walking.get(this.engine) !== this) throw new RssplaneError('EINVAL', `${this.label}: another capture reader started on this engine; its counters are gone`, 'capture');
    const linkTypes: CaptureSummary['unsupported']['linkTypes'] = [];
    for (let i = 0; i < CAPTURE_UNSUPPORTED_MAX; i++) {
      const packets = this.u32(CAP_UNSUPPORTED_TYPES + i * 8 + 4);
      if (packets) {
        const linkType = this.u32(CAP_UNSUPPORTED_TYPES + i * 8);
        linkTypes.push({ linkType, name: linkTypeName(linkType), packets });
      }
    }
    const unsupported = this.u64(CAP_UNSUPPORTED);
    const dropped = this.u64(CAP_DROPPED);
    const warnings: string[] = [];
    if (unsupported) {
      const which = linkTypes.map((t) => `${t.packets} of link type ${t.linkType}${t.name ? ` (${t.name})` : ''}`).join(', ');
      warnings.push(`${this.label}: skipped ${unsupported} packets of link types rssplane does not parse (it parses ${PARSED_LINK_TYPES}): ${which}`);
    }
    if (dropped) warnings.push(`${this.label}: skipped ${dropped} packets on interfaces the file never described`);
    const pcap = this.format === CaptureFormat.PCAP;
    return {
      format: pcap ? 'pcap' : 'pcapng',
      packets: this.u64(CAP_PACKETS),
      bytes: this.u64(CAP_BYTES),
      records: this.u64(CAP_RECORDS),
      inputBytes: this.taken,
      sections: pcap ? 1 : this.u32(CAP_SECTIONS),
      interfaces: this.u32(CAP_IFACE_BASE) + this.u32(CAP_IFACE_COUNT),
      unsupported: { packets: unsupported, linkTypes },
      dropped,
      skippedBlocks: this.u64(CAP_SKIPPED_BLOCKS),
      warnings,
    };
  }

  /** Releases the buffers (the reader is unusable after). */
  free(): void {
    this.engine.release(this.buffer);
    this.engine.release(this.descriptors);
  }

  private get label(): string {
    return `capture ${JSON.stringify(this.name)}`;
  }

  /** Recognises the file header; false when more bytes are needed and may come. */
  private begin(atEnd: boolean): boolean {
    const result = this.engine.exports.captureBegin(this.start, this.end - this.start);
    walking.set(this.engine, this);
    if (result > 0) {
      this.format = result;
      this.advance(this.u32(CAP_CONSUMED));
      return true;
    }
    if (-result === CaptureError.SHORT_HEADER && !atEnd) return false;
    throw this.refused(-result, this.u32(CAP_ERROR_VALUE));
  }

  private *walk(): Generator<PacketBatch, void, undefined> {
    const walk = this.engine.exports.captureWalk;
    for (;;) {
      if (walking.get(this.engine) !== this) throw new RssplaneError('EINVAL', `${this.label}: another capture reader started on this engine; read one capture at a time per engine`, 'capture');
      const count = walk(this.start, this.end - this.start, this.descriptors, this.batchSize);
      const stop = this.u32(CAP_STOP);
      this.advance(this.u32(CAP_CONSUMED));
      if (count) yield { descriptors: this.descriptors, count };
      if (stop === CaptureStop.FULL) continue;
      if (stop === CaptureStop.NEED_MORE) return;
      throw this.damaged(this.u32(CAP_ERROR), this.u32(CAP_ERROR_VALUE));
    }
  }

  private advance(consumed: number): void {
    this.start += consumed;
    this.offset += consumed;
  }

  private u32(field: number): number {
    return this.view().getUint32(field, true);
  }

  private u64(field: number): number {
    return Number(this.view().getBigUint64(field, true));
  }

  private view(): DataView {
    if (this.state?.buffer !== this.engine.memory.buffer) this.state = new DataView(this.engine.memory.buffer, CAPTURE_STATE, 4096);
    return this.state;
  }

  /** The error for input refused at its header. */
  private refused(error: CaptureError, value: number): RssplaneError {
    const what = (() => {
      switch (error) {
        case CaptureError.NOT_CAPTURE: return `not a pcap or pcapng file: it starts with ${describeMagic(value, this.engine.bytes.subarray(this.start, Math.min(this.end, this.start + 32)))}`;
        case CaptureError.SHORT_HEADER: return `too short to be a capture: ${this.end - this.start} bytes, and a ${this.end - this.start >= 4 && this.looksPcapng() ? 'pcapng section header' : 'pcap file header'} needs ${Math.max(value, 4)}`;
        case CaptureError.BAD_VERSION: return `pcap version ${value} (only 2.4 is defined)`;
        case CaptureError.BAD_BYTE_ORDER: return `pcapng section header with byte-order magic 0x${hex(value)} (neither 0x1a2b3c4d nor its byte swap): not a pcapng file`;
        default: return `unreadable header (error ${error}, value ${value})`;
      }
    })();
    return new RssplaneError('EINVAL', `${this.label} is ${what}`, 'capture');
  }

  private looksPcapng(): boolean {
    return this.engine.bytes[this.start] === 0x0a && this.engine.bytes[this.start + 1] === 0x0d;
  }

  /** The error for a damaged record at the current offset. */
  private damaged(error: CaptureError, value: number): RssplaneError {
    const record = this.format === CaptureFormat.PCAP ? 'record' : 'block';
    const what = (() => {
      switch (error) {
        case CaptureError.BAD_CAPLEN: return `claims ${value} captured bytes, more than ${this.format === CaptureFormat.PCAP ? `libpcap's limit of ${CAPTURE_CAPLEN_MAX}` : `its block holds or libpcap's limit of ${CAPTURE_CAPLEN_MAX}`}`;
        case CaptureError.BAD_BLOCK_LENGTH:
          if (value < 12 || value % 4) return `has length ${value} (a block is a multiple of 4 bytes, at least 12)`;
          return value > CAPTURE_RECORD_MAX ? `has length ${value}, more than any packet or description block can have` : `has length ${value}, too short for a block of its type`;
        case CaptureError.BAD_TRAILER: return `ends with length ${value}, not the length it starts with`;
        case CaptureError.BAD_OPTION: return `has option ${value} running past the end of the block`;
        case CaptureError.BAD_TSRESOL: return `has if_tsresol 0x${value.toString(16)}, a time unit too small for 64 bits`;
        case CaptureError.BAD_VERSION: return `is a section header of pcapng version ${value} (this reader knows version 1)`;
        case CaptureError.BAD_BYTE_ORDER: return `is a section header with byte-order magic 0x${hex(value)}`;
        default: return `cannot be read (error ${error}, value ${value})`;
      }
    })();
    return new RssplaneError('EINVAL', `${this.label} is damaged: the ${record} at byte ${this.offset} ${what}`, 'capture');
  }
}

const hex = (x: number) => (x >>> 0).toString(16).padStart(8, '0');

/** Names the first bytes of something that is not a capture, when they say what it is. */
function describeMagic(magic: number, head: Uint8Array): string {
  const known: Array<[number, number, string]> = [
    [0x1f8b0000, 0xffff0000, 'gzip-compressed: decompress it first'],
    [0x28b52ffd, 0xffffffff, 'zstd-compressed: decompress it first'],
    [0xfd377a58, 0xffffffff, 'xz-compressed: decompress it first'],
    [0x425a6800, 0xffffff00, 'bzip2-compressed: decompress it first'],
    [0xa1b2cd34, 0xffffffff, "a modified (Kuznetzov) pcap, which rssplane does not read: convert it with editcap -F pcap"],
    [0x34cdb2a1, 0xffffffff, "a modified (Kuznetzov) pcap, which rssplane does not read: convert it with editcap -F pcap"],
    [0x736e6f6f, 0xffffffff, 'a snoop capture: convert it with editcap -F pcap'],
  ];
  const match = known.find(([value, mask]) => ((magic & mask) >>> 0) === value);
  const text = Array.from(head, (c) => c).every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127));
  const shown = text ? `the text ${JSON.stringify(new TextDecoder().decode(head.subarray(0, 16)))}` : `0x${hex(magic)}`;
  return match ? `${shown}: ${match[2]}` : shown;
}

/** The link types the engine parses (LinkType in assembly/shared/abi.ts), for messages. */
const PARSED_LINK_TYPES = 'Ethernet, raw IP, Linux cooked (SLL, SLL2), BSD loopback (NULL, LOOP) and PPP';

/** Names of link types people meet in captures that rssplane does not parse (LINKTYPE_* in the tcpdump.org list). */
function linkTypeName(linkType: number): string {
  const names: Record<number, string> = {
    6: 'IEEE802_5, Token Ring', 105: 'IEEE802_11', 119: 'PRISM_HEADER', 127: 'IEEE802_11_RADIOTAP', 192: 'PPI',
    195: 'IEEE802_15_4_WITHFCS', 220: 'USB_LINUX_MMAPPED', 239: 'NFLOG', 249: 'USBPCAP', 253: 'NETLINK',
  };
  if (linkType >= 147 && linkType <= 162) return `USER${linkType - 147}`;
  return names[linkType] ?? '';
}
