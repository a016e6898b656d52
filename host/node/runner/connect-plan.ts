/**
 * A connect run's plan: what the controller tells every endpoint thread, as plain values that
 * cross postMessage. Client cores and server cores each run a TcpEndpoint; the in-memory wire
 * between them is rings (a ring per producer in each consumer's memory, as the runner has them).
 * The client side's RSS is the command's RSS options (one source of truth: its pools are built
 * from it, and the server's frames are steered to client cores by it); the server side hashes with
 * the same key, field set, function and transform over its own table.
 */
import type { Kernel } from '../../core/engine.js';
import type { Impairment } from '../../core/wire.js';
import type { RssValues } from './plan.js';

export interface ConnectPlan {
  kernel: Kernel;
  clientCores: number;
  serverCores: number;
  /** the client side's RSS (its table spreads over the client cores), and the server side's */
  rss: RssValues;
  serverRss: RssValues;
  clientQueueCores: number[];
  serverQueueCores: number[];
  /** the engines' clock zero and the run's seed */
  epochNs: bigint;
  /** ns since the epoch minus the monotonic clock (process.hrtime), read once for every thread:
   *  the threads' clocks then agree, and a merged capture is in the wire's order */
  clockBase: bigint;
  seed: number;
  client: {
    /** our first address (the family's), and how many consecutive ones (--src-count) */
    address: string;
    srcCount: number;
    server: string;
    port: number;
    path: string;
    host?: string;
    /** per client core: connections at once, and connections in all (0: until the run ends) */
    concurrency: number[];
    connections: number[];
    requestsPerConnection: number;
    close: 'fin' | 'rst';
    timeoutMs: number;
    digest: boolean;
    ports: 'pool' | 'random';
    portRange: [number, number];
  };
  server: { responseBytes: number; idleMs: number };
  endpoint: {
    clientTcbs: number;
    serverTcbs: number;
    clientTimeWaits: number;
    serverTimeWaits: number;
    timeWaitMs: number;
    chunks: number;
    chunkBytes: number;
  };
  /** ring slots between two threads */
  ringSlots: number;
  impair?: Impairment;
  /** keep pcap records of every frame on the wire */
  pcap: boolean;
}

/** A thread's role: client core `core` or server core `core`. */
export interface EndpointRole {
  side: 'client' | 'server';
  core: number;
}

export const threadName = (r: EndpointRole) => `${r.side} ${r.core}`;

/** Threads that produce into `role`'s rings: the other side's cores, and its own side's other cores (forwards). */
export function producersOfEndpoint(plan: ConnectPlan, role: EndpointRole): string[] {
  const clients = Array.from({ length: plan.clientCores }, (_, c) => `client ${c}`);
  const servers = Array.from({ length: plan.serverCores }, (_, c) => `server ${c}`);
  if (role.side === 'client') return [...servers, ...clients.filter((n) => n !== `client ${role.core}`)];
  return [...clients, ...servers.filter((n) => n !== `server ${role.core}`)];
}

/** What a thread reports at the end. */
export interface EndpointResult {
  side: 'client' | 'server';
  core: number;
  /** every TcpStat counter by name */
  stats: Record<string, number>;
  /** client: statuses, histogram counts (ns), digests */
  status?: Record<string, number>;
  latency?: Float64Array;
  latencyMax?: number;
  connectTime?: Float64Array;
  connectMax?: number;
  digests?: Record<string, number>;
  digestOverflow?: number;
  /** client: the destination's ports on this core */
  ports?: { available: number; size: number };
  /** when this client core had finished (ms, performance time origin + now), and started */
  doneAt?: number;
  startedAt: number;
  faults: { dropped: number; duplicated: number; reordered: number };
  /** pcap records of what this thread sent, in its order */
  pcap?: Uint8Array[];
}
