/**
 * A capture file as a packet source for Node: read in large chunks straight into the engine's
 * memory (the read's target is a view of the chunk buffer, so no byte is copied on the way),
 * walked there by the engine, delivered as descriptor batches.
 *
 *   const capture = readCapture(engine, 'trace.pcap');
 *   for (const batch of capture) flows.process(batch);
 *   capture.summary?.warnings.forEach((w) => console.error(w));
 *
 * Iterated, it reads with fs.readSync: each chunk's copy out of the page cache is made on the
 * thread that walks it. `for await (const batch of capture.ahead())` reads the next chunk while
 * this one is walked and processed: the read runs on libuv's thread pool (on another CPU when
 * there is one), into the second of two areas of the buffer (readCapture's `readAhead` option).
 */
import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';
import { CAPTURE_RECORD_MAX } from '../../../assembly/shared/abi.js';
import { CaptureReader, type CaptureOptions, type CaptureSummary } from '../../core/capture.js';
import type { PacketBatch } from '../../core/engine.js';
import type { Engine } from '../../core/engine.js';
import { invalid, RssplaneError } from '../../core/errors.js';
import { sleepSync } from '../io.js';

/** How far a read has got, for a progress bar. `fileSize` is undefined for a pipe. */
export interface CaptureProgress {
  bytesRead: number;
  fileSize: number | undefined;
}

/** readCapture's options: the reader's, and whether the buffer has room to read ahead. */
export interface CaptureFileOptions extends CaptureOptions {
  /**
   * Room for `ahead()`: two areas of chunkSize bytes, each after room for a record the chunk
   * before cut (the buffer is 2 x (chunkSize + CAPTURE_RECORD_MAX) bytes). Iterating still reads
   * one chunk at a time, the buffer's size at once.
   */
  readAhead?: boolean;
}

export class CaptureFile implements Iterable<PacketBatch> {
  readonly reader: CaptureReader;
  /** bytes of one read by ahead(); 0 when the buffer has no room for it */
  private readonly aheadChunk: number;
  private read = 0;
  private size: number | undefined;
  /** Set when an iteration has read the whole file: counters and warnings. */
  summary: CaptureSummary | undefined;

  /** `path` is a file, or `-` for standard input. The buffers are allocated in `engine` now. */
  constructor(
    private readonly engine: Engine,
    readonly path: string,
    options: CaptureFileOptions = {},
  ) {
    const { readAhead, ...rest } = options;
    const name = path === '-' ? 'standard input' : path;
    if (readAhead && path === '-') throw new RssplaneError('EINVAL', 'cannot read standard input ahead: it is read once, in order (iterate it)', 'capture');
    if (readAhead) {
      // Two areas of a chunk, each after a record's room: the reader's one chunk spans both.
      const chunk = rest.chunkSize ?? CaptureReader.DEFAULT_CHUNK;
      if (!Number.isInteger(chunk) || chunk < 64 || chunk > 512 * 1024 * 1024) invalid('chunk size', chunk, 'expected 64 bytes to 512 MiB when reading ahead');
      this.reader = CaptureReader.create(engine, { name, ...rest, chunkSize: 2 * chunk + CAPTURE_RECORD_MAX });
      this.aheadChunk = chunk;
    } else {
      this.reader = CaptureReader.create(engine, { name, ...rest });
      this.aheadChunk = 0;
    }
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
      for (;;) {
        const n = this.readInto(fd, this.reader.space());
        if (n === 0) break;
        this.read += n;
        yield* this.reader.feed(n);
      }
      this.summary = this.reader.finish();
    } finally {
      if (this.path !== '-') closeSync(fd);
    }
  }

  /**
   * The batches, as the iterator gives them, with the next chunk read while this one is walked
   * and processed: the read runs on libuv's thread pool, into the other of the buffer's two
   * areas, and the walk of a chunk takes the end of the record the chunk before cut from that
   * chunk's area (a copy of at most CAPTURE_RECORD_MAX bytes). A batch is valid until the next is
   * asked for. A file only (standard input is read by the iterator), and only with readCapture's
   * `readAhead`. Ending the loop early waits for the read in flight before the file is closed.
   * The engine may grow its memory while a read is in flight (the flow index does): a shared
   * memory never moves, and V8 grows a private one in place on 64-bit hosts, inside the address
   * range it reserved for it.
   */
  async *ahead(): AsyncGenerator<PacketBatch, void, undefined> {
    const chunk = this.aheadChunk;
    if (!chunk) throw new RssplaneError('EINVAL', `${this.path}: ahead() needs readCapture(..., { readAhead: true })`, 'capture');
    const reader = this.reader;
    /** Engine address of area i's first byte; a record's room lies before it. */
    const area = (i: number) => reader.buffer + CAPTURE_RECORD_MAX + i * (chunk + CAPTURE_RECORD_MAX);
    const fd = this.open();
    let pending: Promise<number> | undefined;
    const readAt = (i: number, position: number) => {
      const target = this.engine.bytes.subarray(area(i), area(i) + chunk);
      pending = new Promise<number>((resolve, reject) => read(fd, target, 0, chunk, position, (e, n) => (e ? reject(this.unreadable(e)) : resolve(n))));
      // Ending early leaves the promise unawaited until finally: no unhandled rejection meanwhile.
      pending.catch(() => {});
      return pending;
    };
    try {
      reader.reset();
      this.read = 0;
      this.summary = undefined;
      let i = 0;
      /** input offset of the next read, and of the first byte not yet walked */
      let position = 0;
      let walked = 0;
      /** engine address just past the last piece walked: its last `walked..position` bytes are a cut record */
      let end = area(0);
      let next = readAt(0, 0);
      for (;;) {
        const n = await next;
        if (n === 0) break;
        position += n;
        this.read += n;
        // The record the last piece cut, in front of this chunk; then the other area is free.
        const cut = position - n - walked;
        if (cut < 0 || cut > CAPTURE_RECORD_MAX) throw new Error(`the walk stopped at byte ${walked}, outside the record a chunk could have cut`);
        const at = area(i) - cut;
        if (cut) this.engine.bytes.copyWithin(at, end - cut, end);
        next = readAt(1 - i, position);
        yield* reader.walkPiece(walked, at, cut + n);
        walked = reader.position;
        end = at + cut + n;
        i = 1 - i;
      }
      this.summary = reader.finish();
    } finally {
      await pending?.catch(() => {});
      closeSync(fd);
    }
  }

  /** Releases the engine buffers. */
  free(): void {
    this.reader.free();
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
 * bytes, and batchSize descriptors) are allocated in the engine when this is called.
 */
export function readCapture(engine: Engine, path: string, options: CaptureFileOptions = {}): CaptureFile {
  return new CaptureFile(engine, path, options);
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

  close(): void {
    closeSync(this.fd);
  }
}
