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
 * Above the link, when the plan has endpoints (connect, serve): each core's TcpEndpoint in the
 * same engine takes the link's pass list (TCP segments to our addresses) after each batch, runs
 * its timers beside linkPoll, and sends its own transmit slot (the link's shape) the same way;
 * segments of another core's connection go to that core's ring. See UpperLayer. Requests also
 * carry `go` (a client starts opening) and `stop-opening`; a client core that is done sets its
 * word in `done`.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import '../shared-builds.js';
import {
  APP_DONE, FWD_COUNT, LINK_PASS_COUNT, LINK_STATE, PKT_DESCRIPTOR, QUEUE_CORE, SLOT_BYTES, SLOT_COUNT, SLOT_DESCRIPTORS, TCP_STATE, TcpStat,
} from '../../../assembly/shared/abi.js';
import { TcpEndpoint } from '../../core/endpoint.js';
import { Engine, engineMemory, type Kernel, type PacketBatch } from '../../core/engine.js';
import { RssplaneError } from '../../core/errors.js';
import { FIELD_SETS } from '../../core/fields.js';
import { Link, allocateSlot } from '../../core/link.js';
import { programEngine } from '../../core/rss.js';
import { rssConfigOf } from '../runner/plan.js';
import { Doorbell, DOORBELL_BYTES, Ring, ringBytes, StopFlag } from '../runner/ring.js';
import { Shipper, Stopped, type CoreInputs } from '../runner/shipper.js';
import { DpdkReceiver, loadDpdk, native, type NativeTxQueue } from '../sources/dpdk.js';
import { steerRing, txRing, type LinkAnswer, type LinkCoreResult, type LinkEndpointResult, type LinkPlan, type LinkRequest } from './plan.js';

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
  /** Int32 per core: 1 once its client endpoint is done (every connection opened and ended) */
  done: SharedArrayBuffer;
  requests: MessagePort;
}

/**
 * What runs above the link layer on a core (issue 11's endpoints): takes the pass list after each
 * link batch, runs its timers, and sends what it writes through `send` (its own transmit slot,
 * the shape of the link's, so the same queue or ring takes it).
 */
export interface UpperLayer {
  /** the descriptor array linkBatch appends to (room for a slot's worth) */
  readonly pass: number;
  /** the segments in `pass` (LINK_PASS_COUNT of them): process, then the caller clears the list */
  process(count: number, now: bigint): void;
  /** runs the endpoint's timers and sends what it owes; true when it sent anything */
  poll(now: bigint): boolean;
  /** the memory's words, once setup is over (the loop reads counts through them) */
  bind(words: Uint32Array): void;
  /** a request from the controller: go (start opening), stop-opening */
  command(type: 'go' | 'stop-opening'): void;
  result(): LinkEndpointResult;
  forwarded(): number;
}

interface Outlets {
  /** sends a transmit slot of the link's shape (on this core's queue, or to the owner) */
  send(slot: number): void;
  /** ships an endpoint's forward list to the owners' rings (several cores only) */
  forward?: (descriptors: number, count: number, cores: number) => void;
  /** a client core has opened its last connection and each has ended */
  done(): void;
}

/**
 * The TCP endpoint above the link on this core (connect, serve): in the same engine, so the pass
 * list's descriptors are its input as they are; its frames take their next hop's MAC from the
 * link's neighbour cache (CFG_LINK_TX). Segments of connections another core opened (random
 * ports) go to that core through the rings, where its link hands them on again.
 */
