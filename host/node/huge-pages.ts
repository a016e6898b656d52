/**
 * Huge pages under the engine's memory, on Linux. The flow table's index and SYN ring are read
 * at random, one new slot and one evicted slot per packet under a flood; on 4 KiB pages each
 * such read is also a TLB miss, and on a virtual machine a page walk costs twice. The small
 * addon native/memory (dist/rssplane_memory.node) asks for transparent huge pages with
 * madvise(MADV_HUGEPAGE), as DPDK puts its memory on huge pages; the engine tells it about each
 * part of its memory that configuration grows (Engine.adviseMemory).
 *
 * Importing this module registers the advice. Without the addon (no compiler at install time, or
 * built for another Node: host/node/memory-addon.ts), or with RSSPLANE_HUGE_PAGES=off, memory
 * stays on small pages and everything works the same. Whether the kernel gives huge pages
 * depends on /sys/kernel/mm/transparent_hugepage/enabled: "madvise" (Debian's default) or
 * "always" do, "never" does not.
 */
import { readFileSync } from 'node:fs';
import { registerMemoryAdvice } from '../core/engine.js';
import { memoryAddon } from './memory-addon.js';

/** Whether engines in this thread are advised: off with RSSPLANE_HUGE_PAGES=off, or without the addon. */
export function hugePagesAdvised(): boolean {
  return process.env.RSSPLANE_HUGE_PAGES !== 'off' && memoryAddon() !== null;
}

/**
 * What an engine's memory sits on here, for benchmarks' records: the kernel's transparent huge
 * page mode when engines are advised ("madvise" and "always" give huge pages, "never" none), else
 * "off". "unknown" where the kernel does not say (not Linux).
 */
export function hugePageMode(): string {
  if (!hugePagesAdvised()) return 'off';
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Parts of a memory smaller than this stay on small pages. A huge page is worth its 2 MiB when
 * much of it is used: under a large flow table read at random, the TLB misses it saves pay for it;
 * under a small table or a buffer it only costs, since the kernel clears the whole 2 MiB at the
 * first touch of any byte of it (3 to 7 ms on the VM of BENCHMARKS.md, where a 4 KiB page's first
 * touch is about 20 us). A run of a small capture, whose table is as small as the capture allows,
 * then touches only the pages it uses.
 */
export const HUGE_PAGE_ADVICE_MIN = 32 * 1024 * 1024;

registerMemoryAdvice((bytes) => {
  if (bytes.length >= HUGE_PAGE_ADVICE_MIN && hugePagesAdvised()) memoryAddon()!.adviseHugePages(bytes);
});
