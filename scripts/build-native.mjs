// Builds the three native addons, each optional by design: `npm ci` succeeds without them, and the
// engine runs the same (under CI=true a failed build fails the install, so CI never tests without
// one by accident).
//
// - native/memory (dist/rssplane_memory.node): huge pages under the engine's memory and a quick
//   exit, Node's N-API and a C compiler only (host/node/memory-addon.ts).
// - native/wasm-cache (dist/rssplane_wasm_cache.node): the engine's optimised machine code kept
//   between runs, V8's C++ API and a C++ compiler (host/node/wasm-cache.ts). Once it is built, a
//   run on a capture made here writes the caches it reads (dist/rssplane*.wasm.cache).
// - native/ (dist/rssplane_dpdk.node): the DPDK shim, when the machine has DPDK; it says what to
//   install when it does not. Steps: generate native/build/abi.h from assembly/shared/abi.ts (the
//   one memory plan: packet descriptors and batch slots), run node-gyp against `pkg-config
//   libdpdk`, copy the addon next to the bundles, where dist/cli.js and the workers load it.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(root, 'native');
const out = join(root, 'dist', 'rssplane_dpdk.node');
const memoryOut = join(root, 'dist', 'rssplane_memory.node');
const wasmCacheOut = join(root, 'dist', 'rssplane_wasm_cache.node');
const ci = process.env.CI === 'true';

