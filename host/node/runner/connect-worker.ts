/**
 * One endpoint thread of a connect run: a client core or a server core, its TcpEndpoint engine,
 * and the in-memory wire's rings. Each round it polls the engine (the clock), takes every slot
 * its rings hold (segments from the other side, and forwards from its own side's cores), lets
 * the engine send, and ships the transmit slot and the forward list through the WireSender to
 * the peers' rings. JavaScript moves slots and reads counters; every segment is the engine's.
 *
 * A ring that is full never blocks the thread: the slot waits in a backlog (a copy) and goes
 * first when the ring has room, so two threads feeding each other cannot wait on each other.
 *
 * Handshake (as the runner's workers): ready -> start (peers' rings) -> runs until the phase
 * flag says finish -> done (its counters and results).
 */
import { parentPort, workerData } from 'node:worker_threads';
import '../shared-builds.js';
import { PKT_DESCRIPTOR, SLOT_DESCRIPTORS, TcpStat } from '../../../assembly/shared/abi.js';
import { Engine, engineMemory, type Kernel } from '../../core/engine.js';
import { TcpEndpoint } from '../../core/endpoint.js';
import { RssplaneError } from '../../core/errors.js';
import { copySlot, WireSender } from '../../core/wire.js';
import { producersOfEndpoint, threadName, type ConnectPlan, type EndpointResult, type EndpointRole } from './connect-plan.js';
import { ControlBlock, Counter, rssConfigOf, ThreadState } from './plan.js';
import { Doorbell, DOORBELL_BYTES, Ring, ringBytes, StopFlag, type RingShape } from './ring.js';
import type { CoreInputs } from './worker.js';

export interface ConnectWorkerInput {
  role: EndpointRole;
  plan: ConnectPlan;
  module: WebAssembly.Module;
  kernel: Kernel;
  control: SharedArrayBuffer;
  stop: SharedArrayBuffer;
  /** Int32 [0]: 1 when the run is over (finish) */
  phase: SharedArrayBuffer;
  row: number;
}

type Message = { type: 'start'; peers: Record<string, CoreInputs> };

const input = workerData as ConnectWorkerInput;
const plan = input.plan;
const role = input.role;
const control = new ControlBlock(input.control, plan.clientCores + plan.serverCores);
const stop = new StopFlag(input.stop);
const phase = new Int32Array(input.phase, 0, 1);
const messages: Message[] = [];
let wake: (() => void) | undefined;
parentPort!.on('message', (m: Message) => {
  messages.push(m);
  wake?.();
});
const nextMessage = (): Promise<Message> => {
  const m = messages.shift();
  if (m) return Promise.resolve(m);
  return new Promise((resolve) => { wake = () => { wake = undefined; resolve(messages.shift()!); }; });
};

class Stopped extends Error {}


/** Slots to one consumer: published when its ring has room, else kept (copied) until it has. */
class Outbound {
  private readonly backlog: Uint8Array[] = [];
  constructor(private readonly ring: Ring, private readonly bell: Doorbell, private readonly slotPackets: number) {}

  private get room(): boolean {
    return this.ring.pending < this.ring.shape.slots;
  }

  deliver(memory: ArrayBufferLike, image: number): void {
    if (this.backlog.length === 0 && this.room) this.ring.publish(memory, image, this.bell);
    else this.backlog.push(copySlot(memory, image, this.slotPackets));
  }

  /** Publishes what waits, as room allows; true when nothing waits. */
  flush(): boolean {
    while (this.backlog.length && this.room) {
      const copy = this.backlog.shift()!;
      this.ring.publish(copy.buffer, copy.byteOffset, this.bell);
    }
    return this.backlog.length === 0;
  }

  get waiting(): number {
    return this.backlog.length;
  }
}

