#!/usr/bin/env node
/*
 * The rssplane command's first file (dist/cli.js): it loads the command (dist/cli-main.js) with
 * V8's code cache, so that a start does not parse and compile half a megabyte of JavaScript again.
 *
 * The cache (dist/cli-main.js.cache) is made by the build, from a run of the command on a small
 * capture (so that the functions a run calls are in it, not only the top level). V8 takes it
 * only when it was made by the same V8 with the same flags from the same source; otherwise it
 * says so (cachedDataRejected), the command compiles as it would have without a cache, and at
 * its exit writes a new one beside the command if it may (a Node upgrade, an edited bundle).
 * RSSPLANE_CODE_CACHE=off loads the command without it.
 *
 * The cache is written and read with V8's flags as Node starts: the relaxed SIMD flag Node 20
 * needs for the engine is on only around the engine's compile (host/node/relaxed-simd.ts).
 */
'use strict';

const { closeSync, fstatSync, openSync, readSync, renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
// The loader's Module class, as require('node:module') would give it, without compiling that
// module and the three it loads (2 ms of a start).
const Module = module.constructor;
const vm = require('node:vm');

const file = join(__dirname, 'cli-main.js');
const cacheFile = `${file}.cache`;

/**
 * The bundle as the source of a function of (exports, require, module, __filename, __dirname), as
 * Node wraps a CommonJS module, in one flat string, and its code cache. Every page a start touches
 * for the first time costs here (about 20 microseconds on this VM), and the obvious way touched
 * the source four times: readFileSync(file, 'utf8') grows a C++ string as it reads and copies it
 * into a V8 string, and Module.wrap's concatenation is copied again when V8 flattens it to look up
 * the cache. Read once into a buffer that has room for the wrapper, it is touched twice: the read
 * and the string. The cache is then read into the same buffer, whose pages are touched already
 * (V8 copies what it keeps of it). The build makes the bundle ASCII (esbuild's default charset,
 * checked by scripts/build.mjs), so latin1 is its exact decoding.
 */
function readBundle(path, cachePath) {
  const head = '(function (exports, require, module, __filename, __dirname) { ';
  const tail = '\n});';
  let bytes;
  let source;
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    bytes = Buffer.allocUnsafeSlow(head.length + size + tail.length);
    bytes.latin1Write(head, 0);
    readAll(fd, bytes, head.length, size, path);
    bytes.latin1Write(tail, head.length + size);
    source = bytes.latin1Slice(0, bytes.length);
  } finally {
    closeSync(fd);
  }
  let cachedData;
  let cacheFd;
  try {
    cacheFd = openSync(cachePath, 'r');
  } catch {
    return { source, cachedData }; // no cache yet: one is written at exit
  }
  try {
    const size = fstatSync(cacheFd).size;
    const into = size <= bytes.length ? bytes : Buffer.allocUnsafeSlow(size);
    readAll(cacheFd, into, 0, size, cachePath);
    cachedData = into.subarray(0, size);
  } finally {
    closeSync(cacheFd);
  }
  return { source, cachedData };
}

/** Reads `size` bytes of `fd` from its start into `into` at `at`. */
function readAll(fd, into, at, size, path) {
  let read = 0;
  while (read < size) {
    const n = readSync(fd, into, at + read, size - read, read);
    if (n === 0) throw new Error(`${path}: shorter than its size (${read} of ${size} bytes)`);
    read += n;
  }
}

// The bundle has no import(): the build turns each into a require (scripts/build.mjs,
// lazyBuiltins), which a script read from a code cache can make.
if (process.env.RSSPLANE_CODE_CACHE === 'off') {
  require(file);
} else {
  const { source, cachedData } = readBundle(file, cacheFile);
  const script = new vm.Script(source, { filename: file, cachedData });
  const write = process.env.RSSPLANE_CODE_CACHE === 'write' || cachedData === undefined || script.cachedDataRejected;
  if (write) {
    process.on('exit', () => {
      // Best effort: a command installed where its user may not write runs without a new cache.
      try {
        const temporary = `${cacheFile}.${process.pid}`;
        writeFileSync(temporary, script.createCachedData());
        renameSync(temporary, cacheFile);
      } catch {
        // read-only install
      }
    });
  }
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(__dirname);
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, __dirname);
}
