/**
 * What a pool should hold, computed without the pool's tables: every return tuple (source = the
 * peer, destination = a local address and port) hashed whole, through the engine's SIMD batch
 * path or the reference bit loop, then table and queue -> core map applied.
 */
import { addressPlus } from '../../host/core/addr.js';
import { defaultQueueCore, encodeTuple, FIELD_SETS, parseAddress, RssHasher, type RssConfig } from '../../host/core/index.js';
import { referenceHash } from './reference.js';

export interface PoolCase {
  src: string;
  srcCount?: number;
  dst: string;
  dport: number;
  cores: number;
  queueCore?: readonly number[];
  ports?: readonly [number, number];
}

/** Return tuples of every (address, port) in range, packed: address-major, then port. */
export function returnTuples(config: RssConfig, c: PoolCase): Uint8Array {
  const info = FIELD_SETS[config.fields];
  const [lo, hi] = c.ports ?? [1025, 65535];
  const n = (c.srcCount ?? 1) * (hi - lo + 1);
  const out = new Uint8Array(n * info.inputLength);
  const first = parseAddress(c.src).bytes;
  let i = 0;
  for (let a = 0; a < (c.srcCount ?? 1); a++) {
    const local = addressPlus(first, a);
    for (let p = lo; p <= hi; p++, i++) {
      encodeTuple(config.fields, { src: c.dst, dst: local, sport: c.dport, dport: p }, out.subarray(i * info.inputLength, (i + 1) * info.inputLength));
    }
  }
  return out;
}

/** The queue of every (address, port), address-major, from the engine's batch hash. */
export async function expectedQueues(config: RssConfig, c: PoolCase, reference = false): Promise<Uint16Array> {
  const tuples = returnTuples(config, c);
  const length = FIELD_SETS[config.fields].inputLength;
  let hashes: ArrayLike<number>;
  if (reference) {
    hashes = Array.from({ length: tuples.length / length }, (_, i) =>
      referenceHash(config.key, config.fields, config.hfunc, config.xfrm, tuples.subarray(i * length, (i + 1) * length)));
  } else {
    hashes = (await RssHasher.create(config)).hashBatch(tuples);
  }
  return Uint16Array.from(hashes, (h) => config.reta!.queueOf(h));
}

/** Per core, the expected ports as "index:port" strings in (address, port) order. */
export function expectedPools(config: RssConfig, c: PoolCase, queues: Uint16Array): string[][] {
  const map = c.queueCore ?? Array.from(defaultQueueCore(config.reta!.queues, c.cores));
  const [lo, hi] = c.ports ?? [1025, 65535];
  const pools: string[][] = Array.from({ length: c.cores }, () => []);
  let i = 0;
  for (let a = 0; a < (c.srcCount ?? 1); a++) {
    for (let p = lo; p <= hi; p++, i++) pools[map[queues[i]!]!]!.push(`${a}:${p}`);
  }
  return pools;
}
