/*
 * EAL: initialisation (once per process), worker-thread registration, cleanup, and the error
 * helpers the other files share.
 */
#include "shim.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

namespace shim {

namespace {

enum class EalState { NONE, READY, FAILED, CLEANED };
EalState state = EalState::NONE;

/** EAL may keep pointers into argv: the strings live as long as the process. */
std::vector<std::string> *keptArgs = nullptr;

std::string errnoName(int err) {
  const char *name = err > 0 ? strerrorname_np(err) : nullptr;
  return name ? name : "EIO";
}

/**
 * Runs `fn` with file descriptors 1 and 2 sent to a temporary file and returns what was written.
 * EAL prints its usage on stdout and getopt's complaints on stderr; a CLI must keep stdout clean
 * and say what went wrong in one line, so the text is handed back instead.
 */
template <typename F>
std::string captureOutput(F fn) {
  fflush(stdout);
  fflush(stderr);
  FILE *capture = tmpfile();
  int savedOut = dup(1), savedErr = dup(2);
  if (capture) {
    dup2(fileno(capture), 1);
    dup2(fileno(capture), 2);
  }
  fn();
  fflush(stdout);
  fflush(stderr);
  std::string text;
  if (capture) {
    dup2(savedOut, 1);
    dup2(savedErr, 2);
    long size = ftell(capture);
    if (size < 0) size = lseek(fileno(capture), 0, SEEK_END);
    rewind(capture);
    text.resize(size > 0 ? static_cast<size_t>(size) : 0);
    if (!text.empty()) text.resize(fread(&text[0], 1, text.size(), capture));
    fclose(capture);
  }
  close(savedOut);
  close(savedErr);
  return text;
}

thread_local bool threadRegistered = false;

/**
 * ealInit(args: string[], quiet: boolean): { ok, errno?, code?, ports?, log }
 * Never throws for EAL's own failures: the caller reads `log` to say what was wrong.
 */
Napi::Value EalInit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) fail(env, EINVAL, "ealInit takes an array of strings");
  if (state == EalState::READY) fail(env, EALREADY, "DPDK's EAL is already initialised in this process");
  if (state != EalState::NONE) fail(env, EINVAL, "DPDK's EAL cannot be initialised again in this process");
  Napi::Array args = info[0].As<Napi::Array>();
  bool quiet = info[1].ToBoolean();
  keptArgs = new std::vector<std::string>();
  keptArgs->push_back("rssplane");
  for (uint32_t i = 0; i < args.Length(); i++) keptArgs->push_back(args.Get(i).ToString().Utf8Value());
  std::vector<char *> argv;
  for (auto &a : *keptArgs) argv.push_back(&a[0]);
  argv.push_back(nullptr);

  // rte_eal_init pins the calling thread to the main lcore's CPU; threads Node starts later
  // inherit that mask, which would put every worker on one CPU. Restore it afterwards.
  cpu_set_t cpus;
  bool haveCpus = pthread_getaffinity_np(pthread_self(), sizeof cpus, &cpus) == 0;
  int ret = 0, err = 0;
  std::string log = captureOutput([&] {
    ret = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
    err = rte_errno;
  });
  if (haveCpus) pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
  optind = 1;

  Napi::Object result = Napi::Object::New(env);
  result.Set("log", log);
  if (ret < 0) {
    state = EalState::FAILED;
    result.Set("ok", false);
    result.Set("errno", err);
    result.Set("code", errnoName(err));
    result.Set("error", rte_strerror(err));
    return result;
  }
  state = EalState::READY;
  threadRegistered = true;  // the initialising thread is the main lcore
  if (quiet) rte_log_set_global_level(RTE_LOG_WARNING);
  result.Set("ok", true);
  result.Set("ports", rte_eth_dev_count_avail());
  return result;
}

void unregisterAtExit(void *) {
  if (threadRegistered && state == EalState::READY) rte_thread_unregister();
  threadRegistered = false;
}

