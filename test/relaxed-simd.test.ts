/**
 * host/node/relaxed-simd.ts: Node 20's relaxed-SIMD flag is on only around an engine's validation
 * and compile, and the module compiled under it keeps relaxed SIMD once it is off: its hash
 * kernel (i8x16.relaxed_swizzle) runs, and agrees with the baseline kernel.
 *
 * The flag is V8's, for the whole process: this file runs in a process of its own (vitest's
 * forks), and nothing else here compiles an engine outside the scope.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { availableKernel, compileEngine, Engine, RELAXED_PROBE } from '../host/core/engine.js';
import { RssHasher } from '../host/core/rss.js';

/** Whether this Node validates relaxed SIMD without any flag (Node 22 on): the scope is then never needed. */
const native = WebAssembly.validate(RELAXED_PROBE);

describe('relaxed SIMD around the engine compile', () => {
  it('is on for the compile only, and the compiled kernel runs without it, hashing as the baseline kernel does', async () => {
    await import('../host/node/relaxed-simd.js');
    expect(availableKernel()).toBe('relaxed-simd');
    // The flag is off again: what the process compiles from here on is compiled as without it.
    expect(WebAssembly.validate(RELAXED_PROBE)).toBe(native);

    const relaxed = await compileEngine('relaxed-simd');
    expect(WebAssembly.validate(RELAXED_PROBE)).toBe(native);
    const engine = await Engine.instantiate(relaxed.module, relaxed.kernel);
    expect(engine.exports.relaxedSimd()).toBe(1);

    // The first call of the hash kernel compiles it (V8 compiles WebAssembly functions lazily),
    // after the flag is off: it still takes relaxed_swizzle.
    const tuples = randomBytes(12 * 4096);
    const ours = await RssHasher.create({ key: 'microsoft', fields: 'ipv4-l4' }, engine);
    const base = await RssHasher.create({ key: 'microsoft', fields: 'ipv4-l4' }, await Engine.create({ kernel: 'simd' }));
    const hashes = ours.hashBatch(tuples);
    expect(hashes).toEqual(base.hashBatch(tuples));
    // and it is not all zeros: the hashes of 4096 random tuples are not all the same
    expect(new Set(hashes).size).toBeGreaterThan(4000);
  });
});
