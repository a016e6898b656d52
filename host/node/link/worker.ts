/**
 * One core of the link layer, on its own thread: it polls its DPDK receive queues straight into a
 * slot of its engine's memory, keeps what RSS gives it and ships the rest to the other cores'
 * rings (software RSS, as `run --input dpdk` does; with the device's RSS nothing moves), hands
 * every batch to its engine's link layer (assembly/link), runs the neighbour timers, and sends
 * its transmit slot: on its own transmit queue, or through core 0 when the port has too few.
 * Frames the link layer learned neighbours from are copied to every other core, so all caches
 * agree. JavaScript here handles batches and slots; frames are only touched in WASM and by the
 * shim, a slot at a time.
 *
 * Handshake with the controller (session.ts):
 *   controller -> worker  workerData: core, plan, compiled module, stop flag, idle flags, a request port
 *   worker -> controller  { type: 'ready', inputs }          (setup done: no more allocation)
 *   controller -> worker  { type: 'start', peers }           (every core's rings)
 *   worker -> controller  { type: 'done', result } | { type: 'failed', ... }   (after the stop flag)
 * Requests (resolve an address) come on the request port, polled between batches.
 *
 * Where the endpoints of issue 11 plug in: `pass` (the link layer's pass list, TCP segments to our
 * addresses) after each link batch, and their timers beside linkPoll, writing into the same
 * transmit slot. See UpperLayer.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import '../shared-builds.js';
import { PKT_DESCRIPTOR, QUEUE_CORE, SLOT_COUNT, SLOT_DESCRIPTORS } from '../../../assembly/shared/abi.js';
import { Engine, engineMemory, type Kernel, type PacketBatch } from '../../core/engine.js';
import { RssplaneError } from '../../core/errors.js';
import { FIELD_SETS } from '../../core/fields.js';
import { Link, allocateSlot, clearSlot } from '../../core/link.js';
import { programEngine } from '../../core/rss.js';
import { rssConfigOf } from '../runner/plan.js';
import { Doorbell, DOORBELL_BYTES, Ring, ringBytes, StopFlag } from '../runner/ring.js';
import { Shipper, Stopped, type CoreInputs } from '../runner/shipper.js';
import { DpdkReceiver, loadDpdk, native, type NativeTxQueue } from '../sources/dpdk.js';
import { steerRing, txRing, type LinkAnswer, type LinkCoreResult, type LinkPlan, type LinkRequest } from './plan.js';

export interface LinkWorkerInput {
  core: number;
  plan: LinkPlan;
  module: WebAssembly.Module;
  kernel: Kernel;
  stop: SharedArrayBuffer;
  /** set when a core failed: waits for room in a ring give up (a normal stop lets them finish) */
  abort: SharedArrayBuffer;
  /** Int32 per core: 1 while the core has been idle for plan.idleMs */
  idle: SharedArrayBuffer;
  requests: MessagePort;
}

/**
 * What runs above the link layer on a core (issue 11's endpoints): takes the pass list after each
 * link batch, runs its timers, writes frames into the same transmit slot. None yet: TCP segments
 * to our addresses are counted and dropped (LinkDrop.TCP).
 */
export interface UpperLayer {
  /** the descriptor array linkBatch appends to (room for a slot's worth) */
  readonly pass: number;
  /** the segments in `pass` (LINK_PASS_COUNT of them): process, then the caller clears the list */
  process(count: number, tx: number, now: bigint): void;
  poll(tx: number, now: bigint): void;
}

/** The layer above the link on this core: none until the endpoints are wired in (issue 12, phase 2). */
function upperLayer(engine: Engine, plan: LinkPlan, core: number): UpperLayer | undefined {
  void engine;
  void plan;
  void core;
  return undefined;
}

type Message = { type: 'start'; peers: Record<number, CoreInputs> };

const input = workerData as LinkWorkerInput;
const stop = new StopFlag(input.stop);
const abort = new StopFlag(input.abort);
const idleFlags = new Int32Array(input.idle);
let wake: ((m: Message) => void) | undefined;
const inbox: Message[] = [];
parentPort!.on('message', (m: Message) => (wake ? wake(m) : inbox.push(m)));
const nextMessage = () => (inbox.length ? Promise.resolve(inbox.shift()!) : new Promise<Message>((r) => (wake = r)));

/** Empty rounds before the loop naps (a DPDK queue rings no bell: naps are 1 ms at most). */
const SPINS = 256;

