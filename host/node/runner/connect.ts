/**
 * The controller of a connect run: client and server endpoint threads joined by the in-memory
 * wire (rings). Like the runner's controller it never touches a packet: it starts the threads,
 * hands each the others' rings, watches the control block (progress, which clients are done),
 * ends the opening of connections when the duration is up, tells every thread to finish once all
 * clients are done, and merges what they report. A thread that fails stops the run (RunFailure).
 */
import '../shared-builds.js';
import { compileEngine } from '../../core/engine.js';
import { Histogram } from '../../core/histogram.js';
import { pcapHeader } from '../../core/wire.js';
import type { ConnectPlan, EndpointResult, EndpointRole } from './connect-plan.js';
import { threadName } from './connect-plan.js';
import { ControlBlock, Counter, ThreadState } from './plan.js';
import { StopFlag } from './ring.js';
import { RunFailure, Thread, type Failed } from './runner.js';
import type { CoreInputs } from './worker.js';

type FromWorker =
  | { type: 'ready'; memory: SharedArrayBuffer; rings: Record<string, number>; doorbell: number }
  | { type: 'done'; result: EndpointResult }
  | { type: 'stopped' }
  | Failed;

export interface ConnectProgress {
  connections: number;
  requests: number;
  segments: number;
  clientsDone: number;
}

export interface ConnectOptions {
  workerUrl?: URL;
  onProgress?: (p: ConnectProgress) => void;
  progressMs?: number;
  /** stop opening connections after this long (the open ones finish) */
  durationMs?: number;
  /** aborted: stop opening connections (Ctrl-C) */
  endInput?: AbortSignal;
}

export interface ConnectResult {
  clients: EndpointResult[];
  servers: EndpointResult[];
  /** start to the last client core's end, s */
  seconds: number;
  latency: Histogram;
  connectTime: Histogram;
  /** a pcap file of every frame on the wire, when the plan asked */
  pcap?: Uint8Array;
}

