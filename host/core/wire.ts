/**
 * The in-memory wire between TCP endpoints: what a cable and the receiving NIC do, with the
 * work per slot in WASM (assembly/ring/wire.ts).
 *
 * `WireSender` takes an endpoint's transmit slot after each call: applies a lossy wire when asked
 * (drop, duplicate, reorder at rates, seeded), records a pcap copy when asked, and splits the
 * frames over the peer side's cores by the peer's RSS (the hash stamped on each frame, the
 * peer's table and queue -> core map: the same function a NIC applies); it does the same for the
 * endpoint's forward list (segments a sibling core owns). Each piece goes to `deliver` as a
 * slot image in the sender's memory: copy it (into a ring, or a queue) before returning.
 *
 * `MemoryWire` joins client and server endpoints in one thread (tests, browsers): it moves the
 * images between them, on a clock it drives (virtual: time jumps to the next timer when
 * nothing moves) or the real one. The Node runner joins endpoints in separate threads through
 * rings instead (host/node/runner/connect.ts), with the same WireSender.
 */
import { PKT_DESCRIPTOR, SLOT_BYTES, SLOT_COUNT, SLOT_DESCRIPTORS } from '../../assembly/shared/abi.js';
import type { TcpEndpoint } from './endpoint.js';
import { invalid } from './errors.js';
import type { Reta } from './reta.js';

/** A wire's faults, each a share of frames from 0 to 1. */
export interface Impairment {
  drop?: number;
  duplicate?: number;
  reorder?: number;
  /** the wire's own seed (same seed, same faults for the same frames) */
  seed?: number;
}

/** The receiving side's RSS: its table and which core serves each queue. */
export interface PeerSide {
  reta: Reta;
  queueCores: readonly number[];
  cores: number;
}

const share = (x: number | undefined, name: string) => {
  const v = x ?? 0;
  if (!(v >= 0 && v <= 1)) invalid(name, v, 'a share from 0 to 1');
  return Math.round(v * 1e6);
};

/** pcap's global header: nanosecond timestamps, Ethernet. */
export function pcapHeader(snaplen = 65535): Uint8Array {
  const h = new DataView(new ArrayBuffer(24));
  h.setUint32(0, 0xa1b23c4d, true);
  h.setUint16(4, 2, true);
  h.setUint16(6, 4, true);
  h.setUint32(16, snaplen, true);
  h.setUint32(20, 1, true);
  return new Uint8Array(h.buffer);
}

export class WireSender {
  private readonly state: number;
  private readonly impaired: boolean;
  private readonly cores: number;
  private readonly images: number[] = [];
  private readonly imageTable: number;
  private readonly coreList: number;
  private readonly local: number;
  private readonly localCount: number;
  private readonly reta: number;
  private readonly mask: number;
  private readonly queueCore: number;
  private readonly siblings: number;
  private readonly siblingImages: number[] = [];
  private readonly siblingTable: number;
  private pcapBuffer = 0;
  private readonly capture: ((records: Uint8Array) => void) | undefined;

  /**
   * For `endpoint`, sending to `peer` (the other side's RSS). `siblings`: the cores of the
   * endpoint's own side (forwarded segments go to them). `capture` receives pcap records
   * (nanosecond, no global header: pcapHeader()) of every shipment, after the wire's faults.
   */
  constructor(readonly endpoint: TcpEndpoint, peer: PeerSide, options: { siblings?: number; impair?: Impairment; capture?: (records: Uint8Array) => void } = {}) {
    const engine = endpoint.engine;
    const e = engine.exports;
    const { slotBytes } = endpoint;
    this.state = engine.allocate(e.wireStateBytes());
    const i = options.impair ?? {};
    const drop = share(i.drop, 'drop share'), dup = share(i.duplicate, 'duplicate share'), reorder = share(i.reorder, 'reorder share');
    if (drop + reorder > 1e6) invalid('drop and reorder shares', `${i.drop} + ${i.reorder}`, 'together at most 1');
    e.wireConfigure(this.state, drop, dup, reorder, BigInt(i.seed ?? 1));
    this.impaired = drop + dup + reorder > 0;
    this.cores = peer.cores;
    const table = peer.reta.table;
    this.reta = engine.allocate(table.length * 2);
    engine.u16(this.reta, table.length).set(table);
    this.mask = table.length - 1;
    this.queueCore = engine.allocate(Math.max(1, peer.queueCores.length) * 2);
    engine.u16(this.queueCore, peer.queueCores.length).set(peer.queueCores);
    for (let c = 0; c < peer.cores; c++) this.images.push(peer.cores > 1 ? engine.allocate(slotBytes) : 0);
    this.imageTable = engine.allocate(4 * Math.max(peer.cores, 1));
    engine.u32(this.imageTable, peer.cores).set(this.images);
    this.coreList = engine.allocate(2 * endpoint.slotPackets);
    this.local = engine.allocate(PKT_DESCRIPTOR);
    this.localCount = engine.allocate(4);
    for (const image of this.images) if (image) engine.u32(image, 2).fill(0);
    this.siblings = options.siblings ?? 1;
    for (let c = 0; c < this.siblings; c++) this.siblingImages.push(c !== endpoint.core ? engine.allocate(slotBytes) : 0);
    this.siblingTable = engine.allocate(4 * this.siblings);
    engine.u32(this.siblingTable, this.siblings).set(this.siblingImages);
    for (const image of this.siblingImages) if (image) engine.u32(image, 2).fill(0);
    this.capture = options.capture;
    if (options.capture) this.pcapBuffer = engine.allocate(slotBytes + 16 * endpoint.slotPackets);
  }

