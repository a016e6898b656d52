/**
 * RSS-aligned source-port pools (mTCP's `mtcp_init_rss`, from the device's truth) and predictable
 * RSS, over the engine's WASM pools (assembly/pool).
 *
 * A client with one engine per core must open each connection from a local port whose *return*
 * packets (source = the peer, destination = our address and port) the NIC steers to a queue that
 * core serves; otherwise the SYN-ACK lands on another core. The pool hashes that return tuple with
 * the RssConfig's real key, function, transform and table, so asymmetric keys, 512-entry tables
 * and queue counts that are not powers of two come out right, and keeps each core's free ports as
 * a bitmap in engine memory.
 *
 * Errors while the pool is in use are returned as values, never thrown: `alloc()` gives
 * EADDRNOTAVAIL when a core's pool is empty (mTCP's connect() says EAGAIN for the same thing);
 * `reserve()` gives EINVAL for a port of another core and EADDRINUSE for a port handed out already.
 * Creating a pool with bad options throws (EINVAL, ENOMEM), like RssConfig.from.
 */
import {
  FieldSet, PoolListing, PoolStatus, POOL_SLOTS_MAX, POOL_TUPLE, QUEUE_CORE, QUEUES_MAX, SteerFlag,
} from '../../assembly/shared/abi.js';
import { addressPlus, formatAddress, formatEndpoint, parseAddress, parsePort } from './addr.js';
import { Engine } from './engine.js';
import { invalid, RssplaneError } from './errors.js';
import { encodeTuple, FIELD_SETS } from './fields.js';
import { DEFAULT_RETA_SIZE, Reta } from './reta.js';
import { programEngine, RssConfig, type RssOptions } from './rss.js';

/** mTCP's range: ports 1025-65535 (0-1024 are left to privileged services). */
export const DEFAULT_PORT_RANGE: readonly [number, number] = [1025, 65535];

/** A local address of the pool: text, bytes in network order, or its index from the first. */
export type AddressRef = string | Uint8Array | number;

export interface PortPoolOptions {
  /** The first local address (the return tuple's destination), of the field set's family. */
  src: string | Uint8Array;
  /** How many consecutive local addresses from `src` (mTCP's `num_addr`). Default 1. */
  srcCount?: number;
  /** The peer the connections go to: its address and port (the return tuple's source). */
  dst: string | Uint8Array;
  dport: number;
  /** Cores sharing the ports: one pool each. */
  cores: number;
  /**
   * The queue -> core map: entry q is the core that serves receive queue q, for every queue the
   * table names. Default: queue q is served by core q % cores.
   */
  queueCore?: readonly number[] | Uint16Array;
  /** Local ports, inclusive. Default 1025-65535. */
  ports?: readonly [number, number];
}

/** A local endpoint from the pool. */
export interface PoolPort {
  /** The local address as text (IPv6 in RFC 5952 form). */
  address: string;
  /** Its index from the pool's first address (0 .. srcCount - 1). */
  addressIndex: number;
  port: number;
}

export interface SteerOptions {
  /** The local address (default: each in turn, the first that has a port wins). */
  address?: AddressRef;
  /** Find the port nearest to this one (ties: the lower). Default: the first from the range's start. */
  near?: number;
  /** Only ports at or above `near`. */
  upward?: boolean;
  /** Ignore the pool's state: ports handed out count too (the RSS answer alone). */
  anyState?: boolean;
}

/** queue q -> core q % cores: one core per queue when queues = cores (mTCP's assumption). */
export function defaultQueueCore(queues: number, cores: number): Uint16Array {
  return Uint16Array.from({ length: queues }, (_, q) => q % cores);
}

const LIST_CHUNK = 4096;

/** The ports of every core for one peer, built in one pass on an engine. */
export class PortPool {
  /** The number of local addresses. */
  readonly srcCount: number;
  /** The local port range, inclusive. */
  readonly range: readonly [number, number];
  readonly cores: number;
  /** The queue -> core map in use (a copy). */
  readonly queueCore: Uint16Array;
  /** The first local address, network order. */
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly dport: number;
  private readonly shift: number;
  private readonly portBase: number;
  private readonly texts: string[] = [];
  private readonly corePools: CorePool[];
  private handle: number;
  /** @internal Where poolList writes slots: LIST_CHUNK u32, made with the pool. */
  readonly listBuffer: number;

