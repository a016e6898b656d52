/**
 * The per-core runner's controller: one worker thread per core (each with its own engine and flow
 * table), rings between them (the core that reads an input steers its packets to the others), and
 * the controller here, which never touches a packet: it sets the threads up, watches their
 * counters, merges what they report, and stops everything if one of them dies.
 */
import { Worker } from 'node:worker_threads';
import '../shared-builds.js';
import { compileEngine, Engine } from '../../core/engine.js';
import { RssplaneError, type ErrorCode } from '../../core/errors.js';
import { mergeHalves, type FlowRecord, type FlowStats } from '../../core/flows.js';
import { ControlBlock, Counter, type Role, type RunPlan } from './plan.js';
import { FlowTally, summarize, type RunReport } from './report.js';
import { StopFlag } from './ring.js';
import type { CoreInputs, CoreResult, WorkerInput } from './worker.js';

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
  /** aborted: live sources (DPDK) take no more input, and the run ends as if they had run dry */
  endInput?: AbortSignal;
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
  | Failed;

/** A worker thread and its messages, in order; failures reported once through `onFailure`. */
export class Thread<M extends { type: string } = FromWorker> {
  readonly worker: Worker;
  private queue: Array<M | Failed | { type: 'stopped' }> = [];
  private waiting: ((m: M | Failed | { type: 'stopped' }) => void) | undefined;
  exited = false;

  constructor(readonly name: string, readonly row: number, url: URL, data: unknown, onFailure: (t: Thread<M>, m: Failed) => void) {
    this.worker = new Worker(url, { workerData: data });
    this.worker.on('message', (m: M | Failed) => {
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
  const url = options.workerUrl ?? new URL('./runner-worker.js', import.meta.url);
  const { module, kernel } = await compileEngine(plan.kernel, true);
  const control = ControlBlock.create(plan.cores);
  const stop = new StopFlag();
  options.endInput?.addEventListener('abort', () => stop.endInput(), { once: true });
  if (options.endInput?.aborted) stop.endInput();
  let failure: { thread: Thread; message: Failed } | undefined;
  const onFailure = (thread: Thread, message: Failed) => {
    failure ??= { thread, message };
    stop.stop();
  };
  const spawn = (name: string, role: Role, row: number) =>
    new Thread(name, row, url, { role, plan, module, kernel, control: control.buffer, stop: stop.buffer, row }, onFailure);
  const cores = Array.from({ length: plan.cores }, (_, c) => spawn(`core ${c}`, { kind: 'core', core: c }, c));
  const threads = cores;

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
    const done = `it had taken ${control.get(f.thread.row, Counter.RECEIVED).toLocaleString('en-US')} packets (processed ` +
      `${control.get(f.thread.row, Counter.PROCESSED).toLocaleString('en-US')}, dropped ${control.get(f.thread.row, Counter.DROPPED).toLocaleString('en-US')})` +
      (control.get(f.thread.row, Counter.SENT) ? ` and sent ${control.get(f.thread.row, Counter.SENT).toLocaleString('en-US')} to other cores` : '');
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
    const t0 = performance.now();
    for (const t of threads) t.send({ type: 'start', peers });
    const drained = await Promise.all(cores.map((t) => expect(t, 'drained')));
    const now = drained.reduce((m, d) => (d.now > m ? d.now : m), 0n);
    for (const t of cores) t.send({ type: 'finish', now });
    const results = (await Promise.all(threads.map((t) => expect(t, 'done')))).map((m) => m.result);
    const seconds = (performance.now() - t0) / 1000;
    await Promise.all(threads.map((t) => t.worker.terminate()));

    const coreResults = results as CoreResult[];
    const tally = FlowTally.create();
    const records: FlowRecord[] = [];
    for (const r of coreResults) {
      FlowTally.merge(tally, r.tally);
      if (plan.records) records.push(...r.records);
    }
    const halves = coreResults.flatMap((r) => r.halves);
    if (halves.length) {
      const merged = mergeHalves(await Engine.create({ kernel: plan.kernel }), halves);
      FlowTally.add(tally, merged);
      if (plan.records) records.push(...merged);
    }
    const report = summarize(coreResults.map((r) => ({ core: r.core, stats: r.stats })), tally, seconds);
    const warnings = results.flatMap((r) => r.warnings);
    return { report, records, warnings, stats: coreResults.map((r) => r.stats) };
  } finally {
    if (ticker) clearInterval(ticker);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
