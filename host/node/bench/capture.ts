/**
 * bench capture: how fast records are walked, so that reading captures is never what limits a
 * run. Two figures from one file, rounds interleaved:
 * - in memory: the whole file already in engine memory as one chunk, walked into descriptor
 *   batches (the engine's work alone, and the JavaScript loop over batches);
 * - from the file: readCapture reading in turn with the walk (a one-core `run --input` reads
 *   ahead on another thread instead: README), fs.readSync into engine memory in 1 MiB chunks,
 *   from the page cache (the first, untimed round warms it).
 * With --anchor, libpcap's reader (scripts/pcap_walk.c: pcap_next_ex over the file) runs between
 * our rounds too, so the ratio comes from one run on one machine state.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { CaptureReader } from '../../core/capture.js';
import type { Kernel } from '../../core/engine.js';
import { Engine } from '../../core/engine.js';
import { invalid } from '../../core/errors.js';
import { readCapture } from '../sources/capture.js';
import { machine, median, round, timeRounds } from './measure.js';

export interface CaptureBenchOptions {
  input: string;
  rounds: number;
  batchSize: number;
  kernel?: Kernel;
  /** the built scripts/pcap_walk.c */
  anchor?: string;
}

const GiB = 2 ** 30;

export async function benchCapture(o: CaptureBenchOptions) {
  let size: number;
  try {
    size = statSync(o.input).size;
  } catch {
    return invalid('--input', o.input, 'no such file');
  }
  if (size > GiB) invalid('--input', o.input, `${size} bytes: the in-memory round holds at most 1 GiB`);
  const engine = await Engine.create({ kernel: o.kernel });
  const memory = CaptureReader.create(engine, { chunkSize: Math.max(size, 64), batchSize: o.batchSize, name: o.input });
  loadWhole(o.input, memory.space());
  const file = readCapture(engine, o.input, { batchSize: o.batchSize });

  let packets = 0;
  const walkInMemory = () => {
    memory.reset();
    memory.space();
    packets = 0;
    for (const batch of memory.feed(size)) packets += batch.count;
  };
  let filePackets = 0;
  const walkFile = () => {
    filePackets = 0;
    for (const batch of file) filePackets += batch.count;
  };

  const fileRounds: number[] = [];
  const anchorRounds: number[] = [];
  const between = () => {
    const t0 = performance.now();
    walkFile();
    fileRounds.push((performance.now() - t0) / 1000);
    if (o.anchor) anchorRounds.push(runAnchor(o.anchor, o.input, filePackets));
  };
  // the last call is an in-memory walk, so the walker state read below is that reader's
  const inMemory = timeRounds(o.rounds, walkInMemory, between);
  const summary = memory.finish();
  if (filePackets !== summary.packets) invalid('--input', o.input, `read ${filePackets} packets from the file and ${summary.packets} from memory`);
  memory.free();
  file.free();

  const perSecond = (s: number) => summary.records / s / 1e6;
  const anchor = anchorRounds.length ? {
    anchor_mrecords_per_s: round(median(anchorRounds)),
    ratio_file_vs_anchor: round(perSecond(median(fileRounds)) / median(anchorRounds), 2),
  } : {};
  return {
    bench: 'capture',
    mrecords_per_s: round(perSecond(median(inMemory))),
    gbytes_per_s: round(size / median(inMemory) / 1e9, 2),
    file_mrecords_per_s: round(perSecond(median(fileRounds))),
    file_gbytes_per_s: round(size / median(fileRounds) / 1e9, 2),
    ...anchor,
    rounds_mrecords_per_s: inMemory.map((s) => round(perSecond(s))),
    input: o.input,
    format: summary.format,
    records: summary.records,
    packets: summary.packets,
    bytes: size,
    batch: o.batchSize,
    warnings: summary.warnings,
    machine: machine(),
  };
}

/** Reads the whole file into `target` (engine memory). */
function loadWhole(path: string, target: Uint8Array): void {
  const fd = openSync(path, 'r');
  try {
    for (let at = 0; at < target.length;) {
      const n = readSync(fd, target, at, target.length - at, null);
      if (n === 0) break;
      at += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** One run of the anchor: its `libpcap  X Mrecords/s  packets N` line, checked against our count. */
function runAnchor(binary: string, input: string, packets: number): number {
  let text: string;
  try {
    text = execFileSync(binary, [input], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    return invalid('--anchor', binary, `could not run it: ${(e as Error).message.split('\n')[0]}`);
  }
  const m = /([0-9.]+) Mrecords\/s\s+packets (\d+)/.exec(text);
  if (!m) return invalid('--anchor', binary, 'printed no "X Mrecords/s  packets N" line');
  if (Number(m[2]) !== packets) invalid('--anchor', binary, `read ${m[2]} packets where rssplane read ${packets}`);
  return Number(m[1]);
}
