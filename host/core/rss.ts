/**
 * The RSS function of one NIC port, and hashing with it.
 *
 * `RssConfig` is the one source of truth: key, field set, hash function, input transform and
 * indirection table. Hashing, dispatch, port pools and the visualizer all take an RssConfig, so
 * they cannot disagree about where a flow lands.
 */
import { INPUT_MAX, RETA, RSS_COLUMNS, RSS_KEY, Status, TUPLE_TMP } from '../../assembly/shared/abi.js';
import { analyze, hashSteps, type HashStep, type KeyAnalysis } from './analysis.js';
import { Engine } from './engine.js';
import { invalid, RssplaneError } from './errors.js';
import {
  encodeTuple, FIELD_SETS, HASH_FUNCTIONS, parseFieldSet, parseHashFunction, parseTransform, TRANSFORMS,
  type FieldSetName, type HashFunctionName, type TransformName, type Tuple,
} from './fields.js';
import { KEY_PRESETS, parseKey } from './key.js';
import { DEFAULT_RETA_SIZE, Reta } from './reta.js';

export interface RssOptions {
  /** Preset name, hex text (plain or colon-separated) or bytes. Default `microsoft`. */
  key?: string | Uint8Array;
  /** Default `ipv4-l4`. */
  fields?: FieldSetName;
  /** Default `toeplitz`. */
  hfunc?: HashFunctionName;
  /** Default `none`. */
  xfrm?: TransformName;
  /** A table, or a spec (`equal:4`, `weight:1,2+start:1`) sized by `retaSize`. */
  reta?: Reta | string;
  /** Table size for a spec (default 128). */
  retaSize?: number;
}

export class RssConfig {
  private constructor(
    readonly key: Uint8Array,
    readonly fields: FieldSetName,
    readonly hfunc: HashFunctionName,
    readonly xfrm: TransformName,
    readonly reta: Reta | undefined,
  ) {}

  /** Validates and freezes options. Throws RssplaneError (EINVAL) naming the bad value. */
  static from(options: RssOptions = {}): RssConfig {
    const key = typeof options.key === 'string' ? parseKey(options.key)
      : options.key ? new Uint8Array(options.key) : new Uint8Array(KEY_PRESETS.microsoft);
    const fields = parseFieldSet(options.fields ?? 'ipv4-l4');
    const hfunc = parseHashFunction(options.hfunc ?? 'toeplitz');
    const xfrm = parseTransform(options.xfrm ?? 'none');
    const reta = typeof options.reta === 'string' ? Reta.parse(options.reta, options.retaSize ?? DEFAULT_RETA_SIZE) : options.reta;
    const config = new RssConfig(key, fields, hfunc, xfrm, reta);
    config.requireKeyFor(fields);
    return config;
  }

  /** A copy with some options changed. */
  with(changes: RssOptions): RssConfig {
    return RssConfig.from({
      key: this.key, fields: this.fields, hfunc: this.hfunc, xfrm: this.xfrm, reta: this.reta, ...changes,
    });
  }

  /** Input bytes the key covers: key length - 4 for Toeplitz (the XOR function needs no key). */
  get coveredBytes(): number {
    return this.hfunc === 'xor' ? Infinity : this.key.length - 4;
  }

  /** Throws unless the key is long enough to hash `fields` (input length + 4 bytes). */
  requireKeyFor(fields: FieldSetName): void {
    const need = FIELD_SETS[fields].inputLength + 4;
    if (this.hfunc === 'toeplitz' && this.key.length < need) {
      invalid('key', `${this.key.length} bytes`, `field set ${fields} needs a key of at least ${need} bytes (input ${need - 4} + 4)`);
    }
  }
}

/** Programs `engine` with the config's key, function, transform and (when present) table. */
export function programEngine(engine: Engine, config: RssConfig): void {
  engine.bytes.set(config.key, RSS_KEY);
  const covered = engine.exports.configureRss(config.key.length, HASH_FUNCTIONS[config.hfunc], TRANSFORMS[config.xfrm]);
  if (covered < 0) throw new RssplaneError('EFAULT', `engine refused the RSS configuration (status ${-covered})`);
  if (config.reta) {
    engine.u16(RETA, config.reta.size).set(config.reta.table);
    const status = engine.exports.configureReta(config.reta.size, config.reta.queues);
    if (status !== Status.OK) throw new RssplaneError('EFAULT', `engine refused the indirection table (status ${status})`);
  }
}

