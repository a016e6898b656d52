{
  # The engine's compiled machine code kept between runs (wasm_cache.cc): V8's own API, so it is
  # built against the Node that runs it, like every addon here. Built by scripts/build-native.mjs.
  "targets": [
    {
      "target_name": "rssplane_wasm_cache",
      "sources": ["wasm_cache.cc"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-cast-function-type"]
    }
  ]
}