  /** Frames the lossy wire holds back (they go out with the next shipment). */
  get held(): number {
    return this.endpoint.engine.exports.wireHeld(this.state);
  }

  /** The wire's totals: frames dropped, duplicated, reordered. */
  get faults(): { dropped: number; duplicated: number; reordered: number } {
    const e = this.endpoint.engine.exports;
    return { dropped: e.wireCount(this.state, 0), duplicated: e.wireCount(this.state, 1), reordered: e.wireCount(this.state, 2) };
  }

  /**
   * Ships the transmit slot (and frames the wire held): each peer core's frames go to
   * `deliver(core, image)`. The slot is empty afterwards. `now` (ns since the epoch) is when it
   * goes on the wire: released frames and the capture are stamped with it.
   */
  shipTx(now: bigint, deliver: (core: number, image: number) => void): void {
    const ep = this.endpoint;
    const e = ep.engine.exports;
    if (ep.txCount === 0 && (!this.impaired || this.held === 0)) return;
    if (this.impaired) e.wireImpair(this.state, ep.txSlot, ep.slotPackets, ep.slotBytes, now);
    const count = ep.txCount;
    if (count === 0) return;
    if (this.capture) {
      const n = e.wirePcap(ep.txSlot, ep.slotPackets, this.pcapBuffer, ep.slotBytes + 16 * ep.slotPackets, now);
      this.capture(ep.engine.bytes.slice(this.pcapBuffer, this.pcapBuffer + n));
    }
    if (this.cores === 1) {
      deliver(0, ep.txSlot);
      ep.clearTx();
      return;
    }
    e.wireSteer(ep.txSlot, this.coreList, this.reta, this.mask, this.queueCore);
    e.takeSlot(ep.txSlot, ep.slotPackets); // PKT_DATA to addresses, as stageSlots reads them
    this.stage(ep.txSlot + SLOT_DESCRIPTORS, count, this.coreList, 0xffff, this.imageTable, this.images, deliver);
    ep.clearTx();
  }

  /** Ships the forward list: each sibling core's segments to `deliver(core, image)`. */
  shipForwards(deliver: (core: number, image: number) => void): void {
    const ep = this.endpoint;
    const count = ep.forwardCount;
    if (count === 0) return;
    this.stage(ep.forwardDescriptors, count, ep.forwardCores, ep.core, this.siblingTable, this.siblingImages, deliver);
    ep.clearForwards();
  }

  private stage(descriptors: number, count: number, cores: number, self: number, table: number, images: number[], deliver: (core: number, image: number) => void): void {
    const ep = this.endpoint;
    const e = ep.engine.exports;
    const u32 = ep.engine.u32(this.localCount, 1);
    let done = 0;
    for (;;) {
      u32[0] = 0;
      done += e.stageSlots(descriptors + done * PKT_DESCRIPTOR, count - done, cores + 2 * done, self, this.local, this.localCount,
        table, ep.slotPackets, ep.slotBytes);
      if (done === count) break;
      const c = ep.engine.u16(cores + 2 * done, 1)[0]!;
      deliver(c, images[c]!);
      clearImage(ep, images[c]!);
    }
    images.forEach((image, c) => {
      if (image && ep.engine.u32(image, 1)[0]! > 0) {
        deliver(c, image);
        clearImage(ep, image);
      }
    });
  }
}

