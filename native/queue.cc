/*
 * Queues: packets between a DPDK queue and a batch slot in a worker's WebAssembly memory.
 *
 * A slot is the ring slot of assembly/shared/abi.ts: SLOT_COUNT and SLOT_BYTES, descriptors from
 * SLOT_DESCRIPTORS, then packet bytes after `slotPackets` descriptors, each descriptor's PKT_DATA
 * relative to those packet bytes (the consumer rebases it with takeSlot). RxQueue.fill copies up
 * to a slot of packets out of mbufs, one copy each, and frees the mbufs; TxQueue.send copies a
 * slot's packets into mbufs and transmits them. One call per slot: the loops over packets are here.
 *
 * The memory is a typed array over the engine's SharedArrayBuffer. A shared WebAssembly memory
 * never moves when it grows, so the pointer stays valid; the queue object keeps a reference to
 * the array, so the buffer lives at least as long as the queue that holds its address.
 * A queue belongs to the thread that made it (DPDK queues are not thread-safe).
 */
#include "shim.h"

#include <pthread.h>
#include <time.h>

#include <cstring>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

namespace shim {

namespace {

constexpr uint16_t BURST = 32;

inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
inline uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

uint64_t wallClockNs() {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
}

/** What a queue holds of the memory it writes into. */
struct Memory {
  Napi::Reference<Napi::Uint8Array> view;
  uint8_t *base = nullptr;
  size_t length = 0;
  uint32_t slotPackets = 0;
  uint32_t slotBytes = 0;

  void bind(const Napi::CallbackInfo &info, size_t at) {
    Napi::Env env = info.Env();
    if (!info[at].IsTypedArray() || info[at].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      fail(env, EINVAL, "the memory must be a Uint8Array over the engine's shared memory");
    }
    Napi::Uint8Array u8 = info[at].As<Napi::Uint8Array>();
    // napi_get_typedarray_info reaches a SharedArrayBuffer's bytes through the view.
    napi_typedarray_type type;
    size_t count = 0, offset = 0;
    void *data = nullptr;
    napi_value buffer;
    if (napi_get_typedarray_info(env, u8, &type, &count, &data, &buffer, &offset) != napi_ok || !data) {
      fail(env, EINVAL, "cannot reach the memory's bytes");
    }
    base = static_cast<uint8_t *>(data);
    length = count;
    slotPackets = numberArg(info, at + 1, "slot packets", 1, 65536);
    slotBytes = numberArg(info, at + 2, "slot bytes", 1, 0x7fffffff);
    if (slotBytes < SLOT_DESCRIPTORS + slotPackets * PKT_DESCRIPTOR + 2048) {
      fail(env, EINVAL, "a slot of " + std::to_string(slotBytes) + " bytes cannot hold " + std::to_string(slotPackets) + " descriptors and a packet");
    }
    view = Napi::Persistent(u8);
  }

  /** The slot at byte address argument `at`, bounds-checked against the memory. */
  uint8_t *slot(const Napi::CallbackInfo &info, size_t at) {
    uint32_t address = numberArg(info, at, "slot address", 0, 0xffffffffu);
    if (!base) fail(info.Env(), EINVAL, "this queue is closed");
    if (static_cast<size_t>(address) + slotBytes > length) {
      fail(info.Env(), EINVAL, "slot at " + std::to_string(address) + " runs past the memory's " + std::to_string(length) + " bytes");
    }
    return base + address;
  }

