/** Engine builds: kernels and memory kinds compute the same hashes. */
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
