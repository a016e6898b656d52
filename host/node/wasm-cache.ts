/**
 * The engine's optimised machine code, kept between runs beside the engine's builds
 * (dist/rssplane.relaxed.wasm.cache and the like), as dist/cli-main.js.cache keeps the command's
 * JavaScript (host/node/launch.cjs).
 *
 * V8 compiles the engine lazily with its baseline compiler, and recompiles the functions that
 * turn out hot with its optimising one, in the background. Every run used to pay for both: its
 * first batches ran baseline code while a second vCPU spent 27-45 ms here optimising
 * processBatch and its callees. With the optimised code read back, a run's packets meet it from
 * the first batch (issue 15: the short-connection capture's engine time went from about 60 to
 * about 45 ms, BENCHMARKS.md).
 *
 * Node's JavaScript cannot write a compiled module out or read one back; the small addon
 * native/wasm-cache (V8's C++ API: CompiledWasmModule::Serialize, and a streaming compile given
 * those bytes, as Chrome's code cache does) can. V8 takes a cache only when the same V8, on a
 * processor with the same features and under the same flags, wrote it; otherwise the engine
 * compiles as it would have without one, and a new cache is written at exit.
 *
 * The build writes each cache from a run on a capture (scripts/build-native.mjs). A run writes
 * its module's code at exit when it holds more than the cache did (none, refused, or fewer
 * functions optimised), unless Node has flags of its own or the baseline kernel was asked for
 * (RSSPLANE_KERNEL=simd): the usual runs would refuse what such a run writes. Looking costs a
 * third of a millisecond at exit. RSSPLANE_WASM_CACHE=off compiles without a cache; =write
 * compiles without reading one and, once the background compiles have ended, writes one at exit
 * when it holds more than the file there.
 * Without the addon, nothing changes.
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerModuleCompiler, withEngineFeatures } from '../core/engine.js';
import { loadAddon } from './addons.js';
import { nodeWithoutFlags, sleepSync } from './io.js';

interface WasmCacheAddon {
  /** Makes this thread's WebAssembly.compileStreaming take [module bytes, cache bytes]. */
  install(): void;
  /** The module's optimised code as V8 writes it out, or undefined. */
  serialize(module: WebAssembly.Module): Uint8Array | undefined;
  /** What the compile rejects with when V8 refuses the cache. */
  readonly REFUSED: string;
}

const setting = process.env.RSSPLANE_WASM_CACHE;

/** Where build `name`'s cache is: beside the build, which sits beside the bundle. */
function cachePath(name: string): string {
  return join(import.meta.dirname, `${name}.cache`);
}

/** Whether this process may write a cache the usual runs will read (see the module comment). */
function writesCache(): boolean {
  return setting === 'write' || (nodeWithoutFlags() && process.env.RSSPLANE_KERNEL !== 'simd');
}

/**
 * At exit, the module's optimised code is written to `path` when it holds more than the cache
 * read at the start (`read`: its size, 0 for none or refused), so that a cache comes to hold
 * what the runs optimise: a run that read one has those functions optimised from the start, adds
 * the ones it optimised itself, and writes the union. Written whole or not at all (a new file
 * renamed over the old one). With RSSPLANE_WASM_CACHE=write (the build), the exit first waits,
 * up to a second, for the background compiles to end, so that a short run's cache is complete,
 * and compares with the file there (a run that compiles another build too, such as the merging
 * engine of a run on all cores, does not replace a fuller cache of it).
 */
function writeAtExit(addon: WasmCacheAddon, path: string, module: WebAssembly.Module, read: number): void {
  process.once('exit', () => {
    const temporary = `${path}.${process.pid}`;
    try {
      // Under the flags it will be read under (host/node/relaxed-simd.ts): V8 writes them in it.
      let bytes = withEngineFeatures(() => addon.serialize(module));
      if (setting === 'write') bytes = settled(addon, module, bytes);
      if (!bytes || bytes.length <= (setting === 'write' ? sizeOf(path) : read)) return;
      writeFileSync(temporary, bytes);
      renameSync(temporary, path);
    } catch {
      // Best effort: an install its user may not write to runs without a new cache.
      rmSync(temporary, { force: true });
    }
  });
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The module's code once two looks 50 ms apart find no more of it optimised (at most a second). */
function settled(addon: WasmCacheAddon, module: WebAssembly.Module, bytes: Uint8Array | undefined): Uint8Array | undefined {
  for (let i = 0; i < 20; i++) {
    sleepSync(50);
    const later = withEngineFeatures(() => addon.serialize(module));
    if (later?.length === bytes?.length) return later;
    bytes = later;
  }
  return bytes;
}

const addon = setting === 'off' ? null : loadAddon<WasmCacheAddon>('rssplane_wasm_cache.node');

if (addon) {
  registerModuleCompiler(async (name, bytes, compile) => {
    const path = cachePath(name);
    let cache: Buffer | undefined;
    try {
      cache = readFileSync(path);
    } catch {
      // none yet
    }
    let module: WebAssembly.Module | undefined;
    if (cache && setting !== 'write') {
      addon.install();
      try {
        // The addon's streaming callback takes the bytes as they are: nothing is fetched.
        module = await WebAssembly.compileStreaming([bytes, cache] as unknown as Response);
      } catch (e) {
        if (e !== addon.REFUSED) throw e;
      }
    }
    const read = module ? cache!.length : 0;
    module ??= await compile(bytes);
    if (writesCache()) writeAtExit(addon, path, module, read);
    return module;
  });
}
