/**
 * One thread of a run: a core, with its flow engine. It takes packets from its input (its share of
 * the synthetic conversations, its DPDK receive queues, or for core 0 the capture), keeps those RSS
 * sends to it, ships the rest to the other cores' rings, and processes what they ship to it.
 *
 * Handshake with the controller (runner.ts):
 *   controller -> worker  workerData: role, plan, compiled module, control block, stop flag
 *   worker -> controller  { type: 'ready', memory, rings, doorbell }   (setup done: no more allocation)
 *   controller -> worker  { type: 'start', peers }                     (every thread's rings)
 *   worker -> controller  { type: 'drained', now }                     (input exhausted)
 *   controller -> worker  { type: 'finish', now }                      (the run's last timestamp)
 *   worker -> controller  { type: 'done', result } | { type: 'failed', ... }
 * JavaScript here handles batches and slots; packets only ever move inside WASM or in bulk copies.
 */
import { parentPort, workerData } from 'node:worker_threads';
import '../shared-builds.js';
import { PKT_DESCRIPTOR, SLOT_DESCRIPTORS } from '../../../assembly/shared/abi.js';
import { Engine, engineMemory, type Kernel, type PacketBatch } from '../../core/engine.js';
import { RssplaneError } from '../../core/errors.js';
import { FIELD_SETS } from '../../core/fields.js';
import { FlowEngine, type FlowRecord, type FlowStats } from '../../core/flows.js';
import { FlowTally } from './report.js';
import { SyntheticSource } from '../../core/synthetic.js';
import { readCapture, type CaptureFile } from '../sources/capture.js';
import { DpdkReceiver } from '../sources/dpdk.js';
import { ControlBlock, Counter, producersOf, rssConfigOf, ThreadState, type Role, type RunPlan } from './plan.js';
import { Doorbell, DOORBELL_BYTES, Ring, ringBytes, StopFlag } from './ring.js';
import { Shipper, Stopped, type CoreInputs } from './shipper.js';

export interface WorkerInput {
  role: Role;
  plan: RunPlan;
  module: WebAssembly.Module;
  kernel: Kernel;
  control: SharedArrayBuffer;
  stop: SharedArrayBuffer;
  /** this thread's row in the control block */
  row: number;
}

export type { CoreInputs } from './shipper.js';

export interface CoreResult {
  core: number;
  stats: FlowStats;
  /** records of the flows that were not split (kept only when the plan asks for records) */
  records: FlowRecord[];
  /** the same flows, counted */
  tally: FlowTally;
  /** split flows' halves, raw, for the controller to merge */
  halves: Uint8Array[];
  warnings: string[];
}

type Message = { type: 'start'; peers: Record<number, CoreInputs> } | { type: 'finish'; now: bigint };

const input = workerData as WorkerInput;

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
const control = new ControlBlock(input.control, input.plan.cores);
const stop = new StopFlag(input.stop);
const row = input.row;
const messages: Message[] = [];
let wake: (() => void) | undefined;
parentPort!.on('message', (m: Message) => {
  messages.push(m);
  wake?.();
});

function nextMessage(): Promise<Message> {
  const m = messages.shift();
  if (m) return Promise.resolve(m);
  return new Promise((resolve) => {
    wake = () => {
      wake = undefined;
      resolve(messages.shift()!);
    };
  });
}


function shipperShape(plan: RunPlan) {
  return { cores: plan.cores, ring: plan.ring, ports: FIELD_SETS[plan.rss.fields].ports };
}

/** Packets a capture reader's core steers per call (its steering buffers are sized for this). */
const STEER_BATCH = 8192;

