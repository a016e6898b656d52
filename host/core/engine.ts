/**
 * Loading and owning one rssplane engine: a WebAssembly instance and its memory.
 *
 * Four builds of the same AssemblyScript exist: baseline SIMD and relaxed SIMD (whose table
 * lookups skip the out-of-range guard), each with private or shared memory. Relaxed is used where
 * the runtime validates it (browsers; Node 20 with --experimental-wasm-relaxed-simd, which the
 * rssplane CLI turns on around each compile: registerFeatureScope). Shared memory (a
 * SharedArrayBuffer) lets another thread fill an engine's rings; browsers allow it only on
 * cross-origin-isolated pages, so private is the default and the shared builds are not part of
 * this library's bundle: the Node runner registers them (host/node/shared-builds.ts), and so can
 * any other host that wants shared engines.
 */
import baselineWasm from '../../build/rssplane.wasm';
import relaxedWasm from '../../build/rssplane.relaxed.wasm';
import { MEMORY_BASE } from '../../assembly/shared/abi.js';
import { RssplaneError } from './errors.js';

/** What the engine exports; pointers and lengths are byte addresses in its memory. */
export interface EngineExports {
  configureRss(keyLength: number, hfunc: number, xfrm: number): number;
  coveredBytes(): number;
  hashTuple(tuple: number, fields: number): number;
  hashBatch(tuples: number, count: number, fields: number, out: number): void;
  hashBatchScalar(tuples: number, count: number, fields: number, out: number): void;
  configureReta(size: number, queues: number): number;
  retaSize(): number;
  queuesOf(hashes: number, count: number, out: number): void;
  countQueues(hashes: number, count: number, counts: number): void;
  allocate(size: number): number;
  release(ptr: number): void;
  relaxedSimd(): number;
  genStateBytes(flows: number): number;
  genConfigure(state: number, flows: number, total: bigint, seed: bigint, ipv6PerMille: number, retransmitPerMille: number, startNs: bigint,
    runConcurrent: number, part: number, parts: number, splitByRss: number, ports: number): void;
  genFill(buffer: number, bytes: number, descriptors: number, max: number): number;
  genStarted(): bigint;
  stageSlots(descriptors: number, count: number, cores: number, self: number, local: number, localCount: number,
    images: number, slotPackets: number, slotBytes: number): number;
  takeSlot(slot: number, slotPackets: number): number;
  groupByCore(descriptors: number, count: number, cores: number, coreCount: number, out: number, groups: number): void;
  rebaseDescriptors(descriptors: number, count: number, delta: number): void;
  steerBatch(descriptors: number, count: number, cores: number, ports: number, workspace: number, max: number): void;
  steerWorkspaceBytes(max: number): number;
  mergeRecords(a: number, b: number, out: number): number;
  mergeHalves(halves: number, count: number, work: number, out: number): number;
  mergeHalvesHolding(halves: number, count: number, work: number, out: number, keep: number, from: bigint): number;
  mergeHeld(): number;
  mergeWorkspaceBytes(count: number): number;
  configureTally(): number;
  // link layer (assembly/link): ARP, neighbour discovery, echo; `now` in ns
  linkConfigure(neighbours: number, slotPackets: number, slotBytes: number): number;
  linkTimers(retransMs: number, reachableMs: number, delayMs: number, staleMs: number, failedMs: number, multicast: number, unicast: number): void;
  linkBatch(descriptors: number, count: number, txSlot: number, copies: number, pass: number, now: bigint): number;
  linkPoll(txSlot: number, now: bigint): void;
  linkResolve(family: number, txSlot: number, now: bigint): number;
  linkConfirm(family: number, now: bigint): number;
  // flow engine (assembly/flow/engine.ts)
  configureFlows(flows: number, idleMs: number, closedMs: number, options: number, batchMax: number, streams: number, window: number, synSlots: number): number;
  processBatch(descriptors: number, count: number): number;
  flushFlows(): number;
  activeFlows(): number;
  /** index slots in use (a walk of the index; tests compare it with activeFlows) */
  indexedFlows(): number;
  resetCounters(): void;
  // IPFIX export (assembly/flow/ipfix.ts)
  configureIpfix(domain: number, activeMs: number): number;
  ipfixFlush(): void;
  ipfixRoom(): number;
  ipfixExportRecords(records: number, count: number): number;
  configureBuckets(portsHashed: number): number;
  clearBuckets(): void;
  // capture files (assembly/capture/walk.ts)
  captureBegin(chunk: number, length: number): number;
  captureWalk(chunk: number, length: number, out: number, max: number): number;
  // port pools (assembly/pool); slots, cores and statuses as PoolStatus in abi.ts describes them
  poolCreate(fields: number, count: number, lo: number, hi: number, cores: number, queues: number): number;
  poolDestroy(pool: number): void;
  poolSlotShift(pool: number): number;
  poolPortBase(pool: number): number;
  poolSize(pool: number, core: number): number;
  poolAvailable(pool: number, core: number): number;
  poolCoreOf(pool: number, address: number, port: number): number;
  poolQueueOf(pool: number, address: number, port: number): number;
  poolAlloc(pool: number, core: number): number;
  poolFree(pool: number, core: number, address: number, port: number): number;
  poolReserve(pool: number, core: number, address: number, port: number): number;
  poolList(pool: number, core: number, from: number, which: number, out: number, max: number): number;
  poolBenchAllocFree(pool: number, core: number, pairs: number, ring: number, window: number): number;
  poolSteer(pool: number, queue: number, address: number, hint: number, flags: number): number;
  poolPortRank(pool: number): number;
  // TCP endpoints (assembly/tcp/endpoint.ts); TCBs by index, statuses as TcpStatus in abi.ts
  tcpConfigure(): number;
  tcpMemoryBytes(tcbs: number, timeWaits: number, chunks: number, shift: number): number;
  tcpInput(descriptors: number, count: number): number;
  tcpOutput(): number;
  tcpPoll(now: bigint): void;
  tcpNextTimer(): number;
  tcpRefreshNextHop(): void;
  tcpStopOpening(): void;
  tcpOutputPending(): number;
  tcpConnect(family: number, remote: number, port: number): number;
  tcpListen(port: number): number;
  tcpSend(tcb: number, src: number, length: number): number;
  tcpRecv(tcb: number, dst: number, max: number): number;
  tcpClose(tcb: number): void;
  tcpAbort(tcb: number): void;
  tcpTcb(tcb: number): number;
  tcpFind(family: number, local: number, remote: number, lport: number, rport: number): number;
  tcpDestinations(): number;
  tcpPortsAvailable(dest: number): number;
  tcpPortsSize(dest: number): number;
  tcpDestination(dest: number): number;
  tcpSetNeighbor(family: number, address: number, mac: number): number;
  tcpPortsInUse(dest: number, out: number, max: number): number;
  // the in-memory wire (assembly/ring/wire.ts)
  wireStateBytes(): number;
  wireConfigure(state: number, drop: number, duplicate: number, reorder: number, seed: bigint): void;
  wireImpair(state: number, slot: number, slotPackets: number, slotBytes: number, now: bigint): number;
  wireHeld(state: number): number;
  wireCount(state: number, which: number): number;
  wireSteer(slot: number, cores: number, reta: number, mask: number, queueCore: number): void;
  wirePcap(slot: number, slotPackets: number, out: number, capacity: number, stamp: bigint): number;
}

