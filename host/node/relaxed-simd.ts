/**
 * Relaxed SIMD for the engine's compiles, on a Node that keeps it behind a V8 flag (Node 20:
 * --experimental-wasm-relaxed-simd; later Nodes have it on and this does nothing).
 *
 * The flag is on only while an engine build is validated or compiled, not for the whole process.
 * V8 takes a code cache only when it was written under the same flags, and Node's own built-in
 * modules come with caches written under none: with the flag on, every built-in a process loads
 * afterwards is parsed and compiled from its source instead (node:worker_threads 9 ms instead of
 * 4 here; a worker thread's start, which loads dozens of them, 90 ms instead of 60). A module
 * compiled with the flag keeps relaxed SIMD when it is off again, in this thread and in the
 * worker threads it is posted to, so nothing else needs it.
 *
 * The command's own caches follow: dist/cli-main.js.cache is written and read without the flag,
 * the engine's code caches (host/node/wasm-cache.ts) with it. RSSPLANE_KERNEL=simd never turns
 * it on, so runs take the baseline kernel.
 *
 * Importing this module registers the scope.
 */
import { RELAXED_PROBE, registerFeatureScope } from '../core/engine.js';
import { loadAddon } from './addons.js';

const FLAG = 'experimental-wasm-relaxed-simd';

/**
 * V8's flags, set as `node --flag` would: the wasm cache addon's call, else node:v8's (which loads
 * Node's stream library, 5 ms of a start). Neither in an ES module without the addon (no require
 * to load node:v8 with at once): its engines take the baseline kernel.
 */
function flagSetter(): ((flags: string) => void) | undefined {
  const addon = loadAddon<{ setFlags(flags: string): void }>('rssplane_wasm_cache.node');
  if (addon) return (flags) => addon.setFlags(flags);
  return typeof require === 'function' ? (require('node:v8') as typeof import('node:v8')).setFlagsFromString : undefined;
}

/** How to set the flag, where this Node needs it (it does not validate relaxed SIMD without). */
const setFlags = process.env.RSSPLANE_KERNEL !== 'simd' && !WebAssembly.validate(RELAXED_PROBE) ? flagSetter() : undefined;

if (setFlags) {
  let depth = 0;
  registerFeatureScope({
    enter() {
      if (depth++ === 0) setFlags(`--${FLAG}`);
    },
    leave() {
      if (--depth === 0) setFlags(`--no-${FLAG}`);
    },
  });
}
