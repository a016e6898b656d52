/**
 * One core of a run: its flow engine, its input, and the rings other cores fill for it. A worker
 * thread runs one (worker.ts); a one-core run of a capture or of synthetic traffic runs its core
 * inline, on the main thread (runner.ts), with no thread to start.
 *
 * Inputs: its share of the synthetic conversations, its DPDK receive queues, or a capture file.
 * The cores walk a capture file in turns, a chunk each (chunk j by core j % cores): each walks
 * only its own chunks, keeps the packets RSS sends to it and hands the others their descriptors;
 * every core takes the chunks in the file's order (its own, then the others' bytes read again
 * with its share of their descriptors), so every flow sees its packets in order. A capture on
 * standard input can be read once only: core 0 reads it all and ships the other cores their
 * packets.
 *
 * JavaScript here handles batches and slots; packets only ever move inside WASM or in bulk copies,
 * and flows reach JavaScript only when the plan asks for records.
 */
import { availableParallelism } from 'node:os';
import { truncateSync } from 'node:fs';
import { CAPTURE_RECORD_MAX, CAPTURE_STATE, PKT_DESCRIPTOR, SLOT_DESCRIPTORS } from '../../../assembly/shared/abi.js';
import { CaptureReader, type CaptureSummary } from '../../core/capture.js';
import type { Engine, PacketBatch } from '../../core/engine.js';
import { FIELD_SETS } from '../../core/fields.js';
import { FlowEngine, FlowTally, type FlowRecord, type FlowStats } from '../../core/flows.js';
import { SyntheticSource } from '../../core/synthetic.js';
import { CaptureChunks, readCapture, type CaptureFile } from '../sources/capture.js';
import { DpdkReceiver } from '../sources/dpdk.js';
import { CAPTURE_CHUNK, ControlBlock, Counter, producersOf, rssConfigOf, STEER_BATCH, SYNTHETIC_BATCH, ThreadState, TURN_DESCRIPTORS, type RunPlan } from './plan.js';
import { clock, Doorbell, DOORBELL_BYTES, Ring, ringBytes, StopFlag, type TurnTable } from './ring.js';
import { Shipper, Stopped, type CoreInputs, type ShipperShape } from './shipper.js';

export { Stopped, type CoreInputs } from './shipper.js';

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

/** A core hands its IPFIX messages on when it holds this many bytes of them, or after this long. */
const IPFIX_HANDOFF = 256 << 10;
const IPFIX_HANDOFF_MS = 500;
const HALVES_HANDOFF_MS = 250;

/**
 * Fault injection for tests of the runner's failure handling: RSSPLANE_FAULT="core 1 throw 5000"
 * (or "exit") makes core 1 throw an error (or end its thread with status 3) once it has taken
 * 5000 packets; "shrink" makes it cut the capture file being read to its first chunk, once.
 */