function clearImage(ep: TcpEndpoint, image: number): void {
  ep.engine.u32(image, 2).fill(0);
}

/**
 * A copy of the slot image at `image` in `memory` (laid out as a slot of `slotPackets`: header and
 * descriptors, then the packet bytes at their fixed offset), as compact as the slot is full.
 */
export function copySlot(memory: ArrayBufferLike, image: number, slotPackets: number, into?: (bytes: number) => Uint8Array): Uint8Array {
  const head = new Uint32Array(memory, image, 2);
  const count = head[SLOT_COUNT / 4]!, bytes = head[SLOT_BYTES / 4]!;
  const dataAt = SLOT_DESCRIPTORS + slotPackets * PKT_DESCRIPTOR;
  const out = into ? into(dataAt + bytes) : new Uint8Array(dataAt + bytes);
  out.set(new Uint8Array(memory, image, SLOT_DESCRIPTORS + count * PKT_DESCRIPTOR), 0);
  out.set(new Uint8Array(memory, image + dataAt, bytes), dataAt);
  return out;
}

/** A slot copy into the slot buffer at `to` of `endpoint`'s memory, made ready for input. */
export function loadSlot(endpoint: TcpEndpoint, copy: Uint8Array, to: number): { descriptors: number; count: number } {
  const count = new Uint32Array(copy.buffer, copy.byteOffset, 1)[0]!;
  const dataAt = SLOT_DESCRIPTORS + endpoint.slotPackets * PKT_DESCRIPTOR;
  const bytes = endpoint.engine.bytes;
  bytes.set(copy.subarray(0, SLOT_DESCRIPTORS + count * PKT_DESCRIPTOR), to);
  bytes.set(copy.subarray(dataAt), to + dataAt);
  endpoint.engine.exports.takeSlot(to, endpoint.slotPackets);
  return { descriptors: to + SLOT_DESCRIPTORS, count };
}

export interface MemoryWireOptions {
  /** faults of each direction's wire (client to server, server to client: the same rates, their own seeds) */
  impair?: Impairment;
  /** keep a pcap of everything on the wire (`pcap()`) */
  capture?: boolean;
}

interface Node {
  endpoint: TcpEndpoint;
  sender: WireSender;
  inbox: Uint8Array[];
  rx: number;
  side: 'client' | 'server';
}

/**
 * Client and server endpoints joined in one thread. Each side's frames are steered to the other
 * side's cores by that side's RSS (each endpoint's own configuration: key, table, queue map);
 * forwarded segments go to the sibling core that owns them.
 */
export class MemoryWire {
  private readonly nodes: Node[] = [];
  private readonly clients: Node[];
  private readonly servers: Node[];
  /** the wire's clock, ns since the epoch */
  now: bigint;
  private readonly captured: Uint8Array[] = [];
  /** slot copies handed back after delivery, reused (a run moves many slots) */
  private readonly spare: ArrayBuffer[] = [];
  private readonly take = (bytes: number): Uint8Array => {
    for (let i = this.spare.length - 1; i >= 0; i--) {
      if (this.spare[i]!.byteLength >= bytes) return new Uint8Array(this.spare.splice(i, 1)[0]!, 0, bytes);
    }
    return new Uint8Array(new ArrayBuffer(Math.max(bytes, 65536)), 0, bytes);
  };

  constructor(clients: readonly TcpEndpoint[], servers: readonly TcpEndpoint[], options: MemoryWireOptions = {}) {
    if (!clients.length || !servers.length) invalid('wire', `${clients.length} clients, ${servers.length} servers`, 'needs endpoints on both sides');
    const all = [...clients, ...servers];
    const shape = all[0]!;
    if (all.some((e) => e.slotPackets !== shape.slotPackets || e.slotBytes !== shape.slotBytes)) invalid('wire', 'slot shapes', 'every endpoint of a wire needs the same slot size (slotPackets, mtu)');
    const side = (list: readonly TcpEndpoint[]): PeerSide => {
      const first = list[0]!;
      const reta = first.config.reta!;
      return { reta, queueCores: Array.from({ length: reta.queues }, (_, q) => q % list.length), cores: list.length };
    };
    const clientSide = side(clients), serverSide = side(servers);
    const make = (endpoint: TcpEndpoint, peer: PeerSide, s: 'client' | 'server', siblings: number, seed: number): Node => ({
      endpoint, side: s, inbox: [], rx: endpoint.engine.allocate(endpoint.slotBytes),
      sender: new WireSender(endpoint, peer, { siblings, impair: options.impair ? { ...options.impair, seed: (options.impair.seed ?? 1) * 7919 + seed } : undefined, capture: options.capture ? (r) => this.captured.push(r) : undefined }),
    });
    this.clients = clients.map((e, i) => make(e, serverSide, 'client', clients.length, i));
    this.servers = servers.map((e, i) => make(e, clientSide, 'server', servers.length, 1000 + i));
    this.nodes.push(...this.clients, ...this.servers);
    this.now = shape.epochNs + 1_000_000n;
  }

