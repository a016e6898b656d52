/**
 * A live run: `--json-stats FILE` (a JSON line a second, read from the cores' engine memory),
 * `--duration S`, and Ctrl-C, which ends the input and lets the run report and write what it
 * exports.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { CLI, rssplane } from './helpers/cli.js';
import { jsonLines, LiveRun } from './helpers/live.js';

let dir: string;
let run: LiveRun | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rssplane-live-'));
});
afterEach(() => run?.kill());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run --duration --json-stats', () => {
  it('appends a line a second with packets/s per queue and core, drops, flows, imbalance; the last one is the run\'s total', () => {
    const stats = join(dir, 'duration.jsonl');
    const r = rssplane(['run', '--cores', '2', '--reta', 'equal:4', '--duration', '2.5', '--concurrent', '2000', '--json-stats', stats, '--json', '--no-progress']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    const lines = jsonLines(stats);
    // About one a second for 2.5 s, then the last; a loaded machine may stretch the first.
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const [i, s] of lines.entries()) {
      expect(Object.keys(s)).toEqual(expect.arrayContaining([
        'time', 'seconds', 'interval', 'packets', 'bytes', 'pps', 'bps', 'queues', 'cores', 'dropped', 'drops',
        'active_flows', 'flows_created', 'imbalance', 'core_imbalance',
      ]));
      expect(new Date(s.time).getTime()).toBeGreaterThan(0);
      expect(s.queues.map((q: { queue: number }) => q.queue)).toEqual([0, 1, 2, 3]);
      expect(s.cores.map((c: { core: number }) => c.core)).toEqual([0, 1]);
      for (const c of s.cores) expect(c.received).toBe(c.processed + c.dropped);
      expect(s.packets).toBe(s.cores.reduce((n: number, c: { received: number }) => n + c.received, 0));
      expect(s.end).toBe(i === lines.length - 1 ? true : undefined);
      if (i > 0) expect(s.packets).toBeGreaterThanOrEqual(lines[i - 1].packets);
    }
    expect(lines.some((s) => s.pps > 0 && s.active_flows > 0)).toBe(true);
    // The last reading is taken after the cores finished: the summary's numbers exactly.
    const last = lines.at(-1);
    expect(last.packets).toBe(summary.packets);
    expect(last.bytes).toBe(summary.bytes);
    expect(last.queues.reduce((n: number, q: { bytes: number }) => n + q.bytes, 0)).toBe(summary.bytes);
    expect(last.queues.map((q: { packets: number }) => q.packets)).toEqual(summary.queues.map((q: { packets: number }) => q.packets));
    expect(last.cores.map((c: { dropped: number }) => c.dropped)).toEqual(summary.cores.map((c: { dropped: number }) => c.dropped));
    expect(last.flows_created).toBe(summary.flow_table.created);
    expect(last.active_flows).toBe(0);
    expect(summary.seconds).toBeGreaterThanOrEqual(2.5);
  });
});

describe('on a terminal', () => {
  it('a live run shows a line a second on stderr (script(1) provides the terminal), no progress bar; stdout stays the summary', () => {
    const r = spawnSync('script', ['-qec', `node ${CLI} run --cores 2 --reta equal:4 --duration 2.2 --concurrent 500 --json 2>/dev/tty`, '/dev/null'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    // Each second's line, rewritten in place: packets/s of the run, of 4 queues and 2 cores, drops, flows, imbalance.
    const lines = r.stdout.split('\r\x1b[K').filter((l) => /^\d+ s: /.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toMatch(/^\d+ s: [\d.]+( [kM])? packets\/s, queues( [\d.]+( [kM])?){4}, cores( [\d.]+( [kM])?){2}, drops \d+, flows [\d,]+, imbalance \d+\.\d\d/);
    expect(r.stdout).not.toContain('conversations');
    expect(r.stdout).toContain('"packets":');
  });
});

describe('Ctrl-C', () => {
  it('ends a one-core synthetic run with its summary, exit 0, and its flow records written', async () => {
    const stats = join(dir, 'sigint.jsonl');
    const flows = join(dir, 'sigint-flows.jsonl');
    run = new LiveRun(['--cores', '1', '--duration', '600', '--concurrent', '2000', '--json-stats', stats, '--flows-out', flows, '--no-progress']);
    await run.statsLines(stats, 1);
    run.child.kill('SIGINT');
    expect(await run.end()).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^synthetic \(for 600 s, seed 1\): [\d,]+ packets/);
    expect(run.stdout).toContain('flow records written to --flows-out');
    const tcp = Number(/TCP flows ([\d,]+)/.exec(run.stdout)![1]!.replace(/,/g, ''));
    expect(tcp).toBeGreaterThan(0);
    expect(jsonLines(flows).filter((f) => f.proto === 'tcp').length).toBe(tcp);
    expect(jsonLines(stats).at(-1).end).toBe(true);
  });

  it('ends a run on two cores the same way (--json summary)', async () => {
    const stats = join(dir, 'sigint2.jsonl');
    const flows = join(dir, 'sigint2-flows.jsonl');
    run = new LiveRun(['--cores', '2', '--duration', '600', '--concurrent', '2000', '--json-stats', stats, '--flows-out', flows, '--json', '--no-progress']);
    await run.statsLines(stats, 1);
    run.child.kill('SIGINT');
    expect(await run.end()).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.packets).toBeGreaterThan(0);
    expect(summary.received).toBe(summary.processed + summary.dropped);
    expect(existsSync(flows)).toBe(true);
    expect(jsonLines(flows).length).toBe(summary.flows + summary.udp_flows);
    expect(jsonLines(stats).at(-1).packets).toBe(summary.packets);
  });
});
