#!/usr/bin/env node
// Mutated frames through the flow engine: real packets from the test captures, each frame
// mutated (bits flipped, cut short, headers replaced by random bytes, descriptors that lie), fed
// in batches to engines set up three ways. After every batch each engine must still hold
// received = processed + dropped; no trap, no abort; resident memory within the bound.
//
//   npm run build && node scripts/fuzz-engine.mjs [--frames N] [--seed S] [--json]
//
// Engines: (a) the run's setup, records off, a small table (evictions all the time); (b) records
// and reassembly on, bad checksums dropped; (c) checksums off, a table of 64 flows, a 1 s idle
// timeout. Deterministic from --seed (xorshift32). Exits 1, naming the frame, on any failure.
import { readdirSync, readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { flag, integerOption } from './lib/measure.mjs';

setFlagsFromString('--experimental-wasm-relaxed-simd');
const L = await import(new URL('../dist/index.mjs', import.meta.url));

const FRAMES = integerOption('frames', 10_000_000, 1, Number.MAX_SAFE_INTEGER);
const SEED = integerOption('seed', 1, 0, 2 ** 32 - 1);
const JSON_OUT = flag('json');

let state = (SEED >>> 0) || 0x9e3779b9;
const next = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state;
};
const below = (n) => Math.floor((next() / 2 ** 32) * n);

// ---- seed frames: every packet of the committed captures, as the capture reader delivers them ----
const captures = new URL('../test/fixtures/captures/', import.meta.url);
const seeds = [];
{
  const engine = await L.Engine.create();
  for (const name of readdirSync(captures).filter((f) => /\.(pcap|pcapng)$/.test(f)).sort()) {
    const reader = L.CaptureReader.create(engine, { name });
    for (const batch of reader.write(new Uint8Array(readFileSync(new URL(name, captures))))) {
      const dv = new DataView(engine.memory.buffer);
      for (let i = 0; i < batch.count; i++) {
        const d = batch.descriptors + i * 32;
        const at = dv.getUint32(d, true), caplen = dv.getUint32(d + 4, true);
        seeds.push({ bytes: engine.bytes.slice(at, at + caplen), wirelen: dv.getUint32(d + 8, true), link: dv.getUint16(d + 12, true) });
      }
    }
    try { reader.finish(); } catch { /* a cut-short fixture: its packets are in */ }
    reader.free();
  }
}

// ---- the engines ----
const config = L.RssConfig.from({ key: 'microsoft', reta: 'equal:4' });
const setups = [
  { name: 'run', options: { flows: 4096, records: false, cores: 2 } },
  { name: 'records+reassembly', options: { flows: 1024, records: true, checksums: 'drop', reassembly: { streams: 64, window: 4096 } } },
  { name: 'tiny table', options: { flows: 64, checksums: 'off', idleTimeout: 1, closedTimeout: 0.5 } },
];
const BATCH = 4096;
const SNAP = 2048;
const engines = [];
for (const s of setups) {
  const engine = await L.Engine.create();
  const flows = L.FlowEngine.create(engine, config, { batchMax: BATCH, ...s.options });
  const data = engine.allocate(BATCH * SNAP);
  const descriptors = engine.allocate(BATCH * 32);
  engines.push({ ...s, engine, flows, data, descriptors, records: 0, events: 0 });
}

/** One mutated frame into `out` (SNAP bytes): returns [caplen, wirelen, link]. */
function mutate(out) {
  const seed = seeds[below(seeds.length)];
  let caplen = Math.min(seed.bytes.length, SNAP);
  out.set(seed.bytes.subarray(0, caplen));
  let wirelen = seed.wirelen, link = seed.link;
  // Two frames in five go in as captured: real flows, for the mutated ones to run into.
  const ops = below(5) < 2 ? 0 : 1 + below(3);
  for (let k = 0; k < ops; k++) {
    switch (below(8)) {
      case 0: // bit flips in the headers
      case 1: {
        const n = 1 + below(8);
        for (let i = 0; i < n; i++) {
          const at = below(Math.min(caplen, 128) || 1);
          out[at] ^= 1 << below(8);
        }
        break;
      }
      case 2: // cut short
        caplen = below(caplen + 1);
        break;
      case 3: { // random bytes over a header
        const from = below(Math.min(caplen, 80) || 1), n = 1 + below(40);
        for (let i = from; i < Math.min(caplen, from + n); i++) out[i] = next() & 0xff;
        break;
      }
      case 4: { // a random network header after Ethernet (or from byte 0 for raw IP)
        const from = link === 1 ? 14 : 0;
        for (let i = from; i < Math.min(caplen, from + 60); i++) out[i] = next() & 0xff;
        if (below(2)) out[from] = below(2) ? 0x45 + below(11) : 0x60; // keep it looking like IP
        break;
      }
      case 5: // lengths that lie
        if (below(2)) wirelen = below(caplen + 1);
        else caplen = 0;
        break;
      case 6: // another link type
        link = below(4) === 0 ? next() & 0xffff : below(2) ? 1 : 101;
        break;
      default: // a byte of the TCP or UDP header changed (ports, flags, offsets)
        if (caplen > 40) out[34 + below(Math.min(caplen - 34, 20))] = next() & 0xff;
        break;
    }
  }
  return [caplen, Math.max(wirelen, 0), link];
}

