/**
 * Software RSS between cores: a core steers a batch it received (RSS in WASM), keeps its own
 * packets in place and stages the others' into slot images, which it ships through their rings.
 * Used by the runner's cores (worker.ts) and by the link layer's (host/node/link/worker.ts).
 * JavaScript handles slots here, never packets.
 */
import { PKT_DESCRIPTOR } from '../../../assembly/shared/abi.js';
import type { Engine, PacketBatch } from '../../core/engine.js';
import { Doorbell, Ring, type RingShape, type StopFlag } from './ring.js';

/** Where a core's inputs are: its memory, one ring per producer (by name), its doorbell. */
export interface CoreInputs {
  memory: SharedArrayBuffer;
  rings: Record<string, number>;
  doorbell: number;
}

/** Thrown when the run's stop flag is set while waiting: the thread winds down quietly. */
export class Stopped extends Error {}

export interface ShipperShape {
  cores: number;
  ring: RingShape;
  /** the field set hashes ports (-l4) */
  ports: boolean;
}

/** Stage packets bound for other cores into slot images and ship them through their rings. */
export class Shipper {
  private readonly images: number[];
  private readonly imageTable: number;
  readonly cores: number;
  readonly local: number;
  readonly localCount: number;
  private readonly workspace: number;
  private rings: Array<Ring | undefined> = [];
  private bells: Array<Doorbell | undefined> = [];
  sent = 0;

  constructor(
    private readonly engine: Engine,
    private readonly shape: ShipperShape,
    private readonly self: number,
    private readonly batch: number,
    private readonly stop: StopFlag,
  ) {
    const { slotBytes } = shape.ring;
    this.images = Array.from({ length: shape.cores }, (_, c) => (c === self ? 0 : engine.allocate(slotBytes)));
    this.imageTable = engine.allocate(4 * shape.cores);
    this.cores = engine.allocate(2 * batch);
    this.local = engine.allocate(PKT_DESCRIPTOR * batch);
    this.localCount = engine.allocate(4);
    this.workspace = engine.allocate(engine.exports.steerWorkspaceBytes(batch));
    engine.u32(this.imageTable, shape.cores).set(this.images);
    for (const i of this.images) if (i) engine.u32(i, 2).fill(0);
  }

  connect(peers: Record<number, CoreInputs>, producer: string): void {
    for (let c = 0; c < this.shape.cores; c++) {
      if (c === this.self) continue;
      const p = peers[c]!;
      this.rings[c] = new Ring(p.memory, p.rings[producer]!);
      this.bells[c] = new Doorbell(p.memory, p.doorbell);
    }
  }

  /**
   * Steers `batch` (RSS in WASM), keeps this core's packets as a local batch (returned, bytes in
   * place) and stages the rest; an image that fills is shipped (`idle` runs while waiting for
   * room in a full ring). The rest wait in their images for the next fill, `flush` or `close`.
   */
  steer(batch: PacketBatch, idle: () => void): PacketBatch {
    const e = this.engine.exports;
    e.steerBatch(batch.descriptors, batch.count, this.cores, this.shape.ports ? 1 : 0, this.workspace, this.batch);
    this.engine.u32(this.localCount, 1)[0] = 0;
    const { slotPackets, slotBytes } = this.shape.ring;
    let done = 0;
    for (;;) {
      done += e.stageSlots(batch.descriptors + done * PKT_DESCRIPTOR, batch.count - done, this.cores + 2 * done,
        this.self, this.local, this.localCount, this.imageTable, slotPackets, slotBytes);
      if (done === batch.count) break;
      // The image of packet `done`'s core is full: ship it, then go on from that packet.
      this.ship(this.engine.u16(this.cores + 2 * done, 1)[0]!, idle);
    }
    return { descriptors: this.local, count: this.engine.u32(this.localCount, 1)[0]! };
  }

  private count(c: number): number {
    return this.images[c] ? this.engine.u32(this.images[c]!, 1)[0]! : 0;
  }

  private waitForRoom(c: number, idle: () => void): Ring {
    const ring = this.rings[c]!;
    for (let w = ring.waitForRoom(this.stop); w !== 'ready'; w = ring.waitForRoom(this.stop)) {
      if (w === 'stopped') throw new Stopped();
      idle();
    }
    return ring;
  }

  private ship(c: number, idle: () => void): void {
    const ring = this.waitForRoom(c, idle);
    this.sent += this.count(c);
    ring.publish(this.engine.memory.buffer, this.images[c]!, this.bells[c]!);
  }

  /**
   * Ships `count` frames (descriptors at `descriptors`, bytes where they point) each to the core
   * named beside it (a u16 each at `cores`, never this core): a TCP endpoint's forward list, the
   * segments of connections another core owns. Staged in WASM as `steer` stages; shipped at once.
   */
  forward(descriptors: number, count: number, cores: number, idle: () => void): void {
    const e = this.engine.exports;
    const { slotPackets, slotBytes } = this.shape.ring;
    let done = 0;
    for (;;) {
      this.engine.u32(this.localCount, 1)[0] = 0;
      done += e.stageSlots(descriptors + done * PKT_DESCRIPTOR, count - done, cores + 2 * done,
        this.self, this.local, this.localCount, this.imageTable, slotPackets, slotBytes);
      if (done === count) break;
      this.ship(this.engine.u16(cores + 2 * done, 1)[0]!, idle);
    }
    this.flush(idle);
  }

  /** Ships every image that holds packets now, without waiting for it to fill (live traffic). */
  flush(idle: () => void): void {
    for (let c = 0; c < this.shape.cores; c++) if (this.count(c) > 0) this.ship(c, idle);
  }

  /**
   * Ships the slot image at `image` (this engine's memory) to every other core, then empties it:
   * what all of them must see (the link layer's ARP and ND copies).
   */
  broadcast(image: number, idle: () => void): void {
    const header = this.engine.u32(image, 2);
    const count = header[0]!, bytes = header[1]!;
    if (count === 0) return;
    for (let c = 0; c < this.shape.cores; c++) {
      if (c === this.self) continue;
      const ring = this.waitForRoom(c, idle);
      ring.publish(this.engine.memory.buffer, image, this.bells[c]!); // empties the image: put it back
      header[0] = count;
      header[1] = bytes;
    }
    header.fill(0);
  }

  /** Ships what is staged and tells every peer this producer is done. */
  close(idle: () => void): void {
    for (let c = 0; c < this.shape.cores; c++) {
      if (!this.images[c]) continue;
      if (this.count(c) > 0) this.ship(c, idle);
      this.rings[c]!.close(this.bells[c]!);
    }
  }
}