export type Kernel = 'relaxed-simd' | 'simd';

/**
 * Packets in engine memory, as every source hands them over and the flow engine takes them:
 * `count` descriptors (assembly/shared/abi.ts PKT_*) at byte address `descriptors`.
 */
export interface PacketBatch {
  readonly descriptors: number;
  readonly count: number;
}

export interface CompiledEngine {
  module: WebAssembly.Module;
  kernel: Kernel;
  shared: boolean;
}

/**
 * An engine build: its bytes, or a function that reads them when first called (the command's
 * bundles read each build from its file beside them, so that a start reads only the one it uses).
 */
export type EngineBuild = Uint8Array<ArrayBuffer> | (() => Uint8Array<ArrayBuffer>);

function bytesOf(build: EngineBuild): Uint8Array<ArrayBuffer> {
  return typeof build === 'function' ? build() : build;
}

const BUILDS: Record<Kernel, { private: EngineBuild; shared?: EngineBuild }> = {
  'simd': { private: baselineWasm },
  'relaxed-simd': { private: relaxedWasm },
};

/** Makes the shared-memory builds (build/rssplane.shared*.wasm) available to compileEngine. */
export function registerSharedBuilds(builds: Record<Kernel, EngineBuild>): void {
  for (const kernel of Object.keys(BUILDS) as Kernel[]) BUILDS[kernel].shared = builds[kernel];
}

const compiled = new Map<string, Promise<CompiledEngine>>();

/** An engine build's file name (build/, dist/), which also names what a runtime keeps of it. */
export function buildName(kernel: Kernel, shared: boolean): string {
  return `rssplane${shared ? '.shared' : ''}${kernel === 'relaxed-simd' ? '.relaxed' : ''}.wasm`;
}

/**
 * How the runtime compiles an engine build when it does more than compile it: Node keeps the
 * optimised machine code between runs (host/node/wasm-cache.ts registers that; browsers keep
 * their own). `compile` is the plain compile, for a build that has nothing kept.
 */
