/**
 * The engine's optimised code kept between runs (native/wasm-cache, host/node/wasm-cache.ts): a
 * module read back from a cache has the cache's optimised code without having run, a cache V8
 * refuses leaves the compile to go on without it, and a run with a cache prints what a run
 * without one prints.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAXED_PROBE } from '../host/core/engine.js';
import { commandWorks, describeWithDependency } from './helpers/deps.js';

const DIST = fileURLToPath(new URL('../dist', import.meta.url));
const CAPTURE = fileURLToPath(new URL('./fixtures/captures/ipv4-loss.pcap', import.meta.url));


/**
 * (module (func (export "sum") (param i32) (result i32) (local i32)
 *   (block (loop (br_if 1 (i32.eqz (local.get 0)))
 *     (local.set 1 (i32.add (local.get 1) (local.get 0)))
 *     (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br 0)))
 *   (local.get 1)))
 */
const SUM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type: (i32) -> i32
  0x03, 0x02, 0x01, 0x00, // one function of it
  0x07, 0x07, 0x01, 0x03, 0x73, 0x75, 0x6d, 0x00, 0x00, // export "sum"
  0x0a, 0x23, 0x01, 0x21, 0x01, 0x01, 0x7f, // code: one body, one i32 local
  0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x45, 0x0d, 0x01,
  0x20, 0x01, 0x20, 0x00, 0x6a, 0x21, 0x01,
  0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00, 0x0c, 0x00, 0x0b, 0x0b,
  0x20, 0x01, 0x0b,
]);

