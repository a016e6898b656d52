/**
 * One core of a run: its flow engine, its input, and the rings other cores fill for it. A worker
 * thread runs one (worker.ts); a one-core run of a capture or of synthetic traffic runs its core
 * inline, on the main thread (runner.ts), with no thread to start.
 *
 * Inputs: its share of the synthetic conversations, its DPDK receive queues, or a capture file,
 * which every core walks for itself, keeping the packets RSS sends to it (nothing is copied
 * between cores). A capture on standard input can be read once only: core 0 reads it and ships
 * the other cores their packets through their rings.
 *
 * JavaScript here handles batches and slots; packets only ever move inside WASM or in bulk copies,
 * and flows reach JavaScript only when the plan asks for records.
 */
import { PKT_DESCRIPTOR, SLOT_DESCRIPTORS } from '../../../assembly/shared/abi.js';
import type { Engine, PacketBatch } from '../../core/engine.js';
import { FIELD_SETS } from '../../core/fields.js';
import { FlowEngine, FlowTally, type FlowRecord, type FlowStats } from '../../core/flows.js';
import { SyntheticSource } from '../../core/synthetic.js';
import { readCapture, type CaptureFile } from '../sources/capture.js';
import { DpdkReceiver } from '../sources/dpdk.js';
import { ControlBlock, Counter, producersOf, rssConfigOf, STEER_BATCH, SYNTHETIC_BATCH, ThreadState, type RunPlan } from './plan.js';
import { clock, Doorbell, DOORBELL_BYTES, Ring, ringBytes, StopFlag } from './ring.js';

/** Where a core's inputs are: its memory, one ring per producer (by name), its doorbell. */
export interface CoreInputs {
  memory: SharedArrayBuffer;
  rings: Record<string, number>;
  doorbell: number;
}

export interface CoreResult {
  core: number;
  stats: FlowStats;
  /** records of the flows that were not split (only when the plan asks for records) */
  records: FlowRecord[];
  /** the flows that left this core's table, counted in WASM (split halves not included) */
  tally: FlowTally;
  /** split flows' halves, raw (pieces of FLOW_RECORD-byte records), for the controller to merge */
  halves: Uint8Array[];
  warnings: string[];
}

/** The run stopped (another thread failed, or the controller said so): not this core's fault. */
export class Stopped extends Error {}

/**
 * Fault injection for tests of the runner's failure handling: RSSPLANE_FAULT="core 1 throw 5000"
 * (or "exit") makes core 1 throw an error (or end its thread with status 3) once it has taken
 * 5000 packets.
 */
const fault = /^core (\d+) (throw|exit) (\d+)$/.exec(process.env.RSSPLANE_FAULT ?? '');
function injectFault(core: number, received: number): void {
  if (!fault || Number(fault[1]) !== core || received < Number(fault[3])) return;
  if (fault[2] === 'exit') process.exit(3);
  throw new Error('injected fault (RSSPLANE_FAULT)');
}

/** Steers batches by software RSS (in WASM): which core each packet is for. */
class Steering {
  readonly cores: number;
  readonly workspace: number;
  constructor(private readonly engine: Engine, private readonly plan: RunPlan, readonly batch: number) {
    this.cores = engine.allocate(2 * batch);
    this.workspace = engine.allocate(engine.exports.steerWorkspaceBytes(batch));
  }
  /** Writes a u16 core per packet at `cores` (and each packet's hash and queue into its descriptor). */
  steer(batch: PacketBatch): void {
    this.engine.exports.steerBatch(batch.descriptors, batch.count, this.cores, FIELD_SETS[this.plan.rss.fields].ports ? 1 : 0, this.workspace, this.batch);
  }
}

/** Stage packets bound for other cores into slot images and ship them through their rings. */
class Shipper {
  private readonly images: number[];
  private readonly imageTable: number;
  private readonly steering: Steering;
  readonly local: number;
  readonly localCount: number;
  private rings: Array<Ring | undefined> = [];
  private bells: Array<Doorbell | undefined> = [];
  sent = 0;