  private constructor(readonly config: RssConfig, readonly engine: Engine, handle: number, o: Required<PortPoolOptions> & { src: Uint8Array; dst: Uint8Array }) {
    this.handle = handle;
    this.src = o.src;
    this.dst = o.dst;
    this.dport = o.dport;
    this.srcCount = o.srcCount;
    this.range = [o.ports[0], o.ports[1]];
    this.cores = o.cores;
    this.queueCore = Uint16Array.from(o.queueCore);
    this.shift = engine.exports.poolSlotShift(handle);
    this.portBase = engine.exports.poolPortBase(handle);
    this.corePools = Array.from({ length: o.cores }, (_, c) => new CorePool(this, c));
    this.listBuffer = engine.allocate(LIST_CHUNK * 4);
  }

  /**
   * Builds the pools of all cores. `config` gives key, field set (`ipv4-l4` or `ipv6-l4`), hash
   * function, input transform and table as values, so a device's own (a DPDK port's, a pasted
   * `ethtool -x`) can be passed; without a table, `equal:cores` over 128 entries (mTCP's
   * assumption). Programs `engine` (default: a new one) with `config`; the pool keeps its own
   * copy of what it needs, so the engine may be reprogrammed afterwards.
   * Throws RssplaneError: EINVAL naming a bad option, ENOMEM when the bitmaps would not fit.
   */
  static async create(config: RssConfig | RssOptions, options: PortPoolOptions, engine?: Engine): Promise<PortPool> {
    let c = config instanceof RssConfig ? config : RssConfig.from(config);
    const info = FIELD_SETS[c.fields];
    if (!info.ports) invalid('field set', c.fields, 'a port pool needs the ports in the hash: use ipv4-l4 or ipv6-l4');
    const cores = options.cores;
    if (!Number.isInteger(cores) || cores < 1 || cores > QUEUES_MAX) invalid('cores', cores, `expected a whole number from 1 to ${QUEUES_MAX}`);
    if (!c.reta) c = c.with({ reta: Reta.equal(DEFAULT_RETA_SIZE, cores) });
    const reta = c.reta!;

    const address = (value: string | Uint8Array, subject: string) => {
      const bytes = typeof value === 'string' ? parseAddress(value, subject).bytes : new Uint8Array(value);
      if (bytes.length !== info.addressLength) {
        invalid(subject, typeof value === 'string' ? value : `${bytes.length} bytes`, `field set ${c.fields} takes IPv${info.family} addresses`);
      }
      return bytes;
    };
    const src = address(options.src, 'source address');
    const dst = address(options.dst, 'destination address');
    const dport = parsePort(options.dport, 'destination port');
    const srcCount = options.srcCount ?? 1;
    if (!Number.isInteger(srcCount) || srcCount < 1) invalid('source address count', srcCount, 'expected a whole number >= 1');
    addressPlus(src, srcCount - 1, 'source address'); // throws when the addresses run past the family's last
    const [lo, hi] = options.ports ?? DEFAULT_PORT_RANGE;
    const range = `${lo}-${hi}`;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > 65535 || lo > hi) {
      invalid('port range', range, 'expected LO-HI with 0 <= LO <= HI <= 65535');
    }
    const queueCore = options.queueCore ? Uint16Array.from(options.queueCore) : defaultQueueCore(reta.queues, cores);
    if (queueCore.length < reta.queues) {
      invalid('queue -> core map', Array.from(queueCore).join(','), `the table names queues 0-${reta.queues - 1}: give a core for each`);
    }
    if (queueCore.length > QUEUES_MAX) invalid('queue -> core map', `${queueCore.length} entries`, `at most ${QUEUES_MAX} queues`);
    const bad = queueCore.findIndex((core) => core >= cores);
    if (bad >= 0) invalid('queue -> core map', Array.from(queueCore).join(','), `queue ${bad} names core ${queueCore[bad]}, but there are ${cores} cores`);

    // The same slot layout the engine computes (assembly/pool/pool.ts), to refuse what cannot fit.
    const portBase = lo & ~63;
    const span = 2 ** Math.max(6, 32 - Math.clz32(hi - portBase));
    if (srcCount * span > POOL_SLOTS_MAX) {
      invalid('source address count', srcCount, `${srcCount} addresses x ${span} ports exceed ${POOL_SLOTS_MAX} slots a core; narrow the port range or use fewer addresses`);
    }
    const bitmapBytes = cores * srcCount * span / 8;
    if (bitmapBytes > 2 ** 30) {
      throw new RssplaneError('ENOMEM', `pools of ${cores} cores x ${srcCount} addresses x ${span} ports need ${Math.ceil(bitmapBytes / 2 ** 20)} MiB of bitmaps; at most 1024`, 'cores');
    }

