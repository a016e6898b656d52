// Bundles the library (isomorphic) and the CLI with esbuild, then emits type declarations.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import * as esbuild from 'esbuild';

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  loader: { '.wasm': 'binary' },
  sourcemap: true,
  logLevel: 'warning',
};

await Promise.all([
  esbuild.build({ ...common, entryPoints: ['host/core/index.ts'], outfile: 'dist/index.js', platform: 'neutral' }),
  // The CLI carries its dependencies (commander, cli-progress) in the bundle: resolving and
  // loading packages from node_modules at every start costs more than the run of a small
  // capture. Bundled CommonJS code still requires Node's built-ins, hence a `require` for the
  // ES module.
  esbuild.build({
    ...common, entryPoints: ['host/node/cli.ts'], outfile: 'dist/cli.js', platform: 'node',
    banner: { js: "import { createRequire as __rssplaneRequire } from 'node:module'; const require = __rssplaneRequire(import.meta.url);" },
  }),
  // Worker threads of the runner: loaded by dist/cli.js from beside it.
  esbuild.build({ ...common, entryPoints: { 'runner-worker': 'host/node/runner/worker.ts' }, outdir: 'dist', platform: 'node', packages: 'external' }),
  // connect and serve: the endpoint threads of the in-memory wire.
  esbuild.build({ ...common, entryPoints: { 'connect-worker': 'host/node/runner/connect-worker.ts' }, outdir: 'dist', platform: 'node', packages: 'external' }),
  // bench dpdk's per-core threads.
  esbuild.build({ ...common, entryPoints: { 'bench-dpdk-worker': 'host/node/bench/dpdk-worker.ts' }, outdir: 'dist', platform: 'node', packages: 'external' }),
  // The link layer's per-core threads (connect, serve, and the test rig's harness), and the harness.
  esbuild.build({ ...common, entryPoints: { 'link-worker': 'host/node/link/worker.ts', 'link-harness': 'host/node/link/harness.ts' }, outdir: 'dist', platform: 'node', packages: 'external' }),
  // The visualizer: static files that any static server can serve (rssplane visualize does).
  esbuild.build({ ...common, entryPoints: { app: 'host/web/main.ts' }, outdir: 'dist/web', platform: 'browser' }),
]);
mkdirSync('dist/web', { recursive: true });
for (const f of ['index.html', 'style.css']) copyFileSync(`host/web/${f}`, `dist/web/${f}`);
chmodSync('dist/cli.js', 0o755);

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