  constructor(private readonly engine: Engine, private readonly plan: RunPlan, private readonly self: number, batch: number, private readonly stop: StopFlag) {
    const { slotBytes } = plan.ring;
    this.images = Array.from({ length: plan.cores }, (_, c) => (c === self ? 0 : engine.allocate(slotBytes)));
    this.imageTable = engine.allocate(4 * plan.cores);
    this.steering = new Steering(engine, plan, batch);
    this.local = engine.allocate(PKT_DESCRIPTOR * batch);
    this.localCount = engine.allocate(4);
    engine.u32(this.imageTable, plan.cores).set(this.images);
    for (const i of this.images) if (i) engine.u32(i, 2).fill(0);
  }

  connect(peers: Record<number, CoreInputs>, producer: string): void {
    for (let c = 0; c < this.plan.cores; c++) {
      if (c === this.self) continue;
      const p = peers[c]!;
      this.rings[c] = new Ring(p.memory, p.rings[producer]!);
      this.bells[c] = new Doorbell(p.memory, p.doorbell);
    }
  }

  /**
   * Steers `batch` (RSS in WASM), keeps this core's packets as a local batch (returned, bytes in
   * place) and ships the rest; `idle` runs while waiting for room in a full ring.
   */
  steer(batch: PacketBatch, idle: () => void): PacketBatch {
    const e = this.engine.exports;
    this.steering.steer(batch);
    const cores = this.steering.cores;
    this.engine.u32(this.localCount, 1)[0] = 0;
    const { slotPackets, slotBytes } = this.plan.ring;
    let done = 0;
    for (;;) {
      done += e.stageSlots(batch.descriptors + done * PKT_DESCRIPTOR, batch.count - done, cores + 2 * done,
        this.self, this.local, this.localCount, this.imageTable, slotPackets, slotBytes);
      if (done === batch.count) break;
      // The image of packet `done`'s core is full: ship it, then go on from that packet.
      this.ship(this.engine.u16(cores + 2 * done, 1)[0]!, idle);
    }
    return { descriptors: this.local, count: this.engine.u32(this.localCount, 1)[0]! };
  }

  private count(c: number): number {
    return this.images[c] ? this.engine.u32(this.images[c]!, 1)[0]! : 0;
  }

  private ship(c: number, idle: () => void): void {
    const ring = this.rings[c]!;
    for (let w = ring.waitForRoom(this.stop); w !== 'ready'; w = ring.waitForRoom(this.stop)) {
      if (w === 'stopped') throw new Stopped();
      idle();
    }
    this.sent += this.count(c);
    ring.publish(this.engine.memory.buffer, this.images[c]!, this.bells[c]!);
  }

  /** Ships what is staged and tells every peer this producer is done. */
  close(idle: () => void): void {
    for (let c = 0; c < this.plan.cores; c++) {
      if (!this.images[c]) continue;
      if (this.count(c) > 0) this.ship(c, idle);
      this.rings[c]!.close(this.bells[c]!);
    }
  }
}

export interface CoreContext {
  plan: RunPlan;
  core: number;
  engine: Engine;
  control: ControlBlock;
  /** this core's row in the control block */
  row: number;
  stop: StopFlag;
}

export class CoreRun {
  readonly flows: FlowEngine;
  /** this core's rings, by producer name (engine addresses), and its doorbell's address */
  readonly rings: Record<string, number> = {};
  readonly doorbellAt: number;
  private readonly ringList: Ring[] = [];
  private readonly plan: RunPlan;
  private readonly core: number;
  private readonly engine: Engine;
  private synthetic: SyntheticSource | undefined;
  private shipper: Shipper | undefined;
  /** a capture this core walks for itself, keeping its own packets (steered: more than one core) */
  private own: Steering | undefined;
  private capture: CaptureFile | undefined;
  private receiver: DpdkReceiver | undefined;
  private doorbell: Doorbell | undefined;
  private readonly records: FlowRecord[] = [];
  private readonly halves: Uint8Array[] = [];
  private batches = 0;

