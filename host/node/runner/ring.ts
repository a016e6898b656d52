/**
 * Rings between threads (layout: assembly/shared/abi.ts, "rings"). A ring lives in its consumer
 * engine's shared memory; the producer sees the same SharedArrayBuffer from its own thread.
 * JavaScript handles slots, never packets: a producer ships a whole staged slot with two bulk
 * copies (descriptors, then packet bytes); the consumer hands the slot to its engine in one call.
 */
import {
  PKT_DESCRIPTOR, RING_CLOSED, RING_HEAD, RING_HEADER, RING_ROOM_WAITER, RING_SLOT_BYTES, RING_SLOT_PACKETS,
  RING_SLOTS, RING_TAIL, SLOT_BYTES, SLOT_CHUNK_END, SLOT_COUNT, SLOT_DESCRIPTORS,
} from '../../../assembly/shared/abi.js';
import { RssplaneError } from '../../core/errors.js';

export interface RingShape {
  /** slots in the ring, a power of two */
  slots: number;
  /** packets a slot holds */
  slotPackets: number;
  /** bytes of a slot: header, descriptors, packet bytes */
  slotBytes: number;
}

export const DEFAULT_RING: RingShape = { slots: 16, slotPackets: 512, slotBytes: 64 + 512 * PKT_DESCRIPTOR + 512 * 1536 };

export function ringBytes(shape: RingShape): number {
  return RING_HEADER + shape.slots * shape.slotBytes;
}

/** Why a wait ended: the thing waited for, not yet (after one poll), or the run stopped. */
export type WaitResult = 'ready' | 'waiting' | 'stopped';

/**
 * A flag all threads of a run share: set when the run must stop. Every blocking wait in the
 * runner checks it at least every `POLL_MS`, so no thread waits forever on a dead peer. Its
 * second word ends a live source's input without stopping the run.
 */
export class StopFlag {
  readonly words: Int32Array;
  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.words = new Int32Array(buffer, 0, 2);
  }
  get buffer(): SharedArrayBuffer {
    return this.words.buffer as SharedArrayBuffer;
  }
  get stopped(): boolean {
    return Atomics.load(this.words, 0) !== 0;
  }
  stop(): void {
    Atomics.store(this.words, 0, 1);
  }
  /** A live source (a DPDK port) takes no more input; what it has goes through (Ctrl-C). */
  get inputEnded(): boolean {
    return Atomics.load(this.words, 1) !== 0;
  }
  endInput(): void {
    Atomics.store(this.words, 1, 1);
  }
}

export const POLL_MS = 50;

/**
 * Milliseconds on a monotonic clock. Not performance.now(): the `performance` global loads Node's
 * perf_hooks modules on first use, which a short run would pay for.
 */