export type ModuleCompiler = (
  name: string, bytes: Uint8Array<ArrayBuffer>, compile: (bytes: Uint8Array<ArrayBuffer>) => Promise<WebAssembly.Module>,
) => Promise<WebAssembly.Module>;
let moduleCompiler: ModuleCompiler | undefined;

export function registerModuleCompiler(compiler: ModuleCompiler): void {
  moduleCompiler = compiler;
}

/**
 * Compiles synchronously where the runtime allows it (Node, workers): an asynchronous compile
 * waits for a background thread, which on a busy machine costs more than compiling (a few
 * milliseconds here, up to fifteen waiting). Browsers refuse modules over 4 KB synchronously on
 * their main thread (a RangeError); they get the asynchronous compile.
 */
function compileNow(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  try {
    return Promise.resolve(new WebAssembly.Module(bytes));
  } catch (e) {
    if (!(e instanceof RangeError)) return Promise.reject(e);
    return WebAssembly.compile(bytes);
  }
}

/**
 * A module of one function of one instruction, i8x16.relaxed_swizzle: the relaxed-SIMD
 * instruction the relaxed build adds to the baseline (assembly/ uses no other; a test holds that
 * the two validate alike). Validating the build itself would decode all of it at every start.
 *   (module (func (param v128 v128) (result v128) local.get 0 local.get 1 i8x16.relaxed_swizzle))
 */
export const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7b, 0x7b, 0x01, 0x7b, // types: (v128, v128) -> v128
  0x03, 0x02, 0x01, 0x00, // functions: one, of type 0
  0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0xfd, 0x80, 0x02, 0x0b, // code: no locals, get 0, get 1, 0xfd 0x100, end
]);
let relaxedValidates: boolean | undefined;

/**
 * What a runtime does around each validation and compile of an engine build, when the features
 * the relaxed build uses are not on by default: Node 20 keeps relaxed SIMD behind a V8 flag, which
 * the CLI turns on for the compile and off again (host/node/relaxed-simd.ts says why). Calls nest.
 * A compiled module keeps its features: instances of it, here or in other threads, need no flag.
 */
export interface FeatureScope {
  enter(): void;
  leave(): void;
}
let featureScope: FeatureScope | undefined;

export function registerFeatureScope(scope: FeatureScope): void {
  featureScope = scope;
}

/** `f()` with the runtime's features for engine builds on (registerFeatureScope). */
export function withEngineFeatures<T>(f: () => T): T {
  featureScope?.enter();
  try {
    return f();
  } finally {
    featureScope?.leave();
  }
}

/** The best kernel this runtime validates. */
export function availableKernel(): Kernel {
  relaxedValidates ??= withEngineFeatures(() => WebAssembly.validate(RELAXED_PROBE));
  return relaxedValidates ? 'relaxed-simd' : 'simd';
}

/**
 * Compiles (once per kernel and memory kind) the engine module; `kernel` defaults to the best
 * available. A compiled module can be posted to worker threads and instantiated there.
 */
export function compileEngine(kernel: Kernel = availableKernel(), shared = false): Promise<CompiledEngine> {
  const id = `${kernel}/${shared}`;
  let p = compiled.get(id);
  if (!p) {
    const build = shared ? BUILDS[kernel].shared : BUILDS[kernel].private;
    if (!build) return Promise.reject(new RssplaneError('EINVAL', 'shared-memory engines need their builds registered (registerSharedBuilds; the Node runner does it)'));
    const bytes = bytesOf(build);
    featureScope?.enter();
    const module = moduleCompiler ? moduleCompiler(buildName(kernel, shared), bytes, compileNow) : compileNow(bytes);
    p = module.finally(() => featureScope?.leave()).then((m) => ({ module: m, kernel, shared }));
    compiled.set(id, p);
  }
  return p;
}

/**
 * What the runtime does with an engine's memory once configuration has grown it: Node asks the
 * kernel for huge pages under it (host/node/huge-pages.ts registers that); browsers do nothing.
 * `bytes` is the part not advised before.
 */
let memoryAdvice: ((bytes: Uint8Array) => void) | undefined;

export function registerMemoryAdvice(advice: (bytes: Uint8Array) => void): void {
  memoryAdvice = advice;
}

const PAGE = 65536;
/** Shared memories declare their maximum up front (asconfig.json: 65536 pages, 4 GiB). */
const SHARED_MAXIMUM_PAGES = 65536;

/** A memory for an engine: the fixed regions and a little heap to start with. */
export function engineMemory(shared = false): WebAssembly.Memory {
  const initial = MEMORY_BASE / PAGE + 2;
  return shared ? new WebAssembly.Memory({ initial, maximum: SHARED_MAXIMUM_PAGES, shared: true }) : new WebAssembly.Memory({ initial });
}

