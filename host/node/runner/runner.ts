/**
 * The per-core runner's controller: one worker thread per core (each with its own engine and flow
 * table), rings between them (a core that takes packets for others steers them there), and the
 * controller here, which never touches a packet: it sets the threads up, watches their counters,
 * merges what they report, and stops everything if one of them dies. A one-core run of a capture
 * or of synthetic traffic runs its core here instead, on the main thread: no thread to start.
 */
import type { Worker } from 'node:worker_threads';
import { compileEngine, Engine } from '../../core/engine.js';
import { RssplaneError, type ErrorCode } from '../../core/errors.js';
import { FlowTally, SplitFlowMerger, type FlowRecord, type FlowStats } from '../../core/flows.js';
import { CoreRun, Stopped, type CoreInputs, type CoreResult } from './core.js';
import { ControlBlock, Counter, mergesWhileRunning, type Role, type RunPlan } from './plan.js';
import { summarize, type RunReport } from './report.js';
import { clock, StopFlag, TurnTable } from './ring.js';
import type { WorkerInput } from './worker.js';
import { grouped } from '../../core/format.js';
import type { RunProbe } from '../metrics/probe.js';
import type { CoreShare } from '../export/ipfix-targets.js';

export interface Progress {
  packets: number;
  /** capture bytes read so far */
  inputBytes: number;
  conversations: number;
}

export interface RunOptions {
  /** the worker script (dist/runner-worker.js, next to the bundled CLI) */
  workerUrl?: URL;
  /** called every `progressMs` while the run goes */
  onProgress?: (p: Progress) => void;
  progressMs?: number;
  /** aborted: live sources (DPDK, synthetic) take no more input, and the run ends as if they had run dry */
  endInput?: AbortSignal;
  /** IPFIX messages the engines encoded (plan.ipfix), unstamped: host/node/export/ipfix-targets.ts */
  onIpfix?: (messages: Uint8Array) => void;
  /**
   * Core threads send to the UDP targets themselves (ipfix-targets.ts CoreExport): what they
   * need, and where the messages they still hand on (for file and TCP targets) go instead of
   * onIpfix. A core on the main thread writes through onIpfix.
   */
  coreIpfix?: { share: CoreShare; onIpfix: (messages: Uint8Array) => void };
  /** called once the cores are set up, with where their counters are (live metrics read them there) */
  onCores?: (probe: RunProbe) => void;
}

export interface RunResult {
  report: RunReport;
  /** every flow's record, split halves merged (when the plan asks for records) */
  records: FlowRecord[];
  warnings: string[];
  /** each core's counters, in core order (per-bucket detail included: `rssplane advise` reads it) */
  stats: FlowStats[];
}

/**
 * A thread failed. `user`: the input was at fault (a damaged capture...), keep its code; else a
 * thread crashed, and the message says which and what it had done; `detail` holds its stack.
 */
export class RunFailure extends RssplaneError {
  constructor(code: ErrorCode, message: string, readonly user: boolean, readonly detail?: string) {
    super(code, message, 'run');
  }
}

/** What a thread says when it fails (or the runtime says it for the thread). */
export type Failed = { type: 'failed'; user: boolean; code?: ErrorCode; message: string; stack?: string };

type FromWorker =
  | { type: 'ready'; memory: SharedArrayBuffer; rings: Record<string, number>; doorbell: number }
  | { type: 'drained'; now: bigint }
  | { type: 'done'; result: CoreResult | { warnings: string[] } }
  | { type: 'stopped' }
  | { type: 'ipfix'; messages: Uint8Array[] }
  | { type: 'halves'; core: number; halves: Uint8Array[]; now: bigint }
  | Failed;

/** A worker thread and its messages, in order; failures reported once through `onFailure`. */
export class Thread<M extends { type: string } = FromWorker> {
  readonly worker: Worker;
  private queue: Array<M | Failed | { type: 'stopped' }> = [];
  private waiting: ((m: M | Failed | { type: 'stopped' }) => void) | undefined;
  exited = false;

