// Bundles the library (isomorphic) and the CLI with esbuild, then emits type declarations.
import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as esbuild from 'esbuild';

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  loader: { '.wasm': 'binary' },
  sourcemap: true,
  logLevel: 'warning',
};

/**
 * For the command and its threads (CommonJS bundles in dist/), an engine build is a file beside
 * the bundle, read when the engine first compiles it: embedded (the library's way, which also
 * runs in browsers) it would be parsed and base64-decoded at every start, four builds of which a
 * run uses one. The Buffer read is the bytes (a Uint8Array of its own ArrayBuffer at this size):
 * copying it into another would touch as many fresh pages again.
 */
const wasmFiles = {
  name: 'wasm-files',
  setup(build) {
    build.onResolve({ filter: /\.wasm$/ }, (args) => ({ path: basename(args.path), namespace: 'wasm-file' }));
    build.onLoad({ filter: /.*/, namespace: 'wasm-file' }, (args) => ({
      contents: `import { readFileSync } from 'node:fs';\nimport { join } from 'node:path';\nlet bytes;\nexport default () => (bytes ??= readFileSync(join(__dirname, ${JSON.stringify(args.path)})));\n`,
      loader: 'js',
    }));
  },
};

/**
 * commander requires child_process when it loads, for subcommands that are programs of their own
 * (rssplane has none): give it child_process on first use instead, so that every start does not
 * load it (with dgram, net and their friends).
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (/[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy-child-process' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'lazy-child-process' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, name) => require('node:child_process')[name] });",
      loader: 'js',
    }));
  },
};

/**
 * `await import('node:...')` (a built-in a command needs only sometimes, such as worker_threads)
 * becomes a require made when the import runs: the command is loaded through vm.Script with its
 * code cache (host/node/launch.cjs), and Node 20 does not give functions read from a code cache
 * the loader that import() needs.
 */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, namespace: 'lazy-builtin' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

// What earlier builds left that this one does not make (chunks, names since changed).
mkdirSync('dist', { recursive: true });
for (const f of readdirSync('dist')) {
  if (/^chunk-.*\.js(\.map)?$|^cli\.js\.map$|^(cli|runner-worker)\.cjs(\.map)?$|^(index|bench-dpdk-worker|connect-worker|link-worker)\.js(\.map)?$/.test(f)) rmSync(`dist/${f}`);
}

/**
 * The command and the runner's threads are CommonJS, one file each (dist/package.json says so for
 * dist/*.js; the library is dist/index.mjs): a module is initialised when it is first used (a
 * command loads only its own code and the Node built-ins it uses), and Node loads one file,
 * without the work of its ES module loader. `import.meta.url` becomes the file's own URL, made
 * when first asked for and kept; `import.meta.dirname` is `__dirname`.
 */
const commonjs = {
  ...common, format: 'cjs', platform: 'node', outdir: 'dist', plugins: [wasmFiles, lazyChildProcess, lazyBuiltins],
  // Less to read and parse at every start; names stay, so a stack trace still reads.
  minifyWhitespace: true, minifySyntax: true,
  define: { 'import.meta.url': '__rssplaneMeta.url', 'import.meta.dirname': '__dirname' },
  banner: { js: "const __rssplaneMeta = { get url() { const url = require('node:url').pathToFileURL(__filename).href; Object.defineProperty(this, 'url', { value: url }); return url; } };" },
};

await Promise.all([
  esbuild.build({ ...common, entryPoints: ['host/core/index.ts'], outfile: 'dist/index.mjs', platform: 'neutral' }),
  // The CLI carries its dependencies (commander, cli-progress) in the bundle: resolving and
  // loading packages from node_modules at every start costs more than the run of a small capture.
  esbuild.build({ ...commonjs, entryPoints: { 'cli-main': 'host/node/cli.ts' } }),
  esbuild.build({ ...commonjs, entryPoints: { 'runner-worker': 'host/node/runner/worker.ts' } }),
  // The link layer's test harness (run by the test rig: node dist/link-harness.js).
  esbuild.build({ ...commonjs, entryPoints: { 'link-harness': 'host/node/link/harness.ts' } }),
  // ES modules (they await at their top level): the endpoint threads of connect and serve (the
  // in-memory wire), the link layer's per-core threads.
  esbuild.build({
    ...common, entryPoints: { 'connect-worker': 'host/node/runner/connect-worker.ts', 'link-worker': 'host/node/link/worker.ts' },
    outdir: 'dist', outExtension: { '.js': '.mjs' }, platform: 'node', packages: 'external',
  }),
  // bench dpdk's per-core threads (an ES module: it awaits at its top level).
  esbuild.build({ ...common, entryPoints: { 'bench-dpdk-worker': 'host/node/bench/dpdk-worker.ts' }, outdir: 'dist', outExtension: { '.js': '.mjs' }, platform: 'node', packages: 'external' }),
  // The visualizer: static files that any static server can serve (rssplane visualize does).
  esbuild.build({ ...common, entryPoints: { app: 'host/web/main.ts' }, outdir: 'dist/web', platform: 'browser' }),
]);
for (const f of readdirSync('build')) if (f.endsWith('.wasm')) copyFileSync(`build/${f}`, `dist/${f}`);
mkdirSync('dist/web', { recursive: true });
for (const f of ['index.html', 'style.css']) copyFileSync(`host/web/${f}`, `dist/web/${f}`);
writeFileSync('dist/package.json', `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
// The launcher reads the bundle as latin1, which is its exact decoding only while it is ASCII
// (esbuild's default charset escapes the rest).
const nonAscii = readFileSync('dist/cli-main.js').findIndex((byte) => byte > 0x7f);
if (nonAscii >= 0) throw new Error(`dist/cli-main.js has a byte over 0x7f at ${nonAscii}: host/node/launch.cjs reads it as latin1`);
// The command's first file loads the bundle with V8's code cache (host/node/launch.cjs says how).
copyFileSync('host/node/launch.cjs', 'dist/cli.js');
chmodSync('dist/cli.js', 0o755);
// Its code cache, from a run on a small capture: the functions a run calls are compiled in it too.
rmSync('dist/cli-main.js.cache', { force: true });
if (existsSync('test/fixtures/captures/ipv4.pcap')) {
  execFileSync(process.execPath, ['dist/cli.js', 'run', '--input', 'test/fixtures/captures/ipv4.pcap', '--cores', '1', '--json', '--no-progress'], {
    env: { ...process.env, RSSPLANE_CODE_CACHE: 'write' }, stdio: ['ignore', 'ignore', 'inherit'],
  });
}

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
