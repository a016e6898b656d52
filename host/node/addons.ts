/**
 * Where the optional native addons are found: beside the bundle that loads them (dist/, where
 * scripts/build-native.mjs copies them), or in dist/ when the code runs from its sources (the
 * tests). An addon that is not there, or does not load (built for another Node, say), is null:
 * its caller goes on without it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The addon `file` (e.g. "rssplane_memory.node"), loaded, or null. */
export function loadAddon<T>(file: string): T | null {
  const candidates = [
    join(import.meta.dirname, file),
    join(import.meta.dirname, '../../dist', file),
  ];
  const path = candidates.find((p) => existsSync(p));
  if (!path) return null;
  try {
    return dlopen<T>(path);
  } catch {
    return null;
  }
}

/**
 * Loads the addon at `path` as require() would (process.dlopen is what require calls for a .node
 * file), without node:module: loading that module compiles it and three more, 2 ms of a start.
 */
export function dlopen<T>(path: string): T {
  const addon = { exports: {} };
  process.dlopen(addon, path);
  return addon.exports as T;
}