/** Hashes tuples with one RssConfig on its own engine. */
export class RssHasher {
  private tuple = 0;

  private constructor(
    readonly config: RssConfig,
    readonly engine: Engine,
  ) {
    this.tuple = engine.allocate(64);
  }

  /** Releases the hasher's buffer in its engine (the engine itself stays usable). */
  free(): void {
    if (this.tuple) this.engine.release(this.tuple);
    this.tuple = 0;
  }

  /** A hasher on a fresh engine (or on `engine`, reprogramming it). */
  static async create(config: RssConfig | RssOptions = {}, engine?: Engine): Promise<RssHasher> {
    const c = config instanceof RssConfig ? config : RssConfig.from(config);
    const e = engine ?? (await Engine.create());
    programEngine(e, c);
    return new RssHasher(c, e);
  }

  /**
   * The 32-bit hash of one tuple, as an unsigned number. A tuple is either fields (`src`, `dst`
   * as text or bytes, `sport`, `dport`) or the field set's input bytes in network order.
   */
  hash(tuple: Tuple | Uint8Array, fields: FieldSetName = this.config.fields): number {
    this.config.requireKeyFor(fields);
    const bytes = this.engine.bytes;
    const input = bytes.subarray(this.tuple, this.tuple + FIELD_SETS[fields].inputLength);
    if (tuple instanceof Uint8Array) {
      if (tuple.length !== input.length) invalid('tuple', `${tuple.length} bytes`, `field set ${fields} input is ${input.length} bytes`);
      input.set(tuple);
    } else {
      encodeTuple(fields, tuple, input);
    }
    return this.engine.exports.hashTuple(this.tuple, FIELD_SETS[fields].id) >>> 0;
  }

  /**
   * One tuple's hash taken apart for display: the input bytes as given and as hashed (after the
   * input transform), and each set bit's column with the running XOR (`hashSteps`). The engine
   * hashes and transforms; the steps' last running XOR is checked against its hash.
   */
  explain(tuple: Tuple | Uint8Array, fields: FieldSetName = this.config.fields): HashExplanation {
    const hash = this.hash(tuple, fields);
    const length = FIELD_SETS[fields].inputLength;
    const input = this.engine.bytes.slice(this.tuple, this.tuple + length);
    // hashTuple leaves the transformed input in TUPLE_TMP (assembly/rss/hash.ts), only when it transforms.
    const hashed = this.config.xfrm === 'none' ? input : this.engine.bytes.slice(TUPLE_TMP, TUPLE_TMP + length);
    const { steps, hash: folded } = hashSteps(this.columns(), hashed);
    if (folded !== hash) throw new RssplaneError('EFAULT', `engine hash 0x${hash.toString(16)} differs from its columns' XOR 0x${folded.toString(16)}`);
    return { fields, input, hashed, steps, hash };
  }

  /** The queue a hash (or a tuple's hash) lands on; needs a table in the config. */
  queue(hashOrTuple: number | Tuple | Uint8Array): number {
    if (!this.config.reta) throw new RssplaneError('EINVAL', 'no indirection table configured', 'reta');
    const h = typeof hashOrTuple === 'number' ? hashOrTuple : this.hash(hashOrTuple);
    return this.config.reta.queueOf(h);
  }

  /**
   * Hashes `count` packed tuples (input length bytes each, network order) and returns the hashes.
   * Copies in and out; for zero-copy use `batch()`.
   */
  hashBatch(tuples: Uint8Array, fields: FieldSetName = this.config.fields): Uint32Array {
    const length = FIELD_SETS[fields].inputLength;
    if (tuples.length % length) invalid('tuple batch', `${tuples.length} bytes`, `not a whole number of ${length}-byte tuples`);
    const batch = this.batch(tuples.length / length, fields);
    try {
      batch.tuples.set(tuples);
      batch.run(tuples.length / length);
      return batch.hashes.slice(0, tuples.length / length);
    } finally {
      batch.free();
    }
  }

