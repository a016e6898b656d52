/** `rssplane run` through the built CLI, with its summary and its flow records. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { rssplane } from './cli.js';

/**
 * Flow records without where they ran (core, cores, split): what a flow did, not which core saw
 * it; sorted, so runs whose cores finished in another order compare equal.
 */
export function flowRecords(path: string): string[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => {
    const r = JSON.parse(l);
    delete r.core;
    delete r.cores;
    delete r.split;
    return JSON.stringify(r);
  }).sort();
}

/** Runs `rssplane run ARGS --flows-out DIR/NAME.jsonl --json`; it must succeed quietly. */
export function runWithRecords(dir: string, args: string[], name: string) {
  const out = join(dir, `${name}.jsonl`);
  const r = rssplane(['run', ...args, '--flows-out', out, '--json', '--no-progress']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return { summary: JSON.parse(r.stdout), records: flowRecords(out) };
}