/** registerThread(): lcore id of the calling thread, registering it when needed. */
Napi::Value RegisterThread(const Napi::CallbackInfo &info) {
  registerThread(info.Env());
  return Napi::Number::New(info.Env(), rte_lcore_id());
}

/** ealState(): 'none' | 'ready' | 'failed' | 'cleaned'. */
Napi::Value EalStateName(const Napi::CallbackInfo &info) {
  const char *names[] = {"none", "ready", "failed", "cleaned"};
  return Napi::String::New(info.Env(), names[static_cast<int>(state)]);
}

/** cleanup(): rte_eal_cleanup, once every port is closed and every worker has exited. */
Napi::Value Cleanup(const Napi::CallbackInfo &info) {
  if (state == EalState::READY) {
    rte_eal_cleanup();
    state = EalState::CLEANED;
  }
  return info.Env().Undefined();
}

/** portCount(): ports EAL probed (rte_eth_dev_count_avail). */
Napi::Value PortCount(const Napi::CallbackInfo &info) {
  requireEal(info.Env());
  return Napi::Number::New(info.Env(), rte_eth_dev_count_avail());
}

}  // namespace

void fail(Napi::Env env, int err, const std::string &message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", errnoName(err));
  throw e;
}

void requireEal(Napi::Env env) {
  if (state != EalState::READY) fail(env, EINVAL, "DPDK's EAL is not initialised (call ealInit first)");
}

void registerThread(Napi::Env env) {
  requireEal(env);
  if (threadRegistered || rte_lcore_id() != LCORE_ID_ANY) return;
  if (rte_thread_register() != 0) {
    int err = rte_errno;
    fail(env, err, std::string("cannot register this thread with EAL: ") + rte_strerror(err));
  }
  threadRegistered = true;
  napi_add_env_cleanup_hook(env, unregisterAtExit, nullptr);
}

uint32_t numberArg(const Napi::CallbackInfo &info, size_t i, const char *what, uint32_t lo, uint32_t hi) {
  Napi::Env env = info.Env();
  if (!info[i].IsNumber()) fail(env, EINVAL, std::string(what) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= lo && v <= hi) || v != static_cast<double>(static_cast<uint32_t>(v))) {
    fail(env, EINVAL, std::string("bad ") + what + " " + std::to_string(v) + ": expected a whole number from " +
                          std::to_string(lo) + " to " + std::to_string(hi));
  }
  return static_cast<uint32_t>(v);
}

uint16_t portArg(const Napi::CallbackInfo &info, size_t i) {
  Napi::Env env = info.Env();
  requireEal(env);
  uint32_t port = numberArg(info, i, "port", 0, RTE_MAX_ETHPORTS - 1);
  if (!rte_eth_dev_is_valid_port(static_cast<uint16_t>(port))) {
    unsigned n = rte_eth_dev_count_avail();
    fail(env, ENODEV, "no DPDK port " + std::to_string(port) + ": " +
                          (n ? "EAL found " + std::to_string(n) + (n > 1 ? " ports" : " port") : std::string("EAL found no port (give a --vdev, or bind a NIC to vfio-pci)")));
  }
  return static_cast<uint16_t>(port);
}

struct rte_eth_dev_info portInfo(Napi::Env env, uint16_t port) {
  struct rte_eth_dev_info dev;
  int r = rte_eth_dev_info_get(port, &dev);
  if (r != 0) fail(env, -r, "cannot describe DPDK port " + std::to_string(port) + ": " + rte_strerror(-r));
  return dev;
}

void initEal(Napi::Env env, Napi::Object exports) {
  exports.Set("ealInit", Napi::Function::New(env, EalInit));
  exports.Set("ealState", Napi::Function::New(env, EalStateName));
  exports.Set("registerThread", Napi::Function::New(env, RegisterThread));
  exports.Set("cleanup", Napi::Function::New(env, Cleanup));
  exports.Set("portCount", Napi::Function::New(env, PortCount));
}

}  // namespace shim
