/**
 * The small native addon native/memory (dist/rssplane_memory.node): the calls into the kernel
 * that Node does not make, madvise for huge pages (host/node/huge-pages.ts) and _exit for a
 * command that is done (host/node/io.ts). It needs only a C compiler at install time; without
 * it, or where it does not load (built for another Node, say), everything works the same, on
 * small pages and with Node's own exit.
 */
import { loadAddon } from './addons.js';

export interface MemoryAddon {
  /** madvise(MADV_HUGEPAGE) over the view's whole pages: 0, or the errno. */
  adviseHugePages(view: Uint8Array): number;
  /** _exit(status): the process ends here, without atexit handlers or Node's teardown. */
  exitNow(status: number): never;
  /**
   * Starts a thread that reads file `fd` from offset `from` into `slots` chunk slots of a shared
   * memory (`memory`: a view of all of it; `data` + s * `stride`, `chunk` bytes each), in turn,
   * each when its state word (Int32 at `control` + 8s) is 0; it then stores the bytes read (0 at
   * the end, or -errno) at `control` + 8s + 4 and sets the state to 1. Returns a handle.
   */
  readAheadStart?(fd: number, memory: Uint8Array, control: number, data: number, slots: number, stride: number, chunk: number, from: number): number;
  /** Stops the thread and waits for it: it writes nothing after. */
  readAheadStop?(handle: number): void;
}

let addon: MemoryAddon | null | undefined;

/** The addon, loaded at the first call (once per thread), or null when it is not there or does not load. */
export function memoryAddon(): MemoryAddon | null {
  if (addon === undefined) addon = loadAddon<MemoryAddon>('rssplane_memory.node');
  return addon;
}
