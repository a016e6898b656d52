/**
 * Every size a user can set, at its maximum and one past it: the maximum works (the engine holds
 * it: its memory is reserved, not yet touched), one past it is refused with one line naming the
 * maximum and exit 2 (or an EINVAL from the library), never an engine abort. The maxima come from
 * the engine's memory (4 GiB a core) and assembly/shared/abi.ts, so they are read from the
 * messages rather than written here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CaptureReader, Engine, ENGINE_BYTES, FlowEngine, flowBufferBytes, maxFlowTable, RssConfig, RssHasher, RssplaneError, SyntheticSource,
} from '../host/core/index.js';
import { BATCH_PACKETS_MAX } from '../host/core/synthetic.js';
import { benchTable, conversationBuffers, maxBenchFlows } from '../host/node/bench/flows.js';
import { expectUsageError, rssplane } from './helpers/cli.js';
import { fixture } from './helpers/capture.js';

const dir = mkdtempSync(join(tmpdir(), 'rssplane-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const capture = fixture('ipv4.pcap');

/** The maximum a refusal names ("at most 12,375,039 ..."), as a number. */
function namedMaximum(stderr: string): number {
  const m = /at most ([\d,]+)/.exec(stderr);
  if (!m) throw new Error(`no maximum named in: ${stderr}`);
  return Number(m[1]!.replaceAll(',', ''));
}

/** Refused with exit 2 and one line naming `option` and a maximum; returns the maximum. */
function refused(args: string[], option: string): number {
  const r = rssplane(args);
  expectUsageError(r, option);
  return namedMaximum(r.stderr);
}

