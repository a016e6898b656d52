/**
 * A capture file as a packet source for Node: read in large chunks with fs.readSync straight
 * into the engine's memory (the read's target is a view of the chunk buffer, so no byte is copied
 * on the way), or read ahead by a native thread into slots of a shared memory (readAhead),
 * walked there by the engine, delivered as descriptor batches.
 *
 *   const capture = readCapture(engine, 'trace.pcap');
 *   for (const batch of capture) flows.process(batch);
 *   capture.summary?.warnings.forEach((w) => console.error(w));
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { CAPTURE_RECORD_MAX } from '../../../assembly/shared/abi.js';
import { CaptureReader, type CaptureOptions, type CaptureSummary } from '../../core/capture.js';
import type { PacketBatch } from '../../core/engine.js';
import type { Engine } from '../../core/engine.js';
import { RssplaneError } from '../../core/errors.js';
import { reservedBytes } from '../../core/limits.js';
import { sleepSync } from '../io.js';
import { memoryAddon, type MemoryAddon } from '../memory-addon.js';

/** How far a read has got, for a progress bar. `fileSize` is undefined for a pipe. */
export interface CaptureProgress {
  bytesRead: number;
  fileSize: number | undefined;
}

/** readCapture's options: the reader's, and whether a thread reads the file ahead. */
export interface CaptureFileOptions extends CaptureOptions {
  /**
   * Read a regular file ahead on another thread (native/memory's read-ahead), into slots of the
   * engine's memory, so that the reading and the walk overlap; only for an engine with a shared
   * memory (whose address does not move) and where the addon loads; otherwise, and for standard
   * input, the file is read in turn with the walk. Default false.
   */
  readAhead?: boolean;
}

/** Chunks read ahead at once: the one walked, the one before it (its last record's start), two in flight. */
const AHEAD_SLOTS = 4;

/** What reading ahead allocates in the engine beside the reader's own buffers, for chunks of `chunkSize`. */
export function readAheadBytes(chunkSize: number): number {
  return reservedBytes(8 * AHEAD_SLOTS) + reservedBytes(AHEAD_SLOTS * (CAPTURE_RECORD_MAX + chunkSize));
}

/** The slots of a read-ahead in engine memory: their state words, then chunk + CAPTURE_RECORD_MAX each. */
interface AheadSlots {
  addon: MemoryAddon;
  control: number;
  data: number;
  stride: number;
}

export class CaptureFile implements Iterable<PacketBatch> {
  readonly reader: CaptureReader;
  private read = 0;
  private size: number | undefined;
  private readonly ahead: AheadSlots | undefined;
  /** The read-ahead thread writing into the slots, if any (an iteration may be left suspended). */
  private live: { handle: number } | undefined;
  /** Set when an iteration has read the whole file: counters and warnings. */
  summary: CaptureSummary | undefined;

  /** `path` is a file, or `-` for standard input. The buffers are allocated in `engine` now. */
  constructor(
    private readonly engine: Engine,
    readonly path: string,
    options: CaptureFileOptions = {},
  ) {
    const { readAhead, ...readerOptions } = options;
    this.reader = CaptureReader.create(engine, { name: path === '-' ? 'standard input' : path, ...readerOptions });
    const addon = readAhead && path !== '-' && engine.memory.buffer instanceof SharedArrayBuffer ? memoryAddon() : null;
    if (addon?.readAheadStart && isRegularFile(path)) {
      const stride = CAPTURE_RECORD_MAX + this.reader.chunkSize;
      const control = engine.allocate(8 * AHEAD_SLOTS);
      this.ahead = { addon, control, data: engine.allocate(stride * AHEAD_SLOTS) + CAPTURE_RECORD_MAX, stride };
    }
  }

  /** True when a thread reads the file ahead (readAhead asked, and possible here). */
  get readsAhead(): boolean {
    return this.ahead !== undefined;
  }

  get progress(): CaptureProgress {
    return { bytesRead: this.read, fileSize: this.size };
  }

  /**
   * Reads the file from its start; each batch is valid until the next is asked for. Throws
   * RssplaneError: ENOENT when the file cannot be opened or read, EINVAL when it is not a capture
   * or is damaged (after the batches before the damage).
   */
  *[Symbol.iterator](): Generator<PacketBatch, void, undefined> {
    const fd = this.open();
    try {
      this.reader.reset();
      this.read = 0;
      this.summary = undefined;
      if (this.ahead && this.size !== undefined) {
        yield* this.readAhead(fd, this.ahead);
      } else {
        for (;;) {
          const n = this.readInto(fd, this.reader.space());
          if (n === 0) break;
          this.read += n;
          yield* this.reader.feed(n);
        }
      }
      this.summary = this.reader.finish();
    } finally {
      if (this.path !== '-') closeSync(fd);
    }
  }

  /**
   * The file read by the addon's thread into the slots, in turn, while this thread walks the
   * slot before: each slot is given back once the walk of the next has taken the record its end
   * cut. The thread is stopped (and waited for) before the file is closed, however the walk ends.
   */
  private *readAhead(fd: number, ahead: AheadSlots): Generator<PacketBatch, void, undefined> {
    const { addon, control, data, stride } = ahead;
    const words = new Int32Array(this.engine.sharedBuffer, control, 2 * AHEAD_SLOTS);
    // An iteration left suspended (never run to its end nor returned) still has its thread: it
    // is stopped before a new one takes the slots.
    this.halt();
    const live = { handle: addon.readAheadStart!(fd, this.engine.bytes, control, data, AHEAD_SLOTS, stride, this.reader.chunkSize, 0) };
    this.live = live;
    try {
      let before = -1;
      for (let k = 0; ; k++) {
        const slot = k % AHEAD_SLOTS;
        waitFilled(words, 2 * slot);
        const n = words[2 * slot + 1]!;
        if (n < 0) throw this.unreadable(Object.assign(new Error(errnoName(-n)), { code: errnoName(-n) }));
        if (n === 0) break;
        this.read += n;
        yield* this.reader.feedAt(data + slot * stride, n);
        if (before >= 0) Atomics.store(words, 2 * before, 0);
        before = slot;
      }
    } finally {
      if (this.live === live) this.halt();
    }
  }