function works(cmd, args) {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

function skip(why) {
  rmSync(out, { force: true });
  process.stderr.write(`rssplane: DPDK shim not built (${why}); --input dpdk needs it: apt-get install libdpdk-dev pkg-config g++, then npm ci\n`);
  process.exit(0);
}

// node-gyp would download Node's headers; the installed ones serve (Debian and NodeSource
// packages put them under <prefix>/include/node), and nothing is fetched then.
const prefix = dirname(dirname(process.execPath));
const nodedir = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
const gyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
/** node-gyp configure (once) and build in `dir`. */
function gypBuild(dir) {
  const run = (args) => execFileSync(process.execPath, [gyp, ...args, ...nodedir, '--loglevel=warn'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  if (!existsSync(join(dir, 'build', 'Makefile'))) run(['configure']);
  run(['build']);
}

// The memory addon first: it needs no DPDK.
try {
  if (!works('cc', ['--version'])) throw new Error('no C compiler');
  gypBuild(join(native, 'memory'));
  mkdirSync(dirname(memoryOut), { recursive: true });
  copyFileSync(join(native, 'memory', 'build', 'Release', 'rssplane_memory.node'), memoryOut);
} catch (e) {
  if (ci) throw e;
  rmSync(memoryOut, { force: true });
  process.stderr.write(`rssplane: memory addon not built (${e.message.split('\n')[0]}); the engine runs on small pages: apt-get install gcc, then npm ci\n`);
}

// The wasm cache's addon, then the caches themselves.
try {
  if (!works('c++', ['--version'])) throw new Error('no C++ compiler');
  gypBuild(join(native, 'wasm-cache'));
  copyFileSync(join(native, 'wasm-cache', 'build', 'Release', 'rssplane_wasm_cache.node'), wasmCacheOut);
  writeWasmCaches();
} catch (e) {
  if (ci) throw e;
  rmSync(wasmCacheOut, { force: true });
  process.stderr.write(`rssplane: wasm cache addon not built (${e.message.split('\n')[0]}); every run compiles the engine anew: apt-get install g++, then npm ci\n`);
}

/**
 * The caches of the shared build (a run on one core, and on all cores: both use it) and of the
 * private one (`bench flows`, and the library), each from runs on a test capture's records
 * repeated 200 times (64,000 packets, with loss, so that retransmissions' paths are among the hot
 * ones) in a temporary file. RSSPLANE_WASM_CACHE=write has the run wait at exit for V8's
 * background compiles to end.
 */
function writeWasmCaches() {
  for (const f of readdirSync(join(root, 'dist'))) if (f.endsWith('.wasm.cache')) rmSync(join(root, 'dist', f));
  const base = join(root, 'test', 'fixtures', 'captures', 'ipv4-loss.pcap');
  if (!existsSync(base) || !existsSync(join(root, 'dist', 'cli.js'))) return;
  const file = join(mkdtempSync(join(tmpdir(), 'rssplane-cache-')), 'repeated.pcap');
  try {
    writeFileSync(file, repeatedCapture(readFileSync(base), 200));
    const runs = [
      ...['1', '2'].map((cores) => ['run', '--input', file, '--cores', cores, '--json', '--no-progress']),
      ['bench', 'flows', '--input', file, '--rounds', '1', '--counts-only', '--json'],
    ];
    for (const args of runs) {
      execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), ...args], {
        env: { ...process.env, RSSPLANE_WASM_CACHE: 'write' }, stdio: ['ignore', 'ignore', 'inherit'],
      });
    }
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
}

/**
 * A classic pcap's records `copies` times, each copy's timestamps moved past the one before (so
 * that its connections come again as new ones): the header once, then the copies.
 */
function repeatedCapture(pcap, copies) {
  const little = pcap.readUInt32LE(0) === 0xa1b2c3d4 || pcap.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (b, at) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const put = (b, v, at) => (little ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const records = pcap.subarray(24);
  let first = 0, last = 0;
  for (let at = 0; at + 16 <= records.length; at += 16 + u32(records, at + 8)) {
    if (at === 0) first = u32(records, 0);
    last = u32(records, at);
  }
  const span = last - first + 60;
  const out = Buffer.alloc(24 + records.length * copies);
  pcap.copy(out, 0, 0, 24);
  for (let c = 0; c < copies; c++) {
    const at0 = 24 + c * records.length;
    records.copy(out, at0);
    for (let at = at0; at + 16 <= at0 + records.length; at += 16 + u32(out, at + 8)) put(out, u32(out, at) + c * span, at);
  }
  return out;
}

if (!works('pkg-config', ['--exists', 'libdpdk'])) skip('pkg-config finds no libdpdk');
if (!works('c++', ['--version'])) skip('no C++ compiler');

// The layout constants the shim writes, read from abi.ts itself (esbuild strips the types; const
// enums stay as objects in an isolated transform).
const abiSource = readFileSync(join(root, 'assembly', 'shared', 'abi.ts'), 'utf8');
const { code } = await esbuild.transform(abiSource, { loader: 'ts', format: 'esm' });
const abi = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
const names = [
  'PKT_DATA', 'PKT_CAPLEN', 'PKT_WIRELEN', 'PKT_LINKTYPE', 'PKT_IFACE', 'PKT_TIMESTAMP', 'PKT_HASH', 'PKT_QUEUE',
  'PKT_FLAGS', 'PKT_DESCRIPTOR', 'SLOT_COUNT', 'SLOT_BYTES', 'SLOT_DESCRIPTORS',
];
const lines = names.map((n) => {
  if (typeof abi[n] !== 'number') throw new Error(`abi.ts has no number ${n}`);
  return `#define ${n} ${abi[n]}u`;
});
lines.push(`#define PACKET_FLAG_HASHED ${abi.PacketFlag.HASHED}u`, `#define LINKTYPE_ETHERNET ${abi.LinkType.ETHERNET}u`);
mkdirSync(join(native, 'build'), { recursive: true });
const header = `/* Generated by scripts/build-native.mjs from assembly/shared/abi.ts: do not edit. */\n#pragma once\n${lines.join('\n')}\n`;
const headerPath = join(native, 'build', 'abi.h');
if (!existsSync(headerPath) || readFileSync(headerPath, 'utf8') !== header) writeFileSync(headerPath, header);

try {
  gypBuild(native);
} catch (e) {
  if (ci) throw e;
  skip(`the build failed: ${e.message.split('\n')[0]}`);
}
mkdirSync(dirname(out), { recursive: true });
copyFileSync(join(native, 'build', 'Release', 'rssplane_dpdk.node'), out);
