// Bundles the library (isomorphic) and the CLI with esbuild, then emits type declarations.
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
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
  // The CLI carries its dependencies (commander) in the bundle: resolving and loading a package
  // from node_modules at every start costs more than the run of a small capture. Bundled CommonJS
  // code still requires Node's built-ins, hence a `require` for the ES module.
  esbuild.build({
    ...common, entryPoints: ['host/node/cli.ts'], outfile: 'dist/cli.js', platform: 'node',
    banner: { js: "import { createRequire as __rssplaneRequire } from 'node:module'; const require = __rssplaneRequire(import.meta.url);" },
  }),
]);
chmodSync('dist/cli.js', 0o755);

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
