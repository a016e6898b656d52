/**
 * A capture file as a packet source for Node: read in large chunks with fs.readSync straight
 * into the engine's memory (the read's target is a view of the chunk buffer, so no byte is copied
 * on the way), walked there by the engine, delivered as descriptor batches.
 *
 *   const capture = readCapture(engine, 'trace.pcap');
 *   for (const batch of capture) flows.process(batch);
 *   capture.summary?.warnings.forEach((w) => console.error(w));
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CaptureReader, type CaptureOptions, type CaptureSummary } from '../../core/capture.js';
import type { PacketBatch } from '../../core/engine.js';
import type { Engine } from '../../core/engine.js';
import { RssplaneError } from '../../core/errors.js';

/** How far a read has got, for a progress bar. `fileSize` is undefined for a pipe. */
export interface CaptureProgress {
  bytesRead: number;
  fileSize: number | undefined;
}

export class CaptureFile implements Iterable<PacketBatch> {
  readonly reader: CaptureReader;
  private read = 0;
  private size: number | undefined;
  /** Set when an iteration has read the whole file: counters and warnings. */
  summary: CaptureSummary | undefined;

  /** `path` is a file, or `-` for standard input. The buffers are allocated in `engine` now. */
  constructor(
    engine: Engine,
    readonly path: string,
    options: CaptureOptions = {},
  ) {
    this.reader = CaptureReader.create(engine, { name: path === '-' ? 'standard input' : path, ...options });
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
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
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
export function readCapture(engine: Engine, path: string, options: CaptureOptions = {}): CaptureFile {
  return new CaptureFile(engine, path, options);
}