  /** One round: every endpoint polls, takes what reached it, and sends. Returns frames moved. */
  step(): number {
    let moved = 0;
    for (const n of this.nodes) n.endpoint.poll(this.now);
    for (const n of this.nodes) moved += this.service(n);
    return moved;
  }

  private service(n: Node): number {
    const ep = n.endpoint;
    let moved = 0;
    const peers = n.side === 'client' ? this.servers : this.clients;
    const siblings = n.side === 'client' ? this.clients : this.servers;
    const ship = () => {
      n.sender.shipTx(this.now, (core, image) => {
        const copy = copySlot(ep.engine.memory.buffer, image, ep.slotPackets, this.take);
        moved += new Uint32Array(copy.buffer, 0, 1)[0]!;
        peers[core]!.inbox.push(copy);
      });
      n.sender.shipForwards((core, image) => siblings[core]!.inbox.push(copySlot(ep.engine.memory.buffer, image, ep.slotPackets, this.take)));
    };
    while (n.inbox.length) {
      const copy = n.inbox.shift()!;
      const batch = loadSlot(ep, copy, n.rx);
      if (this.spare.length < 64) this.spare.push(copy.buffer as ArrayBuffer);
      for (let done = 0; done < batch.count;) {
        done += ep.input({ descriptors: batch.descriptors + done * PKT_DESCRIPTOR, count: batch.count - done });
        ship();
      }
    }
    while (!ep.output()) ship();
    ship();
    return moved;
  }

  /** Whether frames are still on their way (in inboxes, or held by a lossy wire). */
  get inFlight(): boolean {
    return this.nodes.some((n) => n.inbox.length > 0 || n.sender.held > 0);
  }

  /**
   * Runs until `until()` holds (default: every client is done and nothing is in flight), or
   * `maxSteps`. The virtual clock moves `stepNs` a round (default 20 us), and jumps to the next
   * timer when nothing moves. Returns the rounds run.
   */
  run(options: { until?: () => boolean; maxSteps?: number; stepNs?: bigint; clock?: 'virtual' | 'real' } = {}): number {
    const until = options.until ?? (() => this.clients.every((c) => c.endpoint.done) && !this.inFlight);
    const max = options.maxSteps ?? 10_000_000;
    const stepNs = options.stepNs ?? 20_000n;
    const real = options.clock === 'real';
    let steps = 0;
    let idle = 0;
    for (; steps < max && !until(); steps++) {
      if (real) this.now = BigInt(Date.now()) * 1_000_000n;
      const moved = this.step();
      if (real) continue;
      // Two quiet rounds in a row (a round's last deliveries can make the next one open
      // connections): then only a timer can start anything.
      idle = moved === 0 && !this.inFlight && !this.nodes.some((n) => n.endpoint.outputPending) ? idle + 1 : 0;
      if (idle >= 2) {
        // Nothing on the wire: the next thing that happens is a timer.
        const next = this.nodes.map((n) => n.endpoint.nextTimer()).filter((t): t is bigint => t !== undefined)
          .reduce<bigint | undefined>((a, b) => (a === undefined || b < a ? b : a), undefined);
        if (next === undefined) break;
        this.now = next > this.now ? next : this.now + stepNs;
      } else {
        this.now += stepNs;
      }
    }
    return steps;
  }

  /** The capture (with `capture`): a pcap file of every frame as it went on the wire. */
  pcap(): Uint8Array {
    const parts = [pcapHeader(), ...this.captured];
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** The wire's faults so far, both directions. */
  faults(): { dropped: number; duplicated: number; reordered: number } {
    const f = { dropped: 0, duplicated: 0, reordered: 0 };
    for (const n of this.nodes) {
      const x = n.sender.faults;
      f.dropped += x.dropped;
      f.duplicated += x.duplicated;
      f.reordered += x.reordered;
    }
    return f;
  }
}
