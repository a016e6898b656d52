/*
 * Ports: what a port offers, configuring it with RSS and N queues, starting and stopping it,
 * reading back the RSS key and table it really uses, and its statistics.
 */
#include "shim.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

namespace shim {

namespace {

struct rte_mempool *pools[RTE_MAX_ETHPORTS] = {};
/** The key length this process programmed, for drivers that report a hash_key_size of 0. */
uint8_t programmedKeyLength[RTE_MAX_ETHPORTS] = {};

std::string mac(uint16_t port) {
  struct rte_ether_addr a;
  if (rte_eth_macaddr_get(port, &a) != 0) return "";
  char text[18];
  snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", a.addr_bytes[0], a.addr_bytes[1], a.addr_bytes[2],
           a.addr_bytes[3], a.addr_bytes[4], a.addr_bytes[5]);
  return text;
}

/** portInfo(port): what the port offers (hash types as a bigint of RTE_ETH_RSS_* bits). */
Napi::Value PortInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint16_t port = portArg(info, 0);
  struct rte_eth_dev_info dev = portInfo(env, port);
  char name[RTE_ETH_NAME_MAX_LEN] = "";
  rte_eth_dev_get_name_by_port(port, name);
  Napi::Object o = Napi::Object::New(env);
  o.Set("port", port);
  o.Set("name", name);
  o.Set("driver", dev.driver_name ? dev.driver_name : "");
  o.Set("mac", mac(port));
  o.Set("socket", rte_eth_dev_socket_id(port));
  o.Set("maxRxQueues", dev.max_rx_queues);
  o.Set("maxTxQueues", dev.max_tx_queues);
  o.Set("rxQueues", dev.nb_rx_queues);
  o.Set("txQueues", dev.nb_tx_queues);
  o.Set("rxDescriptorsMax", dev.rx_desc_lim.nb_max);
  o.Set("txDescriptorsMax", dev.tx_desc_lim.nb_max);
  o.Set("rssHashTypes", Napi::BigInt::New(env, static_cast<uint64_t>(dev.flow_type_rss_offloads)));
  o.Set("hashKeySize", dev.hash_key_size);
  o.Set("retaSize", dev.reta_size);
  o.Set("rxOffloads", Napi::BigInt::New(env, static_cast<uint64_t>(dev.rx_offload_capa)));
  o.Set("maxRxPacketLength", dev.max_rx_pktlen);
  return o;
}