  /** `Worker`: node:worker_threads' class, which the caller loaded (a one-core run never does). */
  constructor(Worker: typeof import('node:worker_threads').Worker, readonly name: string, readonly row: number, url: URL, data: unknown,
    onFailure: (t: Thread<M>, m: Failed) => void) {
    this.worker = new Worker(url, { workerData: data });
    this.worker.on('message', (m: M | Failed) => {
      if (m.type === 'ipfix' || m.type === 'halves') return; // runPlan's own listener takes them
      if (m.type === 'failed') onFailure(this, m as Failed);
      this.push(m);
    });
    this.worker.on('error', (e) => {
      const m = { type: 'failed' as const, user: false, message: e.message, stack: e.stack };
      onFailure(this, m);
      this.push(m);
    });
    this.worker.on('exit', (code) => {
      this.exited = true;
      if (code !== 0) {
        const m = { type: 'failed' as const, user: false, message: `exited with status ${code}` };
        onFailure(this, m);
        this.push(m);
      }
      this.push({ type: 'stopped' });
    });
  }

  private push(m: M | Failed | { type: 'stopped' }): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(m);
    } else {
      this.queue.push(m);
    }
  }

  next(): Promise<M | Failed | { type: 'stopped' }> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  send(m: unknown): void {
    this.worker.postMessage(m);
  }
}

/** Runs `plan` to the end. Throws RunFailure when a thread fails (user errors keep their code). */
export async function runPlan(plan: RunPlan, options: RunOptions = {}): Promise<RunResult> {
  // A live port's threads register with DPDK's EAL; everything else on one core runs here.
  if (plan.cores === 1 && plan.source.kind !== 'dpdk') return runInline(plan, options);
  await import('../shared-builds.js');
  const { Worker } = await import('node:worker_threads');
  const url = options.workerUrl ?? new URL('./runner-worker.js', import.meta.url);
  const { module, kernel } = await compileEngine(plan.kernel, true);
  const control = ControlBlock.create(plan.cores);
  const stop = new StopFlag();
  const turns = TurnTable.create(plan.cores);
  options.endInput?.addEventListener('abort', () => stop.endInput(), { once: true });
  if (options.endInput?.aborted) stop.endInput();
  let failure: { thread: Thread; message: Failed } | undefined;
  const onFailure = (thread: Thread, message: Failed) => {
    failure ??= { thread, message };
    stop.stop();
  };
  const spawn = (name: string, role: Role, row: number) =>
    new Thread(Worker, name, row, url, { role, plan, module, kernel, control: control.buffer, stop: stop.buffer, turns: turns.buffer, row, ipfix: options.coreIpfix?.share } satisfies WorkerInput, onFailure);
  const cores = Array.from({ length: plan.cores }, (_, c) => spawn(`core ${c}`, { kind: 'core', core: c }, c));
  const threads = cores;
  const merging = mergesWhileRunning(plan) ? await LiveMerge.create(plan, options) : undefined;
  for (const t of threads) {
    t.worker.on('message', (m: FromWorker) => {
      if (m.type === 'ipfix') for (const x of m.messages) (options.coreIpfix?.onIpfix ?? options.onIpfix)?.(x);
      else if (m.type === 'halves') {
        try {
          merging?.take(m.core, m.halves, m.now);
        } catch (e) {
          // (Halves that do not fit the merging engine's memory: the run ends with that message.)
          const user = e instanceof RssplaneError;
          onFailure(t, { type: 'failed', user, code: user ? e.code : undefined, message: (e as Error).message, stack: (e as Error).stack });
        }
      }
    });
  }

  const ticker = options.onProgress ? setInterval(() => options.onProgress!({
    packets: control.total(Counter.RECEIVED), inputBytes: control.total(Counter.INPUT_BYTES), conversations: control.total(Counter.CONVERSATIONS),
  }), options.progressMs ?? 200) : undefined;

  /** The next message of `t` of the wanted type; a failure anywhere ends the run. */
  const expect = async <T extends FromWorker['type']>(t: Thread, type: T): Promise<FromWorker & { type: T }> => {
    const m = await t.next();
    if (m.type !== type) throw await fail();
    return m as FromWorker & { type: T };
  };
  const fail = async (): Promise<RunFailure> => {
    stop.stop();
    // Every wait in the threads polls the stop flag; give them a moment, then end them.
    await Promise.race([Promise.all(threads.map((t) => (t.exited ? null : new Promise((r) => t.worker.once('exit', r))))), sleep(2000)]);
    await Promise.all(threads.map((t) => t.worker.terminate()));
    const f = failure;
    if (!f) return new RunFailure('EFAULT', 'the run stopped without saying why', false);
    const m = f.message;
    const done = `it had taken ${grouped(control.get(f.thread.row, Counter.RECEIVED))} packets (processed ` +
      `${grouped(control.get(f.thread.row, Counter.PROCESSED))}, dropped ${grouped(control.get(f.thread.row, Counter.DROPPED))})` +
      (control.get(f.thread.row, Counter.SENT) ? ` and sent ${grouped(control.get(f.thread.row, Counter.SENT))} to other cores` : '');
    if (m.user) return new RunFailure(m.code ?? 'EINVAL', m.message, true);
    return new RunFailure('EFAULT', `${f.thread.name} failed: ${m.message}; ${done}`, false, m.stack);
  };

  try {
    const ready = await Promise.all(threads.map((t) => expect(t, 'ready')));
    const peers: Record<number, CoreInputs> = {};
    cores.forEach((_, c) => {
      const r = ready[c]!;
      peers[c] = { memory: r.memory, rings: r.rings, doorbell: r.doorbell };
    });
    options.onCores?.({
      queues: plan.queueCores.length, flowCapacity: plan.flows.capacity, reta: plan.rss.table,
      cores: cores.map((_, c) => ({ core: c, memory: () => ready[c]!.memory, rings: Object.values(ready[c]!.rings) })),
    });
    const t0 = clock();
    for (const t of threads) t.send({ type: 'start', peers });
    const drained = await Promise.all(cores.map((t) => expect(t, 'drained')));
    const now = drained.reduce((m, d) => (d.now > m ? d.now : m), 0n);
    for (const t of cores) t.send({ type: 'finish', now });
    const results = (await Promise.all(threads.map((t) => expect(t, 'done')))).map((m) => m.result);
    const seconds = (clock() - t0) / 1000;
    await Promise.all(threads.map((t) => t.worker.terminate()));

    return await gather(plan, results as CoreResult[], seconds, options, merging);
  } finally {
    merging?.merger.release();
    if (ticker) clearInterval(ticker);
  }
}

