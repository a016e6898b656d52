/**
 * One core of `bench dpdk` (bundled to dist/bench-dpdk-worker.mjs): its own engine and ring, one
 * receive queue of the port. Each round it receives `packets` straight into its ring's slots
 * (RxQueue.fill into the next free slot, published), takes each slot as a consumer does (takeSlot
 * makes it processable) and, in the `engine` mode, runs it through the flow engine; then says
 * how long that took. The main thread starts every core's round at once.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Engine, engineMemory, type Kernel } from '../../core/engine.js';
import '../huge-pages.js';
import { FlowEngine } from '../../core/flows.js';
import { Reta } from '../../core/reta.js';
import { RssConfig } from '../../core/rss.js';
import { SLOT_DESCRIPTORS } from '../../../assembly/shared/abi.js';
import { Doorbell, DOORBELL_BYTES, Ring, ringBytes, type RingShape } from '../runner/ring.js';
import { loadDpdk, native } from '../sources/dpdk.js';

export interface DpdkBenchWorkerInput {
  module: WebAssembly.Module;
  kernel: Kernel;
  port: number;
  queue: number;
  cores: number;
  ring: RingShape;
}

export type DpdkBenchMode = 'rings' | 'engine';

const input = workerData as DpdkBenchWorkerInput;
const engine = await Engine.instantiate(input.module, input.kernel, engineMemory(true));
const config = RssConfig.from({ key: 'symmetric', fields: 'ipv4-l4', reta: Reta.equal(128, input.cores) });
const flows = FlowEngine.create(engine, config, { cores: input.cores, core: input.queue, flows: 1 << 16 });
// Allocate first: memory may grow for a buffer, and only the buffer taken after it reaches it.
const ringAt = engine.allocate(ringBytes(input.ring));
const bellAt = engine.allocate(DOORBELL_BYTES);
const ring = Ring.format(engine.sharedBuffer, ringAt, input.ring);
const bell = new Doorbell(engine.sharedBuffer, bellAt);
const dpdk = loadDpdk();
const rx = native(() => new dpdk.RxQueue(input.port, input.queue, new Uint8Array(engine.sharedBuffer), input.ring.slotPackets, input.ring.slotBytes, false));
const fill = (slot: number) => rx.fill(slot);

function round(mode: DpdkBenchMode, packets: number): { packets: number; seconds: number; slots: number } {
  const e = engine.exports;
  let received = 0, slots = 0;
  const t0 = performance.now();
  while (received < packets) {
    if (ring.pending < input.ring.slots) received += ring.produce(fill, bell);
    while (ring.pending > 0) {
      const slot = ring.oldest;
      const count = e.takeSlot(slot, input.ring.slotPackets);
      if (mode === 'engine') flows.process({ descriptors: slot + SLOT_DESCRIPTORS, count });
      ring.release();
      slots++;
    }
  }
  return { packets: received, seconds: (performance.now() - t0) / 1000, slots };
}

parentPort!.on('message', (m: { mode: DpdkBenchMode; packets: number } | { type: 'close' }) => {
  if ('type' in m) {
    rx.close();
    parentPort!.postMessage({ closed: true });
    return;
  }
  parentPort!.postMessage(round(m.mode, m.packets));
});
parentPort!.postMessage({ ready: true });
