/**
 * One thread of a run: a core (core.ts), with its flow engine in shared memory so that the other
 * cores can fill its rings.
 *
 * Handshake with the controller (runner.ts):
 *   controller -> worker  workerData: role, plan, compiled module, control block, stop flag
 *   worker -> controller  { type: 'ready', memory, rings, doorbell }   (setup done: no more allocation)
 *   controller -> worker  { type: 'start', peers }                     (every thread's rings)
 *   worker -> controller  { type: 'halves', core, halves, now }        (a live run's split halves, as they come)
 *   worker -> controller  { type: 'ipfix', messages }                  (IPFIX messages for the main thread's targets)
 *   worker -> controller  { type: 'drained', now }                     (input exhausted)
 *   controller -> worker  { type: 'finish', now }                      (the run's last timestamp)
 *   worker -> controller  { type: 'done', result } | { type: 'failed', ... }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Engine, engineMemory, type Kernel } from '../../core/engine.js';
import '../huge-pages.js';
import { RssplaneError } from '../../core/errors.js';
import type { CoreShare } from '../export/ipfix-targets.js';
import { CoreRun, Stopped, type CoreInputs } from './core.js';
import { ControlBlock, Counter, mergesWhileRunning, ThreadState, type Role, type RunPlan } from './plan.js';
import { StopFlag, TurnTable } from './ring.js';

export type { CoreInputs, CoreResult } from './core.js';

export interface WorkerInput {
  role: Role;
  plan: RunPlan;
  module: WebAssembly.Module;
  kernel: Kernel;
  control: SharedArrayBuffer;
  stop: SharedArrayBuffer;
  /** a capture file walked in turns (TurnTable) */
  turns: SharedArrayBuffer;
  /** this thread's row in the control block */
  row: number;
  /** IPFIX: the UDP targets this thread sends to itself (the others are the controller's) */
  ipfix?: CoreShare | undefined;
}

/**
 * A core with sockets of its own gives its event loop a turn this often, so that their sends
 * complete (and its queues empty) while it runs.
 */
const SOCKET_TURN_MS = 20;

type Message = { type: 'start'; peers: Record<number, CoreInputs> } | { type: 'finish'; now: bigint };

const input = workerData as WorkerInput;
const control = new ControlBlock(input.control, input.plan.cores);
const stop = new StopFlag(input.stop);
const row = input.row;
const messages: Message[] = [];
let wake: (() => void) | undefined;
parentPort!.on('message', (m: Message) => {
  messages.push(m);
  wake?.();
});

function nextMessage(): Promise<Message> {
  const m = messages.shift();
  if (m) return Promise.resolve(m);
  return new Promise((resolve) => {
    wake = () => {
      wake = undefined;
      resolve(messages.shift()!);
    };
  });
}

async function runCore(core: number) {
  const engine = await Engine.instantiate(input.module, input.kernel, engineMemory(true));
  // UDP targets: this core stamps and sends its messages itself, on sockets of its own.
  // (the export's modules, sockets and all, load only in a thread that exports)
  const exporter = input.ipfix ? await (await import('../export/ipfix-targets.js')).CoreExport.open(input.ipfix) : undefined;
  const run = new CoreRun({
    plan: input.plan, core, engine, control, row, stop, turns: new TurnTable(input.turns, input.plan.cores),
    // IPFIX messages for files and TCP go to the controller, which owns those (bytes moved, not copied).
    onIpfix: (messages) => {
      if (!exporter || exporter.write(messages)) parentPort!.postMessage({ type: 'ipfix', messages }, messages.map((m) => m.buffer as ArrayBuffer));
    },
    // A live run's split halves go to the controller as they come (runner.ts LiveMerge).
    ...(mergesWhileRunning(input.plan) ? {
      onHalves: (halves: Uint8Array[], now: bigint) => parentPort!.postMessage({ type: 'halves', core, halves, now }, halves.map((h) => h.buffer as ArrayBuffer)),
    } : {}),
  });
  // Setup is over: other threads may now hold this memory's buffer.
  parentPort!.postMessage({ type: 'ready', memory: engine.sharedBuffer, rings: run.rings, doorbell: run.doorbellAt });
  const start = await nextMessage();
  if (start.type !== 'start') throw new Error(`expected start, got ${start.type}`);
  run.connect(start.peers);
  await run.input(exporter ? SOCKET_TURN_MS : undefined);
  parentPort!.postMessage({ type: 'drained', now: run.now });
  const finish = await nextMessage();
  if (finish.type !== 'finish') throw new Error(`expected finish, got ${finish.type}`);
  const result = run.finish(finish.now);
  // Nothing lost at the end: the sockets take what is queued (a bounded wait) before the core is done.
  await exporter?.close();
  return result;
}

runCore(input.role.core).then((result) => {
  control.set(row, Counter.STATE, ThreadState.DONE);
  // The halves' bytes move to the controller rather than being copied.
  parentPort!.postMessage({ type: 'done', result }, result.halves.map((h) => h.buffer as ArrayBuffer));
}, (e: unknown) => {
  control.set(row, Counter.STATE, ThreadState.FAILED);
  if (e instanceof Stopped) {
    parentPort!.postMessage({ type: 'stopped' });
  } else {
    stop.stop();
    const user = e instanceof RssplaneError;
    parentPort!.postMessage({ type: 'failed', user, code: user ? e.code : undefined, message: (e as Error).message, stack: (e as Error).stack });
  }
});