  /** Sets the core up: engine, flow table, rings, input. Everything is allocated here. */
  constructor(private readonly ctx: CoreContext) {
    const { plan, core, engine } = ctx;
    this.plan = plan;
    this.core = core;
    this.engine = engine;
    this.flows = FlowEngine.create(engine, rssConfigOf(plan.rss), {
      cores: plan.cores, core, queueCores: plan.queueCores, flows: plan.flows.capacity,
      idleTimeout: plan.flows.idleTimeout, checksums: plan.flows.checksums, splitHalves: plan.cores > 1, records: plan.records,
    });
    for (const p of producersOf(plan, core)) {
      this.rings[p] = engine.allocate(ringBytes(plan.ring));
      this.ringList.push(Ring.format(engine.sharedBuffer, this.rings[p]!, plan.ring));
    }
    this.doorbellAt = this.ringList.length ? engine.allocate(DOORBELL_BYTES) : 0;
    const batchPackets = SYNTHETIC_BATCH;
    const source = plan.source;
    if (source.kind === 'dpdk') {
      // This core polls its receive queues into a slot of its own memory and, like a synthetic
      // generator, keeps its own packets and ships the rest by software RSS. When the device did
      // RSS (its hash in the descriptor), every packet is already on its core and none is shipped.
      const queues = source.pollCores.flatMap((c, q) => (c === core ? [q] : []));
      if (queues.length) this.receiver = new DpdkReceiver(engine, source.port, queues, plan.ring, source.deviceTimestamps);
      if (plan.cores > 1) this.shipper = new Shipper(engine, plan, core, plan.ring.slotPackets, ctx.stop);
    } else if (source.kind === 'synthetic') {
      this.synthetic = new SyntheticSource(engine, {
        concurrent: source.concurrent, conversations: source.conversations, seed: source.seed, ipv6: source.ipv6, retransmit: source.retransmit,
        part: core, parts: plan.cores, split: 'rss', ports: FIELD_SETS[plan.rss.fields].ports,
      }, batchPackets);
      if (plan.cores > 1) this.shipper = new Shipper(engine, plan, core, batchPackets, ctx.stop);
    } else if (plan.cores === 1) {
      this.capture = readCapture(engine, source.path);
    } else if (source.path !== '-') {
      // Every core walks the file and keeps what RSS sends it: the walk and a batch hash cost
      // less than copying the other cores' packets to them would.
      this.capture = readCapture(engine, source.path);
      this.own = new Steering(engine, plan, STEER_BATCH);
    } else if (core === 0) {
      // Standard input can be read once: core 0 reads it and ships the others their packets.
      this.capture = readCapture(engine, source.path);
      this.shipper = new Shipper(engine, plan, core, STEER_BATCH, ctx.stop);
    }
  }

  /** The other cores' rings (a thread's peers), once every core is set up. */
  connect(peers: Record<number, CoreInputs>): void {
    this.shipper?.connect(peers, `core ${this.core}`);
    if (this.ringList.length) this.doorbell = new Doorbell(this.engine.sharedBuffer, this.doorbellAt);
    this.ctx.control.set(this.ctx.row, Counter.STATE, ThreadState.RUNNING);
  }

  /** Moves records (when wanted) and halves out of the engine after a batch. */
  private take(): void {
    const flows = this.flows;
    if (this.plan.records) {
      const r = flows.takeRecords();
      for (let i = 0; i < r.length; i++) this.records.push(r[i]!);
    }
    const h = flows.takeHalves();
    for (let i = 0; i < h.length; i++) this.halves.push(h[i]!);
  }

  /** This core's counters into its control-block row (for progress, and for a failure's report). */
  publish(): void {
    const { control, row } = this.ctx;
    const s = this.flows.stats();
    injectFault(this.core, s.received);
    control.set(row, Counter.RECEIVED, s.received);
    control.set(row, Counter.PROCESSED, s.processed);
    control.set(row, Counter.DROPPED, s.dropped);
    if (this.synthetic) control.set(row, Counter.CONVERSATIONS, this.synthetic.conversationsStarted);
    // Every core may walk the capture: core 0 says how far the run has read.
    if (this.capture && this.core === 0) control.set(row, Counter.INPUT_BYTES, this.capture.progress.bytesRead);
    if (this.shipper) control.set(row, Counter.SENT, this.shipper.sent);
  }