function upperLayer(engine: Engine, plan: LinkPlan, core: number, linkTx: number, out: Outlets): UpperLayer | undefined {
  const p = plan.endpoint;
  if (!p) return undefined;
  const shape = plan.ring;
  const app = p.apps[core]!;
  const ep = TcpEndpoint.create(engine, {
    ...p.options, rss: rssConfigOf(plan.rss), core, cores: plan.cores, queueCores: plan.queueCores,
    mac: plan.addresses.mac, nextHopMac: null, slotPackets: shape.slotPackets, linkTx, epochNs: p.epochNs,
    seed: BigInt(p.seed) * 1000n + BigInt(core), app,
  });
  const pass = engine.allocate(shape.slotPackets * PKT_DESCRIPTOR);
  const client = app.kind === 'http-client';
  let started = !client;
  let startedAt: number | undefined;
  let doneAt: number | undefined;
  // Counts are read through one view of the memory made once setup is over: each TcpEndpoint
  // getter takes the shared memory's buffer (a few hundred ns on a shared memory), several
  // times a loop.
  let words: Uint32Array = new Uint32Array(0);
  const txCountAt = (ep.txSlot + SLOT_COUNT) >>> 2, forwardsAt = (TCP_STATE + FWD_COUNT) >>> 2, doneAt_ = (TCP_STATE + APP_DONE) >>> 2;
  const forwards = () => {
    if (words[forwardsAt]! > 0) {
      out.forward?.(ep.forwardDescriptors, words[forwardsAt]!, ep.forwardCores);
      words[forwardsAt] = 0;
    }
  };
  const ship = () => {
    if (words[txCountAt]! > 0) out.send(ep.txSlot);
    forwards();
  };
  return {
    pass,
    process(count, now) {
      ep.poll(now);
      for (let done = 0; done < count;) {
        done += ep.input({ descriptors: pass + done * PKT_DESCRIPTOR, count: count - done });
        if (done < count) ship(); // the slot or the forward list filled: make room, go on
      }
      // Forwards point into the received slot: they go before it is given back. What the
      // segments made waits in the transmit slot for poll's output, one send for both.
      forwards();
    },
    poll(now) {
      if (!started) return false;
      ep.poll(now);
      let sent = false;
      while (!ep.output()) {
        sent = true;
        ship();
      }
      if (words[txCountAt]! > 0) sent = true;
      ship();
      if (client && doneAt === undefined && words[doneAt_] !== 0) {
        doneAt = performance.timeOrigin + performance.now();
        out.done();
      }
      return sent;
    },
    bind(view) {
      words = view;
    },
    command(type) {
      if (type === 'go' && !started) {
        started = true;
        startedAt = performance.timeOrigin + performance.now();
      } else if (type === 'stop-opening' && client) {
        ep.stopOpening();
      }
    },
    result() {
      const r = client ? ep.results() : undefined;
      return {
        stats: ep.stats(), startedAt, doneAt,
        ...(r ? {
          status: r.status, latency: r.latency.counts, latencyMax: r.latency.max, connectTime: r.connectTime.counts,
          connectMax: r.connectTime.max, digests: r.digests, ports: ep.ports()[0] ?? { available: 0, size: 0 },
        } : {}),
      };
    },
    forwarded: () => ep.counter(TcpStat.FORWARDED),
  };
}

type Message = { type: 'start'; peers: Record<number, CoreInputs> };

const input = workerData as LinkWorkerInput;
const stop = new StopFlag(input.stop);
const abort = new StopFlag(input.abort);
const idleFlags = new Int32Array(input.idle);
const doneFlags = new Int32Array(input.done);
let wake: ((m: Message) => void) | undefined;
const inbox: Message[] = [];
parentPort!.on('message', (m: Message) => (wake ? wake(m) : inbox.push(m)));
const nextMessage = () => (inbox.length ? Promise.resolve(inbox.shift()!) : new Promise<Message>((r) => (wake = r)));

/** Empty rounds before the loop naps (a DPDK queue rings no bell: naps are 1 ms at most). */
const SPINS = 256;
/**
 * Rounds between looks at the request port while every round finds work (an idle round always
 * looks): receiveMessageOnPort takes the port's lock each time, and requests (resolve, go,
 * stop-opening) can wait a few rounds, well under a millisecond.
 */
const REQUEST_ROUNDS = 16;

