/*
 * The rssplane_dpdk addon: see shim.h. Loaded by the main thread and by every worker thread of a
 * run; EAL and the ports are per process, so all of them share one DPDK state.
 */
#include "shim.h"

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  shim::initEal(env, exports);
  shim::initPort(env, exports);
  shim::initQueue(env, exports);
  exports.Set("abi", Napi::Number::New(env, SLOT_DESCRIPTORS * 65536 + PKT_DESCRIPTOR));
  return exports;
}

NODE_API_MODULE(rssplane_dpdk, Init)
