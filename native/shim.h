/*
 * The native DPDK shim: the few DPDK calls rssplane needs, for node-addon-api.
 *
 * It stays thin on purpose. EAL init, a port's description, configuration with RSS, start/stop,
 * statistics, and the one thing that must be native: moving packets between a DPDK queue and a
 * batch slot in a worker's WebAssembly memory, a slot at a time (assembly/shared/abi.ts, "rings":
 * descriptors, then packet bytes). JavaScript crosses into native code once per slot, never per
 * packet. Everything else (which queue serves which core, what the RSS key and table mean) is
 * decided in TypeScript (host/node/sources/dpdk.ts).
 *
 * Errors are thrown as JavaScript Errors whose `code` is the errno name (EINVAL, ENODEV...), so
 * the TypeScript side turns them into RssplaneError values without guessing.
 */
#pragma once

#include <napi.h>

#include <cerrno>
#include <string>

#include <rte_ethdev.h>

#include "abi.h"

namespace shim {

/** Throws a JavaScript Error with `code` set to errno `err`'s name (a positive errno). */
[[noreturn]] void fail(Napi::Env env, int err, const std::string &message);

/** Throws EINVAL unless EAL is initialised (ealInit succeeded in this process). */
void requireEal(Napi::Env env);

/** Argument `i` as a port id that exists (ENODEV naming the ports there are otherwise). */
uint16_t portArg(const Napi::CallbackInfo &info, size_t i);

/** Argument `i` as a whole number in [lo, hi] (EINVAL naming `what` otherwise). */
uint32_t numberArg(const Napi::CallbackInfo &info, size_t i, const char *what, uint32_t lo, uint32_t hi);

/** The port's mbuf pool (made by configure), or nullptr. */
struct rte_mempool *portPool(uint16_t port);

/** Registers the calling thread with EAL once (rte_thread_register), unregistering at its exit. */
void registerThread(Napi::Env env);

/** rte_eth_dev_info_get, throwing on failure. */
struct rte_eth_dev_info portInfo(Napi::Env env, uint16_t port);

void initEal(Napi::Env env, Napi::Object exports);
void initPort(Napi::Env env, Napi::Object exports);
void initQueue(Napi::Env env, Napi::Object exports);

}  // namespace shim