    const e = engine ?? (await Engine.create());
    programEngine(e, c);
    const tuple = new Uint8Array(info.inputLength);
    encodeTuple(c.fields, { src: dst, dst: src, sport: dport, dport: 0 }, tuple);
    e.bytes.set(tuple, POOL_TUPLE);
    e.u16(QUEUE_CORE, queueCore.length).set(queueCore);
    const handle = e.exports.poolCreate(info.id as FieldSet, srcCount, lo, hi, cores, queueCore.length);
    if (handle <= 0) throw new RssplaneError('EFAULT', `engine refused the pool (status ${-handle})`);
    return new PortPool(c, e, handle, { src, dst, dport, srcCount, cores, queueCore, ports: [lo, hi] });
  }

  /** Core `c`'s pool. */
  core(c: number): CorePool {
    const pool = this.corePools[c];
    if (!pool) invalid('core', c, `expected 0 to ${this.cores - 1}`);
    return pool;
  }

  /**
   * The rank of the port's bits on the table index: from one address, the port can reach 2^rank
   * of the table's entries. Below log2(table size), some entries (maybe whole queues) cannot be
   * reached by any port.
   */
  get portRank(): number {
    return this.engine.exports.poolPortRank(this.live());
  }

  /** The local address `i` as text. */
  address(i: number): string {
    if (!Number.isInteger(i) || i < 0 || i >= this.srcCount) invalid('address index', i, `expected 0 to ${this.srcCount - 1}`);
    return (this.texts[i] ??= formatAddress(addressPlus(this.src, i)));
  }

  /** The core whose pool holds `port` of `address`. Throws EINVAL outside the pool. */
  coreOf(address: AddressRef, port: number): number {
    const a = this.indexOf(address);
    const core = this.engine.exports.poolCoreOf(this.live(), a, checkPort(port));
    if (core < 0) this.throwOutside(port);
    return core;
  }

  /** The queue the return tuple of `address`:`port` lands on (any port 0-65535). */
  queueOf(address: AddressRef, port: number): number {
    return this.engine.exports.poolQueueOf(this.live(), this.indexOf(address), checkPort(port));
  }

  /**
   * Predictable RSS: a local port whose return tuple lands on `queue`, free in the pool of the
   * core serving it (unless `anyState`): the one nearest to `near`, or without `near` the first
   * from the range's start. Solved over GF(2) from the hash's linearity, not by trial hashing
   * (see assembly/pool/steer.ts). Does not take the port: pass it to `core(c).reserve()`.
   * Returns EADDRNOTAVAIL when no port of the address can reach the queue (a low-rank key: the
   * message says so) or when all that can are handed out.
   */
  steer(queue: number, options: SteerOptions = {}): PoolPort | RssplaneError {
    const reta = this.config.reta!;
    if (!Number.isInteger(queue) || queue < 0 || queue >= reta.queues) {
      return new RssplaneError('EINVAL', `bad queue ${JSON.stringify(String(queue))}: the table names queues 0-${reta.queues - 1}`, 'queue');
    }
    let indexes: number[];
    let hint: number;
    try {
      indexes = options.address === undefined ? Array.from({ length: this.srcCount }, (_, i) => i) : [this.indexOf(options.address)];
      hint = options.near === undefined ? this.range[0] : checkPort(options.near, 'near');
    } catch (e) {
      if (e instanceof RssplaneError) return e;
      throw e;
    }
    const flags = (options.upward || options.near === undefined ? SteerFlag.UPWARD : 0) | (options.anyState ? SteerFlag.ANY_STATE : 0);
    let status = 0;
    for (const a of indexes) {
      status = this.engine.exports.poolSteer(this.live(), queue, a, hint, flags);
      if (status >= 0) return this.decode(status);
    }
    const where = indexes.length === 1 ? this.address(indexes[0]!) : `any of the ${this.srcCount} addresses`;
    if (-status === PoolStatus.UNREACHABLE) {
      return new RssplaneError('EADDRNOTAVAIL',
        `no port of ${where} reaches queue ${queue}: the port bits reach only ${2 ** this.portRank} of the ${reta.size} table entries (rank ${this.portRank}), none of queue ${queue}'s`, 'queue');
    }
    return new RssplaneError('EADDRNOTAVAIL', `every port of ${where} in ${this.range[0]}-${this.range[1]} that reaches queue ${queue}${options.upward ? ` at or above ${hint}` : ''} is handed out`, 'queue');
  }

  /**
   * The core owning each port of the range for one local address (default the first): entry i
   * is the core of port `range[0] + i`. Read from each core's member list in engine memory, a
   * chunk at a time; for maps and counts of the whole range (one port: `coreOf`).
   */
  coreMap(address: AddressRef = 0): Uint16Array {
    const a = this.indexOf(address);
    const map = new Uint16Array(this.range[1] - this.range[0] + 1);
    const e = this.engine.exports;
    for (let core = 0; core < this.cores; core++) {
      for (let from = a << this.shift; ;) {
        const n = e.poolList(this.live(), core, from, PoolListing.MEMBERS, this.listBuffer, LIST_CHUNK);
        const slots = this.engine.u32(this.listBuffer, n);
        let i = 0;
        for (; i < n && slots[i]! >>> this.shift === a; i++) map[this.portBase + (slots[i]! & ((1 << this.shift) - 1)) - this.range[0]] = core;
        if (i < n || n < LIST_CHUNK) break;
        from = slots[n - 1]! + 1;
      }
    }
    return map;
  }

  /** Releases the pool's engine memory; the pool is unusable afterwards. */
  destroy(): void {
    if (this.handle) {
      this.engine.exports.poolDestroy(this.handle);
      this.engine.release(this.listBuffer);
    }
    this.handle = 0;
  }

  /** @internal */
  live(): number {
    if (!this.handle) throw new RssplaneError('EINVAL', 'the pool was destroyed', 'pool');
    return this.handle;
  }

  /** @internal The index of a local address; throws EINVAL for one outside the pool. */
  indexOf(address: AddressRef): number {
    if (typeof address === 'number') {
      if (!Number.isInteger(address) || address < 0 || address >= this.srcCount) invalid('address index', address, `expected 0 to ${this.srcCount - 1}`);
      return address;
    }
    const bytes = typeof address === 'string' ? parseAddress(address, 'address').bytes : address;
    const text = typeof address === 'string' ? address : formatAddress(bytes);
    if (bytes.length !== this.src.length) invalid('address', text, `the pool's addresses are IPv${this.src.length === 4 ? 4 : 6}`);
    const offset = toBigInt(bytes) - toBigInt(this.src);
    if (offset < 0n || offset >= BigInt(this.srcCount)) {
      invalid('address', text, `not one of the pool's ${this.srcCount} address${this.srcCount > 1 ? 'es' : ''} from ${formatAddress(this.src)}`);
    }
    return Number(offset);
  }

  /** @internal A slot (from alloc, steer, list) as an endpoint. */
  decode(slot: number): PoolPort {
    const addressIndex = slot >>> this.shift;
    return { address: this.address(addressIndex), addressIndex, port: this.portBase + (slot & ((1 << this.shift) - 1)) };
  }

  /** @internal An engine status as an error value about `address`:`port`. */
  error(status: number, core: number, addressIndex: number, port: number): RssplaneError {
    const where = formatEndpoint(addressPlus(this.src, addressIndex), port);
    switch (-status) {
      case PoolStatus.EXHAUSTED:
        return new RssplaneError('EADDRNOTAVAIL', `core ${core}'s pool is exhausted: all ${this.core(core).size} ports are handed out (mTCP's connect() says EAGAIN)`, 'port');
      case PoolStatus.IN_USE:
        return new RssplaneError('EADDRINUSE', `${where} is already handed out (core ${core})`, 'port');
      case PoolStatus.OTHER_CORE: {
        const owner = this.engine.exports.poolCoreOf(this.live(), addressIndex, port);
        const queue = this.engine.exports.poolQueueOf(this.live(), addressIndex, port);
        return new RssplaneError('EINVAL', `${where} belongs to core ${owner}, not ${core}: its return tuple lands on queue ${queue}`, 'port');
      }
      case PoolStatus.NOT_IN_USE:
        return new RssplaneError('EINVAL', `${where} is not handed out: nothing to free`, 'port');
      case PoolStatus.OUT_OF_RANGE:
        return this.outside(port);
      default:
        return new RssplaneError('EFAULT', `engine returned status ${-status} for ${where}`);
    }
  }

  private outside(port: number): RssplaneError {
    return new RssplaneError('EINVAL', `bad port ${JSON.stringify(String(port))}: outside the pool's range ${this.range[0]}-${this.range[1]}`, 'port');
  }

  private throwOutside(port: number): never {
    throw this.outside(port);
  }
}