async function runCore(core: number): Promise<CoreResult> {
  const plan = input.plan;
  const engine = await Engine.instantiate(input.module, input.kernel, engineMemory(true));
  const config = rssConfigOf(plan.rss);
  const flows = FlowEngine.create(engine, config, {
    cores: plan.cores, core, queueCores: plan.queueCores, flows: plan.flows.capacity,
    idleTimeout: plan.flows.idleTimeout, checksums: plan.flows.checksums, splitHalves: plan.cores > 1,
  });
  const producers = producersOf(plan, core);
  const rings: Record<string, number> = {};
  const ringList: Ring[] = [];
  for (const p of producers) {
    rings[p] = engine.allocate(ringBytes(plan.ring));
    ringList.push(Ring.format(engine.sharedBuffer, rings[p]!, plan.ring));
  }
  const doorbellAt = engine.allocate(DOORBELL_BYTES);
  let synthetic: SyntheticSource | undefined;
  let shipper: Shipper | undefined;
  let capture: CaptureFile | undefined;
  let receiver: DpdkReceiver | undefined;
  const batchPackets = 1024;
  if (plan.source.kind === 'dpdk') {
    // This core polls its receive queues into a slot of its own memory and, like a synthetic
    // generator, keeps its own packets and ships the rest by software RSS. When the device did
    // RSS (its hash in the descriptor), every packet is already on its core and none is shipped.
    const s = plan.source;
    const queues = s.pollCores.flatMap((c, q) => (c === core ? [q] : []));
    if (queues.length) receiver = new DpdkReceiver(engine, s.port, queues, plan.ring, s.deviceTimestamps);
    if (plan.cores > 1) shipper = new Shipper(engine, shipperShape(plan), core, plan.ring.slotPackets, stop);
  } else if (plan.source.kind === 'synthetic') {
    const s = plan.source;
    synthetic = new SyntheticSource(engine, {
      concurrent: s.concurrent, conversations: s.conversations, seed: s.seed, ipv6: s.ipv6, retransmit: s.retransmit,
      part: core, parts: plan.cores, split: 'rss', ports: FIELD_SETS[plan.rss.fields].ports,
    }, batchPackets);
    if (plan.cores > 1) shipper = new Shipper(engine, shipperShape(plan), core, batchPackets, stop);
  } else if (core === 0) {
    // One capture, read once: core 0 reads it and steers what is not its own.
    capture = readCapture(engine, plan.source.path);
    if (plan.cores > 1) shipper = new Shipper(engine, shipperShape(plan), core, STEER_BATCH, stop);
  }
  // Setup is over: other threads may now hold this memory's buffer, so it must not grow.
  const memory = engine.sharedBuffer;
  const doorbell = new Doorbell(memory, doorbellAt);
  parentPort!.postMessage({ type: 'ready', memory, rings, doorbell: doorbellAt });
  const start = await nextMessage();
  if (start.type !== 'start') throw new Error(`expected start, got ${start.type}`);
  shipper?.connect(start.peers, `core ${core}`);
  control.set(row, Counter.STATE, ThreadState.RUNNING);

  const records: FlowRecord[] = [];
  const tally = FlowTally.create();
  const halves: Uint8Array[] = [];
  const take = () => {
    const r = flows.takeRecords();
    FlowTally.add(tally, r);
    if (plan.records) records.push(...r);
    halves.push(...flows.takeHalves());
  };
  const publish = () => {
    const s = flows.stats();
    injectFault(core, s.received);
    control.set(row, Counter.RECEIVED, s.received);
    control.set(row, Counter.PROCESSED, s.processed);
    control.set(row, Counter.DROPPED, s.dropped);
    if (synthetic) control.set(row, Counter.CONVERSATIONS, synthetic.conversationsStarted);
    if (capture) control.set(row, Counter.INPUT_BYTES, capture.progress.bytesRead);
    if (shipper) control.set(row, Counter.SENT, shipper.sent);
  };
  let batches = 0;
  const process = (batch: PacketBatch) => {
    if (batch.count) flows.process(batch);
    take();
    if ((++batches & 15) === 0) publish();
  };
  /** Processes every slot waiting in this core's rings; true if there was any. */
  const drainRings = (): boolean => {
    let any = false;
    for (const ring of ringList) {
      while (ring.pending > 0) {
        const slot = ring.oldest;
        const count = engine.exports.takeSlot(slot, plan.ring.slotPackets);
        process({ descriptors: slot + SLOT_DESCRIPTORS, count });
        ring.release();
        any = true;
      }
    }
    return any;
  };

  if (capture) {
    for (const batch of capture) {
      if (stop.stopped) throw new Stopped();
      if (!shipper) {
        process(batch);
        continue;
      }
      for (let done = 0; done < batch.count; done += STEER_BATCH) {
        const part = { descriptors: batch.descriptors + done * PKT_DESCRIPTOR, count: Math.min(STEER_BATCH, batch.count - done) };
        process(shipper.steer(part, drainRings));
      }
      drainRings();
    }
    shipper?.close(drainRings);
  } else if (synthetic) {
    for (let batch = synthetic.next(); batch.count; batch = synthetic.next()) {
      if (stop.stopped) throw new Stopped();
      process(shipper ? shipper.steer(batch, drainRings) : batch);
      drainRings();
    }
    shipper?.close(drainRings);
  } else if (receiver && plan.source.kind === 'dpdk') {
    const idleMs = plan.source.idleMs;
    let lastPacket = performance.now();
    for (;;) {
      if (stop.stopped) throw new Stopped();
      if (stop.inputEnded) break;
      const batch = receiver.next();
      if (batch.count) {
        process(shipper ? shipper.steer(batch, drainRings) : batch);
        lastPacket = performance.now();
      } else if (idleMs > 0 && performance.now() - lastPacket > idleMs) {
        break;
      }
      drainRings();
    }
    receiver.close();
    shipper?.close(drainRings);
  } else {
    shipper?.close(drainRings);
  }
  // The rings: until every producer has closed its ring and every slot is processed.
  while (!ringList.every((r) => r.finished)) {
    const seen = doorbell.count;
    if (!drainRings() && doorbell.wait(seen, stop) === 'stopped') throw new Stopped();
  }
  publish();
  control.set(row, Counter.STATE, ThreadState.DRAINED);
  parentPort!.postMessage({ type: 'drained', now: flows.stats().now });
  const finish = await nextMessage();
  if (finish.type !== 'finish') throw new Error(`expected finish, got ${finish.type}`);
  flows.finish(finish.now);
  take();
  publish();
  return { core, stats: flows.stats(), records, tally, halves, warnings: capture?.summary?.warnings ?? [] };
}

try {
  const result = await runCore(input.role.core);
  control.set(row, Counter.STATE, ThreadState.DONE);
  parentPort!.postMessage({ type: 'done', result });
} catch (e) {
  control.set(row, Counter.STATE, ThreadState.FAILED);
  if (e instanceof Stopped) {
    parentPort!.postMessage({ type: 'stopped' });
  } else {
    stop.stop();
    const user = e instanceof RssplaneError;
    parentPort!.postMessage({ type: 'failed', user, code: user ? e.code : undefined, message: (e as Error).message, stack: (e as Error).stack });
  }
}