/**
 * Split flows' halves merged while a live run goes: the cores hand their halves over every
 * moment with their packet time, and about once a second the halves that came are paired, their
 * records written out and counted; only a half whose partner may still come is held. Its partner
 * has left the other core's table by the time that core's clock is an idle timeout past the
 * partner's last packet (the sweep visits a table's flows within a few hundred batches); a half is
 * held until every core's clock is an idle timeout and a half past its own last packet, so a
 * partner whose last packet came up to half an idle timeout after it still finds it (the two
 * directions of a connection end together: a FIN answers a FIN, and an idle flow is idle both
 * ways). A live run then holds the halves of its last moments, not of its life.
 */
class LiveMerge {
  private readonly nows: bigint[];
  private readonly hold: bigint;
  private mergedAt = clock();
  /** records merged so far (plan.records) */
  readonly records: FlowRecord[] = [];

  private constructor(private readonly plan: RunPlan, private readonly options: RunOptions, readonly merger: SplitFlowMerger) {
    this.nows = new Array<bigint>(plan.cores).fill(-1n);
    this.hold = BigInt(Math.ceil(plan.flows.idleTimeout * 1.5e9));
  }

  static async create(plan: RunPlan, options: RunOptions): Promise<LiveMerge> {
    const merger = new SplitFlowMerger(await Engine.create({ kernel: plan.kernel }), { records: plan.records, ...(plan.ipfix ? { ipfix: plan.ipfix } : {}) });
    return new LiveMerge(plan, options, merger);
  }

  take(core: number, halves: Uint8Array[], now: bigint): void {
    this.merger.add(halves);
    if (now > this.nows[core]!) this.nows[core] = now;
    if (clock() - this.mergedAt < LIVE_MERGE_MS || this.merger.pending === 0) return;
    this.mergedAt = clock();
    const time = this.nows.reduce((m, t) => (t < m ? t : m));
    const from = time - this.hold;
    if (from <= 0n) return;
    this.written(this.merger.merge(from));
  }

  /** The run's end: every half left, paired where it can be. */
  finish(halves: Uint8Array[]): void {
    this.merger.add(halves);
    this.written(this.merger.merge());
  }

  private written(merged: { records: FlowRecord[]; ipfix: Uint8Array[] }): void {
    if (this.plan.records) for (const r of merged.records) this.records.push(r);
    for (const x of merged.ipfix) this.options.onIpfix?.(x);
  }
}

