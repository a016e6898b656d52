/*
 * rssplane_memory: two calls into the kernel that Node does not make for us.
 *
 * adviseHugePages asks the kernel for transparent huge pages under an engine's WebAssembly
 * memory. The flow table's index and its SYN ring are read at random (a flood touches a new
 * index slot and evicts another per packet), and with 4 KiB pages nearly every such access is
 * also a TLB miss, a page walk that a virtual machine makes twice as long. DPDK puts its memory
 * on huge pages for the same reason; Node has no madvise, so this one call is native.
 *
 * No DPDK here: the addon builds wherever a C compiler and Node's headers are, and the engine
 * runs the same without it (host/node/huge-pages.ts loads it if it is there). Called once per
 * configuration of an engine, never per packet.
 *
 * exitNow ends a command that has written everything without Node's teardown (host/node/io.ts).
 */
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static napi_value throw_error(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

/*
 * adviseHugePages(view: Uint8Array): number. `view` covers the memory to advise (a WebAssembly
 * memory's buffer, private or shared). The range is trimmed to whole pages; the kernel then backs
 * each 2 MiB-aligned part of it with a huge page when the page is first touched (when
 * /sys/kernel/mm/transparent_hugepage/enabled is "madvise" or "always"). Returns 0, or the errno
 * madvise gave (EINVAL: a kernel without transparent huge pages), which the caller may ignore:
 * the memory works the same on small pages.
 */
static napi_value advise_huge_pages(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  bool is_typed = false;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is_typed) != napi_ok || !is_typed) {
    return throw_error(env, "EINVAL", "adviseHugePages: expected a Uint8Array over the memory");
  }
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void *data = NULL;
  napi_value buffer;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset) != napi_ok) return NULL;
  if (type != napi_uint8_array) return throw_error(env, "EINVAL", "adviseHugePages: expected a Uint8Array over the memory");
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = ((uintptr_t)data + page - 1) & ~(page - 1);
  uintptr_t end = ((uintptr_t)data + length) & ~(page - 1);
  int result = 0;
  if (end > start && madvise((void *)start, end - start, MADV_HUGEPAGE) != 0) result = errno;
  napi_value out;
  napi_create_int32(env, result, &out);
  return out;
}

/*
 * exitNow(status: number): does not return. Ends the process with _exit(2): no atexit handlers,
 * no teardown of V8's platform. process.exit() first joins V8's background threads, and one of
 * them is often still compiling the engine's hot function with the optimising tier when a short
 * run ends (27 ms of compiling here, the exit waiting for what is left of it), which a command
 * that has written its output and closed its files has no use for. Node writes through file
 * descriptors, not stdio buffers, so nothing written is lost.
 */
static napi_value exit_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t status = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &status) != napi_ok) {
    return throw_error(env, "EINVAL", "exitNow: expected an exit status");
  }
  _exit(status & 0xff);
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "adviseHugePages", NAPI_AUTO_LENGTH, advise_huge_pages, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "adviseHugePages", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "exitNow", NAPI_AUTO_LENGTH, exit_now, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "exitNow", fn) != napi_ok) return NULL;
  return exports;
}