export class Engine {
  private cachedBuffer: ArrayBufferLike | undefined;
  private cachedBytes = new Uint8Array(0);
  /** Bytes of the memory the runtime's advice has covered (adviseMemory). */
  private advised = 0;

  private constructor(
    readonly exports: EngineExports,
    readonly memory: WebAssembly.Memory,
    readonly kernel: Kernel,
  ) {}

  /** A new engine with its own memory (shared: a SharedArrayBuffer other threads can fill). */
  static async create(options: { kernel?: Kernel; shared?: boolean } = {}): Promise<Engine> {
    const { module, kernel, shared } = await compileEngine(options.kernel, options.shared);
    return Engine.instantiate(module, kernel, engineMemory(shared));
  }

  /**
   * Instantiates an already compiled module (for worker threads handed a Module). Synchronously
   * where the runtime allows it; asynchronous because browsers refuse to instantiate modules over
   * 4 KB synchronously on their main thread.
   */
  static async instantiate(module: WebAssembly.Module, kernel: Kernel, memory?: WebAssembly.Memory): Promise<Engine> {
    const mem = memory ?? engineMemory(false);
    let engine: Engine | undefined;
    const abort = (message: number, file: number, line: number, column: number) => {
      const text = (p: number) => (engine && p ? engine.readAsString(p) : '?');
      throw new RssplaneError('EFAULT', `engine aborted: ${text(message)} at ${text(file)}:${line}:${column}`);
    };
    const imports = { env: { memory: mem, abort } };
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(module, imports);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      instance = await WebAssembly.instantiate(module, imports);
    }
    engine = new Engine(instance.exports as unknown as EngineExports, mem, kernel);
    return engine;
  }

  /**
   * The engine's memory as bytes. Memory can grow during configuration calls (never on the hot
   * path); this view is renewed when it does, so take it after configuring, not before.
   */
  get bytes(): Uint8Array {
    if (this.memory.buffer !== this.cachedBuffer) {
      this.cachedBuffer = this.memory.buffer;
      this.cachedBytes = new Uint8Array(this.memory.buffer);
    }
    return this.cachedBytes;
  }

  /** The memory as a SharedArrayBuffer, for other threads; only engines created `shared`. */
  get sharedBuffer(): SharedArrayBuffer {
    const b: ArrayBufferLike = this.memory.buffer;
    if (!(b instanceof SharedArrayBuffer)) throw new RssplaneError('EINVAL', 'this engine\'s memory is not shared (create it with { shared: true })');
    return b;
  }

  /** A u32 view of `count` words at byte address `ptr` (4-aligned). */
  u32(ptr: number, count: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, ptr, count);
  }

  /** A u16 view of `count` entries at byte address `ptr` (2-aligned). */
  u16(ptr: number, count: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, ptr, count);
  }

  /**
   * Allocates a configuration-time buffer of `size` bytes, 16-aligned, with 64 bytes of slack.
   * Throws ENOMEM when the engine's memory (wasm32: 4 GiB in all) cannot hold it.
   */
  allocate(size: number): number {
    // A size past 32 bits would wrap around on its way into the engine.
    if (!Number.isInteger(size) || size < 0 || size + 64 > 0xffffffff) {
      throw new RssplaneError('ENOMEM', `engine cannot allocate ${size} bytes: an engine's memory holds at most 4 GiB`);
    }
    // Addresses past 2 GiB come back from the i32 export negative: read them as unsigned.
    const ptr = this.exports.allocate(size + 64) >>> 0;
    if (!ptr) throw new RssplaneError('ENOMEM', `engine could not allocate ${size} bytes`);
    this.adviseMemory();
    return ptr;
  }

  /**
   * Hands the memory grown since the last call to the runtime's advice (registerMemoryAdvice):
   * huge pages under the flow table and the buffers, on Linux. Configuration calls that grow the
   * memory end with it (allocate, FlowEngine.create); it costs nothing when nothing grew.
   */
  adviseMemory(): void {
    const length = this.memory.buffer.byteLength;
    if (!memoryAdvice || length <= this.advised) return;
    memoryAdvice(new Uint8Array(this.memory.buffer, this.advised, length - this.advised));
    this.advised = length;
  }

  release(ptr: number): void {
    this.exports.release(ptr);
  }

  /** Reads an AssemblyScript string (UTF-16, byte length in the word before it). */
  private readAsString(ptr: number): string {
    const length = new Uint32Array(this.memory.buffer, ptr - 4, 1)[0]!;
    return String.fromCharCode(...new Uint16Array(this.memory.buffer, ptr, length >>> 1));
  }
}