describeWithDependency('g++', commandWorks('c++', ['--version']), 'the wasm cache', () => {
  /**
   * Node code, run in a process of its own: V8 shares a compiled module between the modules of
   * the same bytes in one process, so only a fresh process shows what a cache brings.
   */
  const node = (code: string) => {
    const r = spawnSync(process.execPath, ['-e', `const addon = require(${JSON.stringify(join(DIST, 'rssplane_wasm_cache.node'))});
      const SUM = new Uint8Array(${JSON.stringify([...SUM])});
      /** SUM's module once V8 has optimised \`sum\` (its baseline code runs until then), and its cache. */
      async function optimised() {
        const module = new WebAssembly.Module(SUM);
        const sum = new WebAssembly.Instance(module).exports.sum;
        if (addon.serialize(module) !== undefined) throw new Error('optimised before it ran');
        for (let round = 0; round < 400; round++) {
          sum(10000);
          const cache = addon.serialize(module);
          if (cache) return { module, cache };
          await new Promise((r) => setTimeout(r, 5));
        }
        throw new Error('V8 did not optimise sum');
      }
      (async () => { ${code} })().then((out) => process.stdout.write(JSON.stringify(out)));`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout);
  };

  it('a module compiled from a cache has its optimised code before it runs, and computes the same', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rssplane-wasm-cache-'));
    const file = JSON.stringify(join(dir, 'sum.cache'));
    try {
      const written = node(`const { cache } = await optimised(); require('node:fs').writeFileSync(${file}, cache); return cache.length;`);
      expect(written).toBeGreaterThan(100);
      const read = node(`
        const cache = require('node:fs').readFileSync(${file});
        addon.install();
        const module = await WebAssembly.compileStreaming([SUM, cache]);
        // Nothing of this module has run: what it serialises to came from the cache.
        const again = Buffer.from(addon.serialize(module) ?? []);
        return { same: again.equals(cache), sum: new WebAssembly.Instance(module).exports.sum(100) };`);
      expect(read).toEqual({ same: true, sum: 5050 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bytes V8 did not write, a cache of another module, and arguments of the wrong shape', () => {
    const r = node(`
      const { cache } = await optimised();
      addon.install();
      const outcome = (p) => p.then(() => 'compiled', (e) => (e === addon.REFUSED ? 'refused' : String(e)));
      // The same shape (one function, as many locals), another body: n counts down by two. V8
      // alone would take SUM's code for it; the addon's header names the module the code is of.
      const other = SUM.slice();
      other[other.findIndex((b, i) => b === 0x41 && other[i + 1] === 0x01) + 1] = 0x02;
      return {
        garbage: await outcome(WebAssembly.compileStreaming([SUM, new Uint8Array(300).fill(0x5a)])),
        other: await outcome(WebAssembly.compileStreaming([other, cache])),
        otherSum: new WebAssembly.Instance(new WebAssembly.Module(other)).exports.sum(100),
        own: await outcome(WebAssembly.compileStreaming([SUM, cache])),
        shape: await outcome(WebAssembly.compileStreaming({})),
        serialize: (() => { try { addon.serialize({}); return 'serialized'; } catch (e) { return e.message; } })(),
      };`);
    expect(r).toEqual({
      garbage: 'refused', other: 'refused', otherSum: 2550, own: 'compiled',
      shape: "TypeError: rssplane's compile takes [module bytes, cache bytes]", serialize: 'serialize: expected a WebAssembly.Module',
    });
  });

  it('sets V8 flags as node:v8 does (relaxed SIMD is turned on and off with it around each engine compile)', () => {
    // The engine's probe (i8x16.relaxed_swizzle): Node 20 validates it only under --experimental-wasm-relaxed-simd.
    const r = node(`
      const probe = new Uint8Array(${JSON.stringify([...RELAXED_PROBE])});
      const before = WebAssembly.validate(probe);
      addon.setFlags('--experimental-wasm-relaxed-simd');
      return { before, after: WebAssembly.validate(probe) };`);
    expect(r).toEqual({ before: false, after: true });
  });

  describe('through the command', () => {
    let dist: string;
    // (`run` uses the shared build on one core too: host/node/runner/runner.ts runInline.)
    const cacheFile = () => join(dist, 'rssplane.shared.relaxed.wasm.cache');
    /** Synthetic traffic long enough for V8 to optimise the engine's hot functions (110,000 packets). */
    const SYNTHETIC = ['--conversations', '5000', '--concurrent', '1000'];
    const CAPTURE_INPUT = ['--input', CAPTURE];
    const run = (input: string[], env: Record<string, string> = {}, nodeFlags: string[] = []) => {
      const r = spawnSync(process.execPath, [...nodeFlags, join(dist, 'cli.js'), 'run', ...input, '--cores', '1', '--json', '--no-progress', '--flows-out', '-'], {
        encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return outcome(r.stdout);
    };
    /** The run's flow records and its summary without the figures of time. */
    const outcome = (stdout: string) => {
      const lines = stdout.trim().split('\n');
      const summary = JSON.parse(lines.pop()!) as Record<string, unknown>;
      for (const k of ['seconds', 'pps', 'cores', 'memory', 'input']) delete summary[k];
      return { records: lines.sort(), summary };
    };
    const GARBAGE = Buffer.alloc(4096, 0x5a);

    beforeAll(() => {
      // A copy of the build: these runs write caches, which the other tests' runs must not see.
      dist = mkdtempSync(join(tmpdir(), 'rssplane-wasm-cache-'));
      cpSync(DIST, dist, { recursive: true, filter: (p) => !p.endsWith('.wasm.cache') });
    });
    afterAll(() => rmSync(dist, { recursive: true, force: true }));

    it('writes a cache, and runs that read it print the records and summaries runs without one print', () => {
      const without = [run(SYNTHETIC, { RSSPLANE_WASM_CACHE: 'off' }), run(CAPTURE_INPUT, { RSSPLANE_WASM_CACHE: 'off' })];
      expect(existsSync(cacheFile())).toBe(false);
      run(SYNTHETIC, { RSSPLANE_WASM_CACHE: 'write' });
      const size = statSync(cacheFile()).size;
      expect(size).toBeGreaterThan(10_000);
      const cached = [run(SYNTHETIC), run(CAPTURE_INPUT)];
      expect(cached[0]!.records).toHaveLength(5000);
      expect(cached).toEqual(without);
      // A run that optimised nothing the cache lacks leaves it as it was.
      expect(statSync(cacheFile()).size).toBeGreaterThanOrEqual(size);
    });

    it('the command runs the relaxed-SIMD engine with the addon, and without it (node:v8 sets the flag then)', () => {
      const kernel = () => {
        const r = spawnSync(process.execPath, [join(dist, 'cli.js'), 'bench', 'flows', '--flows', '200', '--rounds', '1', '--json'], { encoding: 'utf8' });
        expect(r.status).toBe(0);
        return JSON.parse(r.stdout).kernel;
      };
      expect(kernel()).toBe('relaxed-simd');
      const addonFile = join(dist, 'rssplane_wasm_cache.node');
      const kept = `${addonFile}.kept`;
      renameSync(addonFile, kept);
      try {
        expect(kernel()).toBe('relaxed-simd');
      } finally {
        renameSync(kept, addonFile);
      }
    });

    it('a cache V8 refuses is rewritten at exit by a run that optimised code, but not by a run under Node flags', () => {
      writeFileSync(cacheFile(), GARBAGE);
      const without = run(SYNTHETIC, { RSSPLANE_WASM_CACHE: 'off' });
      // Under a flag, V8 would refuse what this run wrote once the flag is gone: it leaves the file.
      expect(run(SYNTHETIC, {}, ['--stack-size=2000'])).toEqual(without);
      expect(readFileSync(cacheFile()).equals(GARBAGE)).toBe(true);
      // Whether a run's optimising compiles end before it does depends on the machine: a few tries.
      for (let tries = 0; tries < 5 && readFileSync(cacheFile()).equals(GARBAGE); tries++) expect(run(SYNTHETIC)).toEqual(without);
      expect(readFileSync(cacheFile()).equals(GARBAGE)).toBe(false);
      expect(statSync(cacheFile()).size).toBeGreaterThan(10_000);
      expect(run(SYNTHETIC)).toEqual(without);
    });
  });
});