  /** Stops the read-ahead thread, if one runs, and waits for it. */
  private halt(): void {
    if (this.live) this.ahead!.addon.readAheadStop!(this.live.handle);
    this.live = undefined;
  }

  /** Releases the engine buffers. */
  free(): void {
    this.halt();
    this.reader.free();
    if (this.ahead) {
      this.engine.release(this.ahead.control);
      this.engine.release(this.ahead.data - CAPTURE_RECORD_MAX);
    }
  }

  private open(): number {
    if (this.path === '-') {
      const stat = fstatSync(0);
      this.size = stat.isFile() ? stat.size : undefined;
      return 0;
    }
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (e) {
      throw this.unreadable(e);
    }
    const stat = fstatSync(fd);
    if (stat.isDirectory()) {
      closeSync(fd);
      throw new RssplaneError('ENOENT', `cannot read capture "${this.path}": it is a directory`, 'capture');
    }
    this.size = stat.isFile() ? stat.size : undefined;
    return fd;
  }

  /** One read; a pipe that has nothing yet (EAGAIN) is waited for, a millisecond at a time. */
  private readInto(fd: number, target: Uint8Array): number {
    for (;;) {
      try {
        return readSync(fd, target, 0, target.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          sleepSync(1);
          continue;
        }
        if ((e as NodeJS.ErrnoException).code === 'EOF') return 0;
        throw this.unreadable(e);
      }
    }
  }

  private unreadable(e: unknown): RssplaneError {
    const err = e as NodeJS.ErrnoException;
    const reason = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : err.message;
    return new RssplaneError('ENOENT', `cannot read capture "${this.path}": ${reason}`, 'capture');
  }
}

/**
 * The packets of a pcap or pcapng file as descriptor batches for `engine`:
 * `for (const batch of readCapture(engine, path)) ...`. Buffers (chunkSize + CAPTURE_RECORD_MAX
 * bytes, and batchSize descriptors; with readAhead, four slots of that size) are allocated in the
 * engine when this is called.
 */
export function readCapture(engine: Engine, path: string, options: CaptureFileOptions = {}): CaptureFile {
  return new CaptureFile(engine, path, options);
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false; // the read says why, as without read-ahead
  }
}

/**
 * Waits until the slot's state word (Int32 `i` of `words`) is 1: spins, then sleeps 50 us at a
 * time (the addon's thread cannot wake an Atomics.wait; a chunk takes it about 0.2 ms to read).
 */
function waitFilled(words: Int32Array, i: number): void {
  for (let spins = 0; Atomics.load(words, i) === 0; spins++) {
    if (spins > 256) Atomics.wait(words, i, 0, 0.05);
  }
}

/** The name of errno `n` (EIO, say), or the number. */
function errnoName(n: number): string {
  for (const [name, value] of Object.entries(constants.errno)) if (value === n) return name;
  return `errno ${n}`;
}

/**
 * A capture file read in fixed chunks by position, for cores that walk it in turns (chunk j by
 * core j % cores): each reads only its own chunks, straight into its engine's memory. A chunk's
 * first record may have started in the chunk before: where the walk before stopped is known
 * only then, and those bytes are read too (readPrefix). The file is taken at the size it has
 * when the run starts.
 */
export class CaptureChunks {
  readonly size: number;
  private readonly fd: number;

  constructor(readonly path: string, readonly chunkSize: number) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new RssplaneError('ENOENT', `cannot read capture "${path}": ${err.code === 'ENOENT' ? 'no such file' : err.message}`, 'capture');
    }
    this.size = fstatSync(this.fd).size;
  }

  /** Chunks in the file (one for an empty file: its reader says it is empty). */
  get count(): number {
    return Math.max(1, Math.ceil(this.size / this.chunkSize));
  }

  /** Input offset of chunk `j`'s first byte. */
  start(j: number): number {
    return j * this.chunkSize;
  }

  /** Bytes of chunk `j` (the last one may be short). */
  length(j: number): number {
    return Math.max(0, Math.min(this.chunkSize, this.size - j * this.chunkSize));
  }

  /** Reads the bytes from input offset `from` (up to `length`) into `into`; returns how many. */
  read(from: number, length: number, into: Uint8Array): number {
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = readSync(this.fd, into, done, length - done, from + done);
      } catch (e) {
        throw new RssplaneError('ENOENT', `cannot read capture "${this.path}": ${(e as Error).message}`, 'capture');
      }
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  /**
   * Reads exactly `length` bytes from input offset `from` into `into`. The chunks were cut by the
   * size the file had when it was opened: fewer bytes mean it was cut short since (rewritten or
   * truncated while the cores read it), and the run cannot go on.
   */
  readExactly(from: number, length: number, into: Uint8Array): void {
    if (this.read(from, length, into) !== length) {
      throw new RssplaneError('EINVAL', `cannot read capture "${this.path}": it became shorter while it was read`, 'capture');
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}
