/** Engine builds: kernels and memory kinds compute the same hashes. */
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import '../host/node/shared-builds.js';
import { compileEngine, Engine, IPV4_VECTORS, RssHasher } from '../host/core/index.js';

it('baseline and shared-memory engines hash the published vectors alike', async () => {
  for (const shared of [false, true]) {
    const engine = await Engine.create({ kernel: 'simd', shared });
    expect(engine.memory.buffer instanceof SharedArrayBuffer).toBe(shared);
    const rss = await RssHasher.create({ key: 'microsoft', fields: 'ipv4-l4' }, engine);
    for (const v of IPV4_VECTORS) expect(rss.hash(v)).toBe(v.withPorts);
  }
});

it('a compiled module is reused, one per kernel and memory kind', async () => {
  expect(await compileEngine('simd', true)).toBe(await compileEngine('simd', true));
  expect((await compileEngine('simd', true)).module).not.toBe((await compileEngine('simd', false)).module);
});

it('the kernel a runtime gets is the one whose build it validates, with relaxed SIMD and without', () => {
  // availableKernel decides from a one-instruction probe, not from the relaxed build itself: the
  // two must agree, in a runtime that has relaxed SIMD and in one that has not.
  const script = `
    import { readFileSync } from 'node:fs';
    import { availableKernel } from './dist/index.mjs';
    const build = WebAssembly.validate(readFileSync('build/rssplane.relaxed.wasm')) ? 'relaxed-simd' : 'simd';
    console.log(JSON.stringify({ probe: availableKernel(), build }));`;
  const seen = [[], ['--experimental-wasm-relaxed-simd']].map((flags) => {
    const out = execFileSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' });
    return JSON.parse(out) as { probe: string; build: string };
  });
  expect(seen.map((s) => s.build)).toEqual(['simd', 'relaxed-simd']);
  for (const s of seen) expect(s.probe).toBe(s.build);
});
