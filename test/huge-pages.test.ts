/**
 * Huge pages under the engine's memory (native/memory, host/node/huge-pages.ts): the addon is
 * built by npm ci where a C compiler is, the memory that configuration grows is advised, and the
 * kernel then backs it with huge pages when it is first touched (when its transparent huge page
 * setting is "madvise" or "always"). RSSPLANE_HUGE_PAGES=off leaves the memory on small pages.
 *
 * AnonHugePages of this process (one test file per process) is what the kernel says it gave.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { Engine, FlowEngine, RssConfig } from '../host/core/index.js';
import { HUGE_PAGE_ADVICE_MIN, hugePageMode, hugePagesAdvised } from '../host/node/huge-pages.js';
import { describeWithDependency, commandWorks } from './helpers/deps.js';

const ADDON = fileURLToPath(new URL('../dist/rssplane_memory.node', import.meta.url));
const MIB = 1 << 20;

/** The kernel's transparent huge page mode ("always", "madvise", "never"), or "" without THP. */
function thpMode(): string {
  const path = '/sys/kernel/mm/transparent_hugepage/enabled';
  if (!existsSync(path)) return '';
  return /\[(\w+)\]/.exec(readFileSync(path, 'utf8'))?.[1] ?? '';
}

function anonHugeBytes(): number {
  const kb = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1];
  return Number(kb ?? 0) * 1024;
}

/** A `flows`-flow engine, then a write to every 4 KiB page of the top `bytes` of its memory: the flow table's pools, untouched until now. */
async function touchedEngine(bytes: number, flows = 1 << 20): Promise<number> {
  const engine = await Engine.create();
  FlowEngine.create(engine, RssConfig.from({ key: 'symmetric', reta: 'equal:2' }), { flows });
  bytes = Math.min(bytes, engine.bytes.length);
  const before = anonHugeBytes();
  const memory = engine.bytes;
  for (let i = memory.length - bytes; i < memory.length; i += 4096) memory[i] = 1;
  return anonHugeBytes() - before;
}

afterEach(() => {
  delete process.env.RSSPLANE_HUGE_PAGES;
});

describeWithDependency('gcc', commandWorks('cc', ['--version']), 'huge pages under the engine', () => {
  it('the addon was built by npm ci, next to the bundles, and refuses what is not a Uint8Array', () => {
    expect(existsSync(ADDON)).toBe(true);
    expect(hugePagesAdvised()).toBe(true);
    const addon = createRequire(import.meta.url)(ADDON) as { adviseHugePages(v: unknown): number };
    expect(() => addon.adviseHugePages(5)).toThrow(/expected a Uint8Array/);
    expect(() => addon.adviseHugePages(new Uint16Array(8))).toThrow(/expected a Uint8Array/);
    expect(addon.adviseHugePages(new Uint8Array(0))).toBe(0);
  });

  it('a configured flow table is backed by huge pages where the kernel gives them, and not with RSSPLANE_HUGE_PAGES=off', async () => {
    const mode = thpMode();
    const advised = await touchedEngine(64 * MIB);
    if (mode === 'madvise' || mode === 'always') {
      // 64 MiB touched: all but the 2 MiB-aligned ends of it.
      expect(advised).toBeGreaterThanOrEqual(48 * MIB);
    }
    // what benchmarks record of it (bench ... --json: machine.huge_pages)
    expect(hugePageMode()).toBe(mode || 'unknown');
    process.env.RSSPLANE_HUGE_PAGES = 'off';
    expect(hugePagesAdvised()).toBe(false);
    expect(hugePageMode()).toBe('off');
    const small = await touchedEngine(64 * MIB);
    if (mode === 'madvise') expect(small).toBeLessThan(4 * MIB);
    // With "always" the kernel gives huge pages unasked; with "never" it gives none: nothing to tell apart.
    if (mode === 'never' || mode === '') expect(advised).toBe(0);
  });

  it('a small table stays on small pages: a huge page would be cleared whole for the few bytes a small run uses', async () => {
    // 10,000 flows: a few MiB of memory in all, under HUGE_PAGE_ADVICE_MIN.
    const engine = await Engine.create();
    FlowEngine.create(engine, RssConfig.from({ key: 'symmetric', reta: 'equal:2' }), { flows: 10_000 });
    expect(engine.bytes.length).toBeLessThan(HUGE_PAGE_ADVICE_MIN);
    const touched = await touchedEngine(HUGE_PAGE_ADVICE_MIN, 10_000);
    if (thpMode() === 'madvise') expect(touched).toBeLessThan(4 * MIB);
  });
});