export function clock(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export class Ring {
  private readonly words: Int32Array;
  readonly shape: RingShape;

  /** The ring at byte address `base` of `memory` (a consumer engine's shared memory). */
  constructor(readonly memory: SharedArrayBuffer, readonly base: number) {
    this.words = new Int32Array(memory, base, RING_HEADER / 4);
    const u32 = new Uint32Array(memory, base, RING_HEADER / 4);
    this.shape = { slots: u32[RING_SLOTS / 4]!, slotBytes: u32[RING_SLOT_BYTES / 4]!, slotPackets: u32[RING_SLOT_PACKETS / 4]! };
  }

  /** Lays out an empty ring at `base` (RING_HEADER + slots * slotBytes bytes, zeroed here). */
  static format(memory: SharedArrayBuffer, base: number, shape: RingShape): Ring {
    if (shape.slots < 1 || (shape.slots & (shape.slots - 1))) throw new RssplaneError('EINVAL', `ring slots ${shape.slots} is not a power of two`);
    if (shape.slotBytes < SLOT_DESCRIPTORS + shape.slotPackets * PKT_DESCRIPTOR + 2048) {
      throw new RssplaneError('EINVAL', `ring slot of ${shape.slotBytes} bytes cannot hold ${shape.slotPackets} descriptors and a packet`);
    }
    new Uint8Array(memory, base, RING_HEADER).fill(0);
    const u32 = new Uint32Array(memory, base, RING_HEADER / 4);
    u32[RING_SLOTS / 4] = shape.slots;
    u32[RING_SLOT_BYTES / 4] = shape.slotBytes;
    u32[RING_SLOT_PACKETS / 4] = shape.slotPackets;
    return new Ring(memory, base);
  }

  slotAddress(index: number): number {
    return this.base + RING_HEADER + (index & (this.shape.slots - 1)) * this.shape.slotBytes;
  }

  // ---- producer ----

  /**
   * Waits (one poll at most) for a free slot: 'ready', 'waiting' (still full: do other work, such
   * as draining your own rings, then wait again; two cores feeding each other must not both just
   * wait), or 'stopped'.
   */
  waitForRoom(stop: StopFlag): WaitResult {
    const head = Atomics.load(this.words, RING_HEAD / 4);
    const tail = Atomics.load(this.words, RING_TAIL / 4);
    if (((head - tail) | 0) < this.shape.slots) return 'ready';
    if (stop.stopped) return 'stopped';
    // Say we sleep, then sleep only if tail has not moved since we read it: a release that
    // came in between either changed tail (no sleep) or saw the flag (and notifies).
    Atomics.store(this.words, RING_ROOM_WAITER / 4, 1);
    Atomics.wait(this.words, RING_TAIL / 4, tail, POLL_MS);
    Atomics.store(this.words, RING_ROOM_WAITER / 4, 0);
    return ((Atomics.load(this.words, RING_HEAD / 4) - Atomics.load(this.words, RING_TAIL / 4)) | 0) < this.shape.slots ? 'ready' : 'waiting';
  }

  /**
   * Copies the slot image at `image` in `from` (a producer engine's memory) into the next free
   * slot and publishes it. Call after waitForRoom returned 'ready'. Empties the image.
   */
  publish(from: ArrayBufferLike, image: number, doorbell: Doorbell): void {
    const src = new Uint32Array(from, image, 3);
    const count = src[SLOT_COUNT / 4]!, bytes = src[SLOT_BYTES / 4]!;
    const head = Atomics.load(this.words, RING_HEAD / 4);
    const slot = this.slotAddress(head);
    const to = new Uint8Array(this.memory);
    const header = SLOT_DESCRIPTORS + count * PKT_DESCRIPTOR;
    to.set(new Uint8Array(from, image, header), slot);
    const data = SLOT_DESCRIPTORS + this.shape.slotPackets * PKT_DESCRIPTOR;
    to.set(new Uint8Array(from, image + data, bytes), slot + data);
    Atomics.store(this.words, RING_HEAD / 4, (head + 1) | 0);
    src[SLOT_COUNT / 4] = 0;
    src[SLOT_BYTES / 4] = 0;
    src[SLOT_CHUNK_END / 4] = 0;
    doorbell.ring();
  }

  /**
   * Lets `fill` write the next free slot where it lies (the DPDK shim receives straight into it)
   * and publishes it when `fill` returns a count above 0. Call after waitForRoom said 'ready'.
   * Returns the count.
   */
  produce(fill: (slot: number) => number, doorbell: Doorbell): number {
    const head = Atomics.load(this.words, RING_HEAD / 4);
    const count = fill(this.slotAddress(head));
    if (count > 0) {
      Atomics.store(this.words, RING_HEAD / 4, (head + 1) | 0);
      doorbell.ring();
    }
    return count;
  }

  /** The producer will publish no more. */
  close(doorbell: Doorbell): void {
    Atomics.store(this.words, RING_CLOSED / 4, 1);
    doorbell.ring();
  }

  // ---- consumer ----

  /** Full slots waiting. */
  get pending(): number {
    return (Atomics.load(this.words, RING_HEAD / 4) - Atomics.load(this.words, RING_TAIL / 4)) | 0;
  }

  /** The oldest full slot's address (check `pending` first). */
  get oldest(): number {
    return this.slotAddress(Atomics.load(this.words, RING_TAIL / 4));
  }

  /** Releases the oldest slot to the producer (waking it only if it sleeps for room). */
  release(): void {
    Atomics.add(this.words, RING_TAIL / 4, 1);
    if (Atomics.load(this.words, RING_ROOM_WAITER / 4)) Atomics.notify(this.words, RING_TAIL / 4);
  }

  /** The producer closed the ring and every slot was taken. */
  get finished(): boolean {
    return Atomics.load(this.words, RING_CLOSED / 4) === 1 && this.pending === 0;
  }
}

/**
 * A consumer's doorbell (two i32: a count, and 1 while the consumer sleeps): producers ring it
 * after publishing; the consumer sleeps on it when all its rings are empty. A ring wakes the
 * consumer only when it sleeps, so a busy consumer costs its producers no system call.
 */
export const DOORBELL_BYTES = 8;

export class Doorbell {
  readonly word: Int32Array;
  constructor(memory: SharedArrayBuffer, address: number) {
    this.word = new Int32Array(memory, address, 2);
  }
  ring(): void {
    Atomics.add(this.word, 0, 1);
    if (Atomics.load(this.word, 1)) Atomics.notify(this.word, 0);
  }
  /** The current count, to wait on after finding nothing to do. */
  get count(): number {
    return Atomics.load(this.word, 0);
  }
  /**
   * Sleeps until rung past `seen` (or `timeoutMs`, at most POLL_MS, to check `stop`). Read `seen` before looking at the
   * rings: a ring that came after is then either in `count` (no sleep) or sees the flag.
   */
  wait(seen: number, stop: StopFlag, timeoutMs = POLL_MS): WaitResult {
    if (stop.stopped) return 'stopped';
    Atomics.store(this.word, 1, 1);
    Atomics.wait(this.word, 0, seen, Math.min(timeoutMs, POLL_MS));
    Atomics.store(this.word, 1, 0);
    return stop.stopped ? 'stopped' : 'ready';
  }
}

/**
 * A capture file walked by the cores in turns (core.ts), in a SharedArrayBuffer every core sees:
 * whose turn it is to walk, and the chunks walked so far, ready for the other cores to take.
 *
 *   i32 walked            chunks walked (the next chunk's turn has come)
 *   f64 stopped           input offset where the last walk stopped: the next chunk's first record
 *   per chunk slot (chunk j in slot j % slots; 2 a core: its two readers), ENTRY i32s:
 *     ready               1 + the chunk the slot holds (0: none yet)
 *     taken               other cores that have taken it
 *     at, length          the chunk's bytes in its walker's memory
 *     out, groups         its descriptors grouped by core, and a (start, count) pair per core
 *   per chunk slot, after them, an f64: the input offset of the chunk's bytes' first byte
 */
export class TurnTable {
  private readonly words: Int32Array;
  private readonly stopped: Float64Array;
  private readonly offsets: Float64Array;
  private static readonly ENTRY = 6;
  private static readonly HEADER = 4;

  constructor(readonly buffer: SharedArrayBuffer, readonly cores: number) {
    this.stopped = new Float64Array(buffer, 8, 1);
    this.words = new Int32Array(buffer);
    this.offsets = new Float64Array(buffer, TurnTable.offsetsAt(cores), 2 * cores);
  }

  /** Where the offsets start: after the entries, on 8 bytes. */
  private static offsetsAt(cores: number): number {
    return (4 * (TurnTable.HEADER + 2 * cores * TurnTable.ENTRY) + 7) & ~7;
  }

  static create(cores: number): TurnTable {
    return new TurnTable(new SharedArrayBuffer(TurnTable.offsetsAt(cores) + 8 * 2 * cores), cores);
  }

  private at(chunk: number, field: number): number {
    return TurnTable.HEADER + (chunk % (2 * this.cores)) * TurnTable.ENTRY + field;
  }

  /** Where the last walk stopped, if chunk `chunk`'s turn has come; else undefined. */
  reached(chunk: number): number | undefined {
    return Atomics.load(this.words, 0) >= chunk ? this.stopped[0]! : undefined;
  }

  /** Chunk `chunk` is walked; the next starts at input offset `offset` (the walker then rings the others). */
  pass(chunk: number, offset: number): void {
    this.stopped[0] = offset;
    Atomics.store(this.words, 0, chunk + 1);
  }

  /** Chunk `chunk`'s slot may take it: empty, or every other core has copied the chunk it held. */
  free(chunk: number): boolean {
    return Atomics.load(this.words, this.at(chunk, 0)) === 0 || Atomics.load(this.words, this.at(chunk, 1)) === this.cores - 1;
  }

  /**
   * Chunk `chunk` is ready to take: its bytes (`at`, `length`, from input offset `offset`) and
   * grouped descriptors (`out`, `groups`).
   */
  publish(chunk: number, at: number, length: number, offset: number, out: number, groups: number): void {
    const w = this.words;
    this.offsets[chunk % (2 * this.cores)] = offset;
    w[this.at(chunk, 1)] = 0;
    w[this.at(chunk, 2)] = at | 0;
    w[this.at(chunk, 3)] = length | 0;
    w[this.at(chunk, 4)] = out | 0;
    w[this.at(chunk, 5)] = groups | 0;
    Atomics.store(w, this.at(chunk, 0), chunk + 1);
  }

  /** Chunk `chunk` as published, or undefined while it is not yet. */
  ready(chunk: number): { at: number; length: number; offset: number; out: number; groups: number } | undefined {
    if (Atomics.load(this.words, this.at(chunk, 0)) !== chunk + 1) return undefined;
    const w = this.words;
    return {
      at: w[this.at(chunk, 2)]! >>> 0, length: w[this.at(chunk, 3)]! >>> 0, offset: this.offsets[chunk % (2 * this.cores)]!,
      out: w[this.at(chunk, 4)]! >>> 0, groups: w[this.at(chunk, 5)]! >>> 0,
    };
  }

  /** This core has taken chunk `chunk` (its descriptors copied). */
  take(chunk: number): void {
    Atomics.add(this.words, this.at(chunk, 1), 1);
  }
}
