/**
 * The link layer on a DPDK port: one worker thread per core (worker.ts), each with its engine,
 * receive queues, transmit queue (or core 0's) and link layer; this controller sets them up,
 * carries resolve requests to them, and collects what they counted when the run stops. It never
 * touches a frame.
 *
 *   const opened = openLink(flags, { cores: 2, config });       // EAL, the port, the plan
 *   const session = await LinkSession.start(opened);
 *   await session.resolve('198.18.0.1');                        // { status: 'resolved', mac, ... }
 *   const report = await session.stop();                        // counters, neighbours, port stats
 *
 * connect and serve take the same options (options.ts) and run their endpoints on these threads
 * (LinkOpenOptions.endpoint; worker.ts, UpperLayer; commands/link-run.ts drives them).
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import '../shared-builds.js';
import { parseAddress, formatAddress } from '../../core/addr.js';
import { availableKernel, compileEngine } from '../../core/engine.js';
import { RssplaneError, type ErrorCode } from '../../core/errors.js';
import { addLinkStats, DEFAULT_NEIGHBOURS, formatMac, parseMac, type LinkStats, type LinkTimers, type ResolveResult } from '../../core/link.js';
import type { Reta } from '../../core/reta.js';
import type { RssConfig } from '../../core/rss.js';
import { dpdkIdleMs } from '../options.js';
import { rssValues } from '../runner/plan.js';
import { StopFlag } from '../runner/ring.js';
import type { CoreInputs } from '../runner/shipper.js';
import { closePort, loadDpdk, native, openPort, type DpdkAddon, type DpdkPort } from '../sources/dpdk.js';
import { parseLinkFlags, type LinkFlags, type LinkSettings } from './options.js';
import { LINK_RING, type LinkAnswer, type LinkCoreResult, type LinkEndpointPlan, type LinkPlan, type LinkRequest } from './plan.js';
import type { LinkWorkerInput } from './worker.js';

export interface OpenedLink {
  dpdk: DpdkAddon;
  port: DpdkPort;
  plan: LinkPlan;
  settings: LinkSettings;
  /** our MAC, aa:bb:cc:dd:ee:ff */
  mac: string;
}

export interface LinkOpenOptions {
  cores: number;
  /** the run's RSS (key, field set, table over the queues); the device's replaces it when it does RSS */
  config: RssConfig;
  neighbours?: number;
  timers?: Partial<LinkTimers>;
  /** the TCP endpoints above the link (connect, serve); their local addresses are the link's */
  endpoint?: LinkEndpointPlan;
}

/**
 * Checks the link options (user mistakes first, before EAL), initialises EAL, configures and
 * starts the port (RSS as `run --input dpdk` does; a transmit queue per core when the port has
 * enough, else one), and makes the plan. Throws RssplaneError for the user's mistakes.
 */
export function openLink(flags: LinkFlags, options: LinkOpenOptions): OpenedLink {
  const settings = parseLinkFlags(flags);
  const cores = options.cores;
  const dpdk = loadDpdk();
  const port = openPort(dpdk, flags, options.config, { cores, txQueues: (info) => (info.maxTxQueues >= cores ? cores : 1) });
  if (!settings.mac && !port.info.mac) throw new RssplaneError('EINVAL', `port ${port.port} (${port.info.driver}) has no MAC of its own: give --mac`, '--mac');
  // net_tap's port answers with the MAC of the kernel's tap interface: both ends would claim it.
  if (!settings.mac && port.info.driver === 'net_tap') {
    throw new RssplaneError('EINVAL', `port ${port.port} (net_tap) has the MAC of the kernel's tap interface (${port.info.mac}): give --mac, another MAC for our end`, '--mac');
  }
  const mac = settings.mac ?? parseMac(port.info.mac, 'the port\'s MAC');
  const reta = port.config.reta as Reta;
  const queueCores = Array.from({ length: reta.queues }, (_, q) => q % cores);
  const plan: LinkPlan = {
    cores, port: port.port, rss: rssValues(port.config), queueCores,
    // With device RSS receive queue q is RSS queue q: its core polls it. Without, any core will do.
    pollCores: Array.from({ length: port.rxQueues }, (_, q) => (port.rss === 'device' ? queueCores[q] ?? q % cores : q % cores)),
    tx: port.txQueues >= cores ? 'per-core' : 'owner',
    deviceTimestamps: port.deviceTimestamps,
    addresses: { ...settings.addresses, mac },
    ring: LINK_RING,
    neighbours: options.neighbours ?? DEFAULT_NEIGHBOURS,
    ...(options.timers ? { timers: options.timers } : {}),
    idleMs: dpdkIdleMs(flags, port.deviceTimestamps),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  };
  return { dpdk, port, plan, settings, mac: formatMac(mac) };
}

