/*
 * mTCP's way of building and using RSS-aligned port pools, in native C, as the peer that
 * `rssplane bench ports --anchor` runs between its rounds, and as an independent cross-check of
 * the pools' per-core counts (test/pool-dpdk.test.ts). Written from the method's description in
 * mtcp_init_rss(3) and MISSION.md, not from mTCP's source:
 *
 * - build: hash the return tuple of every port one at a time with a software Toeplitz
 *   (DPDK's rte_softrss, the bit loop mTCP's own resembles), queue = reta[hash & 127] with the
 *   assumed table reta[i] = i % cores, and append the port to that core's free list. All cores'
 *   lists in one pass (mTCP makes each core hash every port for itself). A second build uses a
 *   byte-table Toeplitz per port: the fastest per-port method there is in scalar C.
 * - alloc / free: a mutex-guarded doubly linked free list per core, with a port -> entry map so
 *   free() finds its entry in O(1); freed entries go to the tail.
 *
 * The flow: local 10.0.0.2, peer 10.0.0.1:80, local ports 1025-65535 (what the bench uses).
 *
 *   cc -O3 ports_mtcp.c $(pkg-config --cflags --libs libdpdk) -lpthread -o ports_mtcp
 *   ./ports_mtcp KEY CORES [rounds=7] [pairs=10000000] [window=1024]
 *
 * KEY is `microsoft`, `mtcp` or 40-byte hex. Prints medians of the rounds:
 *   build_softrss_ms X / build_table_ms X / alloc_free_per_s X / counts C0 C1 ...
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <rte_thash.h>

#define LO 1025
#define HI 65535
#define RETA_SIZE 128

struct entry {
	TAILQ_ENTRY(entry) link;
	uint16_t port;
	int used;
};
TAILQ_HEAD(list, entry);

struct core_pool {
	pthread_mutex_t lock;
	struct list free_list, used_list;
	int count;
};

static uint8_t key[40];
static uint32_t table[12][256];
static int cores;
static struct core_pool *pools;
static struct entry *entries;      /* one per port in the range */
static struct entry *map[65536];   /* port -> its entry */

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n) {
	qsort(v, n, sizeof *v, cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void build_table(void) {
	for (int i = 0; i < 12; i++)
		for (int b = 0; b < 256; b++) {
			uint32_t h = 0;
			for (int bit = 0; bit < 8; bit++) {
				if (!(b & (0x80 >> bit))) continue;
				uint32_t w = 0;
				for (int k = 0; k < 32; k++) {
					int kb = i * 8 + bit + k;
					w = (w << 1) | ((key[kb >> 3] >> (7 - (kb & 7))) & 1);
				}
				h ^= w;
			}
			table[i][b] = h;
		}
}

/* Return tuple of local port p: source 10.0.0.1:80, destination 10.0.0.2:p. */
static const uint32_t SRC = 0x0a000001, DST = 0x0a000002, SPORT = 80;

static uint32_t hash_softrss(uint16_t p) {
	uint32_t words[3] = {SRC, DST, SPORT << 16 | p};
	return rte_softrss(words, 3, key);
}

static uint32_t hash_table(uint16_t p) {
	uint8_t t[12] = {SRC >> 24, SRC >> 16 & 255, SRC >> 8 & 255, SRC & 255, DST >> 24, DST >> 16 & 255, DST >> 8 & 255, DST & 255,
	                 SPORT >> 8, SPORT & 255, p >> 8, p & 255};
	uint32_t h = 0;
	for (int i = 0; i < 12; i++) h ^= table[i][t[i]];
	return h;
}

static void build(uint32_t (*hash)(uint16_t)) {
	free(entries);
	entries = calloc(HI - LO + 1, sizeof *entries);
	for (int c = 0; c < cores; c++) {
		TAILQ_INIT(&pools[c].free_list);
		TAILQ_INIT(&pools[c].used_list);
		pools[c].count = 0;
	}
	for (int p = LO; p <= HI; p++) {
		uint32_t queue = (hash(p) & (RETA_SIZE - 1)) % cores; /* reta[i] = i % cores, queue i on core i */
		struct entry *e = &entries[p - LO];
		e->port = p;
		TAILQ_INSERT_TAIL(&pools[queue].free_list, e, link);
		pools[queue].count++;
		map[p] = e;
	}
}

static struct entry *alloc_port(struct core_pool *cp) {
	pthread_mutex_lock(&cp->lock);
	struct entry *e = TAILQ_FIRST(&cp->free_list);
	if (e) {
		TAILQ_REMOVE(&cp->free_list, e, link);
		TAILQ_INSERT_TAIL(&cp->used_list, e, link);
		e->used = 1;
	}
	pthread_mutex_unlock(&cp->lock);
	return e;
}

static int free_port(struct core_pool *cp, uint16_t port) {
	pthread_mutex_lock(&cp->lock);
	struct entry *e = map[port];
	int ok = e && e->used;
	if (ok) {
		TAILQ_REMOVE(&cp->used_list, e, link);
		TAILQ_INSERT_TAIL(&cp->free_list, e, link);
		e->used = 0;
	}
	pthread_mutex_unlock(&cp->lock);
	return ok;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: ports_mtcp KEY CORES [rounds] [pairs] [window]\n");
		return 2;
	}
	if (!strcmp(argv[1], "microsoft")) {
		static const uint8_t ms[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
		                               0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
		                               0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
		memcpy(key, ms, 40);
	} else if (!strcmp(argv[1], "mtcp")) {
		memset(key, 0x05, 40);
	} else if (strlen(argv[1]) == 80) {
		for (int i = 0; i < 40; i++) sscanf(argv[1] + 2 * i, "%2hhx", &key[i]);
	} else {
		fprintf(stderr, "bad key %s\n", argv[1]);
		return 2;
	}
	cores = atoi(argv[2]);
	int rounds = argc > 3 ? atoi(argv[3]) : 7;
	long pairs = argc > 4 ? atol(argv[4]) : 10000000;
	int window = argc > 5 ? atoi(argv[5]) : 1024;
	if (cores < 1 || cores > RETA_SIZE || rounds < 1 || pairs < 1 || window < 1 || (window & (window - 1))) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	pools = calloc(cores, sizeof *pools);
	for (int c = 0; c < cores; c++) pthread_mutex_init(&pools[c].lock, 0);
	build_table();

	double *t = calloc(rounds, sizeof *t);
	build(hash_softrss); /* warm-up */
	for (int r = 0; r < rounds; r++) { double t0 = now(); build(hash_softrss); t[r] = (now() - t0) * 1e3; }
	printf("build_softrss_ms %.4f\n", median(t, rounds));
	int counts_softrss[RETA_SIZE];
	for (int c = 0; c < cores; c++) counts_softrss[c] = pools[c].count;

	build(hash_table);
	for (int r = 0; r < rounds; r++) { double t0 = now(); build(hash_table); t[r] = (now() - t0) * 1e3; }
	printf("build_table_ms %.4f\n", median(t, rounds));
	for (int c = 0; c < cores; c++) {
		if (pools[c].count != counts_softrss[c]) { fprintf(stderr, "byte table and rte_softrss disagree on core %d\n", c); return 1; }
	}

	/* One core: `window` ports held; each step frees the oldest and allocates one. */
	struct core_pool *cp = &pools[0];
	struct entry **ring = calloc(window, sizeof *ring);
	if (cp->count < window + 1) { fprintf(stderr, "core 0 has %d ports, fewer than the window\n", cp->count); return 1; }
	for (int r = 0; r <= rounds; r++) {
		for (int i = 0; i < window; i++) ring[i] = alloc_port(cp);
		double t0 = now();
		for (long i = 0; i < pairs; i++) {
			struct entry **slot = &ring[i & (window - 1)];
			if (!free_port(cp, (*slot)->port)) { fprintf(stderr, "free failed\n"); return 1; }
			*slot = alloc_port(cp);
		}
		double dt = now() - t0;
		for (int i = 0; i < window; i++) free_port(cp, ring[i]->port);
		if (r > 0) t[r - 1] = pairs / dt; /* round 0 warms up */
	}
	printf("alloc_free_per_s %.0f\n", median(t, rounds));
	printf("counts");
	for (int c = 0; c < cores; c++) printf(" %d", counts_softrss[c]);
	printf("\n");
	return 0;
}