let frames = 0;
let rssMax = process.memoryUsage().rss;
const t0 = performance.now();
let ts = 1_800_000_000_000_000_000n;
const frame = new Uint8Array(SNAP);
while (frames < FRAMES) {
  const n = Math.min(BATCH, FRAMES - frames);
  // The same mutated frames go to every engine.
  const batch = [];
  for (let i = 0; i < n; i++) {
    const [caplen, wirelen, link] = mutate(frame);
    // Time goes forward by up to 2 ms, now and then backwards, rarely an hour ahead.
    const jump = below(1000);
    ts += jump < 10 ? -5_000_000_000n : jump === 10 ? 3_600_000_000_000n : BigInt(below(2_000_000));
    batch.push([frame.slice(0, caplen), caplen, wirelen, link, ts]);
  }
  for (const e of engines) {
    const bytes = e.engine.bytes;
    const dv = new DataView(e.engine.memory.buffer);
    batch.forEach(([b, caplen, wirelen, link, t], i) => {
      const at = e.data + i * SNAP;
      bytes.set(b, at);
      const d = e.descriptors + i * 32;
      bytes.fill(0, d, d + 32);
      dv.setUint32(d, at, true);
      dv.setUint32(d + 4, caplen, true);
      dv.setUint32(d + 8, wirelen, true);
      dv.setUint16(d + 12, link, true);
      dv.setBigUint64(d + 16, BigInt.asUintN(64, t), true);
    });
    try {
      e.flows.process({ descriptors: e.descriptors, count: n });
    } catch (err) {
      fail(`${e.name}: ${err.message} in the batch of frames ${frames} to ${frames + n - 1}`);
    }
    e.records += e.flows.takeRecords().length;
    for (const ev of e.flows.takeEvents()) if (ev.type === 'data') e.events++;
    const s = e.flows.stats();
    if (s.received !== frames + n || s.processed + s.dropped !== s.received) {
      fail(`${e.name}: after ${frames + n} frames received ${s.received} = processed ${s.processed} + dropped ${s.dropped} fails`);
    }
  }
  frames += n;
  if ((frames / BATCH) % 64 === 0) rssMax = Math.max(rssMax, process.memoryUsage().rss);
}
for (const e of engines) {
  try {
    e.flows.finish();
  } catch (err) {
    fail(`${e.name}: ${err.message} at the end`);
  }
  e.records += e.flows.takeRecords().length;
  // Every flow the table made leaves it as one record: none lost, none written twice.
  const { created, active } = e.flows.stats().flows;
  if (e.options.records !== false && (e.records !== created || active !== 0)) {
    fail(`${e.name}: ${created} flows created but ${e.records} records written, ${active} still active at the end`);
  }
}
rssMax = Math.max(rssMax, process.memoryUsage().rss);
const seconds = (performance.now() - t0) / 1000;
// The bound: 1.2 times what the three engines reserve (flow tables, and their record, event and
// stream buffers, which a run's engine has too) plus this script's own frame buffers, + 100 MB.
const reservation = setups.reduce((n, s) => n + L.flowTableBytes(s.options.flows) + L.flowBufferBytes({ batchMax: BATCH, reassembly: s.options.reassembly }) + BATCH * (SNAP + 32), 0);
const bound = 1.2 * reservation + 100e6;
const result = {
  frames, seed: SEED, seed_frames: seeds.length, seconds: Number(seconds.toFixed(1)),
  resident_max: rssMax, resident_bound: Math.round(bound), within_bound: rssMax <= bound,
  engines: engines.map((e) => {
    const s = e.flows.stats();
    return { name: e.name, received: s.received, processed: s.processed, dropped: s.dropped, drops: s.drops, flows: s.flows, records: e.records, data_events: e.events };
  }),
};
if (!result.within_bound) fail(`resident memory ${rssMax} past the bound ${Math.round(bound)}`);
if (JSON_OUT) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  process.stdout.write(`${frames.toLocaleString('en-US')} mutated frames (seed ${SEED}, from ${seeds.length} real ones) in ${result.seconds} s: no trap, received = processed + dropped after every batch\n`);
  for (const e of result.engines) process.stdout.write(`  ${e.name.padEnd(20)} processed ${e.processed.toLocaleString('en-US')}, dropped ${e.dropped.toLocaleString('en-US')} ${JSON.stringify(e.drops)}; flows created ${e.flows.created.toLocaleString('en-US')}, evicted ${e.flows.evicted.toLocaleString('en-US')}, timed out ${e.flows.timedOut.toLocaleString('en-US')}; ${e.records.toLocaleString('en-US')} records, ${e.data_events.toLocaleString('en-US')} stream pieces\n`);
  process.stdout.write(`  resident at most ${(rssMax / 1e6).toFixed(0)} MB (bound ${(bound / 1e6).toFixed(0)} MB)\n`);
}

function fail(message) {
  process.stderr.write(`fuzz-engine: ${message} (seed ${SEED})\n`);
  process.exit(1);
}