function works(args: string[]) {
  const r = rssplane([...args, '--json', ...(args[0] === 'run' ? ['--no-progress'] : [])]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

describe('run --flow-table: every size the engine holds, and one past it refused', () => {
  // A capture file's table is no larger than the file can fill (this one: a few thousand flows),
  // so the tables reserved at the maximum are synthetic runs'.
  it.each([
    ['a capture on one core', ['--input', capture, '--cores', '1'], false],
    ['a capture on two cores (walked in turns)', ['--input', capture, '--cores', '2'], false],
    ['synthetic traffic on one core', ['--cores', '1', '--conversations', '200', '--concurrent', '100'], true],
    ['synthetic traffic on two cores (rings between them)', ['--cores', '2', '--conversations', '200', '--concurrent', '100'], true],
  ])('%s', (_, args, reserved) => {
    const max = refused(['run', ...args, '--flow-table', '16777216'], '--flow-table');
    // 4 GiB at about 424 bytes a flow: a 384-byte entry (with the IPFIX export's 64), its
    // reverse hash's 4, a power-of-two index (32 bytes a flow past 8,388,608) and a sixty-fourth
    // of a lone SYN's 72 (the SYN cache)
    expect(max).toBeGreaterThan(10_000_000);
    expect(max).toBeLessThan(10_300_000);
    const s = works(['run', ...args, '--flow-table', String(max)]);
    expect(s.received).toBe(s.processed + s.dropped);
    if (reserved) expect(s.memory.flow_tables).toBeGreaterThan(4e9 * s.cores.length);
    expect(refused(['run', ...args, '--flow-table', String(max + 1)], '--flow-table')).toBe(max);
  });

  it('--help names the maximum of a default run', () => {
    const r = rssplane(['run', '--help']);
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/at most 10,[\d,]+, a little less with many cores/);
  });
});

describe('run: the other sizes', () => {
  it('--idle-timeout from 0.001 s (whole milliseconds) to 4294967.295 s (32 bits of them)', () => {
    for (const v of ['0.001', '4294967.295']) works(['run', '--input', capture, '--cores', '1', '--idle-timeout', v]);
    for (const v of ['0.0009', '4294967.296', '0', 'Infinity']) expectUsageError(rssplane(['run', '--input', capture, '--idle-timeout', v]), '--idle-timeout');
  });

  it('--cores: 256 passes (the memory check counts all 256), 257 does not', () => {
    expect(refused(['run', '--input', capture, '--cores', '257'], '--cores')).toBe(256);
    const r = rssplane(['run', '--input', capture, '--cores', '256', '--flow-table', '16777216']);
    expectUsageError(r, 'with 256 cores');
  });

  it('--concurrent: at most 10,000,000, fewer beside a large flow table; --seed and --conversations within exact numbers', () => {
    expect(refused(['run', '--concurrent', '10000001'], '--concurrent')).toBe(10_000_000);
    const withTable = refused(['run', '--cores', '1', '--concurrent', '10000000', '--conversations', '20000000', '--flow-table', '12000000'], '--flow-table');
    expect(withTable).toBeLessThan(12_000_000);
    // The default table leaves room for the most conversations there can be.
    const big = rssplane(['run', '--cores', '1', '--concurrent', '10000000', '--conversations', '20000000', '--flow-table', String(withTable + 1)]);
    expectUsageError(big, '--flow-table');
    expect(refused(['run', '--seed', '9007199254740992'], '--seed')).toBe(Number.MAX_SAFE_INTEGER);
    expect(refused(['run', '--conversations', '9007199254740992'], '--conversations')).toBe(Number.MAX_SAFE_INTEGER);
    works(['run', '--cores', '1', '--conversations', '20', '--seed', String(Number.MAX_SAFE_INTEGER)]);
  });

  it('the generator at 10,000,000 conversations in progress fits beside the largest table that leaves room for it', async () => {
    const engine = await Engine.create();
    const generator = new SyntheticSource(engine, { concurrent: 10_000_000, conversations: 10_000_000 }, 1024);
    const flows = FlowEngine.create(engine, RssConfig.from({ reta: 'equal:2' }), { flows: maxFlowTable(flowBufferBytes({}) + engine.memory.buffer.byteLength), records: false });
    const batch = generator.next();
    expect(batch.count).toBe(1024);
    flows.process(batch);
    expect(flows.stats().processed + flows.stats().dropped).toBe(1024);
    expect(() => new SyntheticSource(engine, { concurrent: 10_000_001 })).toThrow(/at most|from 1 to 10,000,000/);
  });
});

describe('bench options', () => {
  it('bench flows --flows, bench toeplitz --tuples, bench pipeline --cores, bench ports --pairs: one past the maximum is refused', () => {
    expect(refused(['bench', 'flows', '--flows', '100000000'], '--flows')).toBeGreaterThan(200_000);
    const tuples = refused(['bench', 'toeplitz', '--tuples', '1000000000'], '--tuples');
    expect(tuples).toBe(Math.floor(tuples)); // about ENGINE_BYTES / 16
    expect(tuples * 16).toBeLessThanOrEqual(ENGINE_BYTES);
    expect(refused(['bench', 'toeplitz', '--tuples', String(tuples + 1)], '--tuples')).toBe(tuples);
    expect(refused(['bench', 'pipeline', '--cores', '257'], '--cores')).toBe(256);
    expect(refused(['bench', 'ports', '--pairs', '4294967296'], '--pairs')).toBe(4294967295);
    // --syn-cache up to the bench's table: twice --flows, at least 65,536
    expect(refused(['bench', 'flows', '--flows', '20000', '--syn-cache', '65537'], '--syn-cache')).toBe(65_536);
    expect(refused(['bench', 'flows', '--flows', '40000', '--syn-cache', '80001'], '--syn-cache')).toBe(80_000);
    // a SYN cache as large as the table takes room from the conversations: fewer --flows fit
    const most = refused(['bench', 'flows', '--flows', '100000000', '--syn-cache', '1'], '--flows');
    expect(refused(['bench', 'flows', '--flows', String(most), '--syn-cache', String(2 * most)], '--flows')).toBeLessThan(most);
  });

  it('bench flows at its maximum: the engine holds the conversations\' frames and a table for twice as many', async () => {
    const max = maxBenchFlows();
    expect(refused(['bench', 'flows', '--flows', String(max + 1)], '--flows')).toBe(max);
    const engine = await Engine.create();
    conversationBuffers(engine, max);
    FlowEngine.create(engine, RssConfig.from({ key: 'symmetric', reta: 'equal:4' }), { flows: benchTable(max), batchMax: 8192, records: false }).finish();
  });

  it('bench toeplitz at its maximum: the engine holds that many tuples and hashes', async () => {
    const r = rssplane(['bench', 'toeplitz', '--tuples', '1000000000']);
    const tuples = namedMaximum(r.stderr);
    const rss = await RssHasher.create({ key: 'microsoft', fields: 'ipv4-l4' });
    const batch = rss.batch(tuples);
    batch.tuples.fill(7, 0, 12 * 16);
    batch.run(16);
    expect(batch.hashes[0]).toBe(batch.hashes[15]);
    batch.free();
  });

  it('bench ports --window: the largest power of two core 0 holds, and one step past it refused', () => {
    const r = works(['bench', 'ports', '--rounds', '1', '--pairs', '1000', '--window', '2048']);
    expect(r.window).toBe(2048);
    expect(refused(['bench', 'ports', '--window', '4096'], '--window')).toBe(2048);
  });

  it('bench capture --batch: 1,048,576 descriptors, and not one more', () => {
    const r = works(['bench', 'capture', '--input', capture, '--rounds', '1', '--batch', '1048576']);
    expect(r.packets).toBe(182);
    expectUsageError(rssplane(['bench', 'capture', '--input', capture, '--batch', '1048577']), '1048576');
  });
});

describe('library sizes (FlowEngine, CaptureReader, SyntheticSource)', () => {
  const config = RssConfig.from({ reta: 'equal:2' });
  const einval = (f: () => unknown, what: RegExp) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(RssplaneError);
      expect((e as RssplaneError).code).toBe('EINVAL');
      expect((e as Error).message).toMatch(what);
      return;
    }
    throw new Error('not refused');
  };

  it('a batch of 1,048,576 descriptors with the largest table beside its buffers; one more refused', async () => {
    const batchMax = 1 << 20;
    const flows = maxFlowTable(flowBufferBytes({ batchMax }));
    const engine = await Engine.create();
    FlowEngine.create(engine, config, { batchMax, flows, records: false }).finish();
    einval(() => FlowEngine.create(engine, config, { batchMax, flows: flows + 1 }), /flow table size .*expected 1 to [\d]+ flows/);
    einval(() => FlowEngine.create(engine, config, { batchMax: batchMax + 1 }), /batch size/);
  });

  it('reassembly: 16 MiB windows, as many streams as fit, and one more refused', async () => {
    const window = 1 << 24;
    let message = '';
    try {
      FlowEngine.create(await Engine.create(), config, { flows: 1, reassembly: { streams: 1e9, window } });
    } catch (e) {
      message = (e as Error).message;
    }
    const streams = Number(/expected 1 to (\d+)/.exec(message)![1]);
    expect(streams).toBeGreaterThan(100); // 4 GiB over 18 MiB a stream
    const engine = await Engine.create();
    const flows = FlowEngine.create(engine, config, { flows: 1, reassembly: { streams, window } });
    flows.finish();
    einval(() => FlowEngine.create(engine, config, { flows: 1, reassembly: { streams: streams + 1, window } }), /reassembly stream count/);
    einval(() => FlowEngine.create(engine, config, { flows: 1, reassembly: { streams: 1, window: window * 2 } }), /reassembly window/);
  });

  it('capture chunks up to 1 GiB, synthetic batches up to their maximum', async () => {
    const engine = await Engine.create();
    CaptureReader.create(engine, { chunkSize: 1 << 30, batchSize: 1 << 20 }).free();
    einval(() => CaptureReader.create(engine, { chunkSize: (1 << 30) + 1 }), /chunk size/);
    const s = new SyntheticSource(engine, { conversations: 10 }, BATCH_PACKETS_MAX);
    expect(s.next().count).toBeGreaterThan(0);
    einval(() => new SyntheticSource(engine, {}, BATCH_PACKETS_MAX + 1), /synthetic batch/);
  });

  it('a buffer past what an engine can address is ENOMEM, not a wrapped size', async () => {
    const engine = await Engine.create();
    expect(() => engine.allocate(2 ** 32)).toThrow(/at most 4 GiB/);
    expect(() => engine.allocate(ENGINE_BYTES * 2)).toThrow(RssplaneError);
  });
});
