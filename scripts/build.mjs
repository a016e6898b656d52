// Bundles the library (isomorphic) and the CLI with esbuild, then emits type declarations.
import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
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
 * For the command and its threads, an engine build is a file beside the bundle, read when the
 * module that names it loads: embedded (the library's way, which also runs in browsers) it would
 * be parsed and base64-decoded at every start, four builds of which a run uses one or two.
 */
const wasmFiles = {
  name: 'wasm-files',
  setup(build) {
    build.onResolve({ filter: /\.wasm$/ }, (args) => ({ path: basename(args.path), namespace: 'wasm-file' }));
    build.onLoad({ filter: /.*/, namespace: 'wasm-file' }, (args) => ({
      contents: `import { readFileSync } from 'node:fs';\nexport default new Uint8Array(readFileSync(new URL(${JSON.stringify(`./${args.path}`)}, import.meta.url)));\n`,
      loader: 'js',
    }));
  },
};

// Chunks of the last build go: their names carry hashes.
mkdirSync('dist', { recursive: true });
for (const f of readdirSync('dist')) if (/^chunk-.*\.js(\.map)?$/.test(f)) rmSync(`dist/${f}`);

await Promise.all([
  esbuild.build({ ...common, entryPoints: ['host/core/index.ts'], outfile: 'dist/index.js', platform: 'neutral' }),
  // The CLI carries its dependencies (commander, cli-progress) in the bundle: resolving and
  // loading packages from node_modules at every start costs more than the run of a small
  // capture. Split into chunks, so that a command loads only its own code (and Node built-ins);
  // the runner's worker threads share the chunks. Bundled CommonJS code still requires Node's
  // built-ins, hence a `require` for the ES module.
  esbuild.build({
    ...common, entryPoints: { cli: 'host/node/cli.ts', 'runner-worker': 'host/node/runner/worker.ts' }, outdir: 'dist', platform: 'node',
    splitting: true, chunkNames: 'chunk-[hash]', plugins: [wasmFiles],
    banner: { js: "import { createRequire as __rssplaneRequire } from 'node:module'; const require = __rssplaneRequire(import.meta.url);" },
  }),
  // bench dpdk's per-core threads.
  esbuild.build({ ...common, entryPoints: { 'bench-dpdk-worker': 'host/node/bench/dpdk-worker.ts' }, outdir: 'dist', platform: 'node', packages: 'external' }),
  // The visualizer: static files that any static server can serve (rssplane visualize does).
  esbuild.build({ ...common, entryPoints: { app: 'host/web/main.ts' }, outdir: 'dist/web', platform: 'browser' }),
]);
for (const f of readdirSync('build')) if (f.endsWith('.wasm')) copyFileSync(`build/${f}`, `dist/${f}`);
mkdirSync('dist/web', { recursive: true });
for (const f of ['index.html', 'style.css']) copyFileSync(`host/web/${f}`, `dist/web/${f}`);
chmodSync('dist/cli.js', 0o755);

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