const fault = /^core (\d+) (throw|exit|shrink) (\d+)$/.exec(process.env.RSSPLANE_FAULT ?? '');
let shrunk = false;
function injectFault(core: number, received: number, capture: string | undefined): void {
  if (!fault || Number(fault[1]) !== core || received < Number(fault[3])) return;
  if (fault[2] === 'exit') process.exit(3);
  if (fault[2] === 'shrink') {
    if (!shrunk && capture) truncateSync(capture, CAPTURE_CHUNK);
    shrunk = true;
    return;
  }
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

/** What a core's Shipper needs of the plan. */
function shipperShape(plan: RunPlan): ShipperShape {
  return { cores: plan.cores, ring: plan.ring, ports: FIELD_SETS[plan.rss.fields].ports };
}

export interface CoreContext {
  plan: RunPlan;
  core: number;
  engine: Engine;
  control: ControlBlock;
  /** this core's row in the control block */
  row: number;
  stop: StopFlag;
  /** a capture file walked in turns (more than one core) */
  turns?: TurnTable;
  /** IPFIX messages this core's engine encoded (plan.ipfix), a few hundred KB or a moment's worth at a time */
  onIpfix?: (messages: Uint8Array[]) => void;
  /**
   * Split flows' halves handed on while the run goes (a live run: the controller merges them as
   * they come, so none waits in this thread until the end), with this core's latest packet time;
   * called every HALVES_HANDOFF_MS, with no halves too, so that the controller knows the time.
   */
  onHalves?: (halves: Uint8Array[], now: bigint) => void;
}

/**
 * A capture file walked in turns: its chunks; this core's two readers (one reads ahead), each
 * with the chunk's descriptors grouped by core (out, groups); steering for a chunk; and where it
 * takes another core's chunk (its bytes, read again, and its share of the descriptors).
 */
interface Turns {
  chunks: CaptureChunks;
  readers: Array<{ reader: CaptureReader; out: number; groups: number }>;
  steering: Steering;
  /** where another core's chunk is taken: its bytes read again, this core's descriptors copied */
  others: { bytes: number; descriptors: number };
  /** own chunks whose bytes are read: chunk -> bytes */
  read: Map<number, number>;
  /** bytes this core read */
  bytes: number;
  /** the summary, on the core that walked the last chunk */
  summary?: CaptureSummary;
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
  private capture: CaptureFile | undefined;
  private turns: Turns | undefined;
  private peers: Record<number, CoreInputs> = {};
  private receiver: DpdkReceiver | undefined;
  private doorbell: Doorbell | undefined;
  private readonly records: FlowRecord[] = [];
  private halves: Uint8Array[] = [];
  private batches = 0;

  /** Sets the core up: engine, flow table, rings, input. Everything is allocated here. */
  constructor(private readonly ctx: CoreContext) {
    const { plan, core, engine } = ctx;
    this.plan = plan;
    this.core = core;
    this.engine = engine;
    this.flows = FlowEngine.create(engine, rssConfigOf(plan.rss), {
      cores: plan.cores, core, queueCores: plan.queueCores, flows: plan.flows.capacity, synCache: plan.flows.synCache,
      idleTimeout: plan.flows.idleTimeout, checksums: plan.flows.checksums, splitHalves: plan.cores > 1, records: plan.records,
      ...(plan.ipfix ? { ipfix: plan.ipfix } : {}),
    });
    for (const p of producersOf(plan, core)) {
      this.rings[p] = engine.allocate(ringBytes(plan.ring));
      this.ringList.push(Ring.format(engine.sharedBuffer, this.rings[p]!, plan.ring));
    }
    // Other cores ring it: slots in a ring, or a capture's turn and chunks.
    this.doorbellAt = plan.cores > 1 ? engine.allocate(DOORBELL_BYTES) : 0;
    const batchPackets = SYNTHETIC_BATCH;
    const source = plan.source;
    if (source.kind === 'dpdk') {
      // This core polls its receive queues into a slot of its own memory and, like a synthetic
      // generator, keeps its own packets and ships the rest by software RSS. When the device did
      // RSS (its hash in the descriptor), every packet is already on its core and none is shipped.
      const queues = source.pollCores.flatMap((c, q) => (c === core ? [q] : []));
      if (queues.length) this.receiver = new DpdkReceiver(engine, source.port, queues, plan.ring, source.deviceTimestamps);
      if (plan.cores > 1) this.shipper = new Shipper(engine, shipperShape(plan), core, plan.ring.slotPackets, ctx.stop);
    } else if (source.kind === 'synthetic') {
      this.synthetic = new SyntheticSource(engine, {
        concurrent: source.concurrent, conversations: source.conversations, seed: source.seed, ipv6: source.ipv6, retransmit: source.retransmit,
        part: core, parts: plan.cores, split: 'rss', ports: FIELD_SETS[plan.rss.fields].ports,
      }, batchPackets);
      if (plan.cores > 1) this.shipper = new Shipper(engine, shipperShape(plan), core, batchPackets, ctx.stop);
    } else if (plan.cores === 1) {
      // One core: the machine's other core, if it has one, reads the file ahead
      // (RSSPLANE_READ_AHEAD=off: not).
      this.capture = readCapture(engine, source.path, { readAhead: availableParallelism() > 1 && process.env.RSSPLANE_READ_AHEAD !== 'off' });
    } else if (source.path !== '-') {
      // The cores walk the file in turns: each reads, walks and steers a share of it.
      const chunks = new CaptureChunks(source.path, CAPTURE_CHUNK);
      const reader = () => ({
        reader: CaptureReader.create(engine, { chunkSize: CAPTURE_CHUNK, batchSize: TURN_DESCRIPTORS, name: source.path }),
        out: engine.allocate(TURN_DESCRIPTORS * PKT_DESCRIPTOR), groups: engine.allocate(8 * plan.cores),
      });
      this.turns = {
        chunks, readers: [reader(), reader()], steering: new Steering(engine, plan, TURN_DESCRIPTORS),
        others: { bytes: engine.allocate(CAPTURE_CHUNK + CAPTURE_RECORD_MAX), descriptors: engine.allocate(TURN_DESCRIPTORS * PKT_DESCRIPTOR) },
        read: new Map(), bytes: 0,
      };
    } else if (core === 0) {
      // Standard input can be read once: core 0 reads it and ships the others their packets.
      this.capture = readCapture(engine, source.path);
      this.shipper = new Shipper(engine, shipperShape(plan), core, STEER_BATCH, ctx.stop);
    }
  }

  /** The other cores' rings (a thread's peers), once every core is set up. */
  connect(peers: Record<number, CoreInputs>): void {
    this.peers = peers;
    this.shipper?.connect(peers, `core ${this.core}`);
    if (this.doorbellAt) this.doorbell = new Doorbell(this.engine.sharedBuffer, this.doorbellAt);
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
    if (this.ctx.onHalves && clock() - this.halvesAt >= HALVES_HANDOFF_MS) {
      this.halvesAt = clock();
      this.ctx.onHalves(this.halves.splice(0), this.now);
    }
    if (this.plan.ipfix) this.takeIpfix(false);
  }

  private halvesAt = clock();
  private ipfix: Uint8Array[] = [];
  private ipfixBytes = 0;
  private ipfixAt = clock();
  /**
   * IPFIX messages out of the engine, handed on in pieces of IPFIX_HANDOFF bytes, or after
   * IPFIX_HANDOFF_MS (the messages being filled completed first, so a quiet live run still
   * exports within that time), or at the end (`all`).
   */
  private takeIpfix(all: boolean): void {
    const due = all || clock() - this.ipfixAt >= IPFIX_HANDOFF_MS;
    for (const m of this.flows.takeIpfix(due)) {
      this.ipfix.push(m);
      this.ipfixBytes += m.length;
    }
    if (!due && this.ipfixBytes < IPFIX_HANDOFF) return;
    this.ipfixAt = clock();
    if (this.ipfix.length) this.ctx.onIpfix?.(this.ipfix);
    this.ipfix = [];
    this.ipfixBytes = 0;
  }

  /** This core's counters into its control-block row (for progress, and for a failure's report). */
  publish(): void {
    const { control, row } = this.ctx;
    // (Not stats(): it reads every bucket's row too, and this runs every 16 batches.)
    const s = this.flows.counts();
    injectFault(this.core, s.received, this.plan.source.kind === 'capture' ? this.plan.source.path : undefined);
    control.set(row, Counter.RECEIVED, s.received);
    control.set(row, Counter.PROCESSED, s.processed);
    control.set(row, Counter.DROPPED, s.dropped);
    if (this.synthetic) control.set(row, Counter.CONVERSATIONS, this.synthetic.conversationsStarted);
    if (this.capture) control.set(row, Counter.INPUT_BYTES, this.capture.progress.bytesRead);
    if (this.turns) control.set(row, Counter.INPUT_BYTES, this.turns.bytes);
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
   * the progress bar's among them, run; a core thread with sockets of its own, so that their
   * sends complete).
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
    if (this.turns) {
      await this.walkInTurns(this.turns, pause);
    } else if (this.capture) {
      for (const batch of this.capture) {
        if (stop.stopped) throw new Stopped();
        if (this.shipper) {
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
        if (stop.inputEnded) break;
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
        await pause();
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

  /**
   * A capture file in turns. Chunk j is walked by core j % cores: it reads the chunk's bytes
   * (ahead, while it has nothing else to do), takes the walker's state from the core that walked
   * chunk j - 1 (the turn), walks it, passes the turn on, steers it (software RSS in WASM) and
   * groups its descriptors by core. Every core processes the chunks in order: its own share of
   * its own chunks, and of the others' the chunk's bytes read again from the file at the offset
   * its walker published, with its share of the descriptors copied and rebased onto them. So the
   * packets of every flow reach its engine in the file's order, as one reader would have
   * delivered them; each core walks and steers a share of the file; and only descriptors cross
   * between cores. (A copy of the bytes from the walker's memory cost more than reading them
   * again: the page cache's pages are clean, the walker's lines were just written by another
   * core. BENCHMARKS.md, "Capture replay".)
   */
  private async walkInTurns(turns: Turns, pause: () => Promise<void>): Promise<void> {
    const { chunks, readers, steering, others } = turns;
    const cores = this.plan.cores, me = this.core, stop = this.ctx.stop, table = this.ctx.turns!;
    const e = this.engine.exports;
    const count = chunks.count;
    // Own chunk j is this core's k-th, k = (j - me) / cores: it uses reader k % 2, as chunk j - 2 cores did.
    const own = (j: number) => readers[((j - me) / cores) % 2]!;
    /** Chunks below it are processed. */
    let cursor = 0;
    /** The next own chunk to walk. */
    let next = me;
    /** Own chunks walked: this core's share, waiting for the cursor. */
    const walked = new Set<number>();
    const bells = Array.from({ length: cores }, (_, c) => (c === me ? undefined : new Doorbell(this.peers[c]!.memory, this.peers[c]!.doorbell)));
    const ringAll = () => bells.forEach((b) => b?.ring());
    // Own chunk j's reader is free when this core has processed chunk j - 2 cores and every
    // other core has copied it.
    const readerFree = (j: number) => cursor > j - 2 * cores && table.free(j);

    /** Reads own chunk j's bytes, after room for the record the chunk before cuts (known once that chunk is walked). */
    const readAhead = (j: number): boolean => {
      if (j >= count || turns.read.has(j) || !readerFree(j)) return false;
      const { reader } = own(j);
      const n = chunks.length(j);
      chunks.readExactly(chunks.start(j), n, this.engine.bytes.subarray(reader.buffer + CAPTURE_RECORD_MAX, reader.buffer + reader.capacity));
      turns.read.set(j, n);
      turns.bytes += n;
      return true;
    };
    /** Processes the chunk at the cursor if it can be now; true if it was. */
    const advance = (): boolean => {
      if (cursor >= count) return false;
      const owner = cursor % cores;
      if (owner === me) {
        if (!walked.has(cursor)) return false;
        walked.delete(cursor);
        const { out, groups } = own(cursor);
        const [start, n] = this.engine.u32(groups + 8 * me, 2);
        this.process({ descriptors: out + start! * PKT_DESCRIPTOR, count: n! });
      } else {
        const chunk = table.ready(cursor);
        if (!chunk) return false;
        // The chunk's bytes read again from the file, this core's descriptors copied after them
        // and rebased onto them. (Read, not copied from the walker's memory: the page cache's
        // clean pages come faster than lines another core has just written.)
        const memory = this.peers[owner]!.memory;
        const [start, n] = new Uint32Array(memory, chunk.groups + 8 * me, 2);
        const bytes = this.engine.bytes;
        chunks.readExactly(chunk.offset, chunk.length, bytes.subarray(others.bytes, others.bytes + chunk.length));
        bytes.set(new Uint8Array(memory, chunk.out + start! * PKT_DESCRIPTOR, n! * PKT_DESCRIPTOR), others.descriptors);
        table.take(cursor);
        bells[owner]!.ring();
        e.rebaseDescriptors(others.descriptors, n!, (others.bytes - chunk.at) >>> 0);
        this.process({ descriptors: others.descriptors, count: n! });
      }
      cursor++;
      return true;
    };
    /** Walks and steers the next own chunk if its turn has come and its reader is free. */
    const walkNext = (): boolean => {
      const j = next;
      if (j >= count || !readerFree(j)) return false;
      const from = j === 0 ? 0 : table.reached(j);
      if (from === undefined) return false;
      readAhead(j);
      const { reader, out, groups } = own(j);
      if (j > 0) reader.resume(new Uint8Array(this.peers[(j - 1) % cores]!.memory, CAPTURE_STATE, 4096));
      // The start of a record the chunk before cut off: read it in front of this chunk's bytes.
      const cut = chunks.start(j) - from;
      if (cut < 0 || cut > CAPTURE_RECORD_MAX) throw new Error(`the walk of chunk ${j - 1} stopped at byte ${from}, outside the record it could have cut`);
      const at = reader.buffer + CAPTURE_RECORD_MAX - cut;
      if (cut) {
        chunks.readExactly(from, cut, this.engine.bytes.subarray(at, at + cut));
        turns.bytes += cut;
      }
      const length = cut + turns.read.get(j)!;
      turns.read.delete(j);
      // The reader's descriptors hold a whole chunk's packets: one batch.
      let batch: PacketBatch = { descriptors: reader.descriptors, count: 0 };
      for (const b of reader.walkPiece(from, at, length)) batch = b;
      if (j === count - 1) turns.summary = reader.finish();
      table.pass(j, reader.position);
      steering.steer(batch);
      e.groupByCore(batch.descriptors, batch.count, steering.cores, cores, out, groups);
      table.publish(j, at, length, from, out, groups);
      ringAll();
      walked.add(j);
      next += cores;
      return true;
    };

    while (cursor < count) {
      if (stop.stopped) throw new Stopped();
      if (walkNext() || advance() || readAhead(next)) {
        await pause();
        continue;
      }
      // Nothing to do until a peer passes the turn, publishes a chunk or takes one: each rings
      // this core's doorbell.
      const seen = this.doorbell!.count;
      if (walkNext() || advance()) continue;
      if (this.doorbell!.wait(seen, stop) === 'stopped') throw new Stopped();
    }
    chunks.close();
  }

  /** The latest packet time this core saw. */
  get now(): bigint {
    return this.flows.counts().now;
  }

  /** The end: every flow still in the table leaves (idle ones as of `now`, the run's last packet time). */
  finish(now: bigint): CoreResult {
    this.flows.finish(now);
    this.take();
    if (this.plan.ipfix) this.takeIpfix(true);
    this.publish();
    // A capture walked in turns: the core that walked the last chunk holds the whole walk's summary.
    const warnings = this.turns ? this.turns.summary?.warnings ?? [] : this.capture?.summary?.warnings ?? [];
    return { core: this.core, stats: this.flows.stats(), records: this.records, tally: this.flows.tally(), halves: this.halves, warnings };
  }
}