export async function runConnect(plan: ConnectPlan, options: ConnectOptions = {}): Promise<ConnectResult> {
  const { Worker } = await import('node:worker_threads');
  const url = options.workerUrl ?? new URL('./connect-worker.mjs', import.meta.url);
  const { module, kernel } = await compileEngine(plan.kernel, true);
  const roles: EndpointRole[] = [
    ...Array.from({ length: plan.clientCores }, (_, core) => ({ side: 'client' as const, core })),
    ...Array.from({ length: plan.serverCores }, (_, core) => ({ side: 'server' as const, core })),
  ];
  const control = ControlBlock.create(roles.length);
  const stop = new StopFlag();
  const phase = new SharedArrayBuffer(8);
  const phaseWord = new Int32Array(phase, 0, 1);
  const ending = () => stop.endInput();
  options.endInput?.addEventListener('abort', ending, { once: true });
  if (options.endInput?.aborted) ending();
  let failure: { thread: Thread<FromWorker>; message: Failed } | undefined;
  const threads = roles.map((role, row) => new Thread<FromWorker>(Worker, threadName(role), row, url,
    { role, plan, module, kernel, control: control.buffer, stop: stop.buffer, phase, row }, (thread, message) => {
      failure ??= { thread, message };
      stop.stop();
    }));

  const fail = async (): Promise<RunFailure> => {
    stop.stop();
    await Promise.race([Promise.all(threads.map((t) => (t.exited ? null : new Promise((r) => t.worker.once('exit', r))))), sleep(2000)]);
    await Promise.all(threads.map((t) => t.worker.terminate()));
    const f = failure;
    if (!f) return new RunFailure('EFAULT', 'the run stopped without saying why', false);
    const m = f.message;
    const row = f.thread.row;
    const did = `it had taken ${control.get(row, Counter.RECEIVED).toLocaleString('en-US')} segments and sent ${control.get(row, Counter.SENT).toLocaleString('en-US')}`;
    if (m.user) return new RunFailure(m.code ?? 'EINVAL', m.message, true);
    return new RunFailure('EFAULT', `${f.thread.name} failed: ${m.message}; ${did}`, false, m.stack);
  };
  const expect = async <T extends FromWorker['type']>(t: Thread<FromWorker>, type: T): Promise<FromWorker & { type: T }> => {
    const m = await t.next();
    if (m.type !== type) throw await fail();
    return m as FromWorker & { type: T };
  };

  let ticker: ReturnType<typeof setInterval> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const ready = await Promise.all(threads.map((t) => expect(t, 'ready')));
    const peers: Record<string, CoreInputs> = {};
    threads.forEach((t, i) => {
      const r = ready[i]!;
      peers[t.name] = { memory: r.memory, rings: r.rings, doorbell: r.doorbell };
    });
    for (const t of threads) t.worker.postMessage({ type: 'start', peers });
    if (options.durationMs !== undefined) timer = setTimeout(ending, options.durationMs);
    const clientRows = roles.flatMap((r, row) => (r.side === 'client' ? [row] : []));
    const serverRows = roles.flatMap((r, row) => (r.side === 'server' ? [row] : []));
    const progress = (): ConnectProgress => ({
      connections: clientRows.reduce((s, row) => s + control.get(row, Counter.CONVERSATIONS), 0),
      requests: serverRows.reduce((s, row) => s + control.get(row, Counter.CONVERSATIONS), 0),
      segments: control.total(Counter.RECEIVED),
      clientsDone: clientRows.filter((row) => control.get(row, Counter.STATE) === ThreadState.DRAINED).length,
    });
    if (options.onProgress) ticker = setInterval(() => options.onProgress!(progress()), options.progressMs ?? 200);
    // Every client core done (or a thread failed): the run is over.
    while (progress().clientsDone < plan.clientCores) {
      if (failure || stop.stopped) throw await fail();
      await sleep(5);
    }
    Atomics.store(phaseWord, 0, 1);
    const results = (await Promise.all(threads.map((t) => expect(t, 'done')))).map((m) => m.result);
    await Promise.all(threads.map((t) => t.worker.terminate()));
    const clients = results.filter((r) => r.side === 'client');
    const servers = results.filter((r) => r.side === 'server');
    const started = Math.min(...clients.map((r) => r.startedAt));
    const finished = Math.max(...clients.map((r) => r.doneAt ?? r.startedAt));
    const latency = new Histogram(), connectTime = new Histogram();
    for (const r of clients) {
      latency.add(new Histogram(r.latency, r.latencyMax));
      connectTime.add(new Histogram(r.connectTime, r.connectMax));
    }
    return {
      clients, servers, seconds: Math.max(finished - started, 1e-3) / 1000, latency, connectTime,
      pcap: plan.pcap ? mergePcap(results) : undefined,
    };
  } finally {
    if (ticker) clearInterval(ticker);
    if (timer) clearTimeout(timer);
    options.endInput?.removeEventListener('abort', ending);
  }
}

/**
 * One pcap of what every thread sent, in time order: each thread's records are in order, so a
 * merge by timestamp (records read at the end, for a debug capture) restores the wire's order.
 */
function mergePcap(results: EndpointResult[]): Uint8Array {
  type Cursor = { chunks: Uint8Array[]; chunk: number; at: number };
  const cursors: Cursor[] = results.map((r) => ({ chunks: (r.pcap ?? []).filter((c) => c.length), chunk: 0, at: 0 }));
  const ts = (c: Cursor) => {
    const b = c.chunks[c.chunk]!;
    const v = new DataView(b.buffer, b.byteOffset + c.at, 16);
    return v.getUint32(0, true) * 1e9 + v.getUint32(4, true);
  };
  const parts: Uint8Array[] = [pcapHeader()];
  for (;;) {
    let best: Cursor | undefined;
    for (const c of cursors) if (c.chunk < c.chunks.length && (!best || ts(c) < ts(best))) best = c;
    if (!best) break;
    const b = best.chunks[best.chunk]!;
    const length = new DataView(b.buffer, b.byteOffset + best.at + 8, 4).getUint32(0, true);
    parts.push(b.subarray(best.at, best.at + 16 + length));
    best.at += 16 + length;
    if (best.at >= b.length) {
      best.chunk++;
      best.at = 0;
    }
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