const LIVE_MERGE_MS = 1000;

/** The run's report from its cores' results: tallies added, split flows' halves merged (in WASM). */
async function gather(plan: RunPlan, results: readonly CoreResult[], seconds: number, options: RunOptions = {}, live?: LiveMerge): Promise<RunResult> {
  const tally = FlowTally.create();
  const records: FlowRecord[] = [];
  for (const r of results) {
    FlowTally.merge(tally, r.tally);
    if (plan.records) for (const x of r.records) records.push(x);
  }
  // Core order, as mergeSplitFlows pairs them.
  const halves = [...results].sort((a, b) => a.core - b.core).flatMap((r) => r.halves);
  if (halves.length || live) {
    try {
      const merging = live ?? await LiveMerge.create(plan, options);
      try {
        merging.finish(halves);
        FlowTally.merge(tally, merging.merger.tally());
        for (const x of merging.records) records.push(x);
      } finally {
        if (!live) merging.merger.release();
      }
    } catch (e) {
      throw e instanceof RssplaneError ? new RunFailure(e.code, e.message, true) : e;
    }
  }
  const report = summarize(results.map((r) => ({ core: r.core, stats: r.stats })), tally, seconds);
  return { report, records, warnings: results.flatMap((r) => r.warnings), stats: [...results].sort((a, b) => a.core - b.core).map((r) => r.stats) };
}

/**
 * One core on the main thread: no worker thread, no rings (its engine's memory is shared all the
 * same: see below). The core yields to the event loop every `progressMs` or so, so that the
 * progress bar still moves.
 */
async function runInline(plan: RunPlan, options: RunOptions): Promise<RunResult> {
  const control = ControlBlock.create(1);
  const stop = new StopFlag();
  options.endInput?.addEventListener('abort', () => stop.endInput(), { once: true });
  if (options.endInput?.aborted) stop.endInput();
  const ticker = options.onProgress ? setInterval(() => options.onProgress!({
    packets: control.total(Counter.RECEIVED), inputBytes: control.total(Counter.INPUT_BYTES), conversations: control.total(Counter.CONVERSATIONS),
  }), options.progressMs ?? 200) : undefined;
  try {
    const t0 = clock();
    let result: CoreResult;
    try {
      // Shared memory (the shared build), though no other thread sees it: V8 counts each growth
      // of a private memory as new external memory (the whole memory again), and past its limit
      // (64 MB over what the last collection left) starts a full garbage collection; configuring
      // the flow table grows the memory several times: three collections on short-500k, 18 ms of
      // pauses on this thread (--trace-gc: "external memory pressure"). A shared memory's growth
      // is not counted.
      await import('../shared-builds.js');
      const engine = await Engine.create({ kernel: plan.kernel, shared: true });
      const core = new CoreRun({ plan, core: 0, engine, control, row: 0, stop, onIpfix: (m) => m.forEach((x) => options.onIpfix?.(x)) });
      core.connect({});
      options.onCores?.({ queues: plan.queueCores.length, flowCapacity: plan.flows.capacity, reta: plan.rss.table, cores: [{ core: 0, memory: () => engine.memory.buffer, rings: [] }] });
      // Timers (progress, live view, --duration), Ctrl-C, scrapes and IPFIX sockets run between batches.
      const turns = ticker || options.onCores || options.endInput;
      await core.input(turns ? Math.min(options.progressMs ?? 200, 100) : plan.ipfix ? 20 : undefined);
      result = core.finish(core.now);
    } catch (e) {
      if (e instanceof RssplaneError) throw new RunFailure(e.code, e.message, true);
      if (e instanceof Stopped) throw new RunFailure('EFAULT', 'the run stopped without saying why', false);
      const done = `it had taken ${grouped(control.get(0, Counter.RECEIVED))} packets (processed ` +
        `${grouped(control.get(0, Counter.PROCESSED))}, dropped ${grouped(control.get(0, Counter.DROPPED))})`;
      throw new RunFailure('EFAULT', `core 0 failed: ${(e as Error).message}; ${done}`, false, (e as Error).stack);
    }
    return await gather(plan, [result], (clock() - t0) / 1000, options);
  } finally {
    if (ticker) clearInterval(ticker);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
