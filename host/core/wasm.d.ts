/** The engine's .wasm files are bundled as bytes (esbuild's binary loader; a plugin in vitest). */
declare module '*.wasm' {
  const bytes: Uint8Array<ArrayBuffer>;
  export default bytes;
}
