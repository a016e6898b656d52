{
  # Huge pages for the engine's memory and a quick exit (memory.c): Node's own N-API, no DPDK, no node-addon-api.
  # Built by scripts/build-native.mjs before the DPDK shim.
  "targets": [
    {
      "target_name": "rssplane_memory",
      "sources": ["memory.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
