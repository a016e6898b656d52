/**
 * The per-core runner (rssplane run), end to end through the built CLI: same flow records on one
 * core and on several, received = processed + dropped on every core, failures reported and never
 * a hang.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { CLI, expectUsageError, rssplane } from './helpers/cli.js';
import { flowRecords, runWithRecords } from './helpers/run.js';

const dir = mkdtempSync(join(tmpdir(), 'rssplane-run-'));
const fixture = (name: string) => new URL(`./fixtures/captures/${name}`, import.meta.url).pathname;

const run = (args: string[], name: string) => runWithRecords(dir, args, name);

describe('the same flows on one core and on several', () => {
  it('synthetic traffic, Microsoft key (flows split across cores, then merged): cores 1, 2, 3 agree', () => {
    const args = ['--reta', 'equal:6', '--conversations', '1500', '--concurrent', '300', '--seed', '42'];
    const one = run([...args, '--cores', '1'], 's1');
    for (const cores of [2, 3]) {
      const many = run([...args, '--cores', String(cores)], `s${cores}`);
      expect(many.records).toEqual(one.records);
      expect(many.summary.queues).toEqual(one.summary.queues);
      expect(many.summary.packets).toBe(one.summary.packets);
      expect(many.summary.flows).toBe(1500);
      expect(many.summary.split_flows).toBeGreaterThan(300); // about (cores-1)/cores of them
      expect(many.summary.cores.length).toBe(cores);
    }
    expect(one.summary.split_flows).toBe(0);
  });

  it('a symmetric key keeps both directions on one core: no split flows', () => {
    const r = run(['--key', 'symmetric', '--cores', '3', '--conversations', '800', '--concurrent', '200'], 'sym');
    expect(r.summary.split_flows).toBe(0);
    expect(r.summary.flows).toBe(800);
  });

  it.each(['ipv4-loss.pcap', 'ipv6.pcap', 'ipv4.pcapng'])('capture %s through the dispatcher: cores 1 and 2 agree', (file) => {
    const one = run(['--input', fixture(file), '--reta', 'equal:4', '--cores', '1'], `${file}-1`);
    const two = run(['--input', fixture(file), '--reta', 'equal:4', '--cores', '2'], `${file}-2`);
    expect(two.records).toEqual(one.records);
    expect(two.summary.queues).toEqual(one.summary.queues);
  });
});

describe('the summary (MISSION.md fields) and its accounting', () => {
  it('--json has packets, bytes, queues, cores, flows, split_flows; received = processed + dropped per core', () => {
    const { summary: s } = run(['--cores', '2', '--conversations', '500', '--concurrent', '100'], 'shape');
    for (const k of ['packets', 'bytes', 'queues', 'cores', 'flows', 'split_flows']) expect(s).toHaveProperty(k);
    expect(s.queues.every((q: { queue: number; packets: number }) => Number.isInteger(q.queue) && q.packets >= 0)).toBe(true);
    let processed = 0;
    for (const c of s.cores) {
      expect(c.received).toBe(c.packets + c.dropped);
      processed += c.packets;
    }
    expect(processed + s.dropped).toBe(s.packets);
    expect(s.queues.reduce((n: number, q: { packets: number }) => n + q.packets, 0)).toBe(s.packets - s.dropped);
  });

  it('the human summary shows the cores, and why split flows matter', () => {
    const r = rssplane(['run', '--cores', '2', '--conversations', '300', '--concurrent', '100', '--no-progress']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^core\s+packets\s+share/m);
    expect(r.stdout).toContain('A symmetric key (--key symmetric)');
    expect(r.stderr).toBe(''); // no progress bar when stderr is not a terminal
  });
});

describe('a one-core run on the main thread', () => {
  it('configures its million-flow table without V8 collecting garbage for it (the engine\'s memory is shared)', () => {
    // V8 counts each growth of a private wasm memory as new external memory and, past its limit,
    // starts a full collection ("external memory pressure"): two or three per run, 18 ms of
    // pauses on short-500k, before runInline took a shared memory.
    const r = spawnSync(process.execPath, ['--trace-gc', '--trace-incremental-marking', CLI, 'run', '--cores', '1', '--conversations', '200', '--concurrent', '100', '--json', '--no-progress'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    // (V8's trace lines share stdout with the summary, and may follow it: a collection at exit.)
    const lines = r.stdout.trim().split('\n');
    expect(JSON.parse(lines.find((l) => l.startsWith('{'))!).flows).toBe(200);
    expect(lines.filter((l) => l.includes('external memory pressure'))).toEqual([]);
  });
});

describe('--flows-out - to a reader slower than the run', () => {
  it('every record reaches it, then the summary: nothing is dropped while the pipe is full', () => {
    // A shell's pipe, as a user's `| jq` is: the reader starts half a second late, while the run
    // has about 2 MB of records for a pipe of 64 KiB.
    const command = `"${process.execPath}" "${CLI}" run --cores 1 --conversations 3000 --concurrent 500 --json --no-progress --flows-out - | (sleep 0.5; cat)`;
    const r = spawnSync('sh', ['-c', command], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const summary = JSON.parse(lines.pop()!);
    expect(lines).toHaveLength(3000);
    expect(summary.flows).toBe(3000);
    for (const line of lines) expect(JSON.parse(line).proto).toBe('tcp');
  });
});

describe('failures: reported, never a hang', () => {
  it('a core that throws: exit 1, the core named with what it had done, the others stopped', () => {
    const t0 = Date.now();
    const r = rssplane(['run', '--cores', '2', '--conversations', '20000', '--no-progress'], { env: { RSSPLANE_FAULT: 'core 1 throw 2000' } });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^rssplane: core 1 failed: injected fault \(RSSPLANE_FAULT\); it had taken [\d,]+ packets \(processed [\d,]+, dropped 0\)/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('a core whose thread dies outright: exit 1, named', () => {
    const r = rssplane(['run', '--cores', '3', '--conversations', '20000', '--no-progress'], { env: { RSSPLANE_FAULT: 'core 2 exit 1000' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^rssplane: core 2 failed: exited with status 3/);
  });

  it('a file that is not a capture is the user\'s mistake: exit 2, one line', () => {
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'this is not a capture, just text in a file\n');
    expectUsageError(rssplane(['run', '--input', junk, '--cores', '2']), junk);
    expectUsageError(rssplane(['run', '--input', join(dir, 'missing.pcap')]), 'missing.pcap');
    expectUsageError(rssplane(['run', '--cores', '0']), '--cores');
  });
});

describe('progress', () => {
  it('a terminal gets a progress bar on stderr (script(1) provides the terminal); stdout stays the summary', () => {
    const r = spawnSync('script', ['-qec', `node ${CLI} run --cores 1 --conversations 6000 --concurrent 500 --json 2>/dev/tty`, '/dev/null'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\d+\/6000 conversations/);
    expect(r.stdout).toContain('"packets":');
  });
});

it('a capture on standard input (--input -) runs like the file, through the dispatcher too', () => {
  const file = fixture('ipv6.pcap');
  const expected = JSON.parse(rssplane(['run', '--input', file, '--cores', '2', '--json', '--no-progress']).stdout);
  const piped = rssplane(['run', '--input', '-', '--cores', '2', '--json', '--no-progress'], { input: readFileSync(file) });
  expect(piped.status).toBe(0);
  const got = JSON.parse(piped.stdout);
  for (const k of ['packets', 'bytes', 'queues', 'flows', 'split_flows', 'flows_by_close']) expect(got[k]).toEqual(expected[k]);
});

describe('a capture file of several chunks, walked by the cores in turns', () => {
  /** `copies` of a fixture, each `shift` seconds after the one before (pcap), or sections of pcapng one after another. */
  function repeated(name: string, copies: number, shift: number): string {
    const bytes = readFileSync(fixture(name));
    const path = join(dir, `${name}-x${copies}-${shift}`);
    if (name.endsWith('.pcapng')) {
      // pcapng sections may follow one another: the walk's state (interfaces, byte order) changes at each.
      writeFileSync(path, Buffer.concat(Array.from({ length: copies }, () => bytes)));
      return path;
    }
    const parts = [bytes.subarray(0, 24)];
    for (let c = 0; c < copies; c++) {
      for (let at = 24; at + 16 <= bytes.length;) {
        const caplen = bytes.readUInt32LE(at + 8);
        const record = Buffer.from(bytes.subarray(at, at + 16 + caplen));
        record.writeUInt32LE(record.readUInt32LE(0) + c * shift, 0);
        parts.push(record);
        at += 16 + caplen;
      }
    }
    writeFileSync(path, Buffer.concat(parts));
    return path;
  }

  /** `run` that also takes the warnings (stderr) a capture gives. */
  function runWarned(args: string[], name: string, env: NodeJS.ProcessEnv = {}) {
    const out = join(dir, `${name}.jsonl`);
    const r = rssplane(['run', ...args, '--flows-out', out, '--json', '--no-progress'], { env });
    expect(r.status).toBe(0);
    return { summary: JSON.parse(r.stdout), records: flowRecords(out), warnings: r.stderr };
  }

  it('a capture cut short while the cores read it: exit 2, one line naming the file and why, no hang', () => {
    // 24 chunks; core 1 cuts the file to its first chunk after its 16th (RSSPLANE_FAULT "shrink"),
    // so a core's next read of its own chunk, or of another core's again, comes up short.
    const path = repeated('ipv4-loss.pcap', 125, 1000);
    expect(readFileSync(path).length).toBeGreaterThan(23 << 20);
    const t0 = Date.now();
    const r = rssplane(['run', '--input', path, '--cores', '2', '--json', '--no-progress'], { env: { RSSPLANE_FAULT: 'core 1 shrink 1' } });
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`rssplane: cannot read capture "${path}": it became shorter while it was read\n`);
    expect(r.status).toBe(2);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  // The pcapng copies keep their times, so each 4-tuple is reused at once: a core that sees one
  // direction of it cannot tell the uses apart (split flows need a symmetric key there). Copies 60 s
  // apart reuse each 4-tuple within the idle timeout, ISNs and all: a core that sees one direction
  // of a split flow takes a SYN (or SYN-ACK) from a side that has sent its FIN as a new connection,
  // and a SYN that repeats the first one's ISN and timestamp value (the captures' refused SYN to
  // port 9, whose RST the other core saw) as the connection replayed: flow/engine.ts replayedSyn.
  it.each([
    { name: 'ipv4-loss.pcap', copies: 25, key: 'microsoft', shift: 1000 }, { name: 'ipv4-loss.pcap', copies: 25, key: 'microsoft', shift: 60 },
    { name: 'ipv6.pcap', copies: 30, key: 'symmetric', shift: 1000 }, { name: 'multi.pcapng', copies: 70, key: 'symmetric', shift: 0 },
  ])('$name repeated to several MiB, $shift s apart (chunk boundaries inside records; pcapng: 210 sections), $key key: cores 1 (the file read ahead or not), 2 and 3 give the same records', ({ name, copies, key, shift }) => {
    const path = repeated(name, copies, shift);
    const args = ['--input', path, '--reta', 'equal:6', '--key', key];
    const one = runWarned([...args, '--cores', '1'], `turns-${name}-1`);
    expect(one.summary.packets).toBeGreaterThan(5000);
    const inTurn = runWarned([...args, '--cores', '1'], `turns-${name}-1-in-turn`, { RSSPLANE_READ_AHEAD: 'off' });
    expect(inTurn.warnings).toBe(one.warnings);
    expect(inTurn.records).toEqual(one.records);
    for (const k of ['packets', 'queues', 'flows_by_state', 'flows_by_close', 'flow_table']) expect(inTurn.summary[k]).toEqual(one.summary[k]);
    for (const cores of [2, 3]) {
      const many = runWarned([...args, '--cores', String(cores)], `turns-${name}-${cores}`);
      expect(many.warnings).toBe(one.warnings);
      expect(many.records).toEqual(one.records);
      expect(one.records.length).toBeGreaterThan(copies * 10);
      expect(many.summary.queues).toEqual(one.summary.queues);
      expect(many.summary.flows_by_state).toEqual(one.summary.flows_by_state);
      expect(many.summary.flows_by_close).toEqual(one.summary.flows_by_close);
      // every packet on exactly one core, accounted there
      expect(many.summary.cores.reduce((n: number, c: { received: number }) => n + c.received, 0)).toBe(one.summary.packets);
    }
  });
});