uint32_t optionNumber(Napi::Env env, Napi::Object o, const char *key, uint32_t fallback, uint32_t lo, uint32_t hi) {
  if (!o.Has(key) || o.Get(key).IsUndefined()) return fallback;
  Napi::Value v = o.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    fail(env, EINVAL, std::string("bad ") + key + ": expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return static_cast<uint32_t>(d);
}

/**
 * configure(port, { rxQueues, txQueues, rxDescriptors?, txDescriptors?, rssKey?, rssHashTypes?,
 * reta? }): { rss, rssHashTypes, rxDescriptors, txDescriptors, mbufs, retaProgrammed }.
 * RSS is asked for only when there are several receive queues and the port offers some of the
 * requested hash types (they are masked by what it offers). A key shorter than the port's key
 * size is repeated to fill it (a key with a 16-bit period stays symmetric); the table, when the
 * port has one, is written entry i = reta[i % length].
 */
Napi::Value Configure(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint16_t port = portArg(info, 0);
  if (!info[1].IsObject()) fail(env, EINVAL, "configure takes (port, options)");
  Napi::Object o = info[1].As<Napi::Object>();
  struct rte_eth_dev_info dev = portInfo(env, port);
  const std::string where = "port " + std::to_string(port) + " (" + (dev.driver_name ? dev.driver_name : "?") + ")";
  uint16_t rxq = optionNumber(env, o, "rxQueues", 1, 1, 65535), txq = optionNumber(env, o, "txQueues", 1, 1, 65535);
  if (rxq > dev.max_rx_queues) fail(env, EINVAL, where + " has at most " + std::to_string(dev.max_rx_queues) + " receive queues, not " + std::to_string(rxq));
  if (txq > dev.max_tx_queues) fail(env, EINVAL, where + " has at most " + std::to_string(dev.max_tx_queues) + " transmit queues, not " + std::to_string(txq));
  uint16_t rxd = optionNumber(env, o, "rxDescriptors", 1024, 1, 65535), txd = optionNumber(env, o, "txDescriptors", 1024, 1, 65535);

  uint64_t wanted = 0;
  if (o.Has("rssHashTypes") && o.Get("rssHashTypes").IsBigInt()) {
    bool lossless;
    wanted = o.Get("rssHashTypes").As<Napi::BigInt>().Uint64Value(&lossless);
  }
  uint64_t hf = wanted & dev.flow_type_rss_offloads;
  bool rss = rxq > 1 && hf != 0;
  std::vector<uint8_t> key;
  if (rss && o.Has("rssKey") && o.Get("rssKey").IsTypedArray()) {
    Napi::Uint8Array k = o.Get("rssKey").As<Napi::Uint8Array>();
    size_t size = dev.hash_key_size ? dev.hash_key_size : k.ByteLength();
    for (size_t i = 0; i < size && k.ByteLength(); i++) key.push_back(k[i % k.ByteLength()]);
  }

  struct rte_eth_conf conf;
  memset(&conf, 0, sizeof conf);
  if (rss) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = hf;
    if (!key.empty()) {
      conf.rx_adv_conf.rss_conf.rss_key = key.data();
      conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key.size());
    }
    if (dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
  }
  int r = rte_eth_dev_configure(port, rxq, txq, &conf);
  if (r != 0) fail(env, -r, "cannot configure " + where + " with " + std::to_string(rxq) + " receive queues: " + rte_strerror(-r));
  programmedKeyLength[port] = static_cast<uint8_t>(key.size());
  r = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
  if (r != 0) fail(env, -r, "cannot size the rings of " + where + ": " + rte_strerror(-r));

  // Enough mbufs for every descriptor, the per-lcore caches and the bursts in flight.
  unsigned cache = 256;
  unsigned mbufs = static_cast<unsigned>(rxq) * rxd + static_cast<unsigned>(txq) * txd + 2 * cache * RTE_MAX_LCORE / 4 + 4096;
  mbufs = optionNumber(env, o, "mbufs", mbufs, 1024, 1u << 24);
  if (!pools[port]) {
    char name[RTE_MEMPOOL_NAMESIZE];
    snprintf(name, sizeof name, "rssplane_p%u", port);
    int socket = rte_eth_dev_socket_id(port);
    pools[port] = rte_pktmbuf_pool_create(name, mbufs, cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket < 0 ? SOCKET_ID_ANY : socket);
    if (!pools[port]) {
      int err = rte_errno;
      fail(env, err, "cannot make " + std::to_string(mbufs) + " packet buffers for " + where + ": " + rte_strerror(err) + " (give EAL more memory: -m)");
    }
  }
  for (uint16_t q = 0; q < rxq; q++) {
    r = rte_eth_rx_queue_setup(port, q, rxd, rte_eth_dev_socket_id(port), nullptr, pools[port]);
    if (r != 0) fail(env, -r, "cannot set up receive queue " + std::to_string(q) + " of " + where + ": " + rte_strerror(-r));
  }
  for (uint16_t q = 0; q < txq; q++) {
    r = rte_eth_tx_queue_setup(port, q, txd, rte_eth_dev_socket_id(port), nullptr);
    if (r != 0) fail(env, -r, "cannot set up transmit queue " + std::to_string(q) + " of " + where + ": " + rte_strerror(-r));
  }

  // Some drivers take the key only through rss_hash_update, not at configure: offer it there too.
  // Whatever the device ends up with is read back by rssConf; this only asks.
  if (rss && !key.empty()) {
    struct rte_eth_rss_conf update = conf.rx_adv_conf.rss_conf;
    rte_eth_dev_rss_hash_update(port, &update);
  }

  bool retaProgrammed = false;
  if (rss && dev.reta_size > 0 && o.Has("reta") && o.Get("reta").IsTypedArray()) {
    Napi::Uint16Array table = o.Get("reta").As<Napi::Uint16Array>();
    if (table.ElementLength() == 0) fail(env, EINVAL, "an empty indirection table");
    std::vector<struct rte_eth_rss_reta_entry64> entries((dev.reta_size + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE);
    memset(entries.data(), 0, entries.size() * sizeof entries[0]);
    for (uint16_t i = 0; i < dev.reta_size; i++) {
      uint16_t queue = table[i % table.ElementLength()];
      if (queue >= rxq) fail(env, EINVAL, "the indirection table names queue " + std::to_string(queue) + " of " + std::to_string(rxq));
      entries[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
      entries[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = queue;
    }
    r = rte_eth_dev_rss_reta_update(port, entries.data(), dev.reta_size);
    if (r != 0 && r != -ENOTSUP) fail(env, -r, "cannot write the indirection table of " + where + ": " + rte_strerror(-r));
    retaProgrammed = r == 0;
  }
  rte_eth_promiscuous_enable(port);  // a monitor sees every frame; drivers without it say so, harmlessly

  Napi::Object result = Napi::Object::New(env);
  result.Set("rss", rss);
  result.Set("rssHashTypes", Napi::BigInt::New(env, rss ? hf : 0));
  result.Set("rxDescriptors", rxd);
  result.Set("txDescriptors", txd);
  result.Set("mbufs", mbufs);
  result.Set("retaProgrammed", retaProgrammed);
  return result;
}

/** rssConf(port): { key: Uint8Array, rssHashTypes: bigint } the port uses, or null without RSS. */
Napi::Value RssConf(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint16_t port = portArg(info, 0);
  struct rte_eth_dev_info dev = portInfo(env, port);
  uint8_t key[256] = {};
  struct rte_eth_rss_conf conf;
  memset(&conf, 0, sizeof conf);
  conf.rss_key = key;
  conf.rss_key_len = dev.hash_key_size ? dev.hash_key_size : (programmedKeyLength[port] ? programmedKeyLength[port] : 40);
  int r = rte_eth_dev_rss_hash_conf_get(port, &conf);
  if (r == -ENOTSUP) return env.Null();
  if (r != 0) fail(env, -r, "cannot read the RSS configuration of port " + std::to_string(port) + ": " + rte_strerror(-r));
  size_t length = dev.hash_key_size ? dev.hash_key_size : (programmedKeyLength[port] ? programmedKeyLength[port] : conf.rss_key_len);
  if (length > sizeof key) length = sizeof key;
  Napi::Object o = Napi::Object::New(env);
  o.Set("key", Napi::Uint8Array::New(env, length));
  memcpy(o.Get("key").As<Napi::Uint8Array>().Data(), key, length);
  o.Set("rssHashTypes", Napi::BigInt::New(env, static_cast<uint64_t>(conf.rss_hf)));
  return o;
}

/** retaQuery(port): the indirection table the port uses (Uint16Array), or null without one. */
Napi::Value RetaQuery(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint16_t port = portArg(info, 0);
  struct rte_eth_dev_info dev = portInfo(env, port);
  if (dev.reta_size == 0) return env.Null();
  std::vector<struct rte_eth_rss_reta_entry64> entries((dev.reta_size + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE);
  memset(entries.data(), 0, entries.size() * sizeof entries[0]);
  for (auto &e : entries) e.mask = ~0ULL;
  int r = rte_eth_dev_rss_reta_query(port, entries.data(), dev.reta_size);
  if (r == -ENOTSUP) return env.Null();
  if (r != 0) fail(env, -r, "cannot read the indirection table of port " + std::to_string(port) + ": " + rte_strerror(-r));
  Napi::Uint16Array table = Napi::Uint16Array::New(env, dev.reta_size);
  for (uint16_t i = 0; i < dev.reta_size; i++) table[i] = entries[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
  return table;
}

Napi::Value Start(const Napi::CallbackInfo &info) {
  uint16_t port = portArg(info, 0);
  int r = rte_eth_dev_start(port);
  if (r != 0) fail(info.Env(), -r, "cannot start DPDK port " + std::to_string(port) + ": " + rte_strerror(-r));
  return info.Env().Undefined();
}

Napi::Value Stop(const Napi::CallbackInfo &info) {
  uint16_t port = portArg(info, 0);
  int r = rte_eth_dev_stop(port);
  if (r != 0) fail(info.Env(), -r, "cannot stop DPDK port " + std::to_string(port) + ": " + rte_strerror(-r));
  return info.Env().Undefined();
}

Napi::Value Close(const Napi::CallbackInfo &info) {
  uint16_t port = portArg(info, 0);
  int r = rte_eth_dev_close(port);
  if (r != 0) fail(info.Env(), -r, "cannot close DPDK port " + std::to_string(port) + ": " + rte_strerror(-r));
  // Every queue is closed by now (the caller's order): the buffers can go.
  if (pools[port]) rte_mempool_free(pools[port]);
  pools[port] = nullptr;
  return info.Env().Undefined();
}

/** stats(port): rte_eth_stats_get's counters, per-queue ones for the first 16 queues. */
Napi::Value Stats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint16_t port = portArg(info, 0);
  struct rte_eth_stats s;
  int r = rte_eth_stats_get(port, &s);
  if (r != 0) fail(env, -r, "cannot read the statistics of DPDK port " + std::to_string(port) + ": " + rte_strerror(-r));
  struct rte_eth_dev_info dev = portInfo(env, port);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ipackets", static_cast<double>(s.ipackets));
  o.Set("opackets", static_cast<double>(s.opackets));
  o.Set("ibytes", static_cast<double>(s.ibytes));
  o.Set("obytes", static_cast<double>(s.obytes));
  o.Set("imissed", static_cast<double>(s.imissed));
  o.Set("ierrors", static_cast<double>(s.ierrors));
  o.Set("oerrors", static_cast<double>(s.oerrors));
  o.Set("rxNombuf", static_cast<double>(s.rx_nombuf));
  unsigned rxq = dev.nb_rx_queues < RTE_ETHDEV_QUEUE_STAT_CNTRS ? dev.nb_rx_queues : RTE_ETHDEV_QUEUE_STAT_CNTRS;
  unsigned txq = dev.nb_tx_queues < RTE_ETHDEV_QUEUE_STAT_CNTRS ? dev.nb_tx_queues : RTE_ETHDEV_QUEUE_STAT_CNTRS;
  Napi::Array qi = Napi::Array::New(env, rxq), qo = Napi::Array::New(env, txq);
  for (unsigned q = 0; q < rxq; q++) qi.Set(q, static_cast<double>(s.q_ipackets[q]));
  for (unsigned q = 0; q < txq; q++) qo.Set(q, static_cast<double>(s.q_opackets[q]));
  o.Set("queueIpackets", qi);
  o.Set("queueOpackets", qo);
  return o;
}

}  // namespace

struct rte_mempool *portPool(uint16_t port) {
  return port < RTE_MAX_ETHPORTS ? pools[port] : nullptr;
}

void initPort(Napi::Env env, Napi::Object exports) {
  exports.Set("portInfo", Napi::Function::New(env, PortInfo));
  exports.Set("configure", Napi::Function::New(env, Configure));
  exports.Set("rssConf", Napi::Function::New(env, RssConf));
  exports.Set("retaQuery", Napi::Function::New(env, RetaQuery));
  exports.Set("start", Napi::Function::New(env, Start));
  exports.Set("stop", Napi::Function::New(env, Stop));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("stats", Napi::Function::New(env, Stats));
}

}  // namespace shim