export interface LinkReport {
  /** every core's counters added together */
  total: LinkStats;
  cores: LinkCoreResult[];
  /** the port's own counters */
  dpdk: { ipackets: number; opackets: number; imissed: number; ierrors: number; oerrors: number; rx_nombuf: number };
}

/** A core's thread failed; `user`: for a reason the user can act on (its code kept). */
export class LinkFailure extends RssplaneError {
  constructor(code: ErrorCode, message: string, readonly user: boolean, readonly detail?: string) {
    super(code, message, 'link');
  }
}

type FromWorker =
  | { type: 'ready'; inputs: CoreInputs }
  | { type: 'done'; result: LinkCoreResult }
  | { type: 'failed'; user: boolean; code?: ErrorCode; message: string; stack?: string };

export class LinkSession {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: ResolveResult) => void; reject: (e: Error) => void }>();
  private stopping: Promise<LinkReport> | undefined;
  private failure: LinkFailure | undefined;
  private idleTimer: ReturnType<typeof setInterval> | undefined;
  private endedBy: (() => void) | undefined;
  /** Settles when the run should end on its own: every core idle for --dpdk-idle, or a core failed. */
  readonly ended: Promise<void>;

  private constructor(
    readonly opened: OpenedLink,
    private readonly workers: Worker[],
    private readonly exited: Array<Promise<unknown>>,
    private readonly requests: MessagePort[],
    private readonly results: Array<Promise<LinkCoreResult>>,
    private readonly stopFlag: StopFlag,
    idle: Int32Array,
    private readonly doneFlags: Int32Array,
  ) {
    this.ended = new Promise((resolve) => (this.endedBy = resolve));
    if (opened.plan.idleMs > 0) {
      this.idleTimer = setInterval(() => {
        if (idle.every((x) => x === 1)) this.endedBy?.();
      }, 50);
    }
    for (const port of requests) {
      port.on('message', (m: LinkAnswer) => {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        w?.resolve(m.result);
      });
    }
  }

  /** Starts one thread per core on the opened port; resolves once every core is running. */
  static async start(opened: OpenedLink, options: { workerUrl?: URL } = {}): Promise<LinkSession> {
    const url = options.workerUrl ?? new URL('./link-worker.mjs', import.meta.url);
    const { plan } = opened;
    const { module, kernel } = await compileEngine(availableKernel(), true);
    const stop = new StopFlag();
    const abort = new StopFlag();
    const idle = new SharedArrayBuffer(4 * plan.cores);
    const done = new SharedArrayBuffer(4 * plan.cores);
    const workers: Worker[] = [];
    const exited: Array<Promise<unknown>> = [];
    const requests: MessagePort[] = [];
    const ready: Array<Promise<CoreInputs>> = [];
    const results: Array<Promise<LinkCoreResult>> = [];
    let failed: ((e: LinkFailure) => void) | undefined;
    const failure = new Promise<never>((_, reject) => (failed = reject));
    failure.catch(() => {});
    for (let core = 0; core < plan.cores; core++) {
      const channel = new MessageChannel();
      const data: LinkWorkerInput = { core, plan, module, kernel, stop: stop.buffer, abort: abort.buffer, idle, done, requests: channel.port2 };
      const worker = new Worker(url, { workerData: data, transferList: [channel.port2] });
      let onReady: (i: CoreInputs) => void;
      let onDone: (r: LinkCoreResult) => void;
      ready.push(new Promise((r) => (onReady = r)));
      results.push(new Promise((r) => (onDone = r)));
      const fail = (m: { user: boolean; code?: ErrorCode; message: string; stack?: string }) => {
        abort.stop();
        stop.stop();
        failed!(new LinkFailure(m.code ?? 'EFAULT', m.user ? m.message : `core ${core} failed: ${m.message}`, m.user, m.stack));
      };
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') onReady(m.inputs);
        else if (m.type === 'done') onDone(m.result);
        else fail(m);
      });
      worker.on('error', (e) => fail({ user: false, message: e.message, stack: e.stack }));
      worker.on('exit', (code) => {
        if (code !== 0) fail({ user: false, message: `exited with status ${code}` });
      });
      workers.push(worker);
      exited.push(new Promise((r) => worker.once('exit', r)));
      requests.push(channel.port1);
    }
    let inputs: CoreInputs[];
    try {
      inputs = await Promise.race([Promise.all(ready), failure]);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    const peers = Object.fromEntries(inputs.map((i, c) => [c, i]));
    for (const w of workers) w.postMessage({ type: 'start', peers });
    const session = new LinkSession(opened, workers, exited, requests, results.map((r) => Promise.race([r, failure])), stop, new Int32Array(idle), new Int32Array(done));
    failure.catch((e: LinkFailure) => {
      session.failure = e;
      session.endedBy?.();
      for (const w of session.waiting.values()) w.reject(e);
      session.waiting.clear();
    });
    return session;
  }

  /** The endpoints start: client cores open their connections (resolve their next hop first). */
  go(): void {
    for (const p of this.requests) p.postMessage({ type: 'go' } satisfies LinkRequest);
  }

  /** Client cores open no more connections; the open ones finish. */
  stopOpening(): void {
    for (const p of this.requests) p.postMessage({ type: 'stop-opening' } satisfies LinkRequest);
  }

  /** Every core's client endpoint is done (each connection it opened has ended). */
  get clientsDone(): boolean {
    return this.doneFlags.every((x) => x === 1);
  }

  /** Our link-local IPv6 address (fe80:: and the MAC's modified EUI-64). */
  get linkLocal(): string {
    const m = parseMac(this.opened.mac);
    const b = new Uint8Array(16);
    b.set([0xfe, 0x80], 0);
    b.set([m[0]! ^ 2, m[1]!, m[2]!, 0xff, 0xfe, m[3]!, m[4]!, m[5]!], 8);
    return formatAddress(b);
  }

  /**
   * The next hop of `address`: core `core` (default 0) resolves it (the other cores' caches learn
   * the answer from its copies, or resolve it themselves when asked).
   */
  resolve(address: string, core = 0): Promise<ResolveResult> {
    if (this.failure) return Promise.reject(this.failure);
    const bytes = parseAddress(address).bytes;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.requests[core]!.postMessage({ type: 'resolve', id, address: bytes } satisfies LinkRequest);
    });
  }

  /**
   * Stops every core (what each has in its transmit slot is sent first), collects their counters,
   * reads the port's, closes the port and EAL. Throws LinkFailure if a core failed.
   */
  stop(): Promise<LinkReport> {
    this.stopping ??= this.finish();
    return this.stopping;
  }

  private async finish(): Promise<LinkReport> {
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.stopFlag.stop();
    const { dpdk, port } = this.opened;
    let cores: LinkCoreResult[];
    try {
      cores = await Promise.all(this.results);
    } catch (e) {
      // A core failed: the others stop too (or are ended after a grace period); the port goes
      // down with what they left.
      const grace = setTimeout(() => this.workers.forEach((w) => void w.terminate()), 2000);
      await Promise.all(this.exited);
      clearTimeout(grace);
      for (const p of this.requests) p.close();
      try {
        closePort(dpdk, port.port);
      } catch {
        // nothing more to say than the failure itself
      }
      throw e;
    }
    await Promise.all(this.exited);
    for (const p of this.requests) p.close();
    const s = native(() => dpdk.stats(port.port));
    closePort(dpdk, port.port);
    dpdk.cleanup();
    return {
      total: addLinkStats(cores.map((c) => c.stats)), cores,
      dpdk: { ipackets: s.ipackets, opackets: s.opackets, imissed: s.imissed, ierrors: s.ierrors, oerrors: s.oerrors, rx_nombuf: s.rxNombuf },
    };
  }
}