async function runCore(core: number, plan: LinkPlan): Promise<LinkCoreResult> {
  const dpdk = loadDpdk();
  const engine = await Engine.instantiate(input.module, input.kernel, engineMemory(true));
  const config = rssConfigOf(plan.rss);
  programEngine(engine, config);
  engine.u16(QUEUE_CORE, plan.queueCores.length).set(plan.queueCores);
  const shape = plan.ring;
  const link = Link.configure(engine, plan.addresses, { shape, neighbours: plan.neighbours, timers: plan.timers });
  const tx = allocateSlot(engine, shape);
  const copies = plan.cores > 1 ? allocateSlot(engine, shape) : 0;
  const upper = upperLayer(engine, plan, core);

  // Rings into this core: frames steered here (and copies) from every other core; on core 0 in
  // `owner` mode, the other cores' transmit slots too.
  const rings: Record<string, number> = {};
  const steerRings: Ring[] = [];
  const txRings: Ring[] = [];
  for (let c = 0; c < plan.cores; c++) {
    if (c === core) continue;
    rings[steerRing(c)] = engine.allocate(ringBytes(shape));
    steerRings.push(Ring.format(engine.sharedBuffer, rings[steerRing(c)]!, shape));
    if (plan.tx === 'owner' && core === 0) {
      rings[txRing(c)] = engine.allocate(ringBytes(shape));
      txRings.push(Ring.format(engine.sharedBuffer, rings[txRing(c)]!, shape));
    }
  }
  const doorbellAt = engine.allocate(DOORBELL_BYTES);
  const queues = plan.pollCores.flatMap((c, q) => (c === core ? [q] : []));
  const receiver = queues.length ? new DpdkReceiver(engine, plan.port, queues, shape, plan.deviceTimestamps) : undefined;
  const memory = new Uint8Array(engine.sharedBuffer);
  let txQueue: NativeTxQueue | undefined;
  if (plan.tx === 'per-core' || core === 0) {
    txQueue = native(() => new dpdk.TxQueue(plan.port, plan.tx === 'per-core' ? core : 0, memory, shape.slotPackets, shape.slotBytes));
  }
  const shipper = plan.cores > 1
    ? new Shipper(engine, { cores: plan.cores, ring: shape, ports: FIELD_SETS[plan.rss.fields].ports }, core, shape.slotPackets, abort)
    : undefined;

  // Setup is over: other threads may now hold this memory's buffer, so it must not grow.
  const bell = new Doorbell(engine.sharedBuffer, doorbellAt);
  parentPort!.postMessage({ type: 'ready', inputs: { memory: engine.sharedBuffer, rings, doorbell: doorbellAt } satisfies CoreInputs });
  const start = await nextMessage();
  shipper?.connect(start.peers, steerRing(core));
  let toOwner: { ring: Ring; bell: Doorbell } | undefined;
  if (!txQueue) {
    const owner = start.peers[0]!;
    toOwner = { ring: new Ring(owner.memory, owner.rings[txRing(core)]!), bell: new Doorbell(owner.memory, owner.doorbell) };
  }

  let txSent = 0, txDropped = 0;
  const pending: Array<{ id: number; address: Uint8Array }> = [];

  /** Sends what the transmit slot holds: on our queue, or to the owner's ring. */
  const transmit = () => {
    const count = engine.u32(tx + SLOT_COUNT, 1)[0]!;
    if (count === 0) return;
    if (txQueue) {
      const sent = txQueue.send(tx);
      txSent += sent;
      txDropped += count - sent;
      clearSlot(engine, tx);
      return;
    }
    const { ring, bell: ownerBell } = toOwner!;
    for (let w = ring.waitForRoom(abort); w !== 'ready'; w = ring.waitForRoom(abort)) if (w === 'stopped') throw new Stopped();
    ring.publish(engine.memory.buffer, tx, ownerBell);
  };

  /** Core 0 in `owner` mode: sends the transmit slots the other cores shipped. */
  const sendForOthers = (): boolean => {
    let any = false;
    for (const ring of txRings) {
      while (ring.pending > 0) {
        const slot = ring.oldest;
        const count = engine.u32(slot + SLOT_COUNT, 1)[0]!;
        const sent = txQueue!.send(slot);
        txSent += sent;
        txDropped += count - sent;
        ring.release();
        any = true;
      }
    }
    return any;
  };

  /** One batch through the link layer (and, later, the endpoints above it). */
  const handle = (batch: PacketBatch, now: bigint) => {
    let done = 0;
    for (;;) {
      done += link.batch({ descriptors: batch.descriptors + done * PKT_DESCRIPTOR, count: batch.count - done }, tx, copies, upper?.pass ?? 0, now);
      if (done === batch.count) break;
      transmit(); // the transmit slot is full: send it, go on
    }
    if (upper && link.passCount) {
      upper.process(link.passCount, tx, now);
      link.clearPass();
    }
  };

  /** Frames other cores steered here, and their copies. */
  const drainRings = (now: bigint): boolean => {
    let any = false;
    for (const ring of steerRings) {
      while (ring.pending > 0) {
        const slot = ring.oldest;
        const count = engine.exports.takeSlot(slot, shape.slotPackets);
        handle({ descriptors: slot + SLOT_DESCRIPTORS, count }, now);
        ring.release();
        any = true;
      }
    }
    return any;
  };
  const idle = () => {
    const now = process.hrtime.bigint();
    drainRings(now);
    if (txRings.length) sendForOthers();
  };

  const answer = (now: bigint) => {
    for (let m = receiveMessageOnPort(input.requests); m; m = receiveMessageOnPort(input.requests)) {
      const r = m.message as LinkRequest;
      pending.push({ id: r.id, address: r.address });
    }
    for (let i = 0; i < pending.length;) {
      const p = pending[i]!;
      const result = link.resolve(p.address, tx, now);
      if (result.status === 'pending' || result.status === 'deferred') {
        i++;
        continue;
      }
      input.requests.postMessage({ type: 'resolved', id: p.id, result } satisfies LinkAnswer);
      pending.splice(i, 1);
    }
  };

  let spins = 0;
  let lastWork = process.hrtime.bigint();
  const idleNs = BigInt(plan.idleMs) * 1_000_000n;
  try {
    while (!stop.stopped) {
      const now = process.hrtime.bigint();
      let work = false;
      if (receiver) {
        const batch = receiver.next();
        if (batch.count) {
          work = true;
          handle(shipper ? shipper.steer(batch, idle) : batch, now);
        }
      }
      if (drainRings(now)) work = true;
      answer(now);
      link.poll(tx, now);
      upper?.poll(tx, now);
      if (shipper) {
        shipper.flush(idle);
        if (copies) shipper.broadcast(copies, idle);
      }
      transmit();
      if (txRings.length && sendForOthers()) work = true;
      if (work) {
        spins = 0;
        lastWork = now;
        if (idleFlags[core]) Atomics.store(idleFlags, core, 0);
        continue;
      }
      if (idleNs > 0n && now - lastWork > idleNs && !idleFlags[core]) Atomics.store(idleFlags, core, 1);
      if (++spins < SPINS) continue;
      // Nap: a peer's ring wakes us at once; a DPDK queue cannot, hence the 1 ms bound.
      const seen = Atomics.load(bell.word, 0);
      Atomics.store(bell.word, 1, 1);
      Atomics.wait(bell.word, 0, seen, 1);
      Atomics.store(bell.word, 1, 0);
    }
  } catch (e) {
    if (!(e instanceof Stopped)) throw e;
  }
  // The end, in order: what this core holds goes out (its steered frames, its copies, its
  // transmit slot), it tells its peers it is done, and it takes what they still send it until
  // each of them has said the same, so no copy or transmit slot is left in a ring.
  const last = process.hrtime.bigint();
  const quiet = () => {};
  try {
    if (shipper) {
      shipper.flush(quiet);
      if (copies) shipper.broadcast(copies, quiet);
    }
    transmit();
    shipper?.close(quiet);
    toOwner?.ring.close(toOwner.bell);
    for (;;) {
      drainRings(last);
      transmit();
      if (txRings.length) sendForOthers();
      if (steerRings.every((r) => r.finished) && txRings.every((r) => r.finished)) break;
      const seen = Atomics.load(bell.word, 0);
      Atomics.store(bell.word, 1, 1);
      Atomics.wait(bell.word, 0, seen, 1);
      Atomics.store(bell.word, 1, 0);
    }
  } catch (e) {
    if (!(e instanceof Stopped)) throw e;
  }
  receiver?.close();
  txQueue?.close();
  return {
    core, stats: link.stats(), neighbours: link.neighbours(), txSent, txDropped,
    polled: receiver?.packets ?? 0, shipped: shipper?.sent ?? 0,
  };
}

try {
  const result = await runCore(input.core, input.plan);
  parentPort!.postMessage({ type: 'done', result });
} catch (e) {
  abort.stop();
  stop.stop();
  const user = e instanceof RssplaneError;
  parentPort!.postMessage({ type: 'failed', user, code: user ? e.code : undefined, message: (e as Error).message, stack: (e as Error).stack });
}
// Nothing more will come or go: let the thread end.
input.requests.close();
parentPort!.removeAllListeners('message');
parentPort!.unref();
