/**
 * Synthetic traffic (the engine's generator, assembly/gen/synthetic.ts): realistic TCP
 * conversations, deterministic from a seed, written as complete Ethernet frames with packet
 * descriptors straight into engine memory.
 */
import { GEN_FRAME, PKT_DESCRIPTOR } from '../../assembly/shared/abi.js';
import type { Engine, PacketBatch } from './engine.js';
import { invalid } from './errors.js';

export interface SyntheticOptions {
  /** Conversations in progress at any time (default 10,000). */
  concurrent?: number;
  /** Conversations in all; 0 for no end (default 0). */
  conversations?: number;
  /** Default 1. */
  seed?: number;
  /** Share of IPv6 conversations, 0 to 1 (default 0.2). */
  ipv6?: number;
  /** Share of data segments sent twice, 0 to 1 (default 0.01). */
  retransmit?: number;
  /** Timestamp of the first packet, ns since the epoch (default 2026-01-01). */
  startNs?: bigint;
  /**
   * This generator's share of the run (default the whole run). Shares of one run together
   * generate exactly what one generator would, whatever the split.
   */
  part?: number;
  parts?: number;
  /**
   * How a run is split: `rss` gives share p the conversations whose client-to-server packets the
   * engine's programmed RSS (key, table, queue map) sends to core p, as a NIC's queues would
   * split the traffic; `number` (the default) gives it conversations i with i % parts === p.
   * With `rss`, `ports` says whether the field set hashes ports (default true).
   */
  split?: 'rss' | 'number';
  ports?: boolean;
}

/** Most frames a batch holds (GEN_FRAME bytes and a descriptor each: 108 MB); larger saves nothing a call. */
export const BATCH_PACKETS_MAX = 1 << 16;

export class SyntheticSource {
  private readonly state: number;
  private readonly frames: number;
  private readonly descriptors: number;

  /**
   * Allocates the generator's state and a batch buffer for `batchPackets` frames in `engine`.
   * One generator per engine (its state is module-global in the engine).
   */
  constructor(private readonly engine: Engine, options: SyntheticOptions = {}, readonly batchPackets = 1024) {
    if (!Number.isInteger(batchPackets) || batchPackets < 1 || batchPackets > BATCH_PACKETS_MAX) invalid('synthetic batch', batchPackets, `expected 1 to ${BATCH_PACKETS_MAX} packets`);
    const concurrent = options.concurrent ?? 10_000;
    const share = (x: number | undefined, fallback: number, name: string) => {
      const v = x ?? fallback;
      if (!(v >= 0 && v <= 1)) invalid(name, v, 'a share from 0 to 1');
      return Math.round(v * 1000);
    };
    if (!Number.isInteger(concurrent) || concurrent < 1 || concurrent > 10_000_000) invalid('concurrent conversations', concurrent, 'from 1 to 10,000,000');
    const total = options.conversations ?? 0;
    if (!Number.isInteger(total) || total < 0) invalid('conversations', total, 'a whole number (0 for no end)');
    const parts = options.parts ?? 1, part = options.part ?? 0;
    if (!Number.isInteger(parts) || parts < 1 || !Number.isInteger(part) || part < 0 || part >= parts) invalid('generator share', `${part} of ${parts}`, 'part must be 0 to parts - 1');
    const e = engine.exports;
    // Never more slots than conversations: the scheduler draws slots at random until it finds a
    // live one, so slots that can never be live would only slow it down.
    const mine = Math.min(Math.ceil(concurrent / parts), total || Infinity);
    this.state = engine.allocate(e.genStateBytes(mine));
    this.frames = engine.allocate(batchPackets * GEN_FRAME);
    this.descriptors = engine.allocate(batchPackets * PKT_DESCRIPTOR);
    e.genConfigure(this.state, mine, BigInt(total), BigInt(options.seed ?? 1), share(options.ipv6, 0.2, 'IPv6 share'),
      share(options.retransmit, 0.01, 'retransmit share'), options.startNs ?? 1_767_225_600_000_000_000n, concurrent, part, parts,
      options.split === 'rss' ? 1 : 0, options.ports === false ? 0 : 1);
  }

  /** The next batch (at most `max` packets); count 0 once every conversation has ended. */
  next(max = this.batchPackets): PacketBatch {
    const count = this.engine.exports.genFill(this.frames, this.batchPackets * GEN_FRAME, this.descriptors, Math.min(max, this.batchPackets));
    return { descriptors: this.descriptors, count };
  }

  /** Conversations started so far. */
  get conversationsStarted(): number {
    return Number(this.engine.exports.genStarted());
  }
}
