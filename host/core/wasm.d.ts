/**
 * The engine's .wasm files: their bytes (esbuild's binary loader for the library; a plugin in
 * vitest), or in the command's bundles a function that reads the file beside the bundle when
 * first called (scripts/build.mjs, wasmFiles). host/core/engine.ts EngineBuild takes either.
 */
declare module '*.wasm' {
  const build: Uint8Array<ArrayBuffer> | (() => Uint8Array<ArrayBuffer>);
  export default build;
}