  /**
   * The hash of each single input bit (`columns[b]`, bit 0 = most significant bit of byte 0): the
   * GF(2) matrix of the hash, computed by the engine. A copy.
   */
  columns(): Uint32Array {
    return this.engine.u32(RSS_COLUMNS, INPUT_MAX * 8).slice();
  }

  /** Symmetry (proved), rank and distinct hashes of this config for `fields`. */
  analyze(fields: FieldSetName = this.config.fields): KeyAnalysis {
    this.config.requireKeyFor(fields);
    return analyze(this.config, this.columns(), fields);
  }

  /** A batch buffer in engine memory: write tuples into `tuples`, call `run(n)`, read `hashes`. */
  batch(capacity: number, fields: FieldSetName = this.config.fields): HashBatch {
    this.config.requireKeyFor(fields);
    return new HashBatch(this.engine, this.config, capacity, fields);
  }
}

/** What `RssHasher.explain` returns: one hash, bit by bit. Bytes in network order. */
export interface HashExplanation {
  fields: FieldSetName;
  /** the field set's input bytes: src, dst[, sport, dport] */
  input: Uint8Array;
  /** the bytes hashed: `input` after the input transform (the same bytes when there is none) */
  hashed: Uint8Array;
  /** every set bit of `hashed`, in order, with its column and the running XOR */
  steps: HashStep[];
  hash: number;
}

/**
 * Tuples and hashes in engine memory. The views stay valid until the engine allocates again
 * (memory growth replaces the buffer); re-read them after creating other buffers.
 */
export class HashBatch {
  readonly tuplesPtr: number;
  readonly hashesPtr: number;
  private readonly id: number;

  constructor(
    private readonly engine: Engine,
    private config: RssConfig,
    readonly capacity: number,
    readonly fields: FieldSetName,
  ) {
    const length = FIELD_SETS[fields].inputLength;
    this.tuplesPtr = engine.allocate(capacity * length);
    this.hashesPtr = engine.allocate(capacity * 4);
    this.id = FIELD_SETS[fields].id;
  }

  get tuples(): Uint8Array {
    return this.engine.bytes.subarray(this.tuplesPtr, this.tuplesPtr + this.capacity * FIELD_SETS[this.fields].inputLength);
  }

  get hashes(): Uint32Array {
    return this.engine.u32(this.hashesPtr, this.capacity);
  }

  /**
   * Packets per queue for the first `count` hashes (after `run`), counted in the engine; needs a
   * table in the config.
   */
  queueCounts(count = this.capacity): Uint32Array {
    const reta = this.config.reta;
    if (!reta) throw new RssplaneError('EINVAL', 'no indirection table configured', 'reta');
    const counts = this.engine.allocate(reta.queues * 4);
    try {
      this.engine.u32(counts, reta.queues).fill(0);
      this.engine.exports.countQueues(this.hashesPtr, count, counts);
      return this.engine.u32(counts, reta.queues).slice();
    } finally {
      this.engine.release(counts);
    }
  }

  /**
   * Programs the engine with `config` (same field set) and makes it this batch's, leaving the
   * tuples in place: the same flows under another key (`run` again) or another table
   * (`queueCounts` again). Other users of the engine see the new programming too.
   */
  reprogram(config: RssConfig): void {
    if (config.fields !== this.fields) invalid('field set', config.fields, `this batch holds ${this.fields} tuples`);
    config.requireKeyFor(this.fields);
    programEngine(this.engine, config);
    this.config = config;
  }

  /** Hashes the first `count` tuples: one call into the engine (SIMD groups of 16, scalar tail). */
  run(count = this.capacity, path: 'simd' | 'scalar' = 'simd'): void {
    if (count > this.capacity) invalid('batch count', count, `capacity is ${this.capacity}`);
    const f = path === 'simd' ? this.engine.exports.hashBatch : this.engine.exports.hashBatchScalar;
    f(this.tuplesPtr, count, this.id, this.hashesPtr);
  }

  free(): void {
    this.engine.release(this.tuplesPtr);
    this.engine.release(this.hashesPtr);
  }
}
