/**
 * The RSS indirection table: 2^k entries, each a receive queue; a NIC steers a packet to
 * queue = table[hash & (size - 1)]. Filled the way Linux `ethtool -X` fills it.
 */
import { QUEUES_MAX, RETA_MAX } from '../../assembly/shared/abi.js';
import { invalid } from './errors.js';

export const DEFAULT_RETA_SIZE = 128;

export class Reta {
  /** One queue number per entry. */
  readonly table: Uint16Array;

  /** Takes ownership of `table`; its length must be a power of two up to RETA_MAX. */
  constructor(table: Uint16Array | readonly number[]) {
    const t = table instanceof Uint16Array ? table : Uint16Array.from(table);
    checkSize(t.length);
    const bad = t.findIndex((q) => q >= QUEUES_MAX);
    if (bad >= 0) invalid('indirection table', t[bad], `entry ${bad} names queue ${t[bad]}; at most ${QUEUES_MAX - 1}`);
    this.table = t;
  }

  get size(): number {
    return this.table.length;
  }

  /** Queues the table can name: the highest entry + 1 (ethtool's "RX ring(s)" may be more). */
  get queues(): number {
    return this.table.reduce((m, q) => Math.max(m, q), 0) + 1;
  }

  /** The queue a hash lands on: the table entry its low log2(size) bits select. */
  queueOf(hash: number): number {
    return this.table[hash & (this.table.length - 1)]!;
  }

  /** `ethtool -X equal N [start S]`: entry i is S + i % N (the kernel's default with S = 0). */
  static equal(size: number, queues: number, start = 0): Reta {
    checkSize(size);
    checkCount('equal', queues);
    return new Reta(Uint16Array.from({ length: size }, (_, i) => start + (i % queues)));
  }

  /**
   * `ethtool -X weight W0 W1 ... [start S]`: queue j gets entries in proportion to Wj. Entry i
   * goes to the first j whose running sum of weights, scaled to the table, exceeds i: j advances
   * while i >= size * partial / sum, in integer arithmetic as ethtool does it.
   */
  static weighted(size: number, weights: readonly number[], start = 0): Reta {
    checkSize(size);
    const spec = weights.join(',');
    if (weights.length === 0) invalid('weights', spec, 'give at least one weight');
    weights.forEach((w) => {
      if (!Number.isInteger(w) || w < 0) invalid('weights', spec, `${w} is not a whole number >= 0`);
    });
    const sum = weights.reduce((a, b) => a + b, 0);
    if (sum === 0) invalid('weights', spec, 'at least one weight must be non-zero');
    if (sum > size) invalid('weights', spec, `total weight ${sum} exceeds the table size ${size}`);
    const table = new Uint16Array(size);
    let j = -1, partial = 0;
    for (let i = 0; i < size; i++) {
      while (i >= Math.floor((size * partial) / sum)) partial += weights[++j]!;
      table[i] = start + j;
    }
    return new Reta(table);
  }

  /**
   * Parses a table spec: `equal:N` or `weight:W0,W1,...`, optionally followed by `+start:S`.
   * `size` is the table size (default 128).
   */
  static parse(spec: string, size = DEFAULT_RETA_SIZE): Reta {
    const m = /^(equal|weight):([^+]*)(?:\+start:(.*))?$/.exec(spec.trim());
    if (!m) invalid('table spec', spec, 'expected equal:N or weight:W0,W1,... optionally followed by +start:S');
    const whole = (text: string, what: string) => {
      if (!/^[0-9]+$/.test(text.trim())) invalid('table spec', spec, `${what} must be whole numbers`);
      return Number(text);
    };
    const start = m[3] === undefined ? 0 : whole(m[3], 'start');
    if (m[1] === 'equal') return Reta.equal(size, whole(m[2]!, 'equal'), start);
    return Reta.weighted(size, m[2]!.split(',').map((w) => whole(w, 'weights')), start);
  }
}

/** Table sizes are powers of two: the NIC indexes with the hash's low bits. */
export function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > RETA_MAX || (size & (size - 1)) !== 0) {
    invalid('table size', size, `must be a power of two from 1 to ${RETA_MAX}`);
  }
}

function checkCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > QUEUES_MAX) invalid(`${what} queue count`, n, `must be 1 to ${QUEUES_MAX}`);
}
