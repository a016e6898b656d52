/**
 * A link run's plan: what the controller (session.ts) tells each core's thread (worker.ts), as
 * plain values that cross postMessage.
 */
import type { EndpointOptions, HttpClientApp, HttpServerApp } from '../../core/endpoint.js';
import type { Kernel } from '../../core/engine.js';
import type { LinkAddresses, LinkStats, LinkTimers, Neighbour, ResolveResult } from '../../core/link.js';
import { PKT_DESCRIPTOR, SLOT_DESCRIPTORS } from '../../../assembly/shared/abi.js';
import type { RssValues } from '../runner/plan.js';
import type { RingShape } from '../runner/ring.js';

/**
 * Slots of the link's rings and of its transmit and copies slots: 256 frames of up to 2 KiB (a
 * DPDK mbuf's default data room), so a slot the shim fills always fits a transmit slot's replies.
 */
export const LINK_RING: RingShape = { slots: 8, slotPackets: 256, slotBytes: SLOT_DESCRIPTORS + 256 * PKT_DESCRIPTOR + 256 * 2048 };

export interface LinkPlan {
  cores: number;
  port: number;
  /** the RSS the port really does (device) or the run's (software): steering between cores */
  rss: RssValues;
  /** the core serving each RSS queue */
  queueCores: number[];
  /** the core polling each receive queue of the port */
  pollCores: number[];
  /**
   * `per-core`: core c sends on transmit queue c (the port has a queue per core); `owner`: the
   * port has fewer, and core 0 sends for every core (the others ship their transmit slots to it
   * through rings), so no two threads ever use one queue.
   */
  tx: 'per-core' | 'owner';
  deviceTimestamps: boolean;
  addresses: LinkAddresses;
  ring: RingShape;
  neighbours: number;
  timers?: Partial<LinkTimers>;
  /** end the run when every core has been idle this long, ms (0: only when told to stop) */
  idleMs: number;
  /** the TCP endpoints above the link (connect, serve): one per core, in the core's engine */
  endpoint?: LinkEndpointPlan;
}

/**
 * The endpoints' settings: each core's TcpEndpoint gets these, the run's RSS (plan.rss, the
 * device's when it does RSS: the pools are built from what the port really does), our MAC, and
 * its own application (a client core's share of the connections). The link and the endpoint
 * share one clock, ns since the epoch: clockBase + process.hrtime.bigint().
 */
export interface LinkEndpointPlan {
  options: Omit<EndpointOptions, 'rss' | 'core' | 'cores' | 'queueCores' | 'mac' | 'nextHopMac' | 'slotPackets' | 'linkTx' | 'epochNs' | 'seed' | 'app'>;
  apps: Array<HttpClientApp | HttpServerApp>;
  epochNs: bigint;
  clockBase: bigint;
  seed: number;
}

/** What a core's endpoint reports at the end. */
export interface LinkEndpointResult {
  stats: Record<string, number>;
  status?: Record<string, number>;
  latency?: Float64Array;
  latencyMax?: number;
  connectTime?: Float64Array;
  connectMax?: number;
  digests?: Record<string, number>;
  ports?: { available: number; size: number };
  /** ms (performance time origin + now): when the client started opening, and was done */
  startedAt?: number;
  doneAt?: number;
}

/** The ring names in a core's memory: one per producing core, plus transmit rings on core 0. */
export const steerRing = (core: number) => `core ${core}`;
export const txRing = (core: number) => `tx core ${core}`;

/** A request to a core (through its MessagePort) and the answer. */
export type LinkRequest =
  | { type: 'resolve'; id: number; address: Uint8Array }
  /** the endpoint starts (a client opens its connections: its next hop is resolved) */
  | { type: 'go' }
  /** a client opens no more connections; the open ones finish */
  | { type: 'stop-opening' };
export type LinkAnswer = { type: 'resolved'; id: number; result: ResolveResult };

/** What a core reports when it ends. */
export interface LinkCoreResult {
  core: number;
  stats: LinkStats;
  neighbours: Neighbour[];
  /** frames this core's transmit queue took, and refused (core 0 counts for all in `owner` mode) */
  txSent: number;
  txDropped: number;
  /** frames it received from its own receive queues (before steering) */
  polled: number;
  /** frames it steered to other cores */
  shipped: number;
  /** segments its endpoint forwarded to the core that owns their connection */
  forwarded: number;
  /**
   * its loop from start to stop (ms), the rounds that found work (frames, timers, requests) and
   * the time they took: busyMs / ms is the share of the thread the link and endpoint used, the
   * rest was polling empty queues (a benchmark's way to tell whether this thread is the bound)
   */
  loop: { ms: number; busyMs: number; busyRounds: number };
  endpoint?: LinkEndpointResult;
}
