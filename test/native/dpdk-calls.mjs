// The DPDK shim's own calls, as the runner makes them: EAL and ports on the main thread, queues
// from a worker thread. Run by test/dpdk.test.ts as a child process (EAL initialises once per
// process) and prints one JSON object of what it saw; the test holds the expectations.
//
//   node test/native/dpdk-calls.mjs ADDON CAPTURE
//
// Ports: 0 = net_ring0 (each transmit queue loops back to its receive queue), 1 = net_null0 (a
// table and key it keeps, hash types it offers).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const [addonPath, capturePath] = isMainThread ? process.argv.slice(2) : [workerData.addonPath];
const dpdk = createRequire(import.meta.url)(addonPath);

const SLOT_PACKETS = 256;
const SLOT_BYTES = 64 + SLOT_PACKETS * 32 + SLOT_PACKETS * 1536;

/** Frames of a little-endian microsecond pcap (the fixtures are). */
function frames(path) {
  const b = readFileSync(path);
  const out = [];
  for (let at = 24; at + 16 <= b.length;) {
    const caplen = b.readUInt32LE(at + 8), wirelen = b.readUInt32LE(at + 12);
    out.push({ bytes: b.subarray(at + 16, at + 16 + caplen), wirelen });
    at += 16 + caplen;
  }
  return out;
}

/** Writes frames into a slot (abi.ts layout: PKT_DATA relative to the slot's packet bytes). */
function stage(u8, slot, list) {
  const dv = new DataView(u8.buffer, u8.byteOffset);
  const data = slot + 64 + SLOT_PACKETS * 32;
  let used = 0;
  list.forEach((f, i) => {
    const d = slot + 64 + i * 32;
    dv.setUint32(d, used, true);
    dv.setUint32(d + 4, f.bytes.length, true);
    dv.setUint32(d + 8, f.bytes.length, true);
    u8.set(f.bytes, data + used);
    used += (f.bytes.length + 15) & ~15;
  });
  dv.setUint32(slot, list.length, true);
  dv.setUint32(slot + 4, used, true);
}

/** The packets of a filled slot: descriptor fields and bytes. */
function unstage(u8, slot) {
  const dv = new DataView(u8.buffer, u8.byteOffset);
  const count = dv.getUint32(slot, true);
  const data = slot + 64 + SLOT_PACKETS * 32;
  return Array.from({ length: count }, (_, i) => {
    const d = slot + 64 + i * 32;
    const at = dv.getUint32(d, true), caplen = dv.getUint32(d + 4, true);
    return {
      at, caplen, wirelen: dv.getUint32(d + 8, true), linktype: dv.getUint16(d + 12, true), iface: dv.getUint16(d + 14, true),
      queue: dv.getUint16(d + 28, true), flags: dv.getUint16(d + 30, true),
      hex: Buffer.from(u8.subarray(data + at, data + at + caplen)).toString('hex'),
    };
  });
}

function error(fn) {
  try {
    fn();
    return null;
  } catch (e) {
    return { code: e.code, message: e.message };
  }
}

if (isMainThread) {
  const init = dpdk.ealInit(['--no-huge', '-m', '256', '--no-pci', '--no-shconf', '--no-telemetry', '--vdev', 'net_ring0', '--vdev', 'net_null0'], true);
  const result = { init: { ok: init.ok, ports: init.ports }, state: dpdk.ealState() };
  result.ring = dpdk.portInfo(0);
  result.null = dpdk.portInfo(1);
  for (const p of [result.ring, result.null]) {
    p.rssHashTypes = String(p.rssHashTypes);
    p.rxOffloads = String(p.rxOffloads);
  }
  result.ringConfigured = dpdk.configure(0, { rxQueues: 2, txQueues: 2 });
  result.ringConfigured.rssHashTypes = String(result.ringConfigured.rssHashTypes);
  dpdk.start(0);
  // net_null: RSS over 4 queues, a symmetric key and a weighted table; read back.
  const key = Uint8Array.from({ length: 40 }, (_, i) => (i % 2 ? 0x5a : 0x6d));
  const reta = Uint16Array.from({ length: 128 }, (_, i) => (i < 16 ? 0 : i < 48 ? 1 : i < 96 ? 2 : 3));
  const nullConfigured = dpdk.configure(1, { rxQueues: 4, txQueues: 1, rssKey: key, rssHashTypes: (1n << 2n) | (1n << 4n), reta });
  dpdk.start(1);
  const conf = dpdk.rssConf(1);
  result.nullRss = {
    rss: nullConfigured.rss, hashTypes: String(nullConfigured.rssHashTypes), key: Buffer.from(conf.key).toString('hex'),
    reta: Array.from(dpdk.retaQuery(1)), retaAsked: Array.from(reta),
  };
  result.ringRss = { conf: dpdk.rssConf(0), reta: dpdk.retaQuery(0) };
  result.errors = {
    noPort: error(() => dpdk.portInfo(7)),
    tooManyQueues: error(() => dpdk.configure(1, { rxQueues: 5000, txQueues: 1 })),
    eal: error(() => dpdk.ealInit([], true)),
  };

  const memory = new Uint8Array(new SharedArrayBuffer(4 << 20));
  const worker = new Worker(new URL(import.meta.url), { workerData: { addonPath, memory, frames: frames(capturePath) } });
  const fromWorker = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  result.worker = fromWorker;
  result.mainLcore = dpdk.registerThread();
  result.stats = dpdk.stats(0);
  // The worker used the memory from its thread; the main thread reads the same bytes.
  result.sharedSeen = unstage(memory, 1 << 20).length;
  for (const p of [0, 1]) {
    dpdk.stop(p);
    dpdk.close(p);
  }
  dpdk.cleanup();
  result.finalState = dpdk.ealState();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const { memory, frames: list } = workerData;
  const out = { lcore: dpdk.registerThread() };
  const tx = new dpdk.TxQueue(0, 1, memory, SLOT_PACKETS, SLOT_BYTES);
  const rx = new dpdk.RxQueue(0, 1, memory, SLOT_PACKETS, SLOT_BYTES, false);
  const sent = list.slice(0, 100);
  stage(memory, 0, sent);
  out.sent = tx.send(0);
  out.filled = rx.fill(1 << 20);
  out.again = rx.fill(1 << 20 + 0) === 0 ? 0 : -1;
  // The loop again, then read it back: what went out is what came in, byte for byte.
  out.sent2 = tx.send(0);
  out.filled2 = rx.fill(1 << 20);
  const back = unstage(memory, 1 << 20);
  out.packets = back.length;
  out.sameBytes = back.every((p, i) => p.hex === Buffer.from(sent[i].bytes).toString('hex'));
  out.first = back[0];
  out.empty = rx.fill(2 << 20);
  out.otherQueueEmpty = new dpdk.RxQueue(0, 0, memory, SLOT_PACKETS, SLOT_BYTES, false).fill(2 << 20);
  out.errors = {
    noQueue: error(() => new dpdk.RxQueue(0, 9, memory, SLOT_PACKETS, SLOT_BYTES, false)),
    outside: error(() => rx.fill(memory.length - 100)),
    smallSlot: error(() => new dpdk.RxQueue(0, 0, memory, SLOT_PACKETS, 4096, false)),
    notBytes: error(() => new dpdk.RxQueue(0, 0, new Uint32Array(8), SLOT_PACKETS, SLOT_BYTES, false)),
  };
  rx.close();
  out.closed = error(() => rx.fill(0));
  tx.close();
  parentPort.postMessage(out);
}
