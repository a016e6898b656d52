/**
 * Where the optional native addons are found: beside the bundle that loads them (dist/, where
 * scripts/build-native.mjs copies them), or in dist/ when the code runs from its sources (the
 * tests). An addon that is not there, or does not load (built for another Node, say), is null:
 * its caller goes on without it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon `file` (e.g. "rssplane_memory.node"), loaded, or null. */
export function loadAddon<T>(file: string): T | null {
  const candidates = [
    fileURLToPath(new URL(`./${file}`, import.meta.url)),
    fileURLToPath(new URL(`../../dist/${file}`, import.meta.url)),
  ];
  const path = candidates.find((p) => existsSync(p));
  if (!path) return null;
  try {
    return createRequire(import.meta.url)(path) as T;
  } catch {
    return null;
  }
}