async function run(): Promise<EndpointResult> {
  const engine = await Engine.instantiate(input.module, input.kernel, engineMemory(true));
  const client = role.side === 'client';
  const c = plan.client;
  const family = c.server.includes(':') ? 6 : 4;
  const ep = TcpEndpoint.create(engine, {
    rss: rssConfigOf(client ? plan.rss : plan.serverRss),
    core: role.core, cores: client ? plan.clientCores : plan.serverCores,
    queueCores: client ? plan.clientQueueCores : plan.serverQueueCores,
    ...(family === 4 ? { ipv4: client ? c.address : c.server, ipv4Count: client ? c.srcCount : 1 }
      : { ipv6: client ? c.address : c.server, ipv6Count: client ? c.srcCount : 1 }),
    mac: client ? '02:00:00:00:00:01' : '02:00:00:00:00:02', nextHopMac: client ? '02:00:00:00:00:02' : '02:00:00:00:00:01',
    tcbs: client ? plan.endpoint.clientTcbs : plan.endpoint.serverTcbs, timeWaits: client ? plan.endpoint.clientTimeWaits : plan.endpoint.serverTimeWaits,
    timeWaitMs: plan.endpoint.timeWaitMs, chunks: plan.endpoint.chunks, chunkBytes: plan.endpoint.chunkBytes,
    ports: c.ports, portRange: c.portRange, epochNs: plan.epochNs, seed: BigInt(plan.seed) * 1000n + BigInt(input.row),
    app: client
      ? {
        kind: 'http-client', remote: c.server, port: c.port, path: c.path, host: c.host, concurrency: c.concurrency[role.core]!,
        connections: c.connections[role.core]!, requestsPerConnection: c.requestsPerConnection, close: c.close, timeoutMs: c.timeoutMs, digest: c.digest,
      }
      : { kind: 'http-server', port: c.port, responseBytes: plan.server.responseBytes, idleMs: plan.server.idleMs },
  });
  const shape: RingShape = { slots: plan.ringSlots, slotPackets: ep.slotPackets, slotBytes: ep.slotBytes };
  const producers = producersOfEndpoint(plan, role);
  const rings: Record<string, number> = {};
  const inbound: Ring[] = [];
  for (const p of producers) {
    rings[p] = engine.allocate(ringBytes(shape));
    inbound.push(Ring.format(engine.sharedBuffer, rings[p]!, shape));
  }
  const doorbellAt = engine.allocate(DOORBELL_BYTES);
  const peerRss = rssConfigOf(client ? plan.serverRss : plan.rss);
  const pcap: Uint8Array[] = [];
  const sender = new WireSender(ep, { reta: peerRss.reta!, queueCores: client ? plan.serverQueueCores : plan.clientQueueCores, cores: client ? plan.serverCores : plan.clientCores }, {
    siblings: client ? plan.clientCores : plan.serverCores, impair: plan.impair ? { ...plan.impair, seed: (plan.impair.seed ?? 1) * 7919 + input.row } : undefined,
    capture: plan.pcap ? (r) => pcap.push(r) : undefined,
  });
  const memory = engine.sharedBuffer;
  const bell = new Doorbell(memory, doorbellAt);
  parentPort!.postMessage({ type: 'ready', memory, rings, doorbell: doorbellAt });
  const start = await nextMessage();
  const me = threadName(role);
  const peerNames = Array.from({ length: client ? plan.serverCores : plan.clientCores }, (_, k) => `${client ? 'server' : 'client'} ${k}`);
  const siblingNames = Array.from({ length: client ? plan.clientCores : plan.serverCores }, (_, k) => `${role.side} ${k}`);
  const outbound = (name: string) => {
    const p = start.peers[name]!;
    return new Outbound(new Ring(p.memory, p.rings[me]!), new Doorbell(p.memory, p.doorbell), ep.slotPackets);
  };
  const toPeers = peerNames.map(outbound);
  const toSiblings = siblingNames.map((n) => (n === me ? undefined : outbound(n)));
  const all = [...toPeers, ...toSiblings.filter((o): o is Outbound => o !== undefined)];
  control.set(input.row, Counter.STATE, ThreadState.RUNNING);

  // The clock: ns since the epoch, from the monotonic clock every thread shares.
  const base = plan.clockBase;
  const now = () => base + process.hrtime.bigint();
  const startedAt = performance.timeOrigin + performance.now();
  let doneAt: number | undefined;
  let stoppedOpening = false;

  const ship = () => {
    sender.shipTx(now(), (core, image) => toPeers[core]!.deliver(memory, image));
    sender.shipForwards((core, image) => toSiblings[core]!.deliver(memory, image));
  };
  const publish = () => {
    control.set(input.row, Counter.RECEIVED, ep.counter(TcpStat.RECEIVED));
    control.set(input.row, Counter.PROCESSED, ep.counter(TcpStat.PROCESSED));
    control.set(input.row, Counter.DROPPED, ep.counter(TcpStat.DROPPED));
    control.set(input.row, Counter.CONVERSATIONS, ep.counter(client ? TcpStat.APP_COMPLETED : TcpStat.APP_SERVED_REQUESTS));
    control.set(input.row, Counter.SENT, ep.counter(TcpStat.SEGMENTS_SENT));
  };

  for (let round = 0; ; round++) {
    if (stop.stopped) throw new Stopped();
    if (Atomics.load(phase, 0) === 1) break;
    const seen = bell.count;
    const t = now();
    if (client && !stoppedOpening && stop.inputEnded) {
      ep.stopOpening();
      stoppedOpening = true;
    }
    ep.poll(t);
    let busy = false;
    for (const ring of inbound) {
      while (ring.pending > 0) {
        const slot = ring.oldest;
        const count = engine.exports.takeSlot(slot, shape.slotPackets);
        const descriptors = slot + SLOT_DESCRIPTORS;
        for (let done = 0; done < count;) {
          done += ep.input({ descriptors: descriptors + done * PKT_DESCRIPTOR, count: count - done });
          ship();
        }
        ring.release();
        busy = true;
      }
    }
    // What the connections owe: a few slots a round at most, so the rings are read in between.
    for (let k = 0; k < 4; k++) {
      const finished = ep.output();
      if (ep.txCount > 0) busy = true;
      ship();
      if (finished) break;
    }
    ship();
    let flushed = true;
    for (const o of all) flushed = o.flush() && flushed;
    if ((round & 15) === 0) publish();
    if (client && doneAt === undefined && ep.done) {
      doneAt = performance.timeOrigin + performance.now();
      publish();
      control.set(input.row, Counter.STATE, ThreadState.DRAINED);
    }
    if (busy || ep.outputPending || sender.held > 0) continue;
    // Nothing to do: sleep until a peer rings, the next timer is due, or (with a backlog) a
    // moment has passed. (Polling before sleeping, as poll-mode drivers do, lost here: on a
    // shared 2-core machine the spinning thread takes the CPU its peer needs; BENCHMARKS.md.)
    const next = ep.nextTimer();
    const untilTimer = next === undefined ? 50 : Number(next - now()) / 1e6;
    if (untilTimer <= 0) continue;
    bell.wait(seen, stop, flushed ? untilTimer : Math.min(untilTimer, 1));
  }
  publish();
  const r = client ? ep.results() : undefined;
  return {
    side: role.side, core: role.core, stats: ep.stats(), startedAt, doneAt,
    ...(r ? {
      status: r.status, latency: r.latency.counts, latencyMax: r.latency.max, connectTime: r.connectTime.counts, connectMax: r.connectTime.max,
      digests: r.digests, digestOverflow: r.digestOverflow, ports: ep.ports()[0] ?? { available: 0, size: 0 },
    } : {}),
    faults: sender.faults, pcap: plan.pcap ? pcap : undefined,
  };
}

try {
  const result = await run();
  control.set(input.row, Counter.STATE, ThreadState.DONE);
  parentPort!.postMessage({ type: 'done', result });
} catch (e) {
  control.set(input.row, Counter.STATE, ThreadState.FAILED);
  if (e instanceof Stopped) {
    parentPort!.postMessage({ type: 'stopped' });
  } else {
    stop.stop();
    const user = e instanceof RssplaneError;
    parentPort!.postMessage({ type: 'failed', user, code: user ? e.code : undefined, message: (e as Error).message, stack: (e as Error).stack });
  }
}
