{
  # The DPDK shim: node-addon-api over DPDK 22.11 (Debian's libdpdk-dev), flags from pkg-config.
  # Built by scripts/build-native.mjs, which first writes build/abi.h from assembly/shared/abi.ts.
  "targets": [
    {
      "target_name": "rssplane_dpdk",
      "sources": ["addon.cc", "eal.cc", "port.cc", "queue.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "build"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "<!@(pkg-config --cflags libdpdk)"],
      "libraries": ["<!@(pkg-config --libs libdpdk)"]
    }
  ]
}