  uint32_t room() const { return slotBytes - SLOT_DESCRIPTORS - slotPackets * PKT_DESCRIPTOR; }
};

void checkThread(Napi::Env env, pthread_t owner) {
  if (!pthread_equal(owner, pthread_self())) fail(env, EINVAL, "a DPDK queue is used only by the thread that opened it");
}

class RxQueue : public Napi::ObjectWrap<RxQueue> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RxQueue", {
      InstanceMethod("fill", &RxQueue::Fill),
      InstanceMethod("close", &RxQueue::Close),
    });
  }

  /** new RxQueue(port, queue, memory, slotPackets, slotBytes, deviceMicroseconds) */
  RxQueue(const Napi::CallbackInfo &info) : Napi::ObjectWrap<RxQueue>(info) {
    Napi::Env env = info.Env();
    port_ = portArg(info, 0);
    struct rte_eth_dev_info dev = portInfo(env, port_);
    queue_ = static_cast<uint16_t>(numberArg(info, 1, "receive queue", 0, 65535));
    if (queue_ >= dev.nb_rx_queues) {
      fail(env, EINVAL, "port " + std::to_string(port_) + " has " + std::to_string(dev.nb_rx_queues) + " receive queues: no queue " + std::to_string(queue_));
    }
    memory_.bind(info, 2);
    deviceMicroseconds_ = info[5].ToBoolean();
    registerThread(env);
    owner_ = pthread_self();
    // Drivers that stamp packets (net_pcap: the capture's time) use the dynamic field
    // registered here; registering again only looks it up.
    if (rte_mbuf_dyn_rx_timestamp_register(&timestampOffset_, &timestampFlag_) != 0) timestampFlag_ = 0;
  }

  ~RxQueue() { release(); }

 private:
  /**
   * fill(slot): receives up to a slot of packets into the slot at byte address `slot`; returns
   * the count (0: the queue had nothing). Packets that do not fit wait for the next call.
   */
  Napi::Value Fill(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint8_t *slot = memory_.slot(info, 0);
    checkThread(env, owner_);
    uint8_t *descriptors = slot + SLOT_DESCRIPTORS;
    uint8_t *data = descriptors + static_cast<size_t>(memory_.slotPackets) * PKT_DESCRIPTOR;
    const uint32_t room = memory_.room();
    uint32_t count = 0, used = 0;
    bool full = false;
    while (!full && count < memory_.slotPackets) {
      if (next_ == held_) {
        uint16_t want = static_cast<uint16_t>(std::min<uint32_t>(BURST, memory_.slotPackets - count));
        held_ = rte_eth_rx_burst(port_, queue_, mbufs_, want);
        next_ = 0;
        if (held_ == 0) break;
        clock_ = wallClockNs();
      }
      uint16_t first = next_;
      for (; next_ < held_ && count < memory_.slotPackets; next_++) {
        struct rte_mbuf *m = mbufs_[next_];
        uint32_t length = rte_pktmbuf_pkt_len(m);
        uint32_t caplen = length;
        if (used + caplen > room) {
          if (count > 0) {
            full = true;
            break;
          }
          caplen = room;  // a packet larger than a whole slot: keep what fits, wirelen says the rest
        }
        uint8_t *to = data + used;
        if (m->nb_segs == 1) {
          memcpy(to, rte_pktmbuf_mtod(m, const uint8_t *), caplen);
        } else {
          uint32_t copied = 0;
          for (struct rte_mbuf *s = m; s && copied < caplen; s = s->next) {
            uint32_t n = std::min<uint32_t>(s->data_len, caplen - copied);
            memcpy(to + copied, rte_pktmbuf_mtod(s, const uint8_t *), n);
            copied += n;
          }
        }
        uint8_t *d = descriptors + static_cast<size_t>(count) * PKT_DESCRIPTOR;
        uint64_t ts = clock_;
        if (deviceMicroseconds_ && timestampFlag_ && (m->ol_flags & timestampFlag_)) {
          ts = *RTE_MBUF_DYNFIELD(m, timestampOffset_, rte_mbuf_timestamp_t *) * 1000ull;
        }
        bool hashed = (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) != 0;
        put32(d + PKT_DATA, used);
        put32(d + PKT_CAPLEN, caplen);
        put32(d + PKT_WIRELEN, length);
        put16(d + PKT_LINKTYPE, LINKTYPE_ETHERNET);
        put16(d + PKT_IFACE, port_);
        put64(d + PKT_TIMESTAMP, ts);
        put32(d + PKT_HASH, hashed ? m->hash.rss : 0);
        put16(d + PKT_QUEUE, queue_);
        put16(d + PKT_FLAGS, hashed ? PACKET_FLAG_HASHED : 0);
        used += (caplen + 15) & ~15u;
        count++;
      }
      rte_pktmbuf_free_bulk(mbufs_ + first, next_ - first);
      if (!full && next_ == held_ && held_ < BURST) break;  // the queue is drained for now
    }
    put32(slot + SLOT_COUNT, count);
    put32(slot + SLOT_BYTES, used);
    return Napi::Number::New(env, count);
  }

  /** close(): frees packets still held and lets go of the memory. */
  Napi::Value Close(const Napi::CallbackInfo &info) {
    release();
    return info.Env().Undefined();
  }

  void release() {
    if (next_ < held_) rte_pktmbuf_free_bulk(mbufs_ + next_, held_ - next_);
    next_ = held_ = 0;
    memory_.base = nullptr;
    if (!memory_.view.IsEmpty()) memory_.view.Reset();
  }

  uint16_t port_ = 0, queue_ = 0;
  Memory memory_;
  bool deviceMicroseconds_ = false;
  int timestampOffset_ = -1;
  uint64_t timestampFlag_ = 0;
  pthread_t owner_;
  struct rte_mbuf *mbufs_[BURST];
  uint16_t next_ = 0, held_ = 0;
  uint64_t clock_ = 0;
};