async function runCore(core: number, plan: LinkPlan): Promise<LinkCoreResult> {
  const dpdk = loadDpdk();
  const engine = await Engine.instantiate(input.module, input.kernel, engineMemory(true));
  const config = rssConfigOf(plan.rss);
  programEngine(engine, config);
  engine.u16(QUEUE_CORE, plan.queueCores.length).set(plan.queueCores);
  const shape = plan.ring;
  // One clock for the link's timers and the endpoint's: ns since the epoch when there is an
  // endpoint (its timers count from plan.endpoint.epochNs), the monotonic clock's own else.
  const base = plan.endpoint?.clockBase ?? 0n;
  const clock = () => base + process.hrtime.bigint();
  const link = Link.configure(engine, plan.addresses, { shape, neighbours: plan.neighbours, timers: plan.timers });
  const tx = allocateSlot(engine, shape);
  const copies = plan.cores > 1 ? allocateSlot(engine, shape) : 0;
  // The endpoint allocates now, before the memory is shared; it sends through what is set up below.
  const upper = upperLayer(engine, plan, core, tx, {
    send: (slot) => send(slot),
    forward: plan.cores > 1 ? (descriptors, count, cores) => shipper!.forward(descriptors, count, cores, idle) : undefined,
    done: () => Atomics.store(doneFlags, core, 1),
  });

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

  // Setup is over: other threads may now hold this memory's buffer, so it must not grow. The
  // loop reads slot counts through one view of it, made now.
  const words = new Uint32Array(engine.sharedBuffer);
  upper?.bind(words);
  const passAt = (LINK_STATE + LINK_PASS_COUNT) >>> 2;
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

  /** Sends what a transmit slot (the link's, or the endpoint's) holds: on our queue, or to the owner's ring. */
  const send = (slot: number) => {
    const count = words[(slot + SLOT_COUNT) >>> 2]!;
    if (count === 0) return;
    if (txQueue) {
      const sent = txQueue.send(slot);
      txSent += sent;
      txDropped += count - sent;
      words[(slot + SLOT_COUNT) >>> 2] = 0;
      words[(slot + SLOT_BYTES) >>> 2] = 0;
      return;
    }
    const { ring, bell: ownerBell } = toOwner!;
    for (let w = ring.waitForRoom(abort); w !== 'ready'; w = ring.waitForRoom(abort)) if (w === 'stopped') throw new Stopped();
    ring.publish(engine.memory.buffer, slot, ownerBell);
  };
  const transmit = () => send(tx);

  /** Core 0 in `owner` mode: sends the transmit slots the other cores shipped. */
  const sendForOthers = (): boolean => {
    let any = false;
    for (const ring of txRings) {
      while (ring.pending > 0) {
        const slot = ring.oldest;
        const count = words[(slot + SLOT_COUNT) >>> 2]!;
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
  let handling = false;
  const handle = (batch: PacketBatch, now: bigint) => {
    handling = true;
    try {
      handleBatch(batch, now);
    } finally {
      handling = false;
    }
  };
  const handleBatch = (batch: PacketBatch, now: bigint) => {
    let done = 0;
    for (;;) {
      done += link.batch({ descriptors: batch.descriptors + done * PKT_DESCRIPTOR, count: batch.count - done }, tx, copies, upper?.pass ?? 0, now);
      if (done === batch.count) break;
      transmit(); // the transmit slot is full: send it, go on
    }
    const passed = upper ? words[passAt]! : 0;
    if (passed) {
      words[passAt] = 0;
      upper!.process(passed, now);
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
  // Waiting for room in a peer's ring: take what the others send us meanwhile (frames, and on
  // core 0 their transmit slots), so that two cores feeding each other do not wait on each other.
  // A wait inside a batch's handling (the endpoint sending, or forwarding) only sends for the
  // others: the batch's frames and the endpoint's slot are in use until it returns.
  function idle(): void {
    if (txRings.length) sendForOthers();
    if (!handling) drainRings(clock());
  }

  /** The controller's requests; the port is looked at every REQUEST_ROUNDS rounds (see there). */
  let rounds = 0;
  const answer = (now: bigint) => {
    if (++rounds % REQUEST_ROUNDS === 0 || spins > 0) for (let m = receiveMessageOnPort(input.requests); m; m = receiveMessageOnPort(input.requests)) {
      const r = m.message as LinkRequest;
      if (r.type === 'resolve') pending.push({ id: r.id, address: r.address });
      else upper?.command(r.type);
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
  let lastWork = clock();
  const idleNs = BigInt(plan.idleMs) * 1_000_000n;
  // What the loop did: rounds that found work, and the time they took (the rest is polling
  // empty queues and napping), so a benchmark can tell whether this thread bounds the rate.
  let busyRounds = 0, busyMs = 0;
  const loopStart = performance.now();
  try {
    while (!stop.stopped) {
      const now = clock();
      const roundStart = performance.now();
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
      if (upper) {
        handling = true;
        try {
          if (upper.poll(now)) work = true;
        } finally {
          handling = false;
        }
      }
      if (shipper) {
        shipper.flush(idle);
        if (copies) shipper.broadcast(copies, idle);
      }
      transmit();
      if (txRings.length && sendForOthers()) work = true;
      if (work) {
        busyRounds++;
        busyMs += performance.now() - roundStart;
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
  const loopMs = performance.now() - loopStart;
  const last = clock();
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
    polled: receiver?.packets ?? 0, shipped: shipper?.sent ?? 0, forwarded: upper?.forwarded() ?? 0,
    loop: { ms: loopMs, busyMs, busyRounds },
    ...(upper ? { endpoint: upper.result() } : {}),
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