/** One core's share of a PortPool: O(1) alloc, free and reserve, errors as values. */
export class CorePool {
  /** @internal */
  constructor(private readonly pool: PortPool, readonly core: number) {}

  /** Ports in this core's pool, handed out or not. */
  get size(): number {
    return this.pool.engine.exports.poolSize(this.pool.live(), this.core);
  }

  /** Ports free to hand out. */
  get available(): number {
    return this.pool.engine.exports.poolAvailable(this.pool.live(), this.core);
  }

  /**
   * Hands out a free port: the next after the last one handed out, wrapping (next fit, so a
   * port just freed, whose 4-tuple may still be in the peer's TIME-WAIT, is reused last).
   * O(1). EADDRNOTAVAIL when none is left (mTCP's connect() says EAGAIN).
   */
  alloc(): PoolPort | RssplaneError {
    const slot = this.pool.engine.exports.poolAlloc(this.pool.live(), this.core);
    if (slot < 0) return this.pool.error(slot, this.core, 0, 0);
    return this.pool.decode(slot);
  }

  /**
   * Takes `address`:`port` for an explicit bind. EINVAL when the port belongs to another core
   * (its return tuple lands elsewhere) or is outside the pool, EADDRINUSE when it is handed out.
   */
  reserve(address: AddressRef | PoolPort, port?: number): PoolPort | RssplaneError {
    const r = this.apply(address, port, (h, a, p) => this.pool.engine.exports.poolReserve(h, this.core, a, p));
    return r instanceof RssplaneError ? r : { address: this.pool.address(r.a), addressIndex: r.a, port: r.p };
  }