class TxQueue : public Napi::ObjectWrap<TxQueue> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TxQueue", {
      InstanceMethod("send", &TxQueue::Send),
      InstanceMethod("close", &TxQueue::Close),
    });
  }

  /** new TxQueue(port, queue, memory, slotPackets, slotBytes) */
  TxQueue(const Napi::CallbackInfo &info) : Napi::ObjectWrap<TxQueue>(info) {
    Napi::Env env = info.Env();
    port_ = portArg(info, 0);
    struct rte_eth_dev_info dev = portInfo(env, port_);
    queue_ = static_cast<uint16_t>(numberArg(info, 1, "transmit queue", 0, 65535));
    if (queue_ >= dev.nb_tx_queues) {
      fail(env, EINVAL, "port " + std::to_string(port_) + " has " + std::to_string(dev.nb_tx_queues) + " transmit queues: no queue " + std::to_string(queue_));
    }
    pool_ = portPool(port_);
    if (!pool_) fail(env, EINVAL, "port " + std::to_string(port_) + " is not configured (configure it first)");
    memory_.bind(info, 2);
    registerThread(env);
    owner_ = pthread_self();
  }

  ~TxQueue() { release(); }

 private:
  /** Copies `length` bytes into `m`, chaining more mbufs when one is not enough; false: no mbuf. */
  bool load(struct rte_mbuf *m, const uint8_t *bytes, uint32_t length) {
    struct rte_mbuf *last = m;
    uint32_t done = 0;
    for (;;) {
      uint32_t n = std::min<uint32_t>(rte_pktmbuf_tailroom(last), length - done);
      memcpy(rte_pktmbuf_mtod_offset(last, uint8_t *, last->data_len), bytes + done, n);
      last->data_len = static_cast<uint16_t>(last->data_len + n);
      done += n;
      if (done == length) break;
      struct rte_mbuf *next = rte_pktmbuf_alloc(pool_);
      if (!next || rte_pktmbuf_chain(m, next) != 0) {
        if (next) rte_pktmbuf_free(next);
        return false;
      }
      last = next;
    }
    m->pkt_len = length;
    return true;
  }

  /**
   * send(slot): transmits the slot's packets (SLOT_COUNT of them); returns how many the port
   * took. The rest are dropped here, and the caller counts them.
   */
  Napi::Value Send(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint8_t *slot = memory_.slot(info, 0);
    checkThread(env, owner_);
    uint32_t count = std::min(get32(slot + SLOT_COUNT), memory_.slotPackets);
    const uint8_t *descriptors = slot + SLOT_DESCRIPTORS;
    const uint8_t *data = descriptors + static_cast<size_t>(memory_.slotPackets) * PKT_DESCRIPTOR;
    const uint32_t room = memory_.room();
    uint32_t sent = 0;
    struct rte_mbuf *mbufs[BURST];
    for (uint32_t i = 0; i < count;) {
      uint16_t n = static_cast<uint16_t>(std::min<uint32_t>(BURST, count - i));
      if (rte_pktmbuf_alloc_bulk(pool_, mbufs, n) != 0) break;
      uint16_t ready = 0;
      for (uint16_t k = 0; k < n; k++, i++) {
        const uint8_t *d = descriptors + static_cast<size_t>(i) * PKT_DESCRIPTOR;
        uint32_t at = get32(d + PKT_DATA), caplen = get32(d + PKT_CAPLEN);
        if (static_cast<uint64_t>(at) + caplen > room || !load(mbufs[k], data + at, caplen)) {
          rte_pktmbuf_free(mbufs[k]);  // a descriptor outside its slot, or no buffer: not sent
          continue;
        }
        mbufs[ready++] = mbufs[k];
      }
      uint16_t done = 0;
      // A full transmit ring drains as the device sends: a few tries, then the rest is dropped.
      for (int tries = 0; done < ready && tries < 64; tries++) done += rte_eth_tx_burst(port_, queue_, mbufs + done, ready - done);
      if (done < ready) rte_pktmbuf_free_bulk(mbufs + done, ready - done);
      sent += done;
    }
    return Napi::Number::New(env, sent);
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    release();
    return info.Env().Undefined();
  }

  void release() {
    memory_.base = nullptr;
    if (!memory_.view.IsEmpty()) memory_.view.Reset();
  }

  uint16_t port_ = 0, queue_ = 0;
  struct rte_mempool *pool_ = nullptr;
  Memory memory_;
  pthread_t owner_;
};

}  // namespace

void initQueue(Napi::Env env, Napi::Object exports) {
  exports.Set("RxQueue", RxQueue::Define(env));
  exports.Set("TxQueue", TxQueue::Define(env));
}

}  // namespace shim