  private process(batch: PacketBatch): void {
    if (batch.count) this.flows.process(batch);
    this.take();
    if ((++this.batches & 15) === 0) this.publish();
  }

  /** Processes every slot waiting in this core's rings; true if there was any. */
  private readonly drainRings = (): boolean => {
    let any = false;
    for (const ring of this.ringList) {
      while (ring.pending > 0) {
        const slot = ring.oldest;
        const count = this.engine.exports.takeSlot(slot, this.plan.ring.slotPackets);
        this.process({ descriptors: slot + SLOT_DESCRIPTORS, count });
        ring.release();
        any = true;
      }
    }
    return any;
  };

  /**
   * Runs the input to its end, then the rings until every producer has closed them. With
   * `yieldMs`, gives the event loop a turn that often (a core on the main thread, so that timers,
   * the progress bar's among them, run).
   */
  async input(yieldMs?: number): Promise<void> {
    const stop = this.ctx.stop;
    let last = clock();
    const pause = async () => {
      if (yieldMs === undefined || clock() - last < yieldMs) return;
      await new Promise((r) => setImmediate(r));
      last = clock();
    };
    const drain = this.drainRings;
    if (this.capture) {
      for (const batch of this.capture) {
        if (stop.stopped) throw new Stopped();
        if (this.own) {
          for (let done = 0; done < batch.count; done += STEER_BATCH) {
            const part = { descriptors: batch.descriptors + done * PKT_DESCRIPTOR, count: Math.min(STEER_BATCH, batch.count - done) };
            this.own.steer(part);
            this.process({ descriptors: part.descriptors, count: this.engine.exports.keepLocal(part.descriptors, part.count, this.own.cores, this.core) });
          }
        } else if (this.shipper) {
          for (let done = 0; done < batch.count; done += STEER_BATCH) {
            const part = { descriptors: batch.descriptors + done * PKT_DESCRIPTOR, count: Math.min(STEER_BATCH, batch.count - done) };
            this.process(this.shipper.steer(part, drain));
          }
          drain();
        } else {
          this.process(batch);
        }
        await pause();
      }
      this.shipper?.close(drain);
    } else if (this.synthetic) {
      for (let batch = this.synthetic.next(); batch.count; batch = this.synthetic.next()) {
        if (stop.stopped) throw new Stopped();
        this.process(this.shipper ? this.shipper.steer(batch, drain) : batch);
        drain();
        await pause();
      }
      this.shipper?.close(drain);
    } else if (this.receiver && this.plan.source.kind === 'dpdk') {
      const idleMs = this.plan.source.idleMs;
      let lastPacket = clock();
      for (;;) {
        if (stop.stopped) throw new Stopped();
        if (stop.inputEnded) break;
        const batch = this.receiver.next();
        if (batch.count) {
          this.process(this.shipper ? this.shipper.steer(batch, drain) : batch);
          lastPacket = clock();
        } else if (idleMs > 0 && clock() - lastPacket > idleMs) {
          break;
        }
        drain();
      }
      this.receiver.close();
      this.shipper?.close(drain);
    } else {
      this.shipper?.close(drain);
    }
    // The rings: until every producer has closed its ring and every slot is processed.
    while (!this.ringList.every((r) => r.finished)) {
      const seen = this.doorbell!.count;
      if (!drain() && this.doorbell!.wait(seen, stop) === 'stopped') throw new Stopped();
    }
    this.publish();
    this.ctx.control.set(this.ctx.row, Counter.STATE, ThreadState.DRAINED);
  }

  /** The latest packet time this core saw. */
  get now(): bigint {
    return this.flows.stats().now;
  }

  /** The end: every flow still in the table leaves (idle ones as of `now`, the run's last packet time). */
  finish(now: bigint): CoreResult {
    this.flows.finish(now);
    this.take();
    this.publish();
    // Every core walked the same capture and saw the same warnings: core 0 reports them.
    const warnings = this.capture && (this.core === 0 || !this.own) ? this.capture.summary?.warnings ?? [] : [];
    return { core: this.core, stats: this.flows.stats(), records: this.records, tally: this.flows.tally(), halves: this.halves, warnings };
  }
}
