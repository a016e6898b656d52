/*
 * The native peer of `rssplane bench dpdk`: what C gets moving packets from a DPDK receive queue
 * into its own ring of batch slots, the same work the shim does into WASM memory (a 32-byte
 * descriptor and one copy per packet, mbufs freed in bulk), on one core.
 *
 *   cc -O3 test/native/dpdk_rx.c $(pkg-config --cflags --libs libdpdk) -o /tmp/dpdk_rx
 *   dpdk_rx PACKETS ROUNDS EAL-ARGS...      prints {"pps":[...]}, one figure per round
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#define SLOTS 16
#define SLOT_PACKETS 512
#define SLOT_BYTES (64 + SLOT_PACKETS * 32 + SLOT_PACKETS * 1536)

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
	if (argc < 4) { fprintf(stderr, "usage: dpdk_rx PACKETS ROUNDS EAL-ARGS...\n"); return 2; }
	long packets = atol(argv[1]);
	int rounds = atoi(argv[2]);
	argv[2] = argv[0];
	if (rte_eal_init(argc - 2, argv + 2) < 0) { fprintf(stderr, "EAL init failed\n"); return 1; }
	struct rte_mempool *pool = rte_pktmbuf_pool_create("rx", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof conf);
	if (!pool || rte_eth_dev_configure(0, 1, 1, &conf) || rte_eth_rx_queue_setup(0, 0, 1024, rte_socket_id(), NULL, pool) ||
	    rte_eth_tx_queue_setup(0, 0, 1024, rte_socket_id(), NULL) || rte_eth_dev_start(0)) {
		fprintf(stderr, "port 0 setup failed\n");
		return 1;
	}
	uint8_t *ring = aligned_alloc(64, (size_t)SLOTS * SLOT_BYTES);
	memset(ring, 0, (size_t)SLOTS * SLOT_BYTES);
	struct rte_mbuf *m[32];
	printf("{\"pps\":[");
	for (int r = 0; r <= rounds; r++) {  /* round 0 warms up */
		long got = 0;
		unsigned slot = 0;
		double t0 = now();
		while (got < packets) {
			uint8_t *s = ring + (size_t)(slot++ % SLOTS) * SLOT_BYTES, *data = s + 64 + SLOT_PACKETS * 32;
			uint32_t count = 0, used = 0;
			while (count < SLOT_PACKETS) {
				uint16_t n = rte_eth_rx_burst(0, 0, m, 32);
				for (uint16_t i = 0; i < n; i++) {
					uint8_t *d = s + 64 + count * 32;
					uint32_t len = rte_pktmbuf_pkt_len(m[i]);
					memcpy(data + used, rte_pktmbuf_mtod(m[i], void *), len);
					memcpy(d, &used, 4);
					memcpy(d + 4, &len, 4);
					memcpy(d + 8, &len, 4);
					memset(d + 12, 0, 20);
					used += (len + 15) & ~15u;
					count++;
				}
				rte_pktmbuf_free_bulk(m, n);
				if (n < 32) break;
			}
			memcpy(s, &count, 4);
			memcpy(s + 4, &used, 4);
			got += count;
		}
		double pps = got / (now() - t0);
		if (r > 0) printf("%s%.0f", r > 1 ? "," : "", pps);
	}
	printf("]}\n");
	rte_eth_dev_stop(0);
	rte_eth_dev_close(0);
	rte_eal_cleanup();
	return 0;
}
