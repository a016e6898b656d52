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
 *
 * readAheadStart and readAheadStop run a thread that reads a capture file ahead of a one-core
 * run, into chunk slots in the engine's shared memory (host/node/sources/capture.ts), so that the
 * run's thread walks one chunk while the next is read on the machine's other core. Started once
 * per capture, stopped once; the run's thread and this one meet only through two words a slot.
 */
#include <errno.h>
#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static napi_value throw_error(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

/* True, with its first byte and length, when `v` is a Uint8Array. */
static bool bytes_of(napi_env env, napi_value v, uint8_t **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  size_t offset = 0;
  napi_value buffer;
  void *first = NULL;
  if (napi_get_typedarray_info(env, v, &type, length, &first, &buffer, &offset) != napi_ok || type != napi_uint8_array) return false;
  *data = first;
  return true;
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
  uint8_t *data = NULL;
  size_t length = 0;
  if (argc < 1 || !bytes_of(env, argv[0], &data, &length)) {
    return throw_error(env, "EINVAL", "adviseHugePages: expected a Uint8Array over the memory");
  }
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

/*
 * A read-ahead thread. Slot s of `slots` is `chunk` bytes at `data + s * stride`; its two words
 * at `control + 8 * s` are its state (0: the thread may fill it, 1: filled, the run's to walk)
 * and the bytes read (0 at the end of the file, or -errno). The thread fills the slots in turn
 * from file offset `from` and ends after the end of the file, an error, or readAheadStop.
 */
typedef struct {
  pthread_t thread;
  int fd;
  uint8_t *data;
  _Atomic int32_t *control;
  uint32_t slots, chunk, stride;
  int64_t from;
  atomic_bool stop;
  bool used;
} read_ahead;

#define READ_AHEADS 16
static read_ahead read_aheads[READ_AHEADS];
/* The table is shared by every thread that loads the addon (a worker per core). */
static pthread_mutex_t read_aheads_lock = PTHREAD_MUTEX_INITIALIZER;

static void *read_ahead_run(void *arg) {
  read_ahead *r = arg;
  int64_t at = r->from;
  const struct timespec nap = { 0, 20000 };
  for (uint64_t k = 0;; k++) {
    const uint32_t s = (uint32_t)(k % r->slots);
    _Atomic int32_t *state = &r->control[2 * s];
    // Wait for the run to give the slot back: spin a little, then nap 20 us at a time (the run
    // walks a chunk in about a millisecond).
    for (int spins = 0; atomic_load_explicit(state, memory_order_acquire) != 0; spins++) {
      if (atomic_load_explicit(&r->stop, memory_order_relaxed)) return NULL;
      if (spins > 64) nanosleep(&nap, NULL);
    }
    if (atomic_load_explicit(&r->stop, memory_order_relaxed)) return NULL;
    ssize_t n;
    do n = pread(r->fd, r->data + (size_t)s * r->stride, r->chunk, at);
    while (n < 0 && errno == EINTR);
    atomic_store_explicit(&r->control[2 * s + 1], n < 0 ? -errno : (int32_t)n, memory_order_relaxed);
    atomic_store_explicit(state, 1, memory_order_release);
    if (n <= 0) return NULL;
    at += n;
  }
}

static bool get_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

/*
 * readAheadStart(fd, memory: Uint8Array, control, data, slots, stride, chunk, from): number.
 * `memory` is a view of the engine's whole shared memory (its address does not move when it
 * grows); control and data are byte offsets in it. Returns the thread's handle for readAheadStop.
 */
static napi_value read_ahead_start(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint32_t fd, control, data, slots, stride, chunk;
  int64_t from;
  uint8_t *base = NULL;
  size_t length = 0;
  if (argc < 8 || !get_u32(env, argv[0], &fd) || !bytes_of(env, argv[1], &base, &length)
      || !get_u32(env, argv[2], &control) || !get_u32(env, argv[3], &data) || !get_u32(env, argv[4], &slots)
      || !get_u32(env, argv[5], &stride) || !get_u32(env, argv[6], &chunk) || napi_get_value_int64(env, argv[7], &from) != napi_ok) {
    return throw_error(env, "EINVAL", "readAheadStart: expected fd, memory, control, data, slots, stride, chunk, from");
  }
  if (slots < 1 || chunk < 1 || stride < chunk || control % 8 != 0 || from < 0
      || (uint64_t)control + 8ull * slots > length || (uint64_t)data + (uint64_t)stride * (slots - 1) + chunk > length) {
    return throw_error(env, "EINVAL", "readAheadStart: the slots do not fit the memory");
  }
  read_ahead *r = NULL;
  pthread_mutex_lock(&read_aheads_lock);
  for (int i = 0; i < READ_AHEADS; i++) {
    if (!read_aheads[i].used) {
      r = &read_aheads[i];
      memset(r, 0, sizeof *r);
      r->used = true;
      break;
    }
  }
  pthread_mutex_unlock(&read_aheads_lock);
  if (!r) return throw_error(env, "EBUSY", "readAheadStart: too many read-ahead threads");
  r->fd = (int)fd;
  r->data = base + data;
  r->control = (_Atomic int32_t *)(base + control);
  r->slots = slots;
  r->chunk = chunk;
  r->stride = stride;
  r->from = from;
  for (uint32_t s = 0; s < 2 * slots; s++) atomic_store(&r->control[s], 0);
  if (pthread_create(&r->thread, NULL, read_ahead_run, r) != 0) {
    r->used = false;
    return throw_error(env, "EAGAIN", "readAheadStart: no thread");
  }
  napi_value out;
  napi_create_uint32(env, (uint32_t)(r - read_aheads), &out);
  return out;
}

/* readAheadStop(handle): stops the thread and waits for it (it writes nothing after). */
static napi_value read_ahead_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t h;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || !get_u32(env, argv[0], &h) || h >= READ_AHEADS || !read_aheads[h].used) {
    return throw_error(env, "EINVAL", "readAheadStop: not a running read-ahead");
  }
  read_ahead *r = &read_aheads[h];
  atomic_store(&r->stop, true);
  pthread_join(r->thread, NULL);
  pthread_mutex_lock(&read_aheads_lock);
  r->used = false;
  pthread_mutex_unlock(&read_aheads_lock);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "adviseHugePages", NAPI_AUTO_LENGTH, advise_huge_pages, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "adviseHugePages", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "exitNow", NAPI_AUTO_LENGTH, exit_now, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "exitNow", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "readAheadStart", NAPI_AUTO_LENGTH, read_ahead_start, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "readAheadStart", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "readAheadStop", NAPI_AUTO_LENGTH, read_ahead_stop, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "readAheadStop", fn) != napi_ok) return NULL;
  return exports;
}