  /** Returns `address`:`port` to the pool. EINVAL when it is not handed out or not this core's. */
  free(address: AddressRef | PoolPort, port?: number): RssplaneError | undefined {
    const r = this.apply(address, port, (h, a, p) => this.pool.engine.exports.poolFree(h, this.core, a, p));
    return r instanceof RssplaneError ? r : undefined;
  }

  /** Every port of this core's pool, handed out or not, by address then port. */
  ports(): IterableIterator<PoolPort> {
    return this.list(PoolListing.MEMBERS);
  }

  /** The ports free to hand out, by address then port. */
  freePorts(): IterableIterator<PoolPort> {
    return this.list(PoolListing.FREE);
  }

  private *list(which: PoolListing): IterableIterator<PoolPort> {
    const engine = this.pool.engine;
    let from = 0;
    for (;;) {
      // One chunk at a time, copied out: the caller may alloc or free (or list) between items.
      const out = this.pool.listBuffer;
      const n = engine.exports.poolList(this.pool.live(), this.core, from, which, out, LIST_CHUNK);
      const slots = engine.u32(out, n).slice();
      for (const s of slots) yield this.pool.decode(s);
      if (slots.length < LIST_CHUNK) return;
      from = slots[slots.length - 1]! + 1;
    }
  }

  /** Resolves the endpoint and runs `call` on it: the endpoint, or the error as a value. */
  private apply(address: AddressRef | PoolPort, port: number | undefined, call: (pool: number, a: number, p: number) => number): { a: number; p: number } | RssplaneError {
    let a: number, p: number;
    try {
      if (typeof address === 'object' && !(address instanceof Uint8Array)) {
        a = this.pool.indexOf(address.addressIndex);
        p = checkPort(address.port);
      } else {
        a = this.pool.indexOf(address);
        p = checkPort(port);
      }
    } catch (e) {
      if (e instanceof RssplaneError) return e;
      throw e;
    }
    const status = call(this.pool.live(), a, p);
    return status < 0 ? this.pool.error(status, this.core, a, p) : { a, p };
  }
}

function checkPort(port: number | undefined, subject = 'port'): number {
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) invalid(subject, port, 'a port is a whole number from 0 to 65535');
  return port;
}

function toBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}
